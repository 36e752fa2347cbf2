// Every bagging round fitted from one matrix of exact squared distances between the training
// points (SPEC sections 1, 3, 4.2, 4.3, 7): each derived value selects or sums the same sq_dist
// values as the per-round kernels (knn_radii, cover_ranks, TrainingPass), so it is bit-identical
// to them. Time O(n^2 d) once plus O(n_r^2) per round; memory n^2 values of T, plus while
// balls_and_kernels runs up to 256 (value, index) pairs per point (the ends of its row that
// serve many rounds' radius selections, rounds_fit.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "eap/rounds.hpp"

namespace eap {

template <class T>
class PairwiseDistances {
public:
    PairwiseDistances(const T* X, std::size_t n, std::size_t d, int n_threads);

    std::size_t size() const { return n_; }

    // Per round, in one parallel region over the training points (each serving every round it
    // is in, so one round still uses every thread):
    //   delta (laid out like rows): distance of each point to its min(k, n_r - 1)-th nearest other
    //     point of the round (the SSDO bandwidth's knn_radii);
    //   cover (count x m), when m > 0: cover_ranks of the m training anomalies (indices
    //     anomalies) against the round's centres (is_centre, laid out like rows), an anomaly that
    //     is a centre of the round leaving its own ball out.
    void neighbours(const Rounds& rounds, const std::uint8_t* is_centre, std::size_t k,
                    const std::int64_t* anomalies, std::size_t m, int n_threads, double* delta,
                    std::int64_t* cover) const;

    // Per round, with k[r] and eta[r]: radius (laid out like rows) = knn_radii of the round's
    // centres at k[r], 0 for the other points; then the round's training pass over its own
    // points (is_anomaly: n flags of the training points), giving w_pos, w_neg and rarity.
    void balls_and_kernels(const Rounds& rounds, const std::uint8_t* is_centre,
                           const std::int64_t* k, const std::uint8_t* is_anomaly,
                           const double* eta, double tau, int n_threads, double* radius,
                           double* w_pos, double* w_neg, double* rarity) const;

private:
    const T* row(std::size_t i) const { return d2_.get() + i * n_; }
    std::size_t n_;
    std::unique_ptr<T[]> d2_;
};

}  // namespace eap

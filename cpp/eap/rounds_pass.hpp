// The training pass of many bagging rounds at once (SPEC section 7): a chunk of candidates'
// squared distances to all n training points are computed once, then each round accumulates
// its kernel sums and ball tests over the points it holds, exactly as its own TrainingPass would
// from exact tiles (same kernel, same lanes, same order; from kExpansionMinDim on, TrainingPass
// takes the GEMM expansion instead, and its kernel sums differ within that bound).
// Memory: the points once plus O(n) per round.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "eap/distances.hpp"
#include "eap/pass_kernel.hpp"
#include "eap/rounds.hpp"

namespace eap {

template <class T>
class RoundsPass {
public:
    // X: n x d training points; is_anomaly: their n flags; per round point (laid out like
    // rounds.rows) its ball radius (0: not a centre); eta: each round's kernel bandwidth. The
    // rounds' lanes are built over n_threads threads.
    RoundsPass(const T* X, std::size_t n, std::size_t d, const std::uint8_t* is_anomaly,
               const Rounds& rounds, const double* radius, double tau, const double* eta,
               int n_threads);

    // Round r's w_pos, w_neg and rarity of query row i of Z (l x d) at [r * l + i], each equal
    // to TrainingPass::score of that round's points (from kExpansionMinDim on: rarity equal,
    // kernel sums within the expansion's bound).
    void score(const T* Z, std::size_t l, int n_threads, double* w_pos, double* w_neg,
               double* rarity) const;

    std::size_t dim() const { return d_; }
    std::size_t n_rounds() const { return lanes_.size(); }

private:
    std::size_t d_;
    PackedPoints<T> packed_;
    std::vector<std::vector<std::uint32_t>> cols_;  // per round: its points in packed order
    std::vector<PassLanes<T>> lanes_;
};

}  // namespace eap

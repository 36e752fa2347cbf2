// One fused pass of candidates over the training points (SPEC sections 2 and 4.3): the SSDO
// kernel sums W+ and W- and the rarity against the centre balls, from the same distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "eap/distances.hpp"
#include "eap/simd.hpp"

namespace eap {

template <class T>
class TrainingPass {
public:
    // X: n x d training points; is_anomaly: n flags; radius: n ball radii (0 for a point that is
    // not a centre: it holds nothing); tau: membership margin; eta > 0: kernel bandwidth.
    TrainingPass(const T* X, std::size_t n, std::size_t d, const std::uint8_t* is_anomaly,
                 const double* radius, double tau, double eta);

    // For each query row z of Z (l x d):
    //   w_pos[i] = sum over anomalies x of 2^-(d(z,x)/eta)^2, w_neg[i] likewise over normals,
    //   rarity[i] = min{ radius_j : d(z, x_j) < radius_j (1 - tau) }, 0 if none.
    // Per pair, in T (float data: float), with the kernel's error bound in training_pass.cpp.
    // Kernel terms below 2^-60 (d > 7.75 eta) are skipped, as SPEC section 4 allows. Each sum
    // runs in W fixed lanes (packed point j goes to lane j mod W, panels in order, partial sums
    // in T over groups of panels carried into float64) that are added in lane order at the end:
    // vectorised, yet independent of blocking, threads and the instruction set.
    void score(const T* Z, std::size_t l, int n_threads, double* w_pos, double* w_neg,
               double* rarity) const;

    std::size_t dim() const { return d_; }

    static constexpr std::size_t W = PackedPoints<T>::W;
    using Key = typename IntOf<T>::I;

    // Per packed position (padding included): kernel weight masks, ball thresholds in T (see
    // ball_threshold_as) and the ball's rank by radius as its key; per panel, whose sums its
    // points feed (points are packed anomalies first, so all but one panel feed one sum).
    enum Feeds : std::uint8_t { kBoth, kPositive, kNegative };
    struct Lanes {
        std::vector<T> positive, negative, threshold;
        std::vector<Key> key;
        std::vector<Feeds> feeds;
    };
    // -(d/eta)^2 = d2 * pow2 * (scale_hi + scale_lo): pow2 a power of two, scale_hi of 12
    // significant bits (float; double: scale_hi alone); cut2 = the cut-off as a squared distance.
    struct Kernel {
        T scale_hi, scale_lo, pow2, cut2;
    };

private:
    // order: the training row at each packed position.
    TrainingPass(const T* X, std::size_t d, const std::vector<std::size_t>& order,
                 const std::uint8_t* is_anomaly, const double* radius, double tau, double eta);

    std::size_t d_;
    PackedPoints<T> packed_;
    std::vector<double> radius_of_key_;  // the distinct radii, increasing: key -> radius
    Lanes lanes_;
    Kernel kernel_;
};

}  // namespace eap

// One fused pass of candidates over the training points (SPEC sections 2 and 4.3): the SSDO
// kernel sums W+ and W- and the rarity against the centre balls, from the same distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "eap/distances.hpp"

namespace eap {

template <class T>
class TrainingPass {
public:
    // X: n x d training points; is_anomaly: n flags; radius: n ball radii (0 for a point that is
    // not a centre: it holds nothing); tau: membership margin; eta: kernel bandwidth.
    TrainingPass(const T* X, std::size_t n, std::size_t d, const std::uint8_t* is_anomaly,
                  const double* radius, double tau, double eta);

    // For each query row z of Z (l x d):
    //   w_pos[i] = sum over anomalies x of 2^-(d(z,x)/eta)^2, w_neg[i] likewise over normals,
    //   rarity[i] = min{ radius_j : d(z, x_j) < radius_j (1 - tau) }, 0 if none.
    // Kernel terms below 2^-60 (d > 7.75 eta) are skipped, as SPEC section 4 allows. Each sum
    // runs in W fixed lanes (training point j goes to lane j mod W, panels in order) that are
    // added in lane order at the end: vectorised, yet independent of blocking and threads.
    void score(const T* Z, std::size_t l, int n_threads, double* w_pos, double* w_neg,
               double* rarity) const;

    std::size_t dim() const { return d_; }

    static constexpr std::size_t W = PackedPoints<T>::W;

    // Per packed position (padding included): kernel weight masks and ball tests.
    struct Lanes {
        std::vector<double> positive, negative, threshold, radius;
    };

private:
    std::size_t d_;
    PackedPoints<T> packed_;
    Lanes lanes_;
    double inv_eta2_, cut2_;
};

}  // namespace eap

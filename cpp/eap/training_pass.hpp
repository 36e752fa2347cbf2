// One fused pass of candidates over the training points (SPEC sections 2 and 4.3): the SSDO
// kernel sums W+ and W- and the rarity against the centre balls, from the same distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "eap/distances.hpp"
#include "eap/filter_points.hpp"
#include "eap/pass_kernel.hpp"

namespace eap {

// From this dimension on, the scoring pass computes its distances by the GEMM expansion
// (expanded_distances.hpp). One thread on a Zen 4, float32, n = 4000, ns per pair exact /
// expanded at d = 8, 16, 24, 32, 64: AVX-512 0.95 / 1.1, 1.25 / 1.35, 1.65 / 1.6, 2.0 / 1.6,
// 3.5 / 2.3; AVX2 (forced) at d = 16, 24, 32, 64: 1.35 / 1.3, 1.6 / 1.4, 1.95 / 1.55, 2.8 / 2.3
// (its band tests and tile copies cost what the coordinates save until about d = 24).
constexpr std::size_t kExpansionMinDim = 24;

template <class T>
class TrainingPass {
public:
    // X: n x d training points; is_anomaly: n flags; radius: n ball radii (0 for a point that is
    // not a centre: it holds nothing); tau: membership margin; eta > 0: kernel bandwidth.
    TrainingPass(const T* X, std::size_t n, std::size_t d, const std::uint8_t* is_anomaly,
                 const double* radius, double tau, double eta);

    // For each query row z of Z (l x d): w_pos, w_neg and rarity as pass_rows (pass_kernel.hpp)
    // defines them, per pair in T (float data: float), with the kernel's error bound there.
    // exact: every distance from exact tiles, never the GEMM expansion (a fit scores its own
    // training points so, as the shared fit's pairwise distances give them).
    void score(const T* Z, std::size_t l, int n_threads, double* w_pos, double* w_neg,
               double* rarity, bool exact = false) const;

    std::size_t dim() const { return d_; }

    // out[i] = 1 where query row i of Z takes the GEMM expansion (expanded_distances.hpp), else
    // 0 (a test hook).
    void expanded_rows(const T* Z, std::size_t l, std::uint8_t* out) const;

private:
    // order: the training row at each packed position.
    TrainingPass(const T* X, std::size_t d, const std::vector<std::size_t>& order,
                 const std::uint8_t* is_anomaly, const double* radius, double tau, double eta);

    std::size_t d_;
    PackedPoints<T> packed_;
    PassLanes<T> lanes_;
    std::optional<FilterPoints<T>> filter_;  // from kExpansionMinDim on: expanded_distances.hpp
};

}  // namespace eap

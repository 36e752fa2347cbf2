// The squared-distance tile of distances.hpp as an inline template over the vector width B, so
// that a caller compiled for one instruction set (training_pass.cpp) inlines it.
#pragma once

#include <cstddef>

#include "eap/distances.hpp"
#include "eap/simd.hpp"

namespace eap {

// R query rows against one panel: R x W accumulators stay in registers, vectorised across the W
// points; per pair, the arithmetic is the same sequential sum as sq_dist.
template <class T, int B, int R>
EAP_ALWAYS_INLINE void micro_kernel(const T* Q, std::size_t ldq, const T* panel, std::size_t d,
                                    T* out) {
    using V = typename Simd<T, B>::V;
    constexpr int L = Simd<T, B>::L;
    constexpr int NV = static_cast<int>(PackedPoints<T>::W) / L;
    V acc[R][NV];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    for (std::size_t k = 0; k < d; ++k) {
        V p[NV];
        for (int v = 0; v < NV; ++v) p[v] = load<V>(panel + (k * NV + v) * L);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
            const V q = splat<V>(Q[r * ldq + k]);
#pragma GCC unroll 16
            for (int v = 0; v < NV; ++v) {
                const V t = q - p[v];
                acc[r][v] = r % 2 ? add_on_fma<B>(acc[r][v], t * t) : acc[r][v] + t * t;
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) store(out + (r * NV + v) * L, acc[r][v]);
}

// out[r * W + j] for nq query rows, as panel_sq_dists.
template <class T, int B>
EAP_ALWAYS_INLINE void distance_tile(const T* Q, std::size_t nq, std::size_t ldq, const T* panel,
                                     std::size_t d, T* out) {
    constexpr std::size_t W = PackedPoints<T>::W;
    std::size_t r = 0;
    for (; r + 6 <= nq; r += 6) micro_kernel<T, B, 6>(Q + r * ldq, ldq, panel, d, out + r * W);
    for (; r < nq; ++r) micro_kernel<T, B, 1>(Q + r * ldq, ldq, panel, d, out + r * W);
}

}  // namespace eap

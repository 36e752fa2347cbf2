#include "eap/distances.hpp"

#include "eap/simd.hpp"

namespace eap {

template <class T>
PackedPoints<T>::PackedPoints(const T* X, std::size_t n, std::size_t d)
    : n_(n), d_(d), data_(n_panels() * d * W, T(0)) {
    pack(X, nullptr);
}

template <class T>
PackedPoints<T>::PackedPoints(const T* X, const std::size_t* order, std::size_t n, std::size_t d)
    : n_(n), d_(d), data_(n_panels() * d * W, T(0)) {
    pack(X, order);
}

template <class T>
void PackedPoints<T>::pack(const T* X, const std::size_t* order) {
    for (std::size_t i = 0; i < n_; ++i) {
        const T* row = X + (order ? order[i] : i) * d_;
        T* dst = data_.data() + (i / W) * d_ * W + (i % W);
        for (std::size_t k = 0; k < d_; ++k) dst[k * W] = row[k];
    }
}

template class PackedPoints<float>;
template class PackedPoints<double>;

namespace {

// R query rows against one panel: R x W accumulators stay in registers. GCC/Clang vector
// extensions make the vectorisation across the W points explicit (two 32-byte vectors per
// panel row); the arithmetic, per pair, is the same sequential sum as sq_dist.
#if defined(EAP_VECTOR_EXTENSIONS)
template <class T, int R>
EAP_ALWAYS_INLINE void micro_kernel(const T* Q, std::size_t ldq, const T* panel, std::size_t d,
                                    T* out) {
    using V = typename Vec<T>::type;
    constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
    constexpr int NV = static_cast<int>(PackedPoints<T>::W) / L;
    V acc[R][NV];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    for (std::size_t k = 0; k < d; ++k) {
        V p[NV];
        for (int v = 0; v < NV; ++v) p[v] = load(panel + (k * NV + v) * L);
        for (int r = 0; r < R; ++r) {
            const V q = Q[r * ldq + k] - V{};  // broadcast (x - 0 folds to x; x + 0 would not)
            for (int v = 0; v < NV; ++v) {
                const V t = q - p[v];
                acc[r][v] += t * t;
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) store(out + (r * NV + v) * L, acc[r][v]);
}
#else
template <class T, int R>
inline void micro_kernel(const T* Q, std::size_t ldq, const T* panel, std::size_t d, T* out) {
    constexpr int W = static_cast<int>(PackedPoints<T>::W);
    T acc[R][W] = {};
    for (std::size_t k = 0; k < d; ++k) {
        const T* p = panel + k * W;
        for (int r = 0; r < R; ++r) {
            const T q = Q[r * ldq + k];
            for (int j = 0; j < W; ++j) {
                const T t = q - p[j];
                acc[r][j] += t * t;
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int j = 0; j < W; ++j) out[r * W + j] = acc[r][j];
}
#endif

template <class T>
EAP_ALWAYS_INLINE void tile(const T* Q, std::size_t nq, std::size_t ldq, const T* panel,
                            std::size_t d, T* out) {
    constexpr std::size_t W = PackedPoints<T>::W;
    std::size_t r = 0;
    for (; r + 6 <= nq; r += 6) micro_kernel<T, 6>(Q + r * ldq, ldq, panel, d, out + r * W);
    for (; r < nq; ++r) micro_kernel<T, 1>(Q + r * ldq, ldq, panel, d, out + r * W);
}

}  // namespace

EAP_TARGET_CLONES void panel_sq_dists(const float* Q, std::size_t nq, std::size_t ldq,
                                      const float* panel, std::size_t d, float* out) {
    tile(Q, nq, ldq, panel, d, out);
}

EAP_TARGET_CLONES void panel_sq_dists(const double* Q, std::size_t nq, std::size_t ldq,
                                      const double* panel, std::size_t d, double* out) {
    tile(Q, nq, ldq, panel, d, out);
}

}  // namespace eap

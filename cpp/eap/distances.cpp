#include "eap/distances.hpp"

#include "eap/distance_tile.hpp"
#include "eap/isa.hpp"

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

template <class T>
void tile_baseline(const T* Q, std::size_t nq, std::size_t ldq, const T* panel, std::size_t d,
                   T* out) {
    distance_tile<T, 16>(Q, nq, ldq, panel, d, out);
}
template <class T>
EAP_TARGET_AVX2 void tile_avx2(const T* Q, std::size_t nq, std::size_t ldq, const T* panel,
                               std::size_t d, T* out) {
    distance_tile<T, 32>(Q, nq, ldq, panel, d, out);
}
template <class T>
EAP_TARGET_AVX512 void tile_avx512(const T* Q, std::size_t nq, std::size_t ldq, const T* panel,
                                   std::size_t d, T* out) {
    distance_tile<T, 64>(Q, nq, ldq, panel, d, out);
}

}  // namespace

void panel_sq_dists(const float* Q, std::size_t nq, std::size_t ldq, const float* panel,
                    std::size_t d, float* out) {
    for_isa(tile_baseline<float>, tile_avx2<float>, tile_avx512<float>)(Q, nq, ldq, panel, d, out);
}

void panel_sq_dists(const double* Q, std::size_t nq, std::size_t ldq, const double* panel,
                    std::size_t d, double* out) {
    for_isa(tile_baseline<double>, tile_avx2<double>, tile_avx512<double>)(Q, nq, ldq, panel, d,
                                                                          out);
}

}  // namespace eap

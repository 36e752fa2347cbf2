#include "eap/exp2.hpp"

#include "eap/isa.hpp"

namespace eap {

namespace {

template <int B, class T>
EAP_ALWAYS_INLINE void exp2_array(const T* x, std::size_t n, T* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = exp2_one<B, kFusedMulAdd<B>>(x[i]);
}

template <class T>
void exp2_baseline(const T* x, std::size_t n, T* out) {
    exp2_array<16>(x, n, out);
}
template <class T>
EAP_TARGET_AVX2 void exp2_avx2(const T* x, std::size_t n, T* out) {
    exp2_array<32>(x, n, out);
}
template <class T>
EAP_TARGET_AVX512 void exp2_avx512(const T* x, std::size_t n, T* out) {
    exp2_array<64>(x, n, out);
}

}  // namespace

void exp2_negative(const float* x, std::size_t n, float* out) {
    for_isa(exp2_baseline<float>, exp2_avx2<float>, exp2_avx512<float>)(x, n, out);
}

void exp2_negative(const double* x, std::size_t n, double* out) {
    for_isa(exp2_baseline<double>, exp2_avx2<double>, exp2_avx512<double>)(x, n, out);
}

}  // namespace eap

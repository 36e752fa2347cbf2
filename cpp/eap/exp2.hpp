// 2^x for x in [-70, 0], the SSDO kernel 2^-(d/eta)^2 (SPEC section 4.3), at the data's
// precision: x = n + f with n = round(x), a minimax polynomial for 2^f (float by Horner's rule,
// double by Estrin's), 2^n built from exponent bits and applied exactly. Fused: the
// polynomial's multiply-adds as FMA where the variant has it (mul_add, simd.hpp), as the scoring
// pass uses it; otherwise plain multiply-then-add, the same bits on every width.
// Measured worst relative errors against exact 2^x (tests/test_kernel_precision.py checks them
// over [-70, 0]; fused in brackets):
//   float:  degree 5 on |f| <= 1/2, 1.83e-7 [1.76e-7] (the minimax error 7.5e-8 plus rounding);
//   double: degree 10 on |f| <= 1/2, 4.2e-16 [4.2e-16] (the minimax error 2.1e-16 plus rounding).
// The tests hold them to 2e-7 and 5e-16.
#pragma once

#include <cstddef>

#include "eap/simd.hpp"

namespace eap {

// 2^(hi + lo) in float for hi + lo in [-70, 0] and |lo| <= 1: the argument as an unevaluated
// sum lets the kernel pass (d/eta)^2 with more than float precision (pass_kernel.hpp).
template <int B, bool Fused = false>
EAP_ALWAYS_INLINE typename Simd<float, B>::V exp2_negative(typename Simd<float, B>::V hi,
                                                           typename Simd<float, B>::V lo) {
    using V = typename Simd<float, B>::V;
    using U = typename Simd<float, B>::U;
    const V shifter = splat<V>(0x1.8p23f);
    const V t = (hi + lo) + shifter;  // the integer n nearest to hi + lo, in the low mantissa bits
    const V n = t - shifter;
    const V f = (hi - n) + lo;  // |f| <= 1/2 + 2^-20 (hi - n: exact unless |hi| < 1/2, n = -1)
    V p = splat<V>(0x1.5c08e2p-10f);
    p = mul_add_if<B, Fused>(p, f, splat<V>(0x1.3d0c58p-7f));
    p = mul_add_if<B, Fused>(p, f, splat<V>(0x1.c6b748p-5f));
    p = mul_add_if<B, Fused>(p, f, splat<V>(0x1.ebf956p-3f));
    p = mul_add_if<B, Fused>(p, f, splat<V>(0x1.62e428p-1f));
    p = mul_add_if<B, Fused>(p, f, splat<V>(1.0f));  // exact 1 at distance 0
    // bits(t) = bits(1.5 * 2^23) + n, whose low 9 bits are n's: shifted into the exponent field.
    const U scale = (bit_cast<U>(t) + 127u) << 23;
    return p * bit_cast<V>(scale);
}

template <int B, bool Fused = false>
EAP_ALWAYS_INLINE typename Simd<double, B>::V exp2_negative(typename Simd<double, B>::V x) {
    using V = typename Simd<double, B>::V;
    using U = typename Simd<double, B>::U;
    const V shifter = splat<V>(0x1.8p52);
    const V t = x + shifter;
    const V n = t - shifter;
    const V f = x - n;  // exact
    // The polynomial in pairs of terms (Estrin's scheme): a dependency chain of 10 operations
    // where Horner's takes 20, and the scoring pass of float64 data waits on that chain. The 1 is
    // added last, to a sum of small terms, so one rounding at the scale of the result remains.
    const V f2 = f * f, f4 = f2 * f2;
    const V c23 = mul_add_if<B, Fused>(f, splat<V>(0x1.c6b08d703d48ap-5), splat<V>(0x1.ebfbdff82c3b9p-3));
    const V c45 = mul_add_if<B, Fused>(f, splat<V>(0x1.5d87fe9cc5d6fp-10), splat<V>(0x1.3b2ab6fbde0f7p-7));
    const V c67 = mul_add_if<B, Fused>(f, splat<V>(0x1.ffcb55e82f22cp-17), splat<V>(0x1.4309126056718p-13));
    const V c89 = mul_add_if<B, Fused>(f, splat<V>(0x1.b6740fc28f781p-24), splat<V>(0x1.62c157ee59177p-20));
    const V c810 = mul_add_if<B, Fused>(f2, splat<V>(0x1.e3991e644e6abp-28), c89);
    const V rest = mul_add_if<B, Fused>(f4, mul_add_if<B, Fused>(f2, c810, c67),
                                        mul_add_if<B, Fused>(f2, c45, c23));
    // exact 1 at distance 0
    const V p = mul_add_if<B, Fused>(f2, rest, f * 0x1.62e42fefa3a17p-1) + 1.0;
    const U scale = (bit_cast<U>(t) + 1023u) << 52;
    return p * bit_cast<V>(scale);
}

// 2^x for one x in [-70, 0]: lane 0 of the B-byte kernel above (the same bits as every lane).
template <int B, bool Fused = false>
EAP_ALWAYS_INLINE float exp2_one(float x) {
    using V = typename Simd<float, B>::V;
    const V y = exp2_negative<B, Fused>(splat<V>(x), V{});
    return load<float>(reinterpret_cast<const float*>(&y));
}

template <int B, bool Fused = false>
EAP_ALWAYS_INLINE double exp2_one(double x) {
    using V = typename Simd<double, B>::V;
    const V y = exp2_negative<B, Fused>(splat<V>(x));
    return load<double>(reinterpret_cast<const double*>(&y));
}

// out[i] = 2^x[i] for x[i] in [-70, 0], as the scoring pass evaluates it on the active
// instruction set (fused where it has FMA; a test hook).
void exp2_negative(const float* x, std::size_t n, float* out);
void exp2_negative(const double* x, std::size_t n, double* out);

}  // namespace eap

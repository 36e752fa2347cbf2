// Portable SIMD helpers: GCC/Clang vector extensions (lowered to AVX2 in the target clones and
// to SSE2 otherwise), and the run-time dispatch attribute. Every operation is plain IEEE
// arithmetic, so a clone's results equal the baseline's bit for bit.
#pragma once

#include <cstdint>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(EAP_NO_DISPATCH)
#define EAP_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EAP_TARGET_CLONES
#endif

#if defined(__GNUC__)
#define EAP_VECTOR_EXTENSIONS 1
#define EAP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define EAP_ALWAYS_INLINE inline
#endif

namespace eap {

#if defined(EAP_VECTOR_EXTENSIONS)
template <class T>
struct Vec {
    typedef T type __attribute__((vector_size(32)));
    // Same vector, element alignment only: loads and stores through it may be unaligned.
    typedef T unaligned __attribute__((vector_size(32), aligned(alignof(T))));
};

template <class T>
EAP_ALWAYS_INLINE typename Vec<T>::type load(const T* p) {
    return *reinterpret_cast<const typename Vec<T>::unaligned*>(p);
}

template <class T>
EAP_ALWAYS_INLINE void store(T* p, typename Vec<T>::type v) {
    *reinterpret_cast<typename Vec<T>::unaligned*>(p) = v;
}
using V4d = Vec<double>::type;
typedef float V4f __attribute__((vector_size(16), aligned(alignof(float))));

// Four consecutive values as doubles (exact for float).
EAP_ALWAYS_INLINE V4d load_as_double(const double* p) { return load(p); }
EAP_ALWAYS_INLINE V4d load_as_double(const float* p) {
    return __builtin_convertvector(*reinterpret_cast<const V4f*>(p), V4d);
}
typedef std::int64_t V4i __attribute__((vector_size(32)));

// 2^x for x in [-70, 0], relative error below 2e-16: x = n + f with n = round(x), then a
// degree-12 Taylor polynomial of e^(f ln 2) on |f| <= 1/2 and 2^n built from its exponent bits.
EAP_ALWAYS_INLINE V4d exp2_negative(V4d x) {
    const V4d shifter = V4d{} + 0x1.8p52;
    const V4d t = x + shifter;  // rounds x to an integer held in the low mantissa bits
    const V4d n = t - shifter;
    const V4d y = (x - n) * 0.6931471805599453;  // f ln 2, |y| <= 0.347
    V4d p = V4d{} + 1.0 / 479001600.0;           // 1/12!
    p = p * y + 1.0 / 39916800.0;
    p = p * y + 1.0 / 3628800.0;
    p = p * y + 1.0 / 362880.0;
    p = p * y + 1.0 / 40320.0;
    p = p * y + 1.0 / 5040.0;
    p = p * y + 1.0 / 720.0;
    p = p * y + 1.0 / 120.0;
    p = p * y + 1.0 / 24.0;
    p = p * y + 1.0 / 6.0;
    p = p * y + 0.5;
    p = p * y + 1.0;
    p = p * y + 1.0;
    V4i bits;
    __builtin_memcpy(&bits, &t, sizeof(bits));
    const V4i scale_bits = (bits + 1023) << 52;
    V4d scale;
    __builtin_memcpy(&scale, &scale_bits, sizeof(scale));
    return p * scale;
}
#endif

}  // namespace eap

// Portable SIMD: GCC/Clang vector extensions of B bytes (16 baseline, 32 AVX2, 64 AVX-512; see
// isa.hpp), one value at a time with other compilers. Kernels are templates over the width that
// use plain IEEE operations only (no FMA: -ffp-contract=off), so every width computes each lane
// exactly as the scalar code would: the instruction set changes the speed, never the bits. The
// one exception is mul_add (below), which the scoring pass's kernel uses: fused on the AVX2 and
// AVX-512 variants (the same bits on both), unfused on the baseline.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(EAP_NO_DISPATCH)
#define EAP_X86_DISPATCH 1
#define EAP_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define EAP_TARGET_AVX512 __attribute__((target("avx512f")))
#else
#define EAP_TARGET_AVX2
#define EAP_TARGET_AVX512
#endif

#if defined(__GNUC__)
#define EAP_VECTOR_EXTENSIONS 1
#define EAP_ALWAYS_INLINE inline __attribute__((always_inline))
#define EAP_PREFETCH(address) __builtin_prefetch(address)
#else
#define EAP_ALWAYS_INLINE inline
#define EAP_PREFETCH(address) ((void)(address))
#endif

namespace eap {

template <class T>
struct IntOf;
template <>
struct IntOf<float> {
    using U = std::uint32_t;
    using I = std::int32_t;
};
template <>
struct IntOf<double> {
    using U = std::uint64_t;
    using I = std::int64_t;
};

// V: B bytes of T; U, I: unsigned and signed integers in the same lanes (bits, masks, keys).
template <class T, int B>
struct Simd {
#if defined(EAP_VECTOR_EXTENSIONS)
    typedef T V __attribute__((vector_size(B)));
    typedef typename IntOf<T>::U U __attribute__((vector_size(B)));
    typedef typename IntOf<T>::I I __attribute__((vector_size(B)));
    static constexpr int L = B / static_cast<int>(sizeof(T));
#else
    using V = T;
    using U = typename IntOf<T>::U;
    using I = typename IntOf<T>::I;
    static constexpr int L = 1;
#endif
};

// Unaligned loads and stores; memcpy compiles to one vector move.
template <class V, class T>
EAP_ALWAYS_INLINE V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class T, class V>
EAP_ALWAYS_INLINE void store(T* p, V v) {
    std::memcpy(p, &v, sizeof v);
}

template <class To, class From>
EAP_ALWAYS_INLINE To bit_cast(From from) {
    static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
    To to;
    std::memcpy(&to, &from, sizeof to);
    return to;
}

// s in every lane, exactly (-0 included). GCC builds a 64-byte vector from a scalar lane by
// lane unless told that it is a broadcast of lane 0.
template <class V, class S>
EAP_ALWAYS_INLINE V splat(S s) {
#if defined(EAP_VECTOR_EXTENSIONS) && !defined(__clang__)
    return __builtin_shuffle(V{s}, decltype(V{} < V{}){});
#else
    return s - V{};
#endif
}

// a + b, rounded once as +, but issued as the multiply-add b * 1 + a (the same IEEE result, so
// -ffp-contract=off holds) in the AVX2 and AVX-512 variants: a kernel that alternates the two
// spreads its additions over the adders and the multiply-add units. Inline assembly, because
// the intrinsics cannot be inlined through a width-generic template of default target. The 1s
// are a memory operand: a register for them would push an AVX2 distance tile's accumulator
// (6 rows x 2 vectors, 16 registers) out to the stack.
alignas(64) inline constexpr float kOnesF[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
alignas(64) inline constexpr double kOnesD[8] = {1, 1, 1, 1, 1, 1, 1, 1};

template <int B, class V>
EAP_ALWAYS_INLINE V add_on_fma(V a, V b) {
#if defined(EAP_X86_DISPATCH)
    if constexpr (B >= 32) {
        static_assert(sizeof(V) == B && B <= 64);
        if constexpr (sizeof(a[0]) == 4)
            asm("vfmadd231ps %[one], %[b], %[a]"
                : [a] "+v"(a)
                : [b] "v"(b), [one] "m"(*reinterpret_cast<const V*>(kOnesF)));
        else
            asm("vfmadd231pd %[one], %[b], %[a]"
                : [a] "+v"(a)
                : [b] "v"(b), [one] "m"(*reinterpret_cast<const V*>(kOnesD)));
        return a;
    }
#endif
    return a + b;
}

// Whether the B-byte variant fuses multiply-adds (mul_add below): the AVX2 and AVX-512 ones do,
// the baseline does not.
template <int B>
inline constexpr bool kFusedMulAdd =
#if defined(EAP_X86_DISPATCH)
    B >= 32;
#else
    false;
#endif

// a * b + c, rounded once where kFusedMulAdd<B> (an FMA instruction, by inline assembly as
// above), twice otherwise: kernels that use it give the AVX2 and AVX-512 variants the same
// bits, and the baseline results within their stated error bound.
template <int B, class V>
EAP_ALWAYS_INLINE V mul_add(V a, V b, V c) {
#if defined(EAP_X86_DISPATCH)
    if constexpr (B >= 32) {
        static_assert(sizeof(V) == B && B <= 64);
        if constexpr (sizeof(a[0]) == 4)
            asm("vfmadd213ps %[c], %[b], %[a]" : [a] "+v"(a) : [b] "v"(b), [c] "vm"(c));
        else
            asm("vfmadd213pd %[c], %[b], %[a]" : [a] "+v"(a) : [b] "v"(b), [c] "vm"(c));
        return a;
    }
#endif
    return a * b + c;
}

// mul_add where Fused, else a * b + c rounded twice.
template <int B, bool Fused, class V>
EAP_ALWAYS_INLINE V mul_add_if(V a, V b, V c) {
    if constexpr (Fused) return mul_add<B>(a, b, c);
    return a * b + c;
}

}  // namespace eap

#include "eap/row_pass.hpp"

#include <algorithm>

#include "eap/isa.hpp"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(EAP_NO_DISPATCH)
#define EAP_ROW_PASS_DISPATCH 1
#include <immintrin.h>
#endif

namespace eap {

namespace {

template <class T>
std::size_t gather_plain(const T* x, std::size_t q, std::size_t len, T lo, T hi, T* vals,
                         std::uint32_t* pos, std::size_t* m) {
    std::size_t below = 0, c = *m;
    for (; q < len; ++q) {
        const T v = x[q];
        below += v < lo;
        vals[c] = v;
        pos[c] = static_cast<std::uint32_t>(q);
        c += (v >= lo) & (v <= hi);
    }
    *m = c;
    return below;
}

#if defined(EAP_ROW_PASS_DISPATCH)
// The kept lanes of each 8-lane mask, in order, one per byte (the rest 0): the indices of an
// order-keeping compress by permutation, where AVX2 has no compress instruction.
struct KeptLanes {
    std::uint64_t of[256];
};
constexpr KeptLanes kept_lanes() {
    KeptLanes t{};
    for (unsigned mask = 0; mask < 256; ++mask) {
        unsigned c = 0;
        for (unsigned lane = 0; lane < 8; ++lane)
            if (mask >> lane & 1u) t.of[mask] |= std::uint64_t{lane} << (8 * c++);
    }
    return t;
}
// For 4 double lanes: the pairs of 32-bit halves of the kept lanes, in order.
struct KeptHalves {
    std::uint64_t of[16];
};
constexpr KeptHalves kept_halves() {
    KeptHalves t{};
    for (unsigned mask = 0; mask < 16; ++mask) {
        unsigned c = 0;
        for (unsigned lane = 0; lane < 4; ++lane)
            if (mask >> lane & 1u) {
                t.of[mask] |= std::uint64_t{2 * lane} << (8 * c++);
                t.of[mask] |= std::uint64_t{2 * lane + 1} << (8 * c++);
            }
    }
    return t;
}
constexpr KeptLanes kKeptLanes = kept_lanes();
constexpr KeptHalves kKeptHalves = kept_halves();

#pragma GCC push_options
#pragma GCC target("avx2,popcnt")
namespace avx2 {

// Masks are movemask bits; the compress permutes the kept lanes to the front and stores the
// whole vector (the buffers have room past the count).
template <class T>
struct Lanes;

template <>
struct Lanes<float> {
    using V = __m256;
    using Mask = unsigned;
    static constexpr std::size_t N = 8;
    static V set1(float p) { return _mm256_set1_ps(p); }
    static V load(const float* x) { return _mm256_loadu_ps(x); }
    template <int Cmp>
    static Mask cmp(V a, V b) {
        return static_cast<Mask>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, Cmp)));
    }
    static __m256i kept(Mask m) {
        return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kKeptLanes.of[m])));
    }
    static void store_compressed(float* out, Mask keep, V v) {
        _mm256_storeu_ps(out, _mm256_permutevar8x32_ps(v, kept(keep)));
    }
    static void store_positions(std::uint32_t* out, Mask keep, std::uint32_t q) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_add_epi32(kept(keep), _mm256_set1_epi32(static_cast<int>(q))));
    }
};

template <>
struct Lanes<double> {
    using V = __m256d;
    using Mask = unsigned;
    static constexpr std::size_t N = 4;
    static V set1(double p) { return _mm256_set1_pd(p); }
    static V load(const double* x) { return _mm256_loadu_pd(x); }
    template <int Cmp>
    static Mask cmp(V a, V b) {
        return static_cast<Mask>(_mm256_movemask_pd(_mm256_cmp_pd(a, b, Cmp)));
    }
    static void store_compressed(double* out, Mask keep, V v) {
        const __m256i halves =
            _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kKeptHalves.of[keep])));
        const __m256 packed = _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), halves);
        _mm256_storeu_pd(out, _mm256_castps_pd(packed));
    }
    static void store_positions(std::uint32_t* out, Mask keep, std::uint32_t q) {
        const __m128i lanes =
            _mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(kKeptLanes.of[keep])));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                         _mm_add_epi32(lanes, _mm_set1_epi32(static_cast<int>(q))));
    }
};

#include "eap/row_pass_kernel.inc"

}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,popcnt")
namespace avx512 {

// Masks are mask registers; compress into a register, then store the whole vector: compress
// straight to memory is slow on some cores. Positions fit 32 bits (rows have fewer than 2^32
// centres).
template <class T>
struct Lanes;

template <>
struct Lanes<float> {
    using V = __m512;
    using Mask = __mmask16;
    static constexpr std::size_t N = 16;
    static V set1(float p) { return _mm512_set1_ps(p); }
    static V load(const float* x) { return _mm512_loadu_ps(x); }
    template <int Cmp>
    static Mask cmp(V a, V b) { return _mm512_cmp_ps_mask(a, b, Cmp); }
    static void store_compressed(float* out, Mask keep, V v) {
        _mm512_storeu_ps(out, _mm512_maskz_compress_ps(keep, v));
    }
    static void store_positions(std::uint32_t* out, Mask keep, std::uint32_t q) {
        const __m512i lanes =
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m512i at = _mm512_add_epi32(lanes, _mm512_set1_epi32(static_cast<int>(q)));
        _mm512_storeu_si512(out, _mm512_maskz_compress_epi32(keep, at));
    }
};

template <>
struct Lanes<double> {
    using V = __m512d;
    using Mask = __mmask8;
    static constexpr std::size_t N = 8;
    static V set1(double p) { return _mm512_set1_pd(p); }
    static V load(const double* x) { return _mm512_loadu_pd(x); }
    template <int Cmp>
    static Mask cmp(V a, V b) { return _mm512_cmp_pd_mask(a, b, Cmp); }
    static void store_compressed(double* out, Mask keep, V v) {
        _mm512_storeu_pd(out, _mm512_maskz_compress_pd(keep, v));
    }
    static void store_positions(std::uint32_t* out, Mask keep, std::uint32_t q) {
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i at = _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(q)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_maskz_compress_epi32(keep, at));
    }
};

#include "eap/row_pass_kernel.inc"

}  // namespace avx512
#pragma GCC pop_options

// The vector passes of the active instruction set (forcing a narrower one reaches the
// narrower passes); AVX-512 where the CPU also has the subsets its passes use, else AVX2.
bool use_avx512() { return active_avx512_full(); }
bool use_avx2() { return active_isa() != Isa::baseline && !use_avx512(); }
#endif

// The same halves as plain branch-free loops (every value is stored, the count decides
// whether the next store overwrites it).
template <class T>
struct SelectPlain {
    static void count(const T* x, std::size_t len, T p, std::size_t* less, std::size_t* equal) {
        std::size_t lt = 0, eq = 0;
        for (std::size_t q = 0; q < len; ++q) {
            lt += x[q] < p;
            eq += x[q] == p;
        }
        *less += lt;
        *equal += eq;
    }
    template <bool Low>
    static std::size_t compress(const T* x, std::size_t len, T p, T* out) {
        std::size_t c = 0;
        for (std::size_t q = 0; q < len; ++q) {
            out[c] = x[q];
            c += Low ? x[q] < p : x[q] > p;
        }
        return c;
    }
};

// Quickselect passes: count the values below and equal to a median-of-3 pivot, then compress
// the side holding rank r into the other buffer; stops at 64 values or on a pivot hit.
// Returns true on a hit (*src[r] holds the answer then), else leaves *src, *m and *r reduced.
// Neither pass branches per element, where std::nth_element mispredicts about every other one.
template <class T>
T median3(T a, T b, T c) {
    return std::max(std::min(a, b), std::min(std::max(a, b), c));
}

template <class S, class T>
bool narrow(T** src, T** other, std::size_t* m, std::size_t* r) {
    while (*m > 64) {
        T* x = *src;
        const std::size_t len = *m;
        const T p = median3(x[0], x[len / 2], x[len - 1]);
        std::size_t less = 0, equal = 0;
        S::count(x, len, p, &less, &equal);
        if (*r >= less && *r < less + equal) {
            x[*r] = p;
            return true;
        }
        const bool low = *r < less;
        T* out = *other;
        *m = low ? S::template compress<true>(x, len, p, out)
                 : S::template compress<false>(x, len, p, out);
        if (!low) *r -= less + equal;
        *other = x;
        *src = out;
    }
    return false;
}

template <class T>
std::size_t gather(const T* x, std::size_t len, T lo, T hi, T* vals, std::uint32_t* pos,
                   std::size_t* m) {
#if defined(EAP_ROW_PASS_DISPATCH)
    if (use_avx512()) return avx512::gather(x, len, lo, hi, vals, pos, m);
    if (use_avx2()) return avx2::gather(x, len, lo, hi, vals, pos, m);
#endif
    *m = 0;
    return gather_plain(x, 0, len, lo, hi, vals, pos, m);
}

template <class T>
T kth(T* x, std::size_t m, std::size_t r, T* tmp) {
#if defined(EAP_ROW_PASS_DISPATCH)
    const bool hit = use_avx512() ? narrow<avx512::Select<T>>(&x, &tmp, &m, &r)
                     : use_avx2()   ? narrow<avx2::Select<T>>(&x, &tmp, &m, &r)
                                    : narrow<SelectPlain<T>>(&x, &tmp, &m, &r);
    if (hit) return x[r];
#else
    if (narrow<SelectPlain<T>>(&x, &tmp, &m, &r)) return x[r];
#endif
    std::nth_element(x, x + r, x + m);
    return x[r];
}

}  // namespace

std::size_t gather_between(const float* x, std::size_t len, float lo, float hi, float* vals,
                           std::uint32_t* pos, std::size_t* m) {
    return gather(x, len, lo, hi, vals, pos, m);
}
std::size_t gather_between(const double* x, std::size_t len, double lo, double hi, double* vals,
                           std::uint32_t* pos, std::size_t* m) {
    return gather(x, len, lo, hi, vals, pos, m);
}

float kth_smallest(float* x, std::size_t m, std::size_t r, float* tmp) {
    return kth(x, m, r, tmp);
}
double kth_smallest(double* x, std::size_t m, std::size_t r, double* tmp) {
    return kth(x, m, r, tmp);
}

}  // namespace eap

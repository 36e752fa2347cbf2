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
#define EAP_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,popcnt")))

// Compress into registers, then store whole vectors: compress straight to memory is slow on
// some cores. Positions fit 32 bits (rows have fewer than 2^32 centres).
EAP_AVX512 std::size_t gather_avx512(const float* x, std::size_t len, float lo, float hi,
                                     float* vals, std::uint32_t* pos, std::size_t* m) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    std::size_t below = 0, c = 0, q = 0;
    for (; q + 16 <= len; q += 16) {
        const __m512 v = _mm512_loadu_ps(x + q);
        const __mmask16 lt = _mm512_cmp_ps_mask(v, vlo, _CMP_LT_OQ);
        const __mmask16 in = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(v, vlo, _CMP_GE_OQ), v,
                                                     vhi, _CMP_LE_OQ);
        _mm512_storeu_ps(vals + c, _mm512_maskz_compress_ps(in, v));
        _mm512_storeu_si512(pos + c, _mm512_maskz_compress_epi32(in, idx));
        below += static_cast<std::size_t>(__builtin_popcount(lt));
        c += static_cast<std::size_t>(__builtin_popcount(in));
        idx = _mm512_add_epi32(idx, step);
    }
    *m = c;
    return below + gather_plain(x, q, len, lo, hi, vals, pos, m);
}

EAP_AVX512 std::size_t gather_avx512(const double* x, std::size_t len, double lo, double hi,
                                     double* vals, std::uint32_t* pos, std::size_t* m) {
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i step = _mm256_set1_epi32(8);
    std::size_t below = 0, c = 0, q = 0;
    for (; q + 8 <= len; q += 8) {
        const __m512d v = _mm512_loadu_pd(x + q);
        const __mmask8 lt = _mm512_cmp_pd_mask(v, vlo, _CMP_LT_OQ);
        const __mmask8 in = _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(v, vlo, _CMP_GE_OQ), v,
                                                    vhi, _CMP_LE_OQ);
        _mm512_storeu_pd(vals + c, _mm512_maskz_compress_pd(in, v));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(pos + c),
                            _mm256_maskz_compress_epi32(in, idx));
        below += static_cast<std::size_t>(__builtin_popcount(lt));
        c += static_cast<std::size_t>(__builtin_popcount(in));
        idx = _mm256_add_epi32(idx, step);
    }
    *m = c;
    return below + gather_plain(x, q, len, lo, hi, vals, pos, m);
}

// The AVX-512 operations narrow needs, per element type.
template <class T>
struct Lanes512;

template <>
struct Lanes512<float> {
    using V = __m512;
    using Mask = __mmask16;
    static constexpr std::size_t N = 16;
    EAP_AVX512 static V set1(float p) { return _mm512_set1_ps(p); }
    EAP_AVX512 static V load(const float* x) { return _mm512_loadu_ps(x); }
    template <int Cmp>
    EAP_AVX512 static Mask cmp(V a, V b) { return _mm512_cmp_ps_mask(a, b, Cmp); }
    EAP_AVX512 static void store_compressed(float* out, Mask keep, V v) {
        _mm512_storeu_ps(out, _mm512_maskz_compress_ps(keep, v));
    }
};

template <>
struct Lanes512<double> {
    using V = __m512d;
    using Mask = __mmask8;
    static constexpr std::size_t N = 8;
    EAP_AVX512 static V set1(double p) { return _mm512_set1_pd(p); }
    EAP_AVX512 static V load(const double* x) { return _mm512_loadu_pd(x); }
    template <int Cmp>
    EAP_AVX512 static Mask cmp(V a, V b) { return _mm512_cmp_pd_mask(a, b, Cmp); }
    EAP_AVX512 static void store_compressed(double* out, Mask keep, V v) {
        _mm512_storeu_pd(out, _mm512_maskz_compress_pd(keep, v));
    }
};

// A quickselect pass's two halves with AVX-512 masks and compress.
template <class T>
struct Select512 {
    using L = Lanes512<T>;
    EAP_AVX512 static void count(const T* x, std::size_t len, T p, std::size_t* less,
                                 std::size_t* equal) {
        const typename L::V vp = L::set1(p);
        std::size_t q = 0;
        for (; q + L::N <= len; q += L::N) {
            const typename L::V v = L::load(x + q);
            *less += static_cast<std::size_t>(__builtin_popcount(L::template cmp<_CMP_LT_OQ>(v, vp)));
            *equal += static_cast<std::size_t>(__builtin_popcount(L::template cmp<_CMP_EQ_OQ>(v, vp)));
        }
        for (; q < len; ++q) {
            *less += x[q] < p;
            *equal += x[q] == p;
        }
    }
    // The values below p (low) or above it, in order, to out; returns how many.
    template <bool Low>
    EAP_AVX512 static std::size_t compress(const T* x, std::size_t len, T p, T* out) {
        const typename L::V vp = L::set1(p);
        std::size_t c = 0, q = 0;
        for (; q + L::N <= len; q += L::N) {
            const typename L::V v = L::load(x + q);
            const typename L::Mask keep = Low ? L::template cmp<_CMP_LT_OQ>(v, vp)
                                              : L::template cmp<_CMP_GT_OQ>(v, vp);
            L::store_compressed(out + c, keep, v);
            c += static_cast<std::size_t>(__builtin_popcount(keep));
        }
        for (; q < len; ++q) {
            out[c] = x[q];
            c += Low ? x[q] < p : x[q] > p;
        }
        return c;
    }
};

bool has_avx512() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    }();
    return yes;
}

// The AVX-512 passes when that is the active instruction set (forcing a narrower one reaches
// the plain passes) and the CPU has the subsets they use.
bool use_avx512() { return active_isa() == Isa::avx512 && has_avx512(); }
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
    if (use_avx512()) return gather_avx512(x, len, lo, hi, vals, pos, m);
#endif
    *m = 0;
    return gather_plain(x, 0, len, lo, hi, vals, pos, m);
}

template <class T>
T kth(T* x, std::size_t m, std::size_t r, T* tmp) {
#if defined(EAP_ROW_PASS_DISPATCH)
    if (use_avx512()) {
        if (narrow<Select512<T>>(&x, &tmp, &m, &r)) return x[r];
    } else if (narrow<SelectPlain<T>>(&x, &tmp, &m, &r)) {
        return x[r];
    }
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

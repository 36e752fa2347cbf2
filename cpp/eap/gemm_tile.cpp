#include "eap/gemm_tile.hpp"

#include "eap/isa.hpp"
#include "eap/simd.hpp"

#if defined(EAP_VECTOR_EXTENSIONS) && defined(__x86_64__) && !defined(EAP_NO_DISPATCH)
#define EAP_TILE_DISPATCH 1
#include <immintrin.h>
#endif

namespace eap {
namespace {

// Baseline: 16-byte vectors (SSE2 on x86-64), no FMA.
namespace generic {
#define EAP_TILE_VBYTES 16
#define EAP_TILE_FMA 0
#include "eap/gemm_tile_kernel.inc"
#undef EAP_TILE_VBYTES
#undef EAP_TILE_FMA
}  // namespace generic

#if defined(EAP_TILE_DISPATCH)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#define EAP_TILE_VBYTES 32
#define EAP_TILE_FMA 256
#include "eap/gemm_tile_kernel.inc"
#undef EAP_TILE_VBYTES
#undef EAP_TILE_FMA
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
namespace avx512 {
#define EAP_TILE_VBYTES 64
#define EAP_TILE_FMA 512
#include "eap/gemm_tile_kernel.inc"
#undef EAP_TILE_VBYTES
#undef EAP_TILE_FMA
}  // namespace avx512
#pragma GCC pop_options
#endif

// Non-inline entry points per instruction set, and the table chosen once at run time.
template <class T>
struct Kernels {
    void (*store)(const T*, const T*, std::size_t, const T*, T*, std::size_t);
    bool (*filter)(const T*, const T*, std::size_t, const T*, const T*, T*, std::uint32_t*);
};

template <class T>
void store_generic(const T* A, const T* B, std::size_t d, const T* nb, T* out, std::size_t ldo) {
    generic::store_tile(A, B, d, nb, out, ldo);
}
template <class T>
bool filter_generic(const T* A, const T* B, std::size_t d, const T* nb, const T* thr, T* out,
                    std::uint32_t* hits) {
    return generic::filter_tile(A, B, d, nb, thr, out, hits);
}

#if defined(EAP_TILE_DISPATCH)
template <class T>
__attribute__((target("avx2,fma"))) void store_avx2(const T* A, const T* B, std::size_t d,
                                                    const T* nb, T* out, std::size_t ldo) {
    avx2::store_tile(A, B, d, nb, out, ldo);
}
template <class T>
__attribute__((target("avx2,fma"))) bool filter_avx2(const T* A, const T* B, std::size_t d,
                                                     const T* nb, const T* thr, T* out,
                                                     std::uint32_t* hits) {
    return avx2::filter_tile(A, B, d, nb, thr, out, hits);
}
template <class T>
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))) void store_avx512(
    const T* A, const T* B, std::size_t d, const T* nb, T* out, std::size_t ldo) {
    avx512::store_tile(A, B, d, nb, out, ldo);
}
template <class T>
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))) bool filter_avx512(
    const T* A, const T* B, std::size_t d, const T* nb, const T* thr, T* out, std::uint32_t* hits) {
    return avx512::filter_tile(A, B, d, nb, thr, out, hits);
}
#endif

// The tiles of the active instruction set (isa.hpp), so that forcing one reaches them too:
// AVX-512 where the CPU also has the subsets its tiles use, else AVX2.
template <class T>
const Kernels<T>& kernels() {
    static const Kernels<T> generic_tiles{store_generic<T>, filter_generic<T>};
#if defined(EAP_TILE_DISPATCH)
    static const Kernels<T> avx2_tiles{store_avx2<T>, filter_avx2<T>};
    static const Kernels<T> avx512_tiles{store_avx512<T>, filter_avx512<T>};
    if (active_avx512_full()) return avx512_tiles;
    return active_isa() == Isa::baseline ? generic_tiles : avx2_tiles;
#else
    return generic_tiles;
#endif
}

}  // namespace

void tile_store(const float* A, const float* B, std::size_t d, const float* nb, float* out,
                std::size_t ldo) {
    kernels<float>().store(A, B, d, nb, out, ldo);
}
void tile_store(const double* A, const double* B, std::size_t d, const double* nb, double* out,
                std::size_t ldo) {
    kernels<double>().store(A, B, d, nb, out, ldo);
}
bool tile_filter(const float* A, const float* B, std::size_t d, const float* nb, const float* thr,
                 float* out, std::uint32_t* hits) {
    return kernels<float>().filter(A, B, d, nb, thr, out, hits);
}
bool tile_filter(const double* A, const double* B, std::size_t d, const double* nb,
                 const double* thr, double* out, std::uint32_t* hits) {
    return kernels<double>().filter(A, B, d, nb, thr, out, hits);
}

}  // namespace eap

// Register-blocked tiles of the GEMM expansion of squared distances: for MR packed query rows
// a and NR packed points b, v = |b|^2 - 2 a.b (add |a|^2 to get |a - b|^2). The dot products
// accumulate in vector registers in any order, with FMA where the CPU has it: v is a filter
// value whose error expansion_bound.hpp bounds, never a result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eap {

template <class T>
struct GemmTile {
    static constexpr std::size_t MR = 12;               // query rows of a tile
    static constexpr std::size_t NR = 128 / sizeof(T);  // points of a tile (one packed panel)
};

// A: MR rows packed dimension-major (A[k * MR + r]); B: one panel of NR points packed
// dimension-major (B[k * NR + j]); nb: the NR values |b|^2.
// tile_store writes v[r][j] to out[r * ldo + j].
void tile_store(const float* A, const float* B, std::size_t d, const float* nb, float* out,
                std::size_t ldo);
void tile_store(const double* A, const double* B, std::size_t d, const double* nb, double* out,
                std::size_t ldo);

// Sets bit j of hits[r] iff v[r][j] <= thr[r] (NR <= 32), and returns whether any bit is set;
// out[r * NR + j] then holds v[r][j] for every set bit.
bool tile_filter(const float* A, const float* B, std::size_t d, const float* nb, const float* thr,
                 float* out, std::uint32_t* hits);
bool tile_filter(const double* A, const double* B, std::size_t d, const double* nb,
                 const double* thr, double* out, std::uint32_t* hits);

}  // namespace eap

// The top levels of each tree of an Isolation Forest laid out as a complete binary tree, for walks
// of 16 rows per AVX-512 vector (forest.hpp's walker takes them when the CPU has AVX-512). Node p
// of level L sits at 2^L - 1 + p of its tree's top and its children are nodes 2p and 2p + 1 of
// level L + 1, so a walk keeps one position per row and reads no child pointers, and a level of
// up to 32 nodes is one or two vectors, where a permutation replaces the gathers. A leaf above
// the last top level becomes nodes whose every way leads to it. Below the top, each position's
// node of the pointer layout continues the walk by gathers. Memory per tree: at most 63 top nodes
// of 8 bytes and 64 entries of 4 (760 bytes), where a tree of 256 rows has about 120 nodes of 32
// bytes in the pointer layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "eap/simd.hpp"

namespace eap {

class ForestLevels {
public:
    // Levels laid out complete: 0 to 5, the deepest a permutation of two vectors serves.
    static constexpr std::int32_t kTopLevels = 6;

    ForestLevels() = default;
    // words: the pointer layout's nodes as IsolationForestPaths holds them (checked there), 4
    // words each {below (a float's bits), feature, left, right}, a leaf's children itself;
    // roots[t], heights[t]: tree t's root node and longest root-leaf path, in edges.
    ForestLevels(const std::int32_t* words, const std::vector<std::int32_t>& roots,
                 const std::vector<std::int32_t>& heights);

    // Whether nothing is laid out (no trees, or too many for 32-bit starts).
    bool empty() const { return top_start_.empty(); }

#if defined(EAP_X86_DISPATCH)
    // out[i] += tree t's leaf value reached by row i of Z (n_features columns), i in [i0, i1):
    // the same comparisons as the pointer walk (!(z <= below): NaN goes right), so the same
    // leaves. words: the nodes the levels were built from; leaf_value per node. Needs AVX-512F, fewer than 2^29 nodes and
    // n_features < 2^27 (32-bit gather offsets, up to 16 rows of n_features values).
    void add_depths_avx512(std::size_t t, const std::int32_t* words, const double* leaf_value,
                           const float* Z, std::size_t n_features, std::size_t i0,
                           std::size_t i1, double* out) const;
#endif

private:
    // Not std::vector: a vector would write every slot twice (a bagged model has 10^4 trees).
    std::unique_ptr<std::int32_t[]> feature_, entry_;
    std::unique_ptr<float[]> below_;
    std::vector<std::uint32_t> top_start_, entry_start_;  // per tree
    std::vector<std::int32_t> height_;
};

}  // namespace eap

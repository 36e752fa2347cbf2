// Isolation Forest path lengths from a fitted forest's node arrays (SPEC section 4.1 prior),
// so candidate scoring never leaves the core. Matches scikit-learn's score_samples bit for bit:
// float32 features decided against float64 thresholds (exactly, see Node), per-tree terms added in tree order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "eap/forest_levels.hpp"

namespace eap {

// The largest float not above t (NaN stays NaN): for a float z, z <= t exactly when
// z <= float_below(t), so walks decide as scikit-learn's float64 comparison on float compares.
// The float f nearest t, when above it, is finite or +inf; the float before it is one step of
// its bits (below +0: the smallest negative subnormal), where libm's nextafter is a call per node.
inline float float_below(double t) {
    const float f = static_cast<float>(t);
    if (!(static_cast<double>(f) > t)) return f;
    if (f == 0.0f) return -std::numeric_limits<float>::denorm_min();
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof f);
    bits = f > 0.0f ? bits - 1 : bits + 1;
    float below;
    std::memcpy(&below, &bits, sizeof below);
    return below;
}

// All trees concatenated, laid out as IsolationForestPaths reads them: tree t's root is
// root[t]; children are absolute indices after their parent (-1 for a leaf); a leaf's value is
// its depth in edges + c(rows in the leaf) (scikit-learn's: its depth + c - 1).
struct ForestNodes {
    std::vector<std::int64_t> root, left, right, feature;
    std::vector<double> threshold, leaf_value;
};

class IsolationForestPaths {
public:
    // Checks the arrays (equal lengths, children forward inside the forest, features and roots
    // in range); throws std::invalid_argument otherwise.
    IsolationForestPaths(ForestNodes nodes, std::size_t n_features);

    // The arrays it was built from, as given (a leaf's feature reads 0: walks read it).
    ForestNodes node_arrays() const;

    // depths[i] = sum over trees (in order) of the leaf value reached by row i of Z (l x d).
    void depths(const float* Z, std::size_t l, int n_threads, double* out) const;

    // The same for rows [i0, i1) of Z only, on the calling thread.
    void depths_of_rows(const float* Z, std::size_t i0, std::size_t i1, double* out) const;

    std::size_t n_features() const { return n_features_; }

    // Whether walks take the AVX-512 level walk now: the levels are laid out and AVX-512 is
    // the active instruction set.
    bool level_walk() const;

    // Rows per parallel item of a walk of l rows with n_threads threads.
    static std::size_t rows_per_item(std::size_t l, int n_threads);

private:
    // Rows walked side by side (8 rows: 1.15 us per row for 100 trees, 16: 1.0, 32: 1.0, 4: 2.4).
    static constexpr std::size_t kGroup = 16;
    // Largest forests and widest rows the AVX-512 walk takes (its gathers' 32-bit offsets).
    static constexpr std::size_t kLevelsMaxNodes = std::size_t(1) << 29;
    static constexpr std::size_t kLevelsMaxFeatures = std::size_t(1) << 27;

    // out[i] += tree t's leaf value reached by row i of Z, for i in [i0, i1): the pointer walk.
    void add_tree_depths(std::size_t t, const float* Z, std::size_t i0, std::size_t i1,
                         double* out) const;

    // A node's fields lie together (16 bytes): a walk steps to child[!(z[feature] <= below)] (NaN
    // goes right, as in scikit-learn), and a leaf's children are itself, so every walk of a tree
    // can take the tree's full depth in steps without branches. below = float_below(threshold):
    // the walk decides as scikit-learn does on nodes two thirds the size (the 100 forests of a
    // bagged model, 750 rows: 12 % faster; one forest, 10^5 rows: within noise).
    struct Node {
        float below;
        std::int32_t feature;
        std::int32_t child[2];
    };
    static_assert(sizeof(Node) == 16 && offsetof(Node, feature) == 4 && offsetof(Node, child) == 8,
                  "the level walk reads a node as the words {below, feature, left, right}");
    // The nodes as ForestLevels reads them.
    const std::int32_t* words() const { return reinterpret_cast<const std::int32_t*>(nodes_.data()); }
    std::vector<Node> nodes_;
    std::vector<double> threshold_;  // as given (a leaf's decides nothing), for node_arrays
    std::vector<std::int32_t> root_, depth_;  // per tree: root node and longest root-leaf path
    std::vector<double> leaf_value_;
    std::size_t n_features_;
    // Each tree's top levels laid out complete, for the AVX-512 walk; empty where the CPU lacks
    // AVX-512 (or the forest is too large for it).
    ForestLevels levels_;
};

// out[f * l + i] = forests[f]->depths of row i of Z (l x d), every forest's rows in one parallel
// region (bagging rounds scored together); each value as IsolationForestPaths::depths gives it.
void depths_of_forests(const std::vector<const IsolationForestPaths*>& forests, const float* Z,
                       std::size_t l, int n_threads, double* out);

}  // namespace eap

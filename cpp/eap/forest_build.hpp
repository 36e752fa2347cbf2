// Isolation Forest construction (SPEC section 4.1 prior): Liu, Ting & Zhou 2008 as
// scikit-learn builds it, in the node-array format IsolationForestPaths evaluates, so fitting
// the prior never leaves the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eap {

// All trees concatenated, laid out as IsolationForestPaths expects: tree t's root is
// root[t]; children are absolute indices after their parent (-1 for a leaf); a leaf's value is
// its depth in edges + c(rows in the leaf).
struct ForestNodes {
    std::vector<std::int64_t> root, left, right, feature;
    std::vector<double> threshold, leaf_value;
};

// Builds n_estimators trees, each on max_samples distinct rows of X (n x d, finite float32).
// Tree t draws from its own stream seeded by (seed, t): the forest is a pure function of
// (X, n_estimators, max_samples, seed), whatever n_threads is.
// Throws std::invalid_argument for bad sizes or non-finite values.
ForestNodes build_isolation_forest(const float* X, std::size_t n, std::size_t d,
                                   std::size_t n_estimators, std::size_t max_samples,
                                   std::uint64_t seed, int n_threads);

}  // namespace eap

// Isolation Forest construction (SPEC section 4.1 prior): Liu, Ting & Zhou 2008 as
// scikit-learn builds it, in the node-array format IsolationForestPaths evaluates, so fitting
// the prior never leaves the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "eap/forest.hpp"
#include "eap/rounds.hpp"

namespace eap {

// Builds n_estimators trees, each on max_samples distinct rows of X (n x d, finite float32).
// Tree t draws from its own stream seeded by (seed, t): the forest is a pure function of
// (X, n_estimators, max_samples, seed), whatever n_threads is.
// Throws std::invalid_argument for bad sizes or non-finite values.
ForestNodes build_isolation_forest(const float* X, std::size_t n, std::size_t d,
                                   std::size_t n_estimators, std::size_t max_samples,
                                   std::uint64_t seed, int n_threads);

// One bagging round's forest (its walker, which holds its nodes) and the depths of the round's
// rows.
struct ForestRound {
    std::unique_ptr<IsolationForestPaths> paths;
    std::vector<double> depths;
};

// Every round's forest, each as build_isolation_forest builds it on a copy of the round's rows
// of X (d columns, float32; the rounds' rows must be finite) with seeds[r] and
// min(max_samples, rows) samples per tree, then the depths of those rows. Rounds run side by
// side, one thread each, or one after another with their trees in parallel when there are
// fewer rounds than threads; the result does not depend on n_threads.
// Throws what build_isolation_forest throws.
std::vector<ForestRound> build_forest_rounds(const float* X, std::size_t d, const Rounds& rounds,
                                             const std::uint64_t* seeds, std::size_t n_estimators,
                                             std::size_t max_samples, int n_threads);

}  // namespace eap

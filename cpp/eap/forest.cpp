#include "eap/forest.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "eap/parallel.hpp"

namespace eap {

IsolationForestPaths::IsolationForestPaths(std::vector<std::int64_t> root,
                                           std::vector<std::int64_t> left,
                                           std::vector<std::int64_t> right,
                                           std::vector<std::int64_t> feature,
                                           std::vector<double> threshold,
                                           std::vector<double> leaf_value, std::size_t n_features)
    : root_(std::move(root)),
      left_(std::move(left)),
      right_(std::move(right)),
      feature_(std::move(feature)),
      threshold_(std::move(threshold)),
      leaf_value_(std::move(leaf_value)),
      n_features_(n_features) {
    const auto n = static_cast<std::int64_t>(left_.size());
    if (right_.size() != left_.size() || feature_.size() != left_.size() ||
        threshold_.size() != left_.size() || leaf_value_.size() != left_.size())
        throw std::invalid_argument("forest node arrays must have the same length");
    // A walk must end: children point strictly forward (scikit-learn stores trees depth-first).
    for (std::int64_t i = 0; i < n; ++i) {
        if (left_[i] == -1) continue;
        if (left_[i] <= i || left_[i] >= n || right_[i] <= i || right_[i] >= n)
            throw std::invalid_argument("forest children must point forward inside the forest");
        if (feature_[i] < 0 || static_cast<std::size_t>(feature_[i]) >= n_features_)
            throw std::invalid_argument("forest feature index out of range");
    }
    for (std::int64_t r : root_)
        if (r < 0 || r >= n) throw std::invalid_argument("forest root out of range");
}

void IsolationForestPaths::depths(const float* Z, std::size_t l, int n_threads, double* out) const {
    const auto rows = [&](int&, std::size_t i0, std::size_t i1) {
        std::fill(out + i0, out + i1, 0.0);
        for (std::int64_t root : root_) {  // tree-major: one tree's nodes stay in cache
            for (std::size_t i = i0; i < i1; ++i) {
                const float* z = Z + i * n_features_;
                std::int64_t node = root;
                while (left_[node] != -1)
                    node = static_cast<double>(z[feature_[node]]) <= threshold_[node] ? left_[node]
                                                                                      : right_[node];
                out[i] += leaf_value_[node];
            }
        }
    };
    parallel_for_rows(l, 256, n_threads, [] { return 0; }, rows);
}

}  // namespace eap

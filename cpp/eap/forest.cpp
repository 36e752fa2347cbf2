#include "eap/forest.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "eap/isa.hpp"
#include "eap/parallel.hpp"

namespace eap {

IsolationForestPaths::IsolationForestPaths(ForestNodes nodes, std::size_t n_features)
    : threshold_(std::move(nodes.threshold)), leaf_value_(std::move(nodes.leaf_value)),
      n_features_(n_features) {
    const std::vector<std::int64_t>&left = nodes.left, &right = nodes.right, &feature = nodes.feature;
    const std::size_t n = left.size();
    if (right.size() != n || feature.size() != n || threshold_.size() != n || leaf_value_.size() != n)
        throw std::invalid_argument("forest node arrays must have the same length");
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
    if (n >= kMax || n_features_ >= kMax) throw std::invalid_argument("forest has too many nodes or features");
    // A walk must end: children point strictly forward (scikit-learn stores trees depth-first).
    nodes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto self = static_cast<std::int32_t>(i);
        if (left[i] == -1) {
            nodes_[i] = Node{float_below(threshold_[i]), 0, {self, self}};
            continue;
        }
        const auto in = [&](std::int64_t c) { return c > self && c < static_cast<std::int64_t>(n); };
        if (!in(left[i]) || !in(right[i]))
            throw std::invalid_argument("forest children must point forward inside the forest");
        if (feature[i] < 0 || static_cast<std::size_t>(feature[i]) >= n_features_)
            throw std::invalid_argument("forest feature index out of range");
        nodes_[i] = Node{float_below(threshold_[i]), static_cast<std::int32_t>(feature[i]),
                         {static_cast<std::int32_t>(left[i]), static_cast<std::int32_t>(right[i])}};
    }
    // Heights from the last node back: children come after their parent.
    std::vector<std::int32_t> height(n, 0);
    for (std::size_t i = n; i-- > 0;) {
        const Node& node = nodes_[i];
        if (node.child[0] != static_cast<std::int32_t>(i))
            height[i] = 1 + std::max(height[static_cast<std::size_t>(node.child[0])],
                                     height[static_cast<std::size_t>(node.child[1])]);
    }
    for (const std::int64_t r : nodes.root) {
        if (r < 0 || r >= static_cast<std::int64_t>(n)) throw std::invalid_argument("forest root out of range");
        root_.push_back(static_cast<std::int32_t>(r));
        depth_.push_back(height[static_cast<std::size_t>(r)]);
    }
#if defined(EAP_X86_DISPATCH)
    // Built once where the CPU has AVX-512, whichever instruction set is forced now.
    if (isa_supported(Isa::avx512) && n < kLevelsMaxNodes && n_features_ < kLevelsMaxFeatures)
        levels_ = ForestLevels(words(), root_, depth_);
#endif
}

ForestNodes IsolationForestPaths::node_arrays() const {
    ForestNodes out;
    out.root.assign(root_.begin(), root_.end());
    out.leaf_value = leaf_value_;
    const std::size_t n = nodes_.size();
    out.left.resize(n);
    out.right.resize(n);
    out.feature.resize(n);
    out.threshold = threshold_;
    for (std::size_t i = 0; i < n; ++i) {
        const Node& node = nodes_[i];
        const bool leaf = node.child[0] == static_cast<std::int32_t>(i);
        out.left[i] = leaf ? -1 : node.child[0];
        out.right[i] = leaf ? -1 : node.child[1];
        out.feature[i] = node.feature;
    }
    return out;
}

void IsolationForestPaths::depths_of_rows(const float* Z, std::size_t i0, std::size_t i1,
                                          double* out) const {
    // Tree-major, so a tree's nodes stay in cache; each row adds the trees' leaf values in tree
    // order (scikit-learn's sum, bit for bit), whichever walk reaches them.
    std::fill(out + i0, out + i1, 0.0);
#if defined(EAP_X86_DISPATCH)
    const bool levels = level_walk();
#endif
    for (std::size_t t = 0; t < root_.size(); ++t) {
#if defined(EAP_X86_DISPATCH)
        if (levels) {
            levels_.add_depths_avx512(t, words(), leaf_value_.data(), Z, n_features_, i0, i1, out);
            continue;
        }
#endif
        add_tree_depths(t, Z, i0, i1, out);
    }
}

bool IsolationForestPaths::level_walk() const {
#if defined(EAP_X86_DISPATCH)
    return !levels_.empty() && active_isa() == Isa::avx512;
#else
    return false;
#endif
}

void IsolationForestPaths::add_tree_depths(std::size_t t, const float* Z, std::size_t i0,
                                           std::size_t i1, double* out) const {
    // Walks of kGroup rows run interleaved, so their memory latencies overlap.
    const Node* nodes = nodes_.data();
    for (std::size_t i = i0; i < i1; i += kGroup) {
        const std::size_t g = std::min(kGroup, i1 - i);
        std::int32_t at[kGroup];
        std::fill(at, at + kGroup, root_[t]);
        const float* z = Z + i * n_features_;
        for (std::int32_t step = 0; step < depth_[t]; ++step)
            for (std::size_t u = 0; u < g; ++u) {
                const Node& node = nodes[at[u]];
                const bool right = !(z[u * n_features_ + node.feature] <= node.below);
                at[u] = node.child[right];
            }
        for (std::size_t u = 0; u < g; ++u) out[i + u] += leaf_value_[static_cast<std::size_t>(at[u])];
    }
}

std::size_t IsolationForestPaths::rows_per_item(std::size_t l, int n_threads) {
    // Up to 256 rows per item, but at least 4 items per thread where l allows: a bagged fit
    // walks a few hundred rows per round, which 256-row items would leave to one or two threads.
    const std::size_t threads = static_cast<std::size_t>(resolve_threads(n_threads));
    return std::clamp<std::size_t>((l / (4 * threads) + kGroup - 1) / kGroup * kGroup, 4 * kGroup, 256);
}

void IsolationForestPaths::depths(const float* Z, std::size_t l, int n_threads, double* out) const {
    parallel_for_rows(l, rows_per_item(l, n_threads), n_threads, [] { return 0; },
                      [&](int&, std::size_t i0, std::size_t i1) { depths_of_rows(Z, i0, i1, out); });
}

void depths_of_forests(const std::vector<const IsolationForestPaths*>& forests, const float* Z,
                       std::size_t l, int n_threads, double* out) {
    // With forests enough to keep every thread busy, items of up to kForestRows rows: a forest's
    // nodes are read from memory once per item, and a bagged model's forests pass the caches
    // (100 forests, 750 rows: 96-row items read each forest 8 times, and 2 threads ran 1.7x as
    // fast as one).
    constexpr std::size_t kForestRows = 2048;
    const std::size_t threads = static_cast<std::size_t>(resolve_threads(n_threads));
    const std::size_t per_item = forests.size() >= 4 * threads
                                     ? std::max(IsolationForestPaths::rows_per_item(l, n_threads),
                                                std::min(l, kForestRows))
                                     : IsolationForestPaths::rows_per_item(l, n_threads);
    const std::size_t blocks = (l + per_item - 1) / per_item;
    parallel_for(static_cast<std::ptrdiff_t>(forests.size() * blocks), n_threads, [] { return 0; },
                 [&](int&, std::ptrdiff_t item) {
                     const std::size_t f = static_cast<std::size_t>(item) / blocks;
                     const std::size_t i0 = static_cast<std::size_t>(item) % blocks * per_item;
                     forests[f]->depths_of_rows(Z, i0, std::min(l, i0 + per_item), out + f * l);
                 });
}

}  // namespace eap

#include "eap/forest_build.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "eap/parallel.hpp"

namespace eap {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), one stream per tree so trees can be built in any order.
class Rng {
public:
    Rng(std::uint64_t seed, std::uint64_t stream) {
        std::uint64_t state = seed;
        state = splitmix64(state) ^ stream;  // a well-mixed start, distinct for every stream
        for (std::uint64_t& word : s_) word = splitmix64(state);
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, k), k >= 1; rejecting the lowest 2^64 mod k values removes modulo bias.
    // That cut is below k, so a draw r >= k (all but a k/2^64 share) is kept without computing
    // it: one division per draw instead of two.
    std::uint64_t below(std::uint64_t k) {
        for (;;) {
            const std::uint64_t r = next();
            if (r >= k || r >= (0 - k) % k) return r % k;
        }
    }

    // Uniform in [0, 1) on the 2^-53 grid.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

// scikit-learn's c(n): the average path length of an unsuccessful search in a binary search
// tree of n nodes, which a leaf adds for the rows it did not separate.
double average_path_length(std::size_t n) {
    if (n <= 1) return 0.0;
    if (n == 2) return 1.0;
    const double m = static_cast<double>(n);
    return 2.0 * (std::log(m - 1.0) + 0.5772156649015329) - 2.0 * (m - 1.0) / m;
}

// One node as the builder writes it, children relative to the tree (a leaf's are itself, so
// a walk's step at a leaf stays there without a branch): one growing array per tree, not five.
// A walk of the undrawn rows reads the first 16 bytes (below = float_below(threshold), see
// forest.hpp), as IsolationForestPaths' walks do.
struct TreeNode {
    float below;
    std::int32_t feature, child[2];
    double threshold, leaf_value;
};
using Tree = std::vector<TreeNode>;

// One thread's scratch. Every tree starts from the same scratch state, so a tree depends on
// its random stream only, not on which trees the thread built before.
class TreeBuilder {
public:
    TreeBuilder(const float* X, std::size_t n, std::size_t d, std::size_t psi)
        : X_(X), n_(n), d_(d), psi_(psi), taken_((n + 63) / 64), features_(d), path_length_(psi + 1) {
        while ((std::size_t{1} << max_depth_) < std::max<std::size_t>(psi, 2)) ++max_depth_;
        for (std::size_t m = 0; m <= psi; ++m) path_length_[m] = average_path_length(m);
    }

    // The next tree from `rng`. With `depths`, also adds its leaf value to depths[row] for
    // every row of X: the drawn rows where the build leaves them (a walk of the tree would
    // take each of them to that leaf), the others by walking the fresh tree.
    Tree build(Rng& rng, double* depths = nullptr) {
        draw_sample(rng);
        std::iota(features_.begin(), features_.end(), std::size_t{0});
        Tree tree;
        tree.reserve(2 * psi_ - 1);  // psi rows make at most psi leaves: one allocation per tree
        depths_ = depths;
        height_ = 0;
        grow(tree, rng, 0, psi_, 0);
        if (depths != nullptr && psi_ < n_) walk_undrawn(tree);
        for (std::size_t row : sample_) taken_[row / 64] = 0;
        return tree;
    }

private:
    // Floyd's algorithm: psi distinct rows (sampling without replacement) in psi draws.
    void draw_sample(Rng& rng) {
        sample_.clear();
        for (std::size_t j = n_ - psi_; j < n_; ++j) {
            std::size_t row = rng.below(j + 1);
            if ((taken_[row / 64] >> (row % 64)) & 1) row = j;
            taken_[row / 64] |= std::uint64_t{1} << (row % 64);
            sample_.push_back(row);
        }
    }

    // Appends the subtree of the rows sample_[begin, end) at `depth` edges below the root, in
    // preorder (children after their parent, as the evaluator requires); returns its index.
    std::int32_t grow(Tree& t, Rng& rng, std::size_t begin, std::size_t end, int depth) {
        const auto node = static_cast<std::int32_t>(t.size());
        t.push_back(TreeNode{0.0f, 0, {node, node}, 0.0, depth + path_length_[end - begin]});
        if (end - begin < 2 || depth >= max_depth_) return leaf(t, node, begin, end, depth);
        // Features in random order (Fisher-Yates) until one varies in the node: that one is
        // uniform among the non-constant features. If none varies, the node stays a leaf.
        for (std::size_t k = 0; k < d_; ++k) {
            std::swap(features_[k], features_[k + rng.below(d_ - k)]);
            const std::size_t f = features_[k];
            float lo = X_[sample_[begin] * d_ + f], hi = lo;
            for (std::size_t i = begin + 1; i < end; ++i) {
                const float v = X_[sample_[i] * d_ + f];
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
            if (lo == hi) continue;
            double threshold = lo + (static_cast<double>(hi) - lo) * rng.uniform();
            if (threshold >= hi) threshold = lo;  // rounded up to the max: scikit-learn's rule
            // Lomuto without a branch per row (which side a row goes is a coin toss): the
            // rows [begin, mid) go left. The order within a side changes nothing in the tree.
            std::size_t mid = begin;
            for (std::size_t i = begin; i < end; ++i) {
                const std::size_t row = sample_[i];
                sample_[i] = sample_[mid];
                sample_[mid] = row;
                mid += static_cast<std::size_t>(X_[row * d_ + f] <= threshold);
            }
            t[node].feature = static_cast<std::int32_t>(f);
            t[node].threshold = threshold;
            t[node].below = float_below(threshold);
            const std::int32_t left = grow(t, rng, begin, mid, depth + 1);
            const std::int32_t right = grow(t, rng, mid, end, depth + 1);
            t[node].child[0] = left;
            t[node].child[1] = right;
            return node;
        }
        return leaf(t, node, begin, end, depth);
    }

    // The node ends a path: its rows sample_[begin, end) are the drawn rows that reach it.
    std::int32_t leaf(const Tree& t, std::int32_t node, std::size_t begin, std::size_t end, int depth) {
        height_ = std::max(height_, depth);
        if (depths_ != nullptr)
            for (std::size_t i = begin; i < end; ++i) depths_[sample_[i]] += t[node].leaf_value;
        return node;
    }

    // Rows not drawn for the tree, walked through it 16 side by side (their memory latencies
    // overlap), each for the tree's height in steps; a leaf's step stays on it. The builder's
    // node layout, so not IsolationForestPaths' walk, which needs the finished forest.
    void walk_undrawn(const Tree& t) const {
        constexpr std::size_t kGroup = 16;
        std::size_t rows[kGroup];
        std::size_t g = 0;
        const auto walk = [&] {
            std::int32_t at[kGroup] = {};
            for (int step = 0; step < height_; ++step)
                for (std::size_t u = 0; u < g; ++u) {
                    const TreeNode& node = t[static_cast<std::size_t>(at[u])];
                    at[u] = node.child[!(X_[rows[u] * d_ + static_cast<std::size_t>(node.feature)] <=
                                         node.below)];
                }
            for (std::size_t u = 0; u < g; ++u) depths_[rows[u]] += t[static_cast<std::size_t>(at[u])].leaf_value;
            g = 0;
        };
        for (std::size_t row = 0; row < n_; ++row) {
            // Without a branch on the bit: whether a row was drawn is a coin toss (a 100-round
            // bagged fit, n = 1000: its forests 8 % faster).
            rows[g] = row;
            g += 1 - ((taken_[row / 64] >> (row % 64)) & 1);
            if (g == kGroup) walk();
        }
        walk();
    }

    const float* X_;
    std::size_t n_, d_, psi_;
    int max_depth_ = 0;  // ceil(log2(max(psi, 2))) edges, as scikit-learn limits it
    std::vector<std::uint64_t> taken_;  // bitset over X's rows, all clear between trees
    std::vector<std::size_t> sample_, features_;
    std::vector<double> path_length_;  // c(m) for m = 0..psi: one log per size, not per node
    double* depths_ = nullptr;  // the current tree's depth sums (build's argument), or none
    int height_ = 0;  // the current tree's longest path so far, in edges
};

void check_forest_arguments(const float* X, std::size_t n, std::size_t d, std::size_t n_estimators,
                            std::size_t max_samples) {
    if (n == 0 || d == 0) throw std::invalid_argument("X must have at least one row and column");
    if (n_estimators == 0) throw std::invalid_argument("n_estimators must be at least 1");
    if (max_samples == 0 || max_samples > n)
        throw std::invalid_argument("max_samples must satisfy 1 <= max_samples <= n_rows");
    if (!std::all_of(X, X + n * d, [](float v) { return std::isfinite(v); }))
        throw std::invalid_argument("X must be finite");
}

ForestNodes concatenated(const std::vector<Tree>& trees) {
    std::size_t total = 0;
    for (const Tree& tree : trees) total += tree.size();
    ForestNodes out;
    out.left.reserve(total);
    out.right.reserve(total);
    out.feature.reserve(total);
    out.threshold.reserve(total);
    out.leaf_value.reserve(total);
    for (const Tree& tree : trees) {
        const auto offset = static_cast<std::int64_t>(out.left.size());
        out.root.push_back(offset);
        for (std::size_t i = 0; i < tree.size(); ++i) {
            const TreeNode& node = tree[i];
            const bool leaf = node.child[0] == static_cast<std::int64_t>(i);
            out.left.push_back(leaf ? -1 : node.child[0] + offset);
            out.right.push_back(leaf ? -1 : node.child[1] + offset);
            out.feature.push_back(node.feature);
            out.threshold.push_back(node.threshold);
            out.leaf_value.push_back(node.leaf_value);
        }
    }
    return out;
}

// build_isolation_forest on one thread, trees in order, with each row's depth (its leaf values
// summed in tree order, as IsolationForestPaths::depths adds them) accumulated as they grow.
ForestNodes build_isolation_forest_with_depths(const float* X, std::size_t n, std::size_t d,
                                               std::size_t n_estimators, std::size_t max_samples,
                                               std::uint64_t seed, double* depths) {
    check_forest_arguments(X, n, d, n_estimators, max_samples);
    std::fill(depths, depths + n, 0.0);
    TreeBuilder builder(X, n, d, max_samples);
    std::vector<Tree> trees(n_estimators);
    for (std::size_t t = 0; t < n_estimators; ++t) {
        Rng rng(seed, static_cast<std::uint64_t>(t));
        trees[t] = builder.build(rng, depths);
    }
    return concatenated(trees);
}

}  // namespace

ForestNodes build_isolation_forest(const float* X, std::size_t n, std::size_t d,
                                   std::size_t n_estimators, std::size_t max_samples,
                                   std::uint64_t seed, int n_threads) {
    check_forest_arguments(X, n, d, n_estimators, max_samples);
    std::vector<Tree> trees(n_estimators);
    parallel_for(
        static_cast<std::ptrdiff_t>(n_estimators), n_threads,
        [&] { return std::make_unique<TreeBuilder>(X, n, d, max_samples); },
        [&](std::unique_ptr<TreeBuilder>& builder, std::ptrdiff_t t) {
            Rng rng(seed, static_cast<std::uint64_t>(t));
            trees[static_cast<std::size_t>(t)] = builder->build(rng);
        });
    return concatenated(trees);
}

std::vector<ForestRound> build_forest_rounds(const float* X, std::size_t d, const Rounds& rounds,
                                             const std::uint64_t* seeds, std::size_t n_estimators,
                                             std::size_t max_samples, int n_threads) {
    // Each round's rows are copied out: its forest is then build_isolation_forest's on that copy,
    // checks included (only the rounds' rows must be finite), and its depths are
    // IsolationForestPaths::depths' of the copy.
    const auto copy_round = [&](std::size_t r, std::vector<float>& Xr) {
        const std::int64_t* rows = rounds.rows + rounds.start(r);
        Xr.resize(rounds.size(r) * d);
        for (std::size_t q = 0; q < rounds.size(r); ++q)
            std::copy_n(X + static_cast<std::size_t>(rows[q]) * d, d, Xr.data() + q * d);
    };
    std::vector<ForestRound> out(rounds.count);
    if (rounds.count < static_cast<std::size_t>(resolve_threads(n_threads))) {
        // Too few rounds to keep every thread busy (one round, say): a round's trees, then its
        // rows' walks, across all threads.
        std::vector<float> Xr;
        for (std::size_t r = 0; r < rounds.count; ++r) {
            const std::size_t n_r = rounds.size(r);
            copy_round(r, Xr);
            out[r].paths = std::make_unique<IsolationForestPaths>(
                build_isolation_forest(Xr.data(), n_r, d, n_estimators, std::min(max_samples, n_r),
                                       seeds[r], n_threads),
                d);
            out[r].depths.resize(n_r);
            out[r].paths->depths(Xr.data(), n_r, n_threads, out[r].depths.data());
        }
        return out;
    }
    // Rounds side by side, one thread each, the depths summed as the trees grow.
    parallel_for(
        static_cast<std::ptrdiff_t>(rounds.count), n_threads, [] { return std::vector<float>(); },
        [&](std::vector<float>& Xr, std::ptrdiff_t item) {
            const auto r = static_cast<std::size_t>(item);
            const std::size_t n_r = rounds.size(r);
            copy_round(r, Xr);
            out[r].depths.resize(n_r);
            out[r].paths = std::make_unique<IsolationForestPaths>(
                build_isolation_forest_with_depths(Xr.data(), n_r, d, n_estimators,
                                                   std::min(max_samples, n_r), seeds[r],
                                                   out[r].depths.data()),
                d);
        });
    return out;
}

}  // namespace eap

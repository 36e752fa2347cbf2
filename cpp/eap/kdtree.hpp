// A kd-tree for the k nearest *other* points of every point, for small k in low dimension
// (SSDO's bandwidth and the RARITY baseline use k = 10), where partitioning space beats brute
// force. Exact: pruning compares a box's lower bound with the current k-th squared distance,
// both computed with the same rounding as sq_dist (monotone, so no point is wrongly pruned).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace eap {

template <class T>
class KdTree {
public:
    KdTree(const T* X, std::size_t n, std::size_t d);

    // Per-thread working memory of a query.
    struct Scratch {
        std::vector<T> heap;
        std::vector<std::pair<T, std::size_t>> stack;
    };

    // k-th smallest squared distance from the point at tree position r to the other points
    // (1 <= k <= n - 1). Queries in tree order reuse the cache: neighbours share leaves.
    T kth_other(std::size_t r, std::size_t k, Scratch& scratch) const;

    // Row of X at tree position r.
    std::size_t row(std::size_t r) const { return order_[r]; }

private:
    struct Node {
        std::size_t begin, end;  // rows [begin, end) of the reordered points
        std::ptrdiff_t left, right;  // children, -1 for a leaf
    };
    std::ptrdiff_t build(std::size_t begin, std::size_t end);
    T box_bound(const T* q, std::size_t node) const;

    std::size_t n_, d_;
    const T* X_;
    std::vector<std::size_t> order_;  // original row of each reordered point
    std::vector<T> points_;           // rows in tree order
    std::vector<T> lo_, hi_;          // bounding box of each node
    std::vector<Node> nodes_;
};

}  // namespace eap

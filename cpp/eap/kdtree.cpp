#include "eap/kdtree.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "eap/distances.hpp"

namespace eap {

namespace {
constexpr std::size_t kLeafSize = 16;
}

template <class T>
KdTree<T>::KdTree(const T* X, std::size_t n, std::size_t d)
    : n_(n), d_(d), X_(X), order_(n), points_(n * d) {
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    nodes_.reserve(2 * (n / kLeafSize + 1));
    build(0, n);
    for (std::size_t i = 0; i < n; ++i)
        std::copy(X + order_[i] * d, X + (order_[i] + 1) * d, points_.data() + i * d);
}

template <class T>
std::ptrdiff_t KdTree<T>::build(std::size_t begin, std::size_t end) {
    const auto id = static_cast<std::ptrdiff_t>(nodes_.size());
    nodes_.push_back({begin, end, -1, -1});
    lo_.resize(lo_.size() + d_);
    hi_.resize(hi_.size() + d_);
    T* lo = lo_.data() + id * d_;
    T* hi = hi_.data() + id * d_;
    std::copy(X_ + order_[begin] * d_, X_ + (order_[begin] + 1) * d_, lo);
    std::copy(lo, lo + d_, hi);
    for (std::size_t i = begin + 1; i < end; ++i)
        for (std::size_t k = 0; k < d_; ++k) {
            lo[k] = std::min(lo[k], X_[order_[i] * d_ + k]);
            hi[k] = std::max(hi[k], X_[order_[i] * d_ + k]);
        }
    if (end - begin <= kLeafSize) return id;
    std::size_t axis = 0;
    for (std::size_t k = 1; k < d_; ++k)
        if (hi[k] - lo[k] > hi[axis] - lo[axis]) axis = k;
    if (!(hi[axis] > lo[axis])) return id;  // all points equal: a (large) leaf
    const std::size_t mid = begin + (end - begin) / 2;
    std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                     [&](std::size_t a, std::size_t b) { return X_[a * d_ + axis] < X_[b * d_ + axis]; });
    const std::ptrdiff_t left = build(begin, mid);
    const std::ptrdiff_t right = build(mid, end);
    nodes_[id].left = left;
    nodes_[id].right = right;
    return id;
}

template <class T>
T KdTree<T>::box_bound(const T* q, std::size_t node) const {
    const T* lo = lo_.data() + node * d_;
    const T* hi = hi_.data() + node * d_;
    T s = 0;
    for (std::size_t k = 0; k < d_; ++k) {
        const T gap = q[k] < lo[k] ? lo[k] - q[k] : (q[k] > hi[k] ? q[k] - hi[k] : T(0));
        s += gap * gap;
    }
    return s;
}

template <class T>
T KdTree<T>::kth_other(std::size_t r0, std::size_t k, Scratch& scratch) const {
    const T* q = points_.data() + r0 * d_;
    auto& heap = scratch.heap;  // max-heap of the k smallest squared distances so far
    auto& stack = scratch.stack;
    heap.clear();
    stack.assign(1, {T(0), 0});
    while (!stack.empty()) {
        const auto [bound, id] = stack.back();
        stack.pop_back();
        if (heap.size() == k && bound > heap.front()) continue;
        const Node& node = nodes_[id];
        if (node.left < 0) {
            for (std::size_t r = node.begin; r < node.end; ++r) {
                if (r == r0) continue;
                const T d2 = sq_dist(q, points_.data() + r * d_, d_);
                if (heap.size() < k) {
                    heap.push_back(d2);
                    std::push_heap(heap.begin(), heap.end());
                } else if (d2 < heap.front()) {
                    std::pop_heap(heap.begin(), heap.end());
                    heap.back() = d2;
                    std::push_heap(heap.begin(), heap.end());
                }
            }
            continue;
        }
        const auto l = static_cast<std::size_t>(node.left), r = static_cast<std::size_t>(node.right);
        const T bl = box_bound(q, l), br = box_bound(q, r);
        if (bl <= br) {  // the nearer child is searched first
            stack.push_back({br, r});
            stack.push_back({bl, l});
        } else {
            stack.push_back({bl, l});
            stack.push_back({br, r});
        }
    }
    return heap.front();
}

template class KdTree<float>;
template class KdTree<double>;

}  // namespace eap

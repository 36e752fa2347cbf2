// Squared Euclidean distances, computed as sum_k (a_k - b_k)^2 in increasing k.
// Every kernel in the package uses this one summation order, so d(a, b) == d(b, a) bit for bit,
// a tile and a single pair agree exactly, and duplicates are exactly 0 (the GEMM expansion
// |a|^2 - 2ab + |b|^2 gives none of these guarantees).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace eap {

// Points stored as panels of W consecutive points, transposed (dimension-major) and padded
// with zeros, so one query row against one panel vectorises across the W points.
template <class T>
class PackedPoints {
public:
    static constexpr std::size_t W = 64 / sizeof(T);

    PackedPoints(const T* X, std::size_t n, std::size_t d);
    // Packs the rows X[order[i]] in the given order.
    PackedPoints(const T* X, const std::size_t* order, std::size_t n, std::size_t d);

    std::size_t size() const { return n_; }
    std::size_t dim() const { return d_; }
    std::size_t n_panels() const { return (n_ + W - 1) / W; }
    const T* panel(std::size_t p) const { return data_.data() + p * d_ * W; }

private:
    void pack(const T* X, const std::size_t* order);
    std::size_t n_, d_;
    std::vector<T> data_;
};

// out[r * W + j] = squared distance of query row r (rows of Q have stride ldq) to point j of
// the panel, for r < nq and every j < W (padding columns included).
void panel_sq_dists(const float* Q, std::size_t nq, std::size_t ldq, const float* panel,
                    std::size_t d, float* out);
void panel_sq_dists(const double* Q, std::size_t nq, std::size_t ldq, const double* panel,
                    std::size_t d, double* out);

// Squared distance between two rows, same summation order as panel_sq_dists.
template <class T>
inline T sq_dist(const T* a, const T* b, std::size_t d) {
    T s = 0;
    for (std::size_t k = 0; k < d; ++k) {
        const T t = a[k] - b[k];
        s += t * t;
    }
    return s;
}

// Bound on the relative error of a computed squared distance (d + 4 machine epsilons, i.e.
// twice the classical (d + 4) unit-roundoff bound), used to keep pruning bounds provable.
template <class T>
inline double distance_rel_error(std::size_t d) {
    return static_cast<double>(d + 4) * static_cast<double>(std::numeric_limits<T>::epsilon());
}

}  // namespace eap

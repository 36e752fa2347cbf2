// Rarity scores (SPEC section 2): rarity(z) = min{ r_i : d(c_i, z) < r_i (1 - tau) }, 0 if none.
#pragma once

#include <cstddef>
#include <vector>

#include "eap/distances.hpp"

namespace eap {

// The balls in increasing radius, cut into bands; inside a band, balls are grouped spatially into
// panels, each with a bounding sphere. A query scans bands in order and stops at the first band
// holding it; a panel is skipped only when the triangle inequality proves that none of its balls
// can hold the query under the computed (rounded) distance test.
template <class T>
class RarityIndex {
public:
    RarityIndex(const T* C, std::size_t n, std::size_t d, const double* radii, double tau);

    // rarity of each query row of Z (l x d).
    void score(const T* Z, std::size_t l, int n_threads, double* out) const;

private:
    static constexpr std::size_t W = PackedPoints<T>::W;
    double query(const T* z, T* tile) const;

    std::size_t n_, d_, panels_per_band_;
    double gamma_;                   // relative error bound of computed squared distances
    std::vector<std::size_t> order_; // ball index at each packed position
    PackedPoints<T> packed_;
    std::vector<double> radius_, threshold_;         // per packed position
    std::vector<T> centroid_;                        // per panel, d values
    std::vector<double> spread_, panel_threshold_;   // per panel
};

template <class T>
void rarity_scores(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                   const double* radii, double tau, int n_threads, double* out);

}  // namespace eap

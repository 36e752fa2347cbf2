// Distance from each query to its nearest centre: the rarity's continuous extension outside every
// ball (min_i max(r_i, d(c_i, z)) = min_i d(c_i, z) there), used by the tail density.
#pragma once

#include <cstddef>

namespace eap {

// out[i] = sqrt(min_j sq_dist(Z_i, C_j)) for each of the l rows of Z (n >= 1 centres of C),
// summed in the order of distances.hpp, so the value equals the exact per-pair formula.
template <class T>
void nearest_distances(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                       int n_threads, double* out);

}  // namespace eap

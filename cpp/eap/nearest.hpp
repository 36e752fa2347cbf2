// Distance from each query to its k-th nearest centre. k = 1: the rarity's continuous extension
// outside every ball (min_i max(r_i, d(c_i, z)) = min_i d(c_i, z) there), used by the tail
// density; k = SSDO's k: the k-NN prior of a candidate.
#pragma once

#include <cstddef>

namespace eap {

// out[i] = sqrt of the k-th smallest sq_dist(Z_i, C_j) over the n centres of C (1 <= k <= n,
// duplicates counted), summed in the order of distances.hpp, so the value equals the exact
// per-pair formula.
template <class T>
void nearest_distances(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                       std::size_t k, int n_threads, double* out);

}  // namespace eap

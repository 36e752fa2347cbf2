// k-NN sphere radii (SPEC section 1).
#pragma once

#include <cstddef>

namespace eap {

// radii[i] = distance from centre i to its k-th nearest other centre (self excluded,
// duplicates counted with multiplicity), for 1 <= k <= n - 1. C is row-major n x d.
template <class T>
void knn_radii(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
               double* radii);

}  // namespace eap

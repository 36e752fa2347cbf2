// Coverage ranks for the k-hat estimate (SPEC section 3).
#pragma once

#include <cstddef>
#include <cstdint>

namespace eap {

// For each anomaly a (row of A), the smallest k that makes some centre's ball B_k(c_i) hold a:
//   cover[a] = min_i { c_i(a) + 1 : c_i(a) <= n - 2 },  or n - 1 if no ball ever holds a,
// with c_i(a) = #{ centres j != i : d(c_i, c_j) <= d(c_i, a) }. anomaly_index[a] is the row of C
// that a is (its own ball is left out), or -1 when a is not a centre. Memory O(threads x n).
template <class T>
void cover_ranks(const T* C, std::size_t n, const T* A, std::size_t m, std::size_t d,
                 const std::int64_t* anomaly_index, int n_threads, std::int64_t* cover);

}  // namespace eap

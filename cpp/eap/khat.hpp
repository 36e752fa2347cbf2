// Coverage ranks for the k-hat estimate (SPEC section 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eap {

// For each anomaly a (row of A), the smallest k that makes some centre's ball B_k(c_i) hold a:
//   cover[a] = min_i { c_i(a) + 1 : c_i(a) <= n - 2 },  or n - 1 if no ball ever holds a,
// with c_i(a) = #{ centres j != i : d(c_i, c_j) <= d(c_i, a) }. anomaly_index[a] is the row of C
// that a is (its own ball is left out), or -1 when a is not a centre. Memory O(threads x n).
template <class T>
void cover_ranks(const T* C, std::size_t n, const T* A, std::size_t m, std::size_t d,
                 const std::int64_t* anomaly_index, int n_threads, std::int64_t* cover);

template <class T>
struct CoverScratch {
    std::vector<T> sorted;
    std::vector<std::size_t> by_distance;
    std::vector<std::int64_t> counts;
};

// One centre i's part of cover_ranks: best[a] = min(best[a], c_i(a) + 1) where that is a cover,
// from the squared distances row[j] of c_i to each of the n centres and to_anomaly[a] to each of
// the m anomalies. Distances must come from one kernel (an anomaly that is a centre then gets
// bit-identical distances either way, so ties resolve consistently).
template <class T>
void cover_from_row(std::size_t i, const T* row, std::size_t n, const T* to_anomaly,
                    std::size_t m, const std::int64_t* anomaly_index, CoverScratch<T>& s,
                    std::int64_t* best);

}  // namespace eap

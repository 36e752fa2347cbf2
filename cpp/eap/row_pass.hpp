// Vectorised passes over a row of filter values: a gather of the values in a range and a
// selection. Branch-free, where std::nth_element mispredicts a branch per element: AVX-512
// compresses 16 (8) lanes at a time, AVX2 8 (4) by a table of permutations, plain loops
// otherwise; all keep the values in order, so each gives the same result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eap {

// Returns #{q : x[q] < lo}; writes the values and positions q of x[q] in [lo, hi] to vals and
// pos (room for len + 16 entries each) and their number to *m.
std::size_t gather_between(const float* x, std::size_t len, float lo, float hi, float* vals,
                           std::uint32_t* pos, std::size_t* m);
std::size_t gather_between(const double* x, std::size_t len, double lo, double hi, double* vals,
                           std::uint32_t* pos, std::size_t* m);

// r-th smallest (0-based, r < m) of x[0, m); x and tmp (room for m + 16 each) are scratch.
float kth_smallest(float* x, std::size_t m, std::size_t r, float* tmp);
double kth_smallest(double* x, std::size_t m, std::size_t r, double* tmp);

}  // namespace eap

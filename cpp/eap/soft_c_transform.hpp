// The soft c-transform of entropic optimal transport, the step every Sinkhorn sweep of the
// LAVA baseline repeats (python/eap_anomaly/evaluation/sinkhorn.py): a log-sum-exp per row,
// vectorised with the scoring kernel's exp2 and parallel over rows.
#pragma once

#include <cstddef>

namespace eap {

// out[i] = -eps log sum_j exp(log_b[j] + (g[j] - C[i, j]) / eps) for the rows of C (rows x cols,
// row-major), cols >= 1. Each row is shifted by its largest exponent, and terms below 2^-70 of
// it are left out (at most cols 2^-70 relative); each term's exp is within 1e-14 relative of
// exp's (exp2.hpp, its argument scaled by log2 e). Rows are independent and their terms are
// added in a fixed order: the result does not depend on the thread count or instruction set.
void soft_c_transform(const double* C, std::size_t rows, std::size_t cols, const double* g,
                      const double* log_b, double eps, int n_threads, double* out);

}  // namespace eap

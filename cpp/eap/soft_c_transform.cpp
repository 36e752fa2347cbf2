#include "eap/soft_c_transform.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "eap/exp2.hpp"
#include "eap/isa.hpp"
#include "eap/parallel.hpp"
#include "eap/simd.hpp"

namespace eap {

namespace {

// Terms summed side by side in this many fixed lanes (then added in lane order), whatever the
// vector width, so every instruction set adds them in the same order: the same bits.
constexpr std::size_t kLanes = 8;
constexpr double kLog2e = 1.4426950408889634;

// Rows [i0, i1): a row's exponents go to t (cols values) with their maximum, then their shifted
// exps are summed. Lane by lane, the exponents are NumPy's log_b + (g - C) / eps, bit for bit.
template <int B>
EAP_ALWAYS_INLINE void rows_at(const double* C, std::size_t cols, const double* g,
                               const double* log_b, double eps, std::size_t i0, std::size_t i1,
                               double* t, double* out) {
    using V = typename Simd<double, B>::V;
    constexpr std::size_t L = static_cast<std::size_t>(Simd<double, B>::L), NV = kLanes / L;
    const std::size_t whole = cols / kLanes * kLanes;
    const V veps = splat<V>(eps), floor = splat<V>(-70.0), log2e = splat<V>(kLog2e);
    double lanes[kLanes];
    for (std::size_t i = i0; i < i1; ++i) {
        const double* c = C + i * cols;
        V vmax = splat<V>(-std::numeric_limits<double>::infinity());
        for (std::size_t j = 0; j < whole; j += L) {
            const V x = load<V>(log_b + j) + (load<V>(g + j) - load<V>(c + j)) / veps;
            store(t + j, x);
            vmax = vmax > x ? vmax : x;
        }
        store(lanes, vmax);
        double m = lanes[0];
        for (std::size_t u = 1; u < L; ++u) m = std::max(m, lanes[u]);
        for (std::size_t j = whole; j < cols; ++j) {
            t[j] = log_b[j] + (g[j] - c[j]) / eps;
            m = std::max(m, t[j]);
        }
        const V vm = splat<V>(m);
        V acc[NV] = {};
        for (std::size_t j = 0; j < whole; j += kLanes)
            for (std::size_t v = 0; v < NV; ++v) {
                const V x = (load<V>(t + j + v * L) - vm) * log2e;
                const V term = exp2_negative<B>(x < floor ? floor : x);
                acc[v] += x < floor ? V{} : term;
            }
        for (std::size_t v = 0; v < NV; ++v) store(lanes + v * L, acc[v]);
        double s = 0;
        for (std::size_t u = 0; u < kLanes; ++u) s += lanes[u];
        for (std::size_t j = whole; j < cols; ++j) {
            const double x = (t[j] - m) * kLog2e;
            if (x >= -70.0) s += exp2_one<16>(x);  // the baseline's, on every instruction set
        }
        out[i] = -eps * (m + std::log(s));
    }
}

// One instruction set's rows, called per parallel item (the loop itself is plain code).
void rows_baseline(const double* C, std::size_t cols, const double* g, const double* log_b,
                   double eps, std::size_t i0, std::size_t i1, double* t, double* out) {
    rows_at<16>(C, cols, g, log_b, eps, i0, i1, t, out);
}
EAP_TARGET_AVX2 void rows_avx2(const double* C, std::size_t cols, const double* g,
                               const double* log_b, double eps, std::size_t i0, std::size_t i1,
                               double* t, double* out) {
    rows_at<32>(C, cols, g, log_b, eps, i0, i1, t, out);
}
EAP_TARGET_AVX512 void rows_avx512(const double* C, std::size_t cols, const double* g,
                                   const double* log_b, double eps, std::size_t i0,
                                   std::size_t i1, double* t, double* out) {
    rows_at<64>(C, cols, g, log_b, eps, i0, i1, t, out);
}

}  // namespace

void soft_c_transform(const double* C, std::size_t rows, std::size_t cols, const double* g,
                      const double* log_b, double eps, int n_threads, double* out) {
    const auto rows_of_isa = for_isa(&rows_baseline, &rows_avx2, &rows_avx512);
    parallel_for_rows(rows, 16, n_threads, [&] { return std::vector<double>(cols); },
                      [&](std::vector<double>& t, std::size_t i0, std::size_t i1) {
                          rows_of_isa(C, cols, g, log_b, eps, i0, i1, t.data(), out);
                      });
}

}  // namespace eap

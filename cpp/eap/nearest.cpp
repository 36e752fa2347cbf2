#include "eap/nearest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "eap/distances.hpp"
#include "eap/parallel.hpp"

namespace eap {

namespace {
// Query rows per parallel work item (each against every panel of centres).
constexpr std::size_t kItemRows = 48;
}  // namespace

template <class T>
void nearest_distances(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                       int n_threads, double* out) {
    constexpr std::size_t W = PackedPoints<T>::W;
    const PackedPoints<T> packed(C, n, d);
    parallel_for_rows(
        l, kItemRows, n_threads, [] { return std::vector<T>(kItemRows * W); },
        [&](std::vector<T>& tile, std::size_t i0, std::size_t i1) {
            std::vector<T> best(i1 - i0, std::numeric_limits<T>::infinity());
            for (std::size_t p = 0; p < packed.n_panels(); ++p) {
                panel_sq_dists(Z + i0 * d, i1 - i0, d, packed.panel(p), d, tile.data());
                const std::size_t width = std::min(W, n - p * W);  // padding columns are not centres
                for (std::size_t r = 0; r < i1 - i0; ++r)
                    for (std::size_t j = 0; j < width; ++j) best[r] = std::min(best[r], tile[r * W + j]);
            }
            for (std::size_t r = 0; r < i1 - i0; ++r)
                out[i0 + r] = std::sqrt(static_cast<double>(best[r]));
        });
}

template void nearest_distances<float>(const float*, std::size_t, const float*, std::size_t,
                                       std::size_t, int, double*);
template void nearest_distances<double>(const double*, std::size_t, const double*, std::size_t,
                                        std::size_t, int, double*);

}  // namespace eap

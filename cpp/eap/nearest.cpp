#include "eap/nearest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "eap/distances.hpp"
#include "eap/parallel.hpp"
#include "eap/row_pass.hpp"
#include "eap/smallest.hpp"

namespace eap {

namespace {
// Query rows per parallel work item (each against every panel of centres).
constexpr std::size_t kItemRows = 48;
// Beyond kSmallestMaxK each row keeps all its distances for a selection: at most this many per
// work item, so that an item's rows stay in cache (fewer rows per item for many centres).
constexpr std::size_t kItemValues = std::size_t{1} << 16;

template <class T>
struct Scratch {
    std::vector<T> tile, kept, tmp;  // kept: per row its k smallest so far, or all its distances
};
}  // namespace

template <class T>
void nearest_distances(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                       std::size_t k, int n_threads, double* out) {
    constexpr std::size_t W = PackedPoints<T>::W;
    const PackedPoints<T> packed(C, n, d);
    const bool whole_rows = k > kSmallestMaxK;
    const std::size_t width_kept = whole_rows ? n + 16 : k;  // + kth_smallest's room
    const std::size_t item_rows =
        whole_rows ? std::clamp<std::size_t>(kItemValues / n, 1, kItemRows) : kItemRows;
    parallel_for_rows(
        l, item_rows, n_threads, [&] { return Scratch<T>{std::vector<T>(item_rows * W), {}, {}}; },
        [&](Scratch<T>& s, std::size_t i0, std::size_t i1) {
            const std::size_t rows = i1 - i0;
            s.kept.assign(rows * width_kept, std::numeric_limits<T>::infinity());
            for (std::size_t p = 0; p < packed.n_panels(); ++p) {
                panel_sq_dists(Z + i0 * d, rows, d, packed.panel(p), d, s.tile.data());
                const std::size_t width = std::min(W, n - p * W);  // padding columns are not centres
                for (std::size_t r = 0; r < rows; ++r) {
                    const T* t = s.tile.data() + r * W;
                    T* kept = s.kept.data() + r * width_kept;
                    if (whole_rows)
                        std::copy(t, t + width, kept + p * W);
                    else
                        for (std::size_t j = 0; j < width; ++j) insert_smallest(kept, k, t[j]);
                }
            }
            if (whole_rows) s.tmp.resize(n + 16);  // kth_smallest's room
            for (std::size_t r = 0; r < rows; ++r) {
                T* kept = s.kept.data() + r * width_kept;
                const T kth = whole_rows ? kth_smallest(kept, n, k - 1, s.tmp.data()) : kept[k - 1];
                out[i0 + r] = std::sqrt(static_cast<double>(kth));
            }
        });
}

template void nearest_distances<float>(const float*, std::size_t, const float*, std::size_t,
                                       std::size_t, std::size_t, int, double*);
template void nearest_distances<double>(const double*, std::size_t, const double*, std::size_t,
                                        std::size_t, std::size_t, int, double*);

}  // namespace eap

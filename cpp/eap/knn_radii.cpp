#include "eap/knn_radii.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "eap/distances.hpp"
#include "eap/kdtree.hpp"
#include "eap/parallel.hpp"

namespace eap {

namespace {
// Rows per block: enough to reuse each panel from cache, small enough that a thread's block of
// whole distance rows stays within a few MiB even for large n.
std::size_t rows_per_block(std::size_t n, std::size_t elem) {
    const std::size_t budget = std::size_t(8) << 20;
    return std::max<std::size_t>(4, std::min<std::size_t>(64, budget / std::max<std::size_t>(1, n * elem)));
}
}  // namespace

// Small k in low dimension: a kd-tree visits a few leaves per point instead of every point.
// Both paths select the same value from identically computed distances.
constexpr std::size_t kTreeMaxDim = 10, kTreeMaxK = 64;

template <class T>
void knn_radii_tree(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
                    double* radii) {
    const KdTree<T> tree(C, n, d);
    constexpr std::size_t kRows = 64;
    parallel_for(
        static_cast<std::ptrdiff_t>((n + kRows - 1) / kRows), n_threads,
        [] { return typename KdTree<T>::Scratch{}; },
        [&](typename KdTree<T>::Scratch& s, std::ptrdiff_t item) {
            const std::size_t i0 = static_cast<std::size_t>(item) * kRows;
            for (std::size_t r = i0; r < std::min(n, i0 + kRows); ++r)
                radii[tree.row(r)] = std::sqrt(static_cast<double>(tree.kth_other(r, k, s)));
        });
}

template <class T>
void knn_radii(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
               double* radii) {
    if (d <= kTreeMaxDim && k <= kTreeMaxK) return knn_radii_tree(C, n, d, k, n_threads, radii);
    constexpr std::size_t W = PackedPoints<T>::W;
    const PackedPoints<T> packed(C, n, d);
    const std::size_t B = rows_per_block(n, sizeof(T));
    const std::ptrdiff_t n_blocks = static_cast<std::ptrdiff_t>((n + B - 1) / B);
    struct Scratch {
        std::vector<T> rows, tile;  // whole distance rows, then selection: k may be ~n
    };
    parallel_for(
        n_blocks, n_threads, [&] { return Scratch{std::vector<T>(B * n), std::vector<T>(B * W)}; },
        [&](Scratch& s, std::ptrdiff_t b) {
            const std::size_t i0 = static_cast<std::size_t>(b) * B;
            const std::size_t nb = std::min(B, n - i0);
            for (std::size_t p = 0; p < packed.n_panels(); ++p) {
                panel_sq_dists(C + i0 * d, nb, d, packed.panel(p), d, s.tile.data());
                const std::size_t j0 = p * W, w = std::min(W, n - j0);
                for (std::size_t r = 0; r < nb; ++r)
                    std::copy(s.tile.data() + r * W, s.tile.data() + r * W + w,
                              s.rows.data() + r * n + j0);
            }
            for (std::size_t r = 0; r < nb; ++r) {
                T* row = s.rows.data() + r * n;
                row[i0 + r] = row[n - 1];  // drop self: the other n - 1 distances stay in front
                std::nth_element(row, row + (k - 1), row + (n - 1));
                radii[i0 + r] = std::sqrt(static_cast<double>(row[k - 1]));
            }
        });
}

template void knn_radii<float>(const float*, std::size_t, std::size_t, std::size_t, int, double*);
template void knn_radii<double>(const double*, std::size_t, std::size_t, std::size_t, int, double*);

}  // namespace eap

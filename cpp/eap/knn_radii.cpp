#include "eap/knn_radii.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "eap/distances.hpp"
#include "eap/filter_points.hpp"
#include "eap/gemm_tile.hpp"
#include "eap/kdtree.hpp"
#include "eap/parallel.hpp"
#include "eap/row_select.hpp"

// Brute force over GEMM tiles, exact: the tiles give filter values v (|b|^2 - 2 a.b of the
// centred, scaled centres); expansion_bound.hpp turns them into proven lower and upper bounds
// on the exact squared distance D = sq_dist. Only the pairs whose bounds straddle the k-th
// distance are recomputed exactly, and the k-th is selected among exact values, so the radii
// equal those of the plain sum over all pairs, for any thread count.

namespace eap {

namespace {

// Small k in very low dimension: a kd-tree visits a few leaves per point instead of every point.
// Measured (n = 20 000 Gaussian, CPU time): the tree wins up to d = 5 at k = 10 (d = 2: 17x),
// ties at d = 6 (k = 10) and loses there at k = 64; the GEMM filter wins from d = 8 (2.4x).
bool use_tree(std::size_t d, std::size_t k) { return k <= 64 && (d <= 4 || (d <= 6 && k <= 16)); }

// Both paths select the k-th of the same sq_dist values.
template <class T>
void radii_tree(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
                double* radii) {
    const KdTree<T> tree(C, n, d);
    constexpr std::size_t kRows = 64;
    parallel_for_rows(
        n, kRows, n_threads, [] { return typename KdTree<T>::Scratch{}; },
        [&](typename KdTree<T>::Scratch& s, std::size_t i0, std::size_t i1) {
            for (std::size_t r = i0; r < i1; ++r)
                radii[tree.row(r)] = std::sqrt(static_cast<double>(tree.kth_other(r, k, s)));
        });
}

// Up to this k each row keeps a running candidate list; above, whole filter rows are stored.
// The lists cost more as k grows and whole rows do not (n = 20 000, one thread, AVX2: at
// d = 8 they tie at k = 10 and whole rows win 1.6x at k = 32 and 2.3x at k = 128; at d = 64
// they tie at k = 10 and win 1.2x and 2x).
constexpr std::size_t kRunningMaxK = 16;

template <class T>
struct Candidate {
    T v;
    std::uint32_t j;
};

// sqrt of the k-th smallest sq_dist from row i to the rows in cand (1 <= k <= cand.size()).
template <class T>
double exact_kth(const T* C, std::size_t d, std::size_t i, const std::vector<std::uint32_t>& cand,
                 std::size_t k, std::vector<T>& dist) {
    dist.resize(cand.size());
    for (std::size_t q = 0; q < cand.size(); ++q)
        dist[q] = sq_dist(C + i * d, C + static_cast<std::size_t>(cand[q]) * d, d);
    std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(k - 1), dist.end());
    return std::sqrt(static_cast<double>(dist[k - 1]));
}

// Rows per block, a multiple of MR: the packed block (rows x d) takes about a third of a
// 1 MiB L2 cache, so each panel of points streamed from memory serves many rows. The large-k
// row buffers of a block are written and read once per row while the points are streamed once
// per block, so their budget grows with the bytes of a point: d * sizeof(T) * 32 KiB, between
// 1 and 8 MiB (n = 20 000, k = 8000, one thread, AVX2: float d = 8 1.3-1.4x faster than a
// fixed 8 MiB, double d = 64 slower at 1 MiB).
template <class T>
std::size_t block_rows(std::size_t n_pad, std::size_t d, bool whole_rows) {
    constexpr std::size_t MR = GemmTile<T>::MR;
    std::size_t rows = (std::size_t(384) << 10) / (d * sizeof(T)) / MR * MR;
    if (whole_rows) {
        const std::size_t budget = std::clamp(d * sizeof(T) << 15, std::size_t(1) << 20,
                                              std::size_t(8) << 20);
        rows = std::min(rows, budget / (n_pad * sizeof(T)) / MR * MR);
    }
    return std::max(MR, std::min(32 * MR, rows));
}

// Data whose distances could overflow: every pair exactly.
template <class T>
void radii_all_pairs(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
                     double* radii) {
    struct Scratch {
        std::vector<std::uint32_t> cand;
        std::vector<T> dist;
    };
    parallel_for(static_cast<std::ptrdiff_t>(n), n_threads, [] { return Scratch{}; },
                 [&](Scratch& s, std::ptrdiff_t item) {
                     const auto i = static_cast<std::size_t>(item);
                     s.cand.clear();
                     for (std::size_t j = 0; j < n; ++j)
                         if (j != i) s.cand.push_back(static_cast<std::uint32_t>(j));
                     radii[i] = exact_kth(C, d, i, s.cand, k, s.dist);
                 });
}

// Small k: a running candidate list per row. Invariant: every centre dropped so far is
// provably farther than some k centres already seen (its low bound exceeds their common
// up bound), so the list always holds every centre within the k-th distance.
template <class T>
class RunningRow {
public:
    void reset(typename ExpansionBound<T>::Row bound, std::size_t k) {
        bound_ = bound;
        k_ = k;
        cap_ = 2 * k + 64;
        list_.clear();
    }
    // Returns the new threshold after adding (v, j).
    T push(T v, std::uint32_t j, T thr, const ExpansionBound<T>& eb) {
        list_.push_back({v, j});
        return list_.size() < cap_ ? thr : compact(thr, eb);
    }
    T compact(T thr, const ExpansionBound<T>& eb) {
        if (list_.size() >= k_) {
            const auto kth = list_.begin() + static_cast<std::ptrdiff_t>(k_ - 1);
            std::nth_element(list_.begin(), kth, list_.end(),
                             [](const Candidate<T>& a, const Candidate<T>& b) { return a.v < b.v; });
            thr = std::min(thr, eb.keep_at_most(bound_, eb.up(bound_, kth->v)));
            list_.erase(std::remove_if(list_.begin(), list_.end(),
                                       [thr](const Candidate<T>& c) { return c.v > thr; }),
                        list_.end());
        }
        if (2 * list_.size() > cap_) cap_ *= 2;  // many near-ties: grow rather than thrash
        return thr;
    }
    void indices(std::vector<std::uint32_t>& out) const {
        out.clear();
        for (const Candidate<T>& c : list_) out.push_back(c.j);
    }

private:
    typename ExpansionBound<T>::Row bound_{};
    std::size_t k_ = 1, cap_ = 0;
    std::vector<Candidate<T>> list_;
};

template <class T>
void radii_running(const T* C, const FilterPoints<T>& pts, std::size_t n, std::size_t d,
                   std::size_t k, int n_threads, double* radii) {
    constexpr std::size_t MR = GemmTile<T>::MR, NR = GemmTile<T>::NR;
    const std::size_t B = block_rows<T>(pts.padded(), d, false);
    const ExpansionBound<T>& eb = pts.bound();
    struct Scratch {
        std::vector<T> A, tile, thr, dist;
        std::vector<RunningRow<T>> rows;
        std::vector<std::uint32_t> cand;
    };
    parallel_for_rows(
        n, B, n_threads,
        [&] {
            Scratch s;
            s.A.resize(B * d);
            s.tile.resize(MR * NR);
            s.thr.resize(B);
            s.rows.resize(B);
            return s;
        },
        [&](Scratch& s, std::size_t i0, std::size_t i1) {
            const std::size_t nb = i1 - i0;
            pts.pack_queries(C + i0 * d, nb, s.A.data(), nullptr);
            std::fill(s.thr.begin(), s.thr.end(), -std::numeric_limits<T>::infinity());
            for (std::size_t r = 0; r < nb; ++r) {
                s.rows[r].reset(pts.bound_row(i0 + r), k);
                s.thr[r] = std::numeric_limits<T>::infinity();
            }
            const std::size_t blocks = (nb + MR - 1) / MR;
            for (std::size_t p = 0; p < pts.n_panels(); ++p)
                for (std::size_t b = 0; b < blocks; ++b) {
                    T* thr = s.thr.data() + b * MR;
                    std::uint32_t hits[MR];
                    if (!tile_filter(s.A.data() + b * MR * d, pts.panel(p), d, pts.panel_norms(p),
                                     thr, s.tile.data(), hits))
                        continue;
                    for (std::size_t r = 0; r < MR && b * MR + r < nb; ++r) {
                        const std::size_t i = i0 + b * MR + r;
                        const T* v = s.tile.data() + r * NR;
                        // Only the points under the row's threshold at the tile's start; the
                        // threshold may fall while they are pushed, so each is tested again.
                        for (std::uint32_t bits = hits[r]; bits != 0; bits &= bits - 1) {
                            const std::size_t j = static_cast<std::size_t>(__builtin_ctz(bits));
                            const std::size_t q = p * NR + j;
                            if (!(v[j] <= thr[r]) || q >= n || pts.centre(q) == i) continue;
                            thr[r] = s.rows[b * MR + r].push(
                                v[j], static_cast<std::uint32_t>(pts.centre(q)), thr[r], eb);
                        }
                    }
                }
            for (std::size_t r = 0; r < nb; ++r) {
                s.rows[r].compact(s.thr[r], eb);
                s.rows[r].indices(s.cand);
                radii[i0 + r] = exact_kth(C, d, i0 + r, s.cand, k, s.dist);
            }
        });
}

// Large k: whole filter rows, the k-th filter value selected, then the band of centres whose
// bounds straddle it recomputed exactly. With L = low(v_k) <= D_(k) <= up(v_k) = U: centres
// with v < lo (up < L) are strictly nearer than the k-th, centres with v > hi (low > U)
// strictly farther, so the k-th is the (k - #nearer)-th exact distance of the band.
template <class T>
void radii_whole_rows(const T* C, const FilterPoints<T>& pts, std::size_t n, std::size_t d,
                      std::size_t k, int n_threads, double* radii) {
    constexpr std::size_t MR = GemmTile<T>::MR, NR = GemmTile<T>::NR;
    const std::size_t n_pad = pts.padded();
    const std::size_t B = block_rows<T>(n_pad, d, true);
    const ExpansionBound<T>& eb = pts.bound();
    struct Scratch {
        std::vector<T> A, rows, dist;
        RowSelect<T> select;
        std::vector<std::uint32_t> band, cand;
    };
    parallel_for_rows(
        n, B, n_threads,
        [&] {
            Scratch s;
            s.A.resize(B * d);
            s.rows.resize(B * n_pad);
            return s;
        },
        [&](Scratch& s, std::size_t i0, std::size_t i1) {
            const std::size_t nb = i1 - i0;
            pts.pack_queries(C + i0 * d, nb, s.A.data(), nullptr);
            const std::size_t blocks = (nb + MR - 1) / MR;
            for (std::size_t p = 0; p < pts.n_panels(); ++p)
                for (std::size_t b = 0; b < blocks; ++b)
                    tile_store(s.A.data() + b * MR * d, pts.panel(p), d, pts.panel_norms(p),
                               s.rows.data() + b * MR * n_pad + p * NR, n_pad);
            for (std::size_t r = 0; r < nb; ++r) {
                const std::size_t i = i0 + r, self = pts.position(i);
                T* row = s.rows.data() + r * n_pad;
                row[self] = std::numeric_limits<T>::infinity();  // padding is +inf too
                const auto bound = pts.bound_row(i);
                const T vk = s.select.kth(row, n_pad, k);
                const T lo = eb.strictly_below(bound, eb.low(bound, vk));
                const T hi = eb.keep_at_most(bound, eb.up(bound, vk));
                const std::size_t nearer = s.select.band(row, n_pad, lo, hi, s.band);
                s.cand.clear();
                for (const std::uint32_t q : s.band)
                    if (q < n && q != self) s.cand.push_back(static_cast<std::uint32_t>(pts.centre(q)));
                radii[i] = exact_kth(C, d, i, s.cand, k - nearer, s.dist);
            }
        });
}

}  // namespace

template <class T>
void knn_radii(const T* C, std::size_t n, std::size_t d, std::size_t k, int n_threads,
               double* radii) {
    if (use_tree(d, k)) return radii_tree(C, n, d, k, n_threads, radii);
    const FilterPoints<T> pts(C, n, d);
    if (!pts.bound().safe()) return radii_all_pairs(C, n, d, k, n_threads, radii);
    if (k <= kRunningMaxK) return radii_running(C, pts, n, d, k, n_threads, radii);
    radii_whole_rows(C, pts, n, d, k, n_threads, radii);
}

template void knn_radii<float>(const float*, std::size_t, std::size_t, std::size_t, int, double*);
template void knn_radii<double>(const double*, std::size_t, std::size_t, std::size_t, int, double*);

}  // namespace eap

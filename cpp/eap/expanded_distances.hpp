// The scoring pass's tiles by the GEMM expansion (gemm_tile.hpp): candidates, centred on the
// training points' mean, against the training points, one multiply-add per coordinate where the
// exact sum (distance_tile.hpp) takes a subtraction, a multiplication and an addition. The band E
// of expansion_bound.hpp bounds |value - exact squared distance| for every pair of a row, and
// keeps the values exact where a decision rests on them and close where only the kernel does:
// - a lane within E of its ball's threshold gets its exact squared distance (sq_dist's
//   arithmetic), so every ball test decides as it would on the exact tiles;
// - a row uses the expansion only where E <= (d + 4) eps cut2, the exact form's own proven error
//   at the kernel's cut-off, so each kernel term stays within ln 2 E / eta^2 relative of its
//   exact-tile value; other rows (far from the training mean for their eta, or data near
//   overflow) get exact tiles.
// Every value depends on its row alone, never on threads, chunks or items. The multiply-adds
// are fused where the CPU has FMA: AVX2 and AVX-512 give the same bits, the baseline's kernel
// terms differ from theirs within the bound above, ball tests agree everywhere.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "eap/distance_tile.hpp"
#include "eap/distances.hpp"
#include "eap/filter_points.hpp"
#include "eap/gemm_tile.hpp"
#include "eap/pass_kernel.hpp"
#include "eap/simd.hpp"

namespace eap {

// Per thread: the item's packed rows, their tiles of one pair of panels, per row |a'|^2 and
// margin (+inf: the row takes exact tiles).
template <class T>
struct ExpansionScratch {
    std::vector<T> A, cache, margin;
    std::vector<double> na;

    static ExpansionScratch make(std::size_t d) {
        constexpr std::size_t m = kPassItemRows;
        return {std::vector<T>(m * d), std::vector<T>(m * GemmTile<T>::NR), std::vector<T>(m),
                std::vector<double>(m)};
    }
};

// The margin of a query row with |a'|^2 = na (double) against filter's points: a T at least
// its band E, enlarged so that |fl(est - t)| <= margin misses no pair within E of a threshold t
// (the subtraction errs by u relative); +inf where the row takes exact tiles.
template <class T>
T expansion_margin(const FilterPoints<T>& filter, std::size_t d, double na, double cut2) {
    constexpr T kInf = std::numeric_limits<T>::infinity();
    const auto& bound = filter.bound();
    const double E = bound.band(bound.row(na));
    if (!(E <= distance_rel_error<T>(d) * cut2)) return kInf;
    const double x = E * (1 + 4 * std::numeric_limits<T>::epsilon());
    const T y = static_cast<T>(x);
    return static_cast<double>(y) < x ? std::nextafter(y, kInf) : y;
}

// A Source of pass_rows (pass_kernel.hpp) for rows [i0, i0 + rows) of Z, rows <= kPassItemRows:
// filter and packed hold the same points in the same packed order, threshold their ball
// thresholds in T per packed position, cut2 the kernel's cut-off as a squared distance.
template <class T>
class ExpandedDistances {
public:
    static constexpr std::size_t MR = GemmTile<T>::MR, NR = GemmTile<T>::NR;
    static constexpr std::size_t W = PackedPoints<T>::W;
    static_assert(NR == 2 * W && kPassItemRows % MR == 0, "a filter panel is two pass panels");

    ExpandedDistances(const T* Z, std::size_t i0, std::size_t rows, const FilterPoints<T>& filter,
                      const PackedPoints<T>& packed, const T* threshold, double cut2,
                      ExpansionScratch<T>& s)
        : Z_(Z), i0_(i0), rows_(rows), d_(packed.dim()), filter_(filter), packed_(packed),
          threshold_(threshold), s_(s) {
        filter.pack_queries(Z + i0 * d_, rows, s.A.data(), s.na.data());
        for (std::size_t r = 0; r < rows; ++r)
            s.margin[r] = expansion_margin(filter, d_, s.na[r], cut2);
    }

    // Called before panel p's tiles: an even p computes the tiles of filter panel p / 2.
    template <int B>
    EAP_ALWAYS_INLINE void begin_panel(std::size_t p) const {
        if (p % 2) return;
        for (std::size_t b = 0; b * MR < rows_; ++b) {
            bool any = false;
            for (std::size_t r = b * MR; r < std::min(rows_, (b + 1) * MR); ++r) any |= expands(r);
            if (any)
                tile_store(s_.A.data() + b * MR * d_, filter_.panel(p / 2), d_,
                           filter_.panel_norms(p / 2), s_.cache.data() + b * MR * NR, NR);
        }
    }

    // out[r * W + j]: squared distance of row i + r to the point at packed position p * W + j,
    // as the comment at the top says; padding positions get +inf (no kernel term, no ball).
    template <int B>
    EAP_ALWAYS_INLINE void tile(std::size_t p, std::size_t i, std::size_t nr, T* out) const {
        using V = typename Simd<T, B>::V;
        using U = typename Simd<T, B>::U;
        using I = typename Simd<T, B>::I;
        constexpr int L = Simd<T, B>::L;
        constexpr auto kAbs = std::numeric_limits<typename IntOf<T>::U>::max() >> 1;
        for (std::size_t r = 0; r < nr; ++r) {
            const std::size_t row = i - i0_ + r;
            T* o = out + r * W;
            if (!expands(row)) {
                distance_tile<T, B>(Z_ + (i + r) * d_, 1, d_, packed_.panel(p), d_, o);
                continue;
            }
            const T* v = s_.cache.data() + row * NR + (p % 2) * W;
            const T* t = threshold_ + p * W;
            const V na = splat<V>(static_cast<T>(s_.na[row])), margin = splat<V>(s_.margin[row]);
            I unsure{};
            for (std::size_t j = 0; j < W; j += L) {
                V e = load<V>(v + j) + na;
                e = e < V{} ? V{} : e;
                const V gap = bit_cast<V>(bit_cast<U>(e - load<V>(t + j)) & kAbs);
                unsure |= gap <= margin;
                store(o + j, e);
            }
            if (any_lane(unsure)) fix(row, p, o);
        }
    }

private:
    bool expands(std::size_t row) const {
        return s_.margin[row] < std::numeric_limits<T>::infinity();
    }

    template <class I>
    static EAP_ALWAYS_INLINE bool any_lane(I m) {
        if constexpr (sizeof(I) < 8) return m != 0;  // one lane (no vector extensions)
        std::uint64_t w[sizeof(I) >= 8 ? sizeof(I) / 8 : 1], any = 0;
        std::memcpy(w, &m, sizeof m);
        for (std::uint64_t x : w) any |= x;
        return any != 0;
    }

    // The lanes the vector test flagged (the same IEEE operations), recomputed exactly.
    void fix(std::size_t row, std::size_t p, T* o) const {
        const T* z = Z_ + (i0_ + row) * d_;
        const T* b = packed_.panel(p);
        const T* t = threshold_ + p * W;
        for (std::size_t j = 0; j < W && p * W + j < packed_.size(); ++j) {
            if (!(std::fabs(o[j] - t[j]) <= s_.margin[row])) continue;
            T sum = 0;
            for (std::size_t k = 0; k < d_; ++k) {
                const T diff = z[k] - b[k * W + j];
                sum += diff * diff;
            }
            o[j] = sum;
        }
    }

    const T* Z_;
    std::size_t i0_, rows_, d_;
    const FilterPoints<T>& filter_;
    const PackedPoints<T>& packed_;
    const T* threshold_;
    ExpansionScratch<T>& s_;
};

}  // namespace eap

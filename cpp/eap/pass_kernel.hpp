// The per-pair work of a training pass (SPEC sections 2 and 4.3): kernel weights and ball tests
// of query rows against W-point panels of training points, accumulated at the data's precision
// and the machine's vector width. Where the squared distances of a tile come from is the
// caller's (a Source: computed from packed points, or read from distances computed once), so
// every pass - one model, many bagging rounds, the training points themselves - sums in the same
// order and gets the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "eap/ball.hpp"
#include "eap/distances.hpp"
#include "eap/exp2.hpp"
#include "eap/isa.hpp"
#include "eap/simd.hpp"

namespace eap {

// Error of the float32 kernel sums against exact sums of 2^-(d2/eta^2) over the same computed
// squared distances d2 (tests/test_kernel_precision.py), relative, below
//   2e-7     per term: exp2 (exp2.hpp; measured 1.83e-7, fused 1.76e-7), its argument exact to
//            2^-24 (fused: the product's rounding error recovered by an FMA, else a 12-bit split);
// + 4.2e-7   the float partial sum of kPassGroupPanels = 8 positive terms per lane, (8 - 1) 2^-24;
// + (n/128 + 16) 2^-53  the float64 sums of the partials and of the lanes (1e-11 at n = 10^7)
// < 1e-6. float64 data: exp2 within 5e-16 of 2^x for the rounded product x = d2 * (-1/eta^2).

// Query rows per micro-tile and per parallel work item.
constexpr std::size_t kPassTileRows = 6, kPassItemRows = 48;
// Panels per partial sum in T, carried into the float64 sums after each group.
constexpr std::size_t kPassGroupPanels = 8;

// The packed order of a pass's n points: anomalies first, then normals, each in their original
// order, so that all but one panel feed one sum.
std::vector<std::size_t> anomalies_first(const std::uint8_t* is_anomaly, std::size_t n);

// What a pass knows of its training points: per packed position (padding included) the kernel
// weight masks, ball thresholds in T (see ball_threshold_as) and the ball's rank by radius as its
// key; per panel, whose sums its points feed; the distinct radii; the kernel's constants.
template <class T>
struct PassLanes {
    using Key = typename IntOf<T>::I;
    static constexpr std::size_t W = PackedPoints<T>::W;
    enum Feeds : std::uint8_t { kBoth, kPositive, kNegative };
    // -(d/eta)^2 = d2 * pow2 * (scale_hi + scale_lo): pow2 a power of two, scale_hi of 12
    // significant bits (float; double: scale_hi alone); cut2 = the cut-off as a squared distance;
    // scale + scale_err = scale_hi + scale_lo with scale the nearest T (the FMA variants').
    struct Kernel {
        T scale_hi, scale_lo, pow2, cut2, scale, scale_err;
    };

    // is_anomaly, radius: per point (radius 0: not a centre, holds nothing); order: the point at
    // each packed position (anomalies_first); tau: membership margin; eta > 0.
    PassLanes(const std::uint8_t* is_anomaly, const double* radius,
              const std::vector<std::size_t>& order, double tau, double eta);

    std::size_t n_panels() const { return (n + W - 1) / W; }

    std::size_t n;
    std::vector<double> radius_of_key;  // the distinct radii, increasing: key -> radius
    std::vector<T> positive, negative, threshold;
    std::vector<Key> key;
    std::vector<Feeds> feeds;
    Kernel kernel;
};

// 2^-(d2/eta^2), 0 beyond the cut-off. With q = min(d2, cut2) 2^s (exact unless it underflows,
// and then 2^-x rounds to 1 anyway), x = q (scale_hi + scale_lo); q = a + b with a its top 12
// significant bits makes a * scale_hi and b * scale_hi exact (scale_hi has 12 bits), so hi + lo
// carries x to 2^-24 relative, where one float product would err by up to 60 * 2^-24 in x.
// With FMA: hi = q * scale, lo = q * scale_err + (q * scale - hi), the latter exact by FMA.
template <int B>
EAP_ALWAYS_INLINE typename Simd<float, B>::V kernel_weight(typename Simd<float, B>::V d2,
                                                           const PassLanes<float>::Kernel& k) {
    using V = typename Simd<float, B>::V;
    using U = typename Simd<float, B>::U;
    const V cut = splat<V>(k.cut2);
    const V q = (d2 < cut ? d2 : cut) * k.pow2;
    if constexpr (kFusedMulAdd<B>) {
        const V hi = q * k.scale;
        const V lo = mul_add<B>(q, splat<V>(k.scale_err), mul_add<B>(q, splat<V>(k.scale), -hi));
        return d2 <= cut ? exp2_negative<B, true>(hi, lo) : V{};
    } else {
        const V a = bit_cast<V>(bit_cast<U>(q) & 0xFFFFF000u);
        const V hi = a * k.scale_hi;
        const V lo = (q - a) * k.scale_hi + q * k.scale_lo;
        return d2 <= cut ? exp2_negative<B>(hi, lo) : V{};
    }
}

template <int B>
EAP_ALWAYS_INLINE typename Simd<double, B>::V kernel_weight(typename Simd<double, B>::V d2,
                                                            const PassLanes<double>::Kernel& k) {
    using V = typename Simd<double, B>::V;
    const V cut = splat<V>(k.cut2);
    return d2 <= cut ? exp2_negative<B, kFusedMulAdd<B>>((d2 < cut ? d2 : cut) * k.scale_hi)
                     : V{};
}

template <class T>
struct PassScratch {
    std::vector<T> tile, part_pos, part_neg;   // per (row, lane): the current group's sums
    std::vector<double> sum_pos, sum_neg;      // per (row, lane): the carried sums
    std::vector<typename PassLanes<T>::Key> best;

    static PassScratch make() {
        constexpr std::size_t W = PassLanes<T>::W, m = kPassItemRows * W;
        return {std::vector<T>(kPassTileRows * W), std::vector<T>(m), std::vector<T>(m),
                std::vector<double>(m), std::vector<double>(m),
                std::vector<typename PassLanes<T>::Key>(m)};
    }
};

// Adds one vector of kernel terms w (masks a, b) to the partial sums at o, and the ball test of
// d2 to the smallest ball there. A function, not a lambda: GCC compiles a lambda for the default
// target even inside an AVX2 or AVX-512 function.
template <int Feeds, class T, int B, class V, class I>
EAP_ALWAYS_INLINE void add_terms(PassScratch<T>& s, std::size_t o, V d2, V w, V a, V b,
                                 V threshold, I key) {
    using Lanes = PassLanes<T>;
    if constexpr (Feeds != Lanes::kNegative)
        store(s.part_pos.data() + o,
              load<V>(s.part_pos.data() + o) + (Feeds == Lanes::kBoth ? w * a : w));
    if constexpr (Feeds != Lanes::kPositive)
        store(s.part_neg.data() + o,
              load<V>(s.part_neg.data() + o) + (Feeds == Lanes::kBoth ? w * b : w));
    store(s.best.data() + o, smallest_ball(d2, threshold, key, load<I>(s.best.data() + o)));
}

// Adds panel p's kernel terms and ball tests for tile rows [r0, r0 + nr) of the item; a panel
// that feeds one sum skips the weight masks.
template <int Feeds, class T, int B>
EAP_ALWAYS_INLINE void add_panel(const PassLanes<T>& v, std::size_t p, std::size_t r0,
                                 std::size_t nr, PassScratch<T>& s) {
    using Lanes = PassLanes<T>;
    using V = typename Simd<T, B>::V;
    using I = typename Simd<T, B>::I;
    constexpr std::size_t W = Lanes::W, L = Simd<T, B>::L;
    for (std::size_t j = 0; j < W; j += L) {
        const std::size_t at = p * W + j;
        const V a = load<V>(v.positive.data() + at);
        const V b = load<V>(v.negative.data() + at);
        const V threshold = load<V>(v.threshold.data() + at);
        const I key = load<I>(v.key.data() + at);
        // Three rows at a time: the kernel's exp2 is one long chain of dependent operations, and
        // side by side three chains keep the vector units busy (same operations, same bits).
        std::size_t r = 0;
        for (; r + 3 <= nr; r += 3) {
            const V sq0 = load<V>(s.tile.data() + r * W + j);
            const V sq1 = load<V>(s.tile.data() + (r + 1) * W + j);
            const V sq2 = load<V>(s.tile.data() + (r + 2) * W + j);
            const V w0 = kernel_weight<B>(sq0, v.kernel);
            const V w1 = kernel_weight<B>(sq1, v.kernel);
            const V w2 = kernel_weight<B>(sq2, v.kernel);
            add_terms<Feeds, T, B>(s, (r0 + r) * W + j, sq0, w0, a, b, threshold, key);
            add_terms<Feeds, T, B>(s, (r0 + r + 1) * W + j, sq1, w1, a, b, threshold, key);
            add_terms<Feeds, T, B>(s, (r0 + r + 2) * W + j, sq2, w2, a, b, threshold, key);
        }
        for (; r < nr; ++r) {
            const V d2 = load<V>(s.tile.data() + r * W + j);
            add_terms<Feeds, T, B>(s, (r0 + r) * W + j, d2, kernel_weight<B>(d2, v.kernel), a, b,
                                   threshold, key);
        }
    }
}

// Rows [i0, i1) (at most kPassItemRows) against every panel of v, at vector width B:
//   w_pos[i] = sum over anomalies x of 2^-(d(z_i,x)/eta)^2, w_neg[i] likewise over normals,
//   rarity[i] = min{ radius_j : d(z_i, x_j) < radius_j (1 - tau) }, 0 if none.
// Each sum runs in W fixed lanes (packed point q goes to lane q mod W, panels in order, partial
// sums in T over groups of panels carried into float64) added in lane order at the end:
// vectorised, yet independent of blocking and threads; the kernel terms' bits depend on the
// instruction set only through FMA (kFusedMulAdd), each within its bound. Kernel terms below
// 2^-60 (d > 7.75 eta) are skipped, as SPEC section 4 allows.
// src.begin_panel<B>(p) comes before panel p's tiles; src.tile<B>(p, i, nr, out) writes
// out[r * W + j] = d2 of row i + r to the point at packed position p * W + j (padding
// positions: any value that is not NaN).
template <class T, int B, class Source>
EAP_ALWAYS_INLINE void pass_rows(const PassLanes<T>& v, const Source& src, std::size_t i0,
                                 std::size_t i1, PassScratch<T>& s, double* w_pos, double* w_neg,
                                 double* rarity) {
    using Lanes = PassLanes<T>;
    using Key = typename Lanes::Key;
    constexpr std::size_t W = Lanes::W;
    constexpr Key kNone = std::numeric_limits<Key>::max();
    const std::size_t rows = i1 - i0, n_panels = v.n_panels();
    std::fill(s.part_pos.begin(), s.part_pos.end(), T(0));
    std::fill(s.part_neg.begin(), s.part_neg.end(), T(0));
    std::fill(s.sum_pos.begin(), s.sum_pos.end(), 0.0);
    std::fill(s.sum_neg.begin(), s.sum_neg.end(), 0.0);
    std::fill(s.best.begin(), s.best.end(), kNone);
    for (std::size_t p = 0; p < n_panels; ++p) {
        src.template begin_panel<B>(p);
        for (std::size_t r0 = 0; r0 < rows; r0 += kPassTileRows) {
            const std::size_t nr = std::min(kPassTileRows, rows - r0);
            src.template tile<B>(p, i0 + r0, nr, s.tile.data());
            switch (v.feeds[p]) {
                case Lanes::kPositive: add_panel<Lanes::kPositive, T, B>(v, p, r0, nr, s); break;
                case Lanes::kNegative: add_panel<Lanes::kNegative, T, B>(v, p, r0, nr, s); break;
                default: add_panel<Lanes::kBoth, T, B>(v, p, r0, nr, s);
            }
        }
        if ((p + 1) % kPassGroupPanels == 0 || p + 1 == n_panels) {
            for (std::size_t o = 0; o < rows * W; ++o) {
                s.sum_pos[o] += static_cast<double>(s.part_pos[o]);
                s.sum_neg[o] += static_cast<double>(s.part_neg[o]);
                s.part_pos[o] = T(0);
                s.part_neg[o] = T(0);
            }
        }
    }
    for (std::size_t r = 0; r < rows; ++r) {
        double pos = 0, neg = 0;
        Key best = kNone;
        for (std::size_t j = 0; j < W; ++j) {
            pos += s.sum_pos[r * W + j];
            neg += s.sum_neg[r * W + j];
            best = std::min(best, s.best[r * W + j]);
        }
        w_pos[i0 + r] = pos;
        w_neg[i0 + r] = neg;
        rarity[i0 + r] = best == kNone ? 0.0 : v.radius_of_key[static_cast<std::size_t>(best)];
    }
}

template <class T, class Source>
void pass_rows_baseline(const PassLanes<T>& v, const Source& src, std::size_t i0, std::size_t i1,
                        PassScratch<T>& s, double* w_pos, double* w_neg, double* rarity) {
    pass_rows<T, 16>(v, src, i0, i1, s, w_pos, w_neg, rarity);
}
template <class T, class Source>
EAP_TARGET_AVX2 void pass_rows_avx2(const PassLanes<T>& v, const Source& src, std::size_t i0,
                                    std::size_t i1, PassScratch<T>& s, double* w_pos,
                                    double* w_neg, double* rarity) {
    pass_rows<T, 32>(v, src, i0, i1, s, w_pos, w_neg, rarity);
}
template <class T, class Source>
EAP_TARGET_AVX512 void pass_rows_avx512(const PassLanes<T>& v, const Source& src, std::size_t i0,
                                        std::size_t i1, PassScratch<T>& s, double* w_pos,
                                        double* w_neg, double* rarity) {
    pass_rows<T, 64>(v, src, i0, i1, s, w_pos, w_neg, rarity);
}

// pass_rows for the active instruction set.
template <class T, class Source>
auto pass_rows_for_isa() {
    return for_isa(&pass_rows_baseline<T, Source>, &pass_rows_avx2<T, Source>,
                   &pass_rows_avx512<T, Source>);
}

#if defined(EAP_X86_DISPATCH)
// out[r * W + j] = rows[r][offsets[j]] for r < nr and j < width, 0 for j in [width, W): one
// AVX-512 gather per row. Not inline: the generic kernel that calls it cannot take its target.
EAP_TARGET_AVX512 void gather_tile_avx512(const float* const* rows, const std::uint32_t* offsets,
                                          std::size_t width, std::size_t nr, float* out);
EAP_TARGET_AVX512 void gather_tile_avx512(const double* const* rows, const std::uint32_t* offsets,
                                          std::size_t width, std::size_t nr, double* out);
#endif

// A Source reading squared distances computed once: d2 of query row i to the point at packed
// position q is at.row(i)[at.offset(cols[q])], for the pass's n points (cols: their indices in
// the shared distances, in packed order). at.prefetch(i, a, b) may ask for the distances of row
// i to points a and b ahead.
template <class T, class At>
struct GatheredDistances {
    At at;
    const std::uint32_t* cols;
    std::size_t n;

    template <int B>
    EAP_ALWAYS_INLINE void begin_panel(std::size_t) const {}

    template <int B>
    EAP_ALWAYS_INLINE void tile(std::size_t p, std::size_t i, std::size_t nr, T* out) const {
        constexpr std::size_t W = PassLanes<T>::W;
        const std::size_t q0 = p * W, width = std::min(W, n - q0);
        const std::size_t ahead = std::min(q0 + 2 * W, n - 1), ahead_end = std::min(ahead + W - 1, n - 1);
        std::uint32_t offsets[W] = {};
        for (std::size_t j = 0; j < width; ++j) offsets[j] = at.offset(cols[q0 + j]);
#if defined(EAP_X86_DISPATCH)
        if constexpr (B == 64) {
            const T* rows[kPassTileRows];
            for (std::size_t r = 0; r < nr; ++r) {
                at.prefetch(i + r, cols[ahead], cols[ahead_end]);  // the panel two ahead
                rows[r] = at.row(i + r);
            }
            gather_tile_avx512(rows, offsets, width, nr, out);
            return;
        }
#endif
        for (std::size_t r = 0; r < nr; ++r) {
            at.prefetch(i + r, cols[ahead], cols[ahead_end]);
            const T* row = at.row(i + r);
            for (std::size_t j = 0; j < width; ++j) out[r * W + j] = row[offsets[j]];
            for (std::size_t j = width; j < W; ++j) out[r * W + j] = T(0);
        }
    }
};

// A pass's points (indices in the shared distances) in its packed order: the cols of its
// GatheredDistances.
inline std::vector<std::uint32_t> packed_order(const std::vector<std::uint32_t>& points,
                                               const std::vector<std::size_t>& order) {
    std::vector<std::uint32_t> cols(points.size());
    for (std::size_t q = 0; q < cols.size(); ++q) cols[q] = points[order[q]];
    return cols;
}

}  // namespace eap

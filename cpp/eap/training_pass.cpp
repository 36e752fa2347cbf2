#include "eap/training_pass.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "eap/ball.hpp"
#include "eap/distance_tile.hpp"
#include "eap/exp2.hpp"
#include "eap/isa.hpp"
#include "eap/parallel.hpp"

namespace eap {

// Error of the float32 kernel sums against exact sums of 2^-(d2/eta^2) over the same computed
// squared distances d2 (tests/test_kernel_precision.py), relative, below
//   2e-7     per term: exp2 (exp2.hpp; measured 1.83e-7), its argument exact to 2^-24;
// + 4.2e-7   the float partial sum of kGroupPanels = 8 positive terms per lane, (8 - 1) 2^-24;
// + (n/128 + 16) 2^-53  the float64 sums of the partials and of the lanes (1e-11 at n = 10^7)
// < 1e-6. float64 data: exp2 within 5e-16 of 2^x for the rounded product x = d2 * (-1/eta^2).

namespace {
// (d / eta)^2 above which 2^-(d/eta)^2 < 2^-60: 7.75^2.
constexpr double kCutRatio2 = 7.75 * 7.75;
// Query rows per micro-tile and per parallel work item.
constexpr std::size_t kTileRows = 6, kItemRows = 48;
// Panels per partial sum in T, carried into the float64 sums after each group.
constexpr std::size_t kGroupPanels = 8;

// 2^-(d2/eta^2), 0 beyond the cut-off. With q = min(d2, cut2) 2^s (exact unless it underflows,
// and then 2^-x rounds to 1 anyway), x = q (scale_hi + scale_lo); q = a + b with a its top 12
// significant bits makes a * scale_hi and b * scale_hi exact (scale_hi has 12 bits), so hi + lo
// carries x to 2^-24 relative, where one float product would err by up to 60 * 2^-24 in x.
template <int B>
EAP_ALWAYS_INLINE typename Simd<float, B>::V kernel_weight(typename Simd<float, B>::V d2,
                                                           const TrainingPass<float>::Kernel& k) {
    using V = typename Simd<float, B>::V;
    using U = typename Simd<float, B>::U;
    const V cut = splat<V>(k.cut2);
    const V q = (d2 < cut ? d2 : cut) * k.pow2;
    const V a = bit_cast<V>(bit_cast<U>(q) & 0xFFFFF000u);
    const V hi = a * k.scale_hi;
    const V lo = (q - a) * k.scale_hi + q * k.scale_lo;
    return d2 <= cut ? exp2_negative<B>(hi, lo) : V{};
}

template <int B>
EAP_ALWAYS_INLINE typename Simd<double, B>::V kernel_weight(typename Simd<double, B>::V d2,
                                                            const TrainingPass<double>::Kernel& k) {
    using V = typename Simd<double, B>::V;
    const V cut = splat<V>(k.cut2);
    return d2 <= cut ? exp2_negative<B>((d2 < cut ? d2 : cut) * k.scale_hi) : V{};
}

// scale = -1/eta^2, finite (only d2 = 0 passes a cut-off that underflows to 0, and 0 * scale
// must stay 0). float: scale = 2^-s (scale_hi + scale_lo) with 2^s a float, so that any eta
// works; x = d2 / eta^2 <= 60.06 (up to the rounding of a subnormal cut2, at most 121).
template <class T>
typename TrainingPass<T>::Kernel make_kernel(double eta);

template <>
TrainingPass<double>::Kernel make_kernel<double>(double eta) {
    const double scale = std::max(-1.0 / (eta * eta), -std::numeric_limits<double>::max());
    return {scale, 0.0, 1.0, kCutRatio2 * eta * eta};
}

template <>
TrainingPass<float>::Kernel make_kernel<float>(double eta) {
    constexpr double kFloatMax = std::numeric_limits<float>::max();
    const double scale = -1.0 / (eta * eta);
    const int s = std::clamp(std::ilogb(std::max(-scale, 0x1p-1000)), -126, 127);
    const double rest = std::max(std::ldexp(scale, -s), -kFloatMax);
    const auto top12 = bit_cast<std::uint32_t>(static_cast<float>(rest)) & 0xFFFFF000u;
    const float hi = bit_cast<float>(top12);
    return {hi, static_cast<float>(rest - hi), std::ldexp(1.0f, s),
            static_cast<float>(std::min(kCutRatio2 * eta * eta, kFloatMax))};
}

// Anomalies first, then normals, each in their original order.
std::vector<std::size_t> anomalies_first(const std::uint8_t* is_anomaly, std::size_t n) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return is_anomaly[i]; });
    return order;
}

template <class T>
typename TrainingPass<T>::Lanes make_lanes(const std::uint8_t* is_anomaly, const double* radius,
                                           const std::vector<std::size_t>& order, double tau,
                                           const std::vector<double>& radius_of_key) {
    using Pass = TrainingPass<T>;
    using Key = typename Pass::Key;
    constexpr std::size_t W = Pass::W;
    const std::size_t n = order.size(), n_panels = (n + W - 1) / W, padded = n_panels * W;
    typename Pass::Lanes lanes{std::vector<T>(padded, T(0)), std::vector<T>(padded, T(0)),
                               std::vector<T>(padded, T(-1)),
                               std::vector<Key>(padded, std::numeric_limits<Key>::max()),
                               std::vector<typename Pass::Feeds>(n_panels, Pass::kBoth)};
    for (std::size_t j = 0; j < n; ++j) {
        const std::size_t i = order[j];
        lanes.positive[j] = is_anomaly[i] ? T(1) : T(0);
        lanes.negative[j] = is_anomaly[i] ? T(0) : T(1);
        lanes.threshold[j] = ball_threshold_as<T>(ball_threshold(radius[i], tau));
        lanes.key[j] = static_cast<Key>(
            std::lower_bound(radius_of_key.begin(), radius_of_key.end(), radius[i]) -
            radius_of_key.begin());
    }
    for (std::size_t p = 0; p < n_panels; ++p) {
        if ((p + 1) * W > n) continue;  // padding needs the masks
        const auto first = lanes.positive.begin() + p * W, last = first + W;
        const auto n_anomalies = static_cast<std::size_t>(std::count(first, last, T(1)));
        if (n_anomalies == W) lanes.feeds[p] = Pass::kPositive;
        if (n_anomalies == 0) lanes.feeds[p] = Pass::kNegative;
    }
    return lanes;
}

std::vector<double> distinct_radii(const double* radius, std::size_t n) {
    std::vector<double> sorted(radius, radius + n);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    return sorted;
}

template <class T>
struct Scratch {
    std::vector<T> tile, part_pos, part_neg;   // per (row, lane): the current group's sums
    std::vector<double> sum_pos, sum_neg;      // per (row, lane): the carried sums
    std::vector<typename TrainingPass<T>::Key> best;
};

template <class T>
struct View {
    const PackedPoints<T>& packed;
    const typename TrainingPass<T>::Lanes& lanes;
    const std::vector<double>& radius_of_key;
    typename TrainingPass<T>::Kernel kernel;
    std::size_t d;
};

// Adds panel p's kernel terms and ball tests for tile rows [r0, r0 + nr) of the item; a panel
// that feeds one sum skips the weight masks.
template <int Feeds, class T, int B>
EAP_ALWAYS_INLINE void add_panel(const View<T>& v, std::size_t p, std::size_t r0, std::size_t nr,
                                 Scratch<T>& s) {
    using Pass = TrainingPass<T>;
    using V = typename Simd<T, B>::V;
    using I = typename Simd<T, B>::I;
    constexpr std::size_t W = Pass::W, L = Simd<T, B>::L;
    for (std::size_t j = 0; j < W; j += L) {
        const std::size_t at = p * W + j;
        const V a = load<V>(v.lanes.positive.data() + at);
        const V b = load<V>(v.lanes.negative.data() + at);
        const V threshold = load<V>(v.lanes.threshold.data() + at);
        const I key = load<I>(v.lanes.key.data() + at);
        for (std::size_t r = 0; r < nr; ++r) {
            const std::size_t o = (r0 + r) * W + j;
            const V d2 = load<V>(s.tile.data() + r * W + j);
            const V w = kernel_weight<B>(d2, v.kernel);
            if constexpr (Feeds != Pass::kNegative)
                store(s.part_pos.data() + o,
                      load<V>(s.part_pos.data() + o) + (Feeds == Pass::kBoth ? w * a : w));
            if constexpr (Feeds != Pass::kPositive)
                store(s.part_neg.data() + o,
                      load<V>(s.part_neg.data() + o) + (Feeds == Pass::kBoth ? w * b : w));
            store(s.best.data() + o, smallest_ball(d2, threshold, key, load<I>(s.best.data() + o)));
        }
    }
}

// Rows [i0, i1) of Z against every training panel, at vector width B.
template <class T, int B>
EAP_ALWAYS_INLINE void score_rows(const View<T>& v, const T* Z, std::size_t i0, std::size_t i1,
                                  Scratch<T>& s, double* w_pos, double* w_neg, double* rarity) {
    using Pass = TrainingPass<T>;
    using Key = typename Pass::Key;
    constexpr std::size_t W = Pass::W;
    constexpr Key kNone = std::numeric_limits<Key>::max();
    const std::size_t rows = i1 - i0, n_panels = v.packed.n_panels();
    std::fill(s.part_pos.begin(), s.part_pos.end(), T(0));
    std::fill(s.part_neg.begin(), s.part_neg.end(), T(0));
    std::fill(s.sum_pos.begin(), s.sum_pos.end(), 0.0);
    std::fill(s.sum_neg.begin(), s.sum_neg.end(), 0.0);
    std::fill(s.best.begin(), s.best.end(), kNone);
    for (std::size_t p = 0; p < n_panels; ++p) {
        for (std::size_t r0 = 0; r0 < rows; r0 += kTileRows) {
            const std::size_t nr = std::min(kTileRows, rows - r0);
            distance_tile<T, B>(Z + (i0 + r0) * v.d, nr, v.d, v.packed.panel(p), v.d,
                                s.tile.data());
            switch (v.lanes.feeds[p]) {
                case Pass::kPositive: add_panel<Pass::kPositive, T, B>(v, p, r0, nr, s); break;
                case Pass::kNegative: add_panel<Pass::kNegative, T, B>(v, p, r0, nr, s); break;
                default: add_panel<Pass::kBoth, T, B>(v, p, r0, nr, s);
            }
        }
        if ((p + 1) % kGroupPanels == 0 || p + 1 == n_panels) {
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

template <class T>
void rows_baseline(const View<T>& v, const T* Z, std::size_t i0, std::size_t i1, Scratch<T>& s,
                   double* w_pos, double* w_neg, double* rarity) {
    score_rows<T, 16>(v, Z, i0, i1, s, w_pos, w_neg, rarity);
}
template <class T>
EAP_TARGET_AVX2 void rows_avx2(const View<T>& v, const T* Z, std::size_t i0, std::size_t i1,
                               Scratch<T>& s, double* w_pos, double* w_neg, double* rarity) {
    score_rows<T, 32>(v, Z, i0, i1, s, w_pos, w_neg, rarity);
}
template <class T>
EAP_TARGET_AVX512 void rows_avx512(const View<T>& v, const T* Z, std::size_t i0, std::size_t i1,
                                   Scratch<T>& s, double* w_pos, double* w_neg, double* rarity) {
    score_rows<T, 64>(v, Z, i0, i1, s, w_pos, w_neg, rarity);
}

}  // namespace

template <class T>
TrainingPass<T>::TrainingPass(const T* X, std::size_t n, std::size_t d,
                              const std::uint8_t* is_anomaly, const double* radius, double tau,
                              double eta)
    : TrainingPass(X, d, anomalies_first(is_anomaly, n), is_anomaly, radius, tau, eta) {}

template <class T>
TrainingPass<T>::TrainingPass(const T* X, std::size_t d, const std::vector<std::size_t>& order,
                              const std::uint8_t* is_anomaly, const double* radius, double tau,
                              double eta)
    : d_(d),
      packed_(X, order.data(), order.size(), d),
      radius_of_key_(distinct_radii(radius, order.size())),
      lanes_(make_lanes<T>(is_anomaly, radius, order, tau, radius_of_key_)),
      kernel_(make_kernel<T>(eta)) {}

template <class T>
void TrainingPass<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                            double* w_neg, double* rarity) const {
    const View<T> view{packed_, lanes_, radius_of_key_, kernel_, d_};
    const auto rows = for_isa(rows_baseline<T>, rows_avx2<T>, rows_avx512<T>);
    parallel_for_rows(
        l, kItemRows, n_threads,
        [] {
            const std::size_t m = kItemRows * W;
            return Scratch<T>{std::vector<T>(kTileRows * W), std::vector<T>(m), std::vector<T>(m),
                              std::vector<double>(m), std::vector<double>(m),
                              std::vector<Key>(m)};
        },
        [&](Scratch<T>& s, std::size_t i0, std::size_t i1) {
            rows(view, Z, i0, i1, s, w_pos, w_neg, rarity);
        });
}

template class TrainingPass<float>;
template class TrainingPass<double>;

}  // namespace eap

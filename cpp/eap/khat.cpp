#include "eap/khat.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "eap/distances.hpp"
#include "eap/isa.hpp"
#include "eap/parallel.hpp"
#include "eap/simd.hpp"
#include "eap/smallest.hpp"

namespace eap {

template <class T>
void CoverBuckets<T>::sort_flagged(const T* to_anomaly, std::uint8_t* flagged, std::size_t m) {
    by_distance_.clear();
    for (std::size_t a = 0; a < m; ++a)
        if (flagged[a]) {
            flagged[a] = 0;
            by_distance_.push_back(a);
        }
    std::sort(by_distance_.begin(), by_distance_.end(),
              [&](std::size_t a, std::size_t b) { return to_anomaly[a] < to_anomaly[b]; });
    std::size_t size = 1;
    while (size < by_distance_.size() + 1) size *= 2;
    sorted_.assign(size, std::numeric_limits<T>::infinity());
    for (std::size_t u = 0; u < by_distance_.size(); ++u) sorted_[u] = to_anomaly[by_distance_[u]];
}

namespace {

constexpr std::size_t kLinearMaxAnomalies = 64;

#if defined(EAP_VECTOR_EXTENSIONS)
// Few anomalies: count the sorted distances below each lane's value, one broadcast per anomaly
// (a branch-free search would wait on a dependent load per step); two vectors at a time, so
// the counts' additions do not wait on each other. A true comparison is -1 in every lane.
template <int B, class T>
EAP_ALWAYS_INLINE std::size_t buckets_linear(const T* sorted, std::size_t m, const T* v,
                                             std::size_t n, std::uint32_t* out) {
    using S = Simd<T, B>;
    using V = typename S::V;
    using I = typename S::I;
    constexpr std::size_t L = S::L;
    std::size_t j = 0;
    for (; j + 2 * L <= n; j += 2 * L) {
        const V x0 = load<V>(v + j), x1 = load<V>(v + j + L);
        I t0{}, t1{};
#pragma GCC unroll 4
        for (std::size_t u = 0; u < m; ++u) {
            const V s = splat<V>(sorted[u]);
            t0 += s < x0;
            t1 += s < x1;
        }
        for (std::size_t l = 0; l < L; ++l) {
            out[j + l] = static_cast<std::uint32_t>(-t0[l]);
            out[j + L + l] = static_cast<std::uint32_t>(-t1[l]);
        }
    }
    return j;
}

// Cache-line aligned: the count loop is a few instructions long, and where it fell relative to
// the 64-byte lines moved with unrelated code, changing k-hat's time by 30 % from build to build.
template <class T>
EAP_TARGET_AVX2 __attribute__((aligned(64))) std::size_t buckets_avx2(
    const T* sorted, std::size_t m, const T* v, std::size_t n, std::uint32_t* out) {
    return buckets_linear<32>(sorted, m, v, n, out);
}

template <class T>
EAP_TARGET_AVX512 __attribute__((aligned(64))) std::size_t buckets_avx512(
    const T* sorted, std::size_t m, const T* v, std::size_t n, std::uint32_t* out) {
    return buckets_linear<64>(sorted, m, v, n, out);
}
#endif

}  // namespace

template <class T>
void CoverBuckets<T>::buckets(const T* v, std::size_t n, std::uint32_t* out) const {
    std::size_t j = 0;
#if defined(EAP_VECTOR_EXTENSIONS)
    if (by_distance_.size() <= kLinearMaxAnomalies && active_isa() != Isa::baseline)
        j = (active_isa() == Isa::avx512 ? buckets_avx512<T> : buckets_avx2<T>)(
            sorted_.data(), by_distance_.size(), v, n, out);
#endif
    for (; j < n; ++j) out[j] = bucket(v[j]);
}

template <class T>
void CoverBuckets<T>::update_best(const std::int64_t* counts, std::size_t n, std::size_t i,
                                  const std::int64_t* anomaly_index, std::int64_t* best) const {
    std::int64_t below = 0;  // c_i of the anomaly in bucket u: a prefix sum of the buckets
    for (std::size_t u = 0; u < by_distance_.size(); ++u) {
        below += counts[u];
        const std::size_t a = by_distance_[u];
        if (anomaly_index[a] == static_cast<std::int64_t>(i)) continue;  // leave-one-out
        if (below <= static_cast<std::int64_t>(n) - 2) best[a] = std::min(best[a], below + 1);
    }
}

template <class T>
void cover_from_row(std::size_t i, const T* row, std::size_t n, const T* to_anomaly,
                    std::size_t m, const std::int64_t* anomaly_index, CoverScratch<T>& s,
                    std::int64_t* best) {
    const std::size_t K = std::min(kSmallestMaxK, n - 1);
    smallest_except([row](std::size_t j) { return row[j]; }, n, i, K, s.nearest);
    s.flagged.resize(m);
    if (!settle_nearest(s.nearest.data(), K, to_anomaly, m, i, anomaly_index, best, s.flagged.data()))
        return;
    s.buckets.sort_flagged(to_anomaly, s.flagged.data(), m);
    s.counts.assign(s.buckets.n_buckets(), 0);
    s.bucket_of.resize(n);
    s.buckets.buckets(row, n, s.bucket_of.data());
    for (std::size_t j = 0; j < n; ++j) s.counts[s.bucket_of[j]] += j != i;
    s.buckets.update_best(s.counts.data(), n, i, anomaly_index, best);
}

template <class T>
void cover_ranks(const T* C, std::size_t n, const T* A, std::size_t m, std::size_t d,
                 const std::int64_t* anomaly_index, int n_threads, std::int64_t* cover) {
    constexpr std::size_t W = PackedPoints<T>::W;
    const PackedPoints<T> centres(C, n, d), anomalies(A, m, d);
    const auto none = static_cast<std::int64_t>(n - 1);
    std::fill(cover, cover + m, none);

    // Centres in blocks of kRows: one tile serves the block's rows, each panel of points read
    // once per block (a single-row tile waits on its loads).
    constexpr std::size_t kRows = 6;
    struct Scratch {
        std::vector<T> rows, to_anomaly, tile;
        CoverScratch<T> cover;
        std::vector<std::int64_t> best;
    };
    const auto fill = [](const PackedPoints<T>& points, const T* Q, std::size_t nq,
                         std::size_t d, T* tile, T* out) {
        constexpr std::size_t W = PackedPoints<T>::W;
        const std::size_t len = points.size();
        for (std::size_t p = 0; p < points.n_panels(); ++p) {
            panel_sq_dists(Q, nq, d, points.panel(p), d, tile);
            const std::size_t width = std::min(W, len - p * W);
            for (std::size_t r = 0; r < nq; ++r)
                std::copy(tile + r * W, tile + r * W + width, out + r * len + p * W);
        }
    };
    parallel_for(
        static_cast<std::ptrdiff_t>((n + kRows - 1) / kRows), n_threads,
        [&] {
            return Scratch{std::vector<T>(kRows * n), std::vector<T>(kRows * m),
                           std::vector<T>(kRows * W), {}, std::vector<std::int64_t>(m, none)};
        },
        [&](Scratch& s, std::ptrdiff_t item) {
            const std::size_t i0 = static_cast<std::size_t>(item) * kRows;
            const std::size_t i1 = std::min(n, i0 + kRows);
            fill(centres, C + i0 * d, i1 - i0, d, s.tile.data(), s.rows.data());
            fill(anomalies, C + i0 * d, i1 - i0, d, s.tile.data(), s.to_anomaly.data());
            for (std::size_t i = i0; i < i1; ++i)
                cover_from_row(i, s.rows.data() + (i - i0) * n, n,
                               s.to_anomaly.data() + (i - i0) * m, m, anomaly_index, s.cover,
                               s.best.data());
        },
        [&](Scratch& s) {
            for (std::size_t a = 0; a < m; ++a) cover[a] = std::min(cover[a], s.best[a]);
        });
}

template void cover_ranks<float>(const float*, std::size_t, const float*, std::size_t, std::size_t,
                                 const std::int64_t*, int, std::int64_t*);
template void cover_ranks<double>(const double*, std::size_t, const double*, std::size_t,
                                  std::size_t, const std::int64_t*, int, std::int64_t*);
template class CoverBuckets<float>;
template class CoverBuckets<double>;
template void cover_from_row<float>(std::size_t, const float*, std::size_t, const float*,
                                    std::size_t, const std::int64_t*, CoverScratch<float>&,
                                    std::int64_t*);
template void cover_from_row<double>(std::size_t, const double*, std::size_t, const double*,
                                     std::size_t, const std::int64_t*, CoverScratch<double>&,
                                     std::int64_t*);

}  // namespace eap

#include "eap/rounds_fit.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <utility>

#include "eap/distances.hpp"
#include "eap/khat.hpp"
#include "eap/parallel.hpp"
#include "eap/pass_kernel.hpp"
#include "eap/row_pass.hpp"
#include "eap/smallest.hpp"

namespace eap {

namespace {

// Work items of `block` consecutive training points and a quarter of the rounds, each serving
// those rounds' points in the block: the item's rows of the distance matrix are read from memory
// once for a quarter of the rounds, where items of one round each would read a row once per
// round holding it (100 rounds, n = 1000: 54 times); quarters keep 2 threads evenly loaded, and
// one round is still split over every thread. Block b of the points lies among round r's points
// (increasing) at [at[r][b], at[r][b + 1]).
struct PointBlocks {
    static constexpr std::size_t kGroups = 4;
    std::size_t blocks, groups;
    std::vector<std::vector<std::size_t>> at;

    PointBlocks(const std::vector<std::vector<std::uint32_t>>& points, std::size_t n,
                std::size_t block)
        : blocks((n + block - 1) / block), groups(std::min(kGroups, points.size())),
          at(points.size()) {
        for (std::size_t r = 0; r < points.size(); ++r)
            for (std::size_t b = 0; b <= blocks; ++b)
                at[r].push_back(static_cast<std::size_t>(
                    std::lower_bound(points[r].begin(), points[r].end(), std::min(n, b * block)) -
                    points[r].begin()));
    }
    std::size_t items() const { return blocks * groups; }
    // Calls f(r, first, end) for each round of the item holding points of its block.
    template <class F>
    void each(std::size_t item, F f) const {
        const std::size_t b = item / groups, g = item % groups, R = at.size();
        for (std::size_t r = g * R / groups; r < (g + 1) * R / groups; ++r)
            if (at[r][b] < at[r][b + 1]) f(r, at[r][b], at[r][b + 1]);
    }
};

// k-th smallest (1 <= k <= len - 1) of at(j) over j in [0, len), j != skip (< len): the value
// knn_radii selects from the same distances. For k <= kSmallestMaxK, buf then holds the k smallest
// in increasing order.
template <class T, class At>
T kth_except(At at, std::size_t len, std::size_t skip, std::size_t k, std::vector<T>& buf,
             std::vector<T>& tmp) {
    if (k <= kSmallestMaxK) {
        smallest_except(at, len, skip, k, buf);
        return buf[k - 1];
    }
    buf.resize(len + 16);  // kth_smallest's room
    tmp.resize(len + 16);
    for (std::size_t j = 0; j < len; ++j) buf[j] = at(j);
    buf[skip] = buf[len - 1];  // the order does not matter to a selection
    return kth_smallest(buf.data(), len - 1, k - 1, tmp.data());
}

// counts[u] = #{j in points : bucket[j] == u}, u < n_buckets. Most points share a few buckets,
// so four interleaved histograms keep an increment from waiting on the one before.
inline void bucket_counts(const std::uint32_t* bucket, const std::vector<std::uint32_t>& points,
                          std::size_t n_buckets, std::vector<std::int64_t>& counts) {
    counts.assign(4 * n_buckets, 0);
    std::int64_t* h = counts.data();
    std::size_t q = 0;
    for (; q + 4 <= points.size(); q += 4)
        for (std::size_t t = 0; t < 4; ++t) ++h[t * n_buckets + bucket[points[q + t]]];
    for (; q < points.size(); ++q) ++h[bucket[points[q]]];
    for (std::size_t u = 0; u < n_buckets; ++u)
        h[u] += h[n_buckets + u] + h[2 * n_buckets + u] + h[3 * n_buckets + u];
    counts.resize(n_buckets);
}

// Each round's points and its centres (also as bits over the n points), and each point's index
// among the centres (-1: none).
struct RoundMembers {
    std::vector<std::vector<std::uint32_t>> points, centres;
    std::vector<std::vector<std::uint64_t>> point_bits, centre_bits;
    std::vector<std::vector<std::int64_t>> centre_of;

    RoundMembers(const Rounds& rounds, const std::uint8_t* is_centre, std::size_t n)
        : points(rounds.count), centres(rounds.count), centre_of(rounds.count) {
        for (std::size_t r = 0; r < rounds.count; ++r) {
            points[r] = rounds.indices(r);
            centres[r] = rounds.indices(r, is_centre);
            point_bits.push_back(bits_of(points[r], n));
            centre_bits.push_back(bits_of(centres[r], n));
            std::int64_t c = 0;
            for (std::size_t q = 0; q < rounds.size(r); ++q)
                centre_of[r].push_back(is_centre[rounds.start(r) + q] ? c++ : -1);
        }
    }

    static std::vector<std::uint64_t> bits_of(const std::vector<std::uint32_t>& set, std::size_t n) {
        std::vector<std::uint64_t> bits((n + 63) / 64, 0);
        for (const std::uint32_t t : set) bits[t / 64] |= std::uint64_t{1} << (t % 64);
        return bits;
    }
};

// One end of a training point p's row of distances, in order: every j != p whose distance is at
// most the K-th smallest (the near end, increasing; ties at it included), or at least the K-th
// largest (the far end, decreasing). The k-th nearest of a set of points (p excepted) is then
// the k-th member met from the near end, or the (size - k + 1)-th from the far end, when that
// many are there: one selection per point serves all its rounds, where each round's own
// selection reads all the round's points (100 rounds, n = 1000: 54 rounds per point).
template <class T>
class RowEnd {
public:
    static constexpr std::size_t kSize = 64;
    // A point's end is built when at least this many of its rounds walk it: one build costs
    // about what a few rounds' own selections do.
    static constexpr std::size_t kMinRounds = 4;

    // Whether a walk for `need` of a set of `members` of the n - 1 other points likely ends
    // inside an end of `size` points (expected size * members / (n - 1), less two standard
    // deviations): a walk that falls short reads the whole end before the round's own selection.
    static bool serves(std::size_t need, std::size_t members, std::size_t size, std::size_t others) {
        const double mean = static_cast<double>(std::min(size, others)) * static_cast<double>(members) /
                            static_cast<double>(others);
        return static_cast<double>(need) <= mean - 2.0 * std::sqrt(mean);
    }

    void clear() { list_.clear(); }

    void build(const T* row, std::size_t n, std::size_t p, bool far, std::size_t size,
               std::vector<T>& buf, std::vector<T>& tmp) {
        const std::size_t K = std::min(size, n - 1);
        const T edge = kth_except([row](std::size_t j) { return row[j]; }, n, p,
                                  far ? n - K : K, buf, tmp);
        list_.clear();
        for (std::size_t j = 0; j < n; ++j)
            if (j != p && (far ? row[j] >= edge : row[j] <= edge))
                list_.emplace_back(row[j], static_cast<std::uint32_t>(j));
        if (far)
            std::sort(list_.begin(), list_.end(), [](const auto& a, const auto& b) { return a > b; });
        else
            std::sort(list_.begin(), list_.end());
    }

    // out = the values of the first k members (bits over the n points) from this end, in its
    // order; false when fewer than k members are here (or the end is not built).
    bool first_members(const std::vector<std::uint64_t>& bits, std::size_t k, std::vector<T>& out) const {
        out.resize(k);
        std::size_t found = 0;
        for (const auto& [value, j] : list_)
            if ((bits[j / 64] >> (j % 64)) & 1) {
                out[found++] = value;
                if (found == k) return true;
            }
        return false;
    }

private:
    std::vector<std::pair<T, std::uint32_t>> list_;
};

// Squared distance of round point i (its index among the round's points) to training point c.
template <class T>
struct MatrixAt {
    const T* d2;
    const std::uint32_t* points;
    std::size_t n;
    EAP_ALWAYS_INLINE const T* row(std::size_t i) const {
        return d2 + static_cast<std::size_t>(points[i]) * n;
    }
    EAP_ALWAYS_INLINE std::uint32_t offset(std::uint32_t c) const { return c; }
    // A pass item reads its rows of the n x n matrix as that many streams, too many for the
    // hardware prefetcher (balls_and_kernels of 100 rounds, n = 1050: 17-19 % faster).
    EAP_ALWAYS_INLINE void prefetch(std::size_t i, std::uint32_t a, std::uint32_t b) const {
        EAP_PREFETCH(row(i) + a);
        EAP_PREFETCH(row(i) + b);
    }
};

}  // namespace

template <class T>
PairwiseDistances<T>::PairwiseDistances(const T* X, std::size_t n, std::size_t d, int n_threads)
    : n_(n), d2_(new T[n * n]) {  // uninitialised: every entry is written below
    // (Selections assume no NaN among the distances; finite X makes none, overflow gives +inf.)
    if (!std::all_of(X, X + n * d, [](T v) { return std::isfinite(v); }))
        throw std::invalid_argument("X must be finite");
    // A block of rows computes its columns from its first row on and mirrors those beyond its
    // last row: sq_dist(a, b) and sq_dist(b, a) are the same bits (the same squares, summed in
    // the same order), and every entry has one writer.
    constexpr std::size_t W = PackedPoints<T>::W, kRows = 48;
    const PackedPoints<T> packed(X, n, d);
    parallel_for_rows(
        n, kRows, n_threads, [] { return std::vector<T>(kRows * W); },
        [&](std::vector<T>& tile, std::size_t i0, std::size_t i1) {
            for (std::size_t p = i0 / W; p < packed.n_panels(); ++p) {
                panel_sq_dists(X + i0 * d, i1 - i0, d, packed.panel(p), d, tile.data());
                const std::size_t j0 = std::max(i0, p * W), j1 = std::min(n, (p + 1) * W);
                const T* t = tile.data() - p * W;  // row i, column j at t[(i - i0) W + j]
                for (std::size_t i = i0; i < i1; ++i)
                    for (std::size_t j = j0; j < j1; ++j) d2_[i * n + j] = t[(i - i0) * W + j];
                // The mirror column by column: each column's rows are contiguous in d2_.
                for (std::size_t j = std::max(j0, i1); j < j1; ++j)
                    for (std::size_t i = i0; i < i1; ++i) d2_[j * n + i] = t[(i - i0) * W + j];
            }
        });
}

template <class T>
void PairwiseDistances<T>::neighbours(const Rounds& rounds, const std::uint8_t* is_centre,
                                      std::size_t k, const std::int64_t* anomalies,
                                      std::size_t m, int n_threads, double* delta,
                                      std::int64_t* cover) const {
    const std::size_t R = rounds.count;
    const RoundMembers members(rounds, is_centre, n_);
    // Per round, each anomaly's index among the round's centres (-1: none), and "no cover".
    std::vector<std::int64_t> anomaly_index(R * m, -1), none(R);
    std::vector<std::int64_t> centre_index(n_, -1);
    for (std::size_t r = 0; r < R; ++r) {
        const auto& centres = members.centres[r];
        if (centres.size() < 2) throw std::invalid_argument("every round needs 2 centres");
        none[r] = static_cast<std::int64_t>(centres.size()) - 1;
        for (std::size_t c = 0; c < centres.size(); ++c)
            centre_index[centres[c]] = static_cast<std::int64_t>(c);
        for (std::size_t a = 0; a < m; ++a)
            anomaly_index[r * m + a] = centre_index[static_cast<std::size_t>(anomalies[a])];
        for (const std::uint32_t c : centres) centre_index[c] = -1;
        std::fill(cover + r * m, cover + (r + 1) * m, none[r]);
    }
    // Items are training points, each with every round it is in: a centre's buckets of the
    // other points (against the anomalies sorted by distance) serve all its rounds.
    std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> in_rounds(n_);
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t q = 0; q < rounds.size(r); ++q)
            in_rounds[static_cast<std::size_t>(rounds.rows[rounds.start(r) + q])].emplace_back(
                static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(q));
    // Rounds whose bandwidth's k nearest are met in each point's near end (RowEnd).
    std::vector<std::uint8_t> by_prefix(R);
    for (std::size_t r = 0; r < R; ++r) {
        const std::size_t n_r = members.points[r].size();
        by_prefix[r] = RowEnd<T>::serves(std::min(k, n_r - 1), n_r - 1, RowEnd<T>::kSize, n_ - 1);
    }
    // When a round's centres are all its points and SSDO's k is small, the bandwidth's selection
    // leaves the k nearest other centres sorted, and they settle most anomalies (settle_nearest
    // in khat.hpp). The anomalies left in any of the point's rounds are counted together: one
    // sort and one bucket pass serve all those rounds.
    struct Scratch {
        std::vector<T> buf, tmp, to_anomaly;
        RowEnd<T> nearest;
        CoverBuckets<T> buckets;
        std::vector<std::uint32_t> bucket_of;
        std::vector<std::int64_t> counts, best;
        std::vector<std::uint8_t> flagged;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> counted;  // (round, position)
    };
    parallel_for(
        static_cast<std::ptrdiff_t>(n_), n_threads,
        [&] {
            Scratch s;
            s.to_anomaly.resize(m);
            s.flagged.resize(m);
            s.bucket_of.resize(n_);
            s.best.resize(R * m);
            for (std::size_t r = 0; r < R; ++r)
                std::fill(s.best.begin() + static_cast<std::ptrdiff_t>(r * m),
                          s.best.begin() + static_cast<std::ptrdiff_t>((r + 1) * m), none[r]);
            return s;
        },
        [&](Scratch& s, std::ptrdiff_t item) {
            const auto p = static_cast<std::size_t>(item);
            const T* dt = row(p);
            for (std::size_t a = 0; a < m; ++a)
                s.to_anomaly[a] = dt[static_cast<std::size_t>(anomalies[a])];
            s.counted.clear();
            std::size_t walks = 0;
            for (const auto& rq : in_rounds[p]) walks += by_prefix[rq.first];
            if (walks >= RowEnd<T>::kMinRounds)
                s.nearest.build(dt, n_, p, false, RowEnd<T>::kSize, s.buf, s.tmp);
            else
                s.nearest.clear();
            for (const auto& [r, q] : in_rounds[p]) {
                const auto& points = members.points[r];
                const std::size_t n_r = points.size(), k_r = std::min(k, n_r - 1);
                // Either way, buf holds the k_r smallest in increasing order for k_r up to
                // kSmallestMaxK (kth_except's contract).
                const T kth = by_prefix[r] && s.nearest.first_members(members.point_bits[r], k_r, s.buf)
                                  ? s.buf[k_r - 1]
                                  : kth_except([&](std::size_t j) { return dt[points[j]]; }, n_r, q,
                                               k_r, s.buf, s.tmp);
                delta[rounds.start(r) + q] = std::sqrt(static_cast<double>(kth));
                const std::int64_t c = members.centre_of[r][q];
                if (m == 0 || c < 0) continue;
                const bool nearest = k_r <= kSmallestMaxK && members.centres[r].size() == n_r;
                if (settle_nearest(s.buf.data(), nearest ? k_r : 0, s.to_anomaly.data(), m,
                                   static_cast<std::size_t>(c), anomaly_index.data() + r * m,
                                   s.best.data() + r * m, s.flagged.data()))
                    s.counted.emplace_back(r, q);
            }
            if (s.counted.empty()) return;
            s.buckets.sort_flagged(s.to_anomaly.data(), s.flagged.data(), m);
            s.buckets.buckets(dt, n_, s.bucket_of.data());
            for (const auto& [r, q] : s.counted) {
                const auto& centres = members.centres[r];
                bucket_counts(s.bucket_of.data(), centres, s.buckets.n_buckets(), s.counts);
                --s.counts[s.bucket_of[p]];  // the centre itself
                s.buckets.update_best(s.counts.data(), centres.size(),
                                      static_cast<std::size_t>(members.centre_of[r][q]),
                                      anomaly_index.data() + r * m, s.best.data() + r * m);
            }
        },
        [&](Scratch& s) {
            for (std::size_t u = 0; u < R * m; ++u) cover[u] = std::min(cover[u], s.best[u]);
        });
}

template <class T>
void PairwiseDistances<T>::balls_and_kernels(const Rounds& rounds, const std::uint8_t* is_centre,
                                             const std::int64_t* k,
                                             const std::uint8_t* is_anomaly, const double* eta,
                                             double tau, int n_threads, double* radius,
                                             double* w_pos, double* w_neg, double* rarity) const {
    const std::size_t R = rounds.count;
    const RoundMembers members(rounds, is_centre, n_);
    for (std::size_t r = 0; r < R; ++r) {
        const auto n_c = static_cast<std::int64_t>(members.centres[r].size());
        if (k[r] < 1 || k[r] > n_c - 1) throw std::invalid_argument("k must be in [1, n_centres - 1]");
        if (!(eta[r] > 0)) throw std::invalid_argument("eta must be positive");
    }
    // A round's k-th nearest other centre is the k-th of its centres met from the near end of
    // each centre's row (RowEnd), or the (others - k + 1)-th from the far end, whichever is
    // fewer (need[r]); a round walks that end when it likely holds them, and each end is built
    // for the centres that enough rounds walk.
    constexpr std::size_t kEnd = 2 * RowEnd<T>::kSize;
    enum End : std::uint8_t { kNone, kNear, kFar };
    std::vector<End> end_of(R, kNone);
    std::vector<std::size_t> need(R);
    std::vector<std::uint32_t> walks_near(n_, 0), walks_far(n_, 0);
    for (std::size_t r = 0; r < R; ++r) {
        const std::size_t others = members.centres[r].size() - 1, kr = static_cast<std::size_t>(k[r]);
        const bool by_far = others - kr + 1 < kr;
        need[r] = by_far ? others - kr + 1 : kr;
        if (!RowEnd<T>::serves(need[r], others, kEnd, n_ - 1)) continue;
        end_of[r] = by_far ? kFar : kNear;
        for (const std::uint32_t t : members.centres[r]) ++(by_far ? walks_far : walks_near)[t];
    }
    std::vector<RowEnd<T>> near(n_), far(n_);
    parallel_for(
        static_cast<std::ptrdiff_t>(n_), n_threads,
        [] { return std::pair<std::vector<T>, std::vector<T>>(); },
        [&](std::pair<std::vector<T>, std::vector<T>>& buf, std::ptrdiff_t item) {
            const auto p = static_cast<std::size_t>(item);
            if (walks_near[p] >= RowEnd<T>::kMinRounds)
                near[p].build(row(p), n_, p, false, kEnd, buf.first, buf.second);
            if (walks_far[p] >= RowEnd<T>::kMinRounds)
                far[p].build(row(p), n_, p, true, kEnd, buf.first, buf.second);
        });
    constexpr std::size_t kBlock = 64;
    const PointBlocks radius_items(members.points, n_, kBlock);
    parallel_for(
        static_cast<std::ptrdiff_t>(radius_items.items()), n_threads,
        [] { return std::pair<std::vector<T>, std::vector<T>>(); },
        [&](std::pair<std::vector<T>, std::vector<T>>& buf, std::ptrdiff_t item) {
            radius_items.each(static_cast<std::size_t>(item), [&](std::size_t r, std::size_t q0,
                                                                  std::size_t q1) {
                const auto& centres = members.centres[r];
                for (std::size_t q = q0; q < q1; ++q) {
                    const std::int64_t c = members.centre_of[r][q];
                    double& out = radius[rounds.start(r) + q];
                    if (c < 0) {
                        out = 0.0;
                        continue;
                    }
                    const std::uint32_t p = members.points[r][q];
                    const T* dt = row(p);
                    const bool by_end =
                        end_of[r] != kNone &&
                        (end_of[r] == kFar ? far[p] : near[p])
                            .first_members(members.centre_bits[r], need[r], buf.first);
                    const T kth = by_end ? buf.first.back()
                                         : kth_except([&](std::size_t j) { return dt[centres[j]]; },
                                                      centres.size(), static_cast<std::size_t>(c),
                                                      static_cast<std::size_t>(k[r]), buf.first,
                                                      buf.second);
                    out = std::sqrt(static_cast<double>(kth));
                }
            });
        });
    std::vector<std::unique_ptr<PassLanes<T>>> lanes(R);
    std::vector<std::vector<std::uint32_t>> cols(R);
    parallel_for(static_cast<std::ptrdiff_t>(R), n_threads, [] { return std::vector<std::uint8_t>(); },
                 [&](std::vector<std::uint8_t>& flags, std::ptrdiff_t item) {
                     const auto r = static_cast<std::size_t>(item);
                     flags.clear();
                     for (const std::uint32_t t : members.points[r]) flags.push_back(is_anomaly[t]);
                     const auto order = anomalies_first(flags.data(), flags.size());
                     lanes[r] = std::make_unique<PassLanes<T>>(
                         flags.data(), radius + rounds.start(r), order, tau, eta[r]);
                     cols[r] = packed_order(members.points[r], order);
                 });
    using Source = GatheredDistances<T, MatrixAt<T>>;
    const auto rows = pass_rows_for_isa<T, Source>();
    const PointBlocks pass_items(members.points, n_, kPassItemRows);
    parallel_for(
        static_cast<std::ptrdiff_t>(pass_items.items()), n_threads, &PassScratch<T>::make,
        [&](PassScratch<T>& s, std::ptrdiff_t item) {
            pass_items.each(static_cast<std::size_t>(item), [&](std::size_t r, std::size_t q0,
                                                                std::size_t q1) {
                const auto& points = members.points[r];
                const Source src{MatrixAt<T>{d2_.get(), points.data(), n_}, cols[r].data(),
                                 points.size()};
                const std::size_t at = rounds.start(r);
                rows(*lanes[r], src, q0, q1, s, w_pos + at, w_neg + at, rarity + at);
            });
        });
}

template class PairwiseDistances<float>;
template class PairwiseDistances<double>;

}  // namespace eap

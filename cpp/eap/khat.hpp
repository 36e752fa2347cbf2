// Coverage ranks for the k-hat estimate (SPEC section 3).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace eap {

// For each anomaly a (row of A), the smallest k that makes some centre's ball B_k(c_i) hold a:
//   cover[a] = min_i { c_i(a) + 1 : c_i(a) <= n - 2 },  or n - 1 if no ball ever holds a,
// with c_i(a) = #{ centres j != i : d(c_i, c_j) <= d(c_i, a) }. anomaly_index[a] is the row of C
// that a is (its own ball is left out), or -1 when a is not a centre. Memory O(threads x n).
template <class T>
void cover_ranks(const T* C, std::size_t n, const T* A, std::size_t m, std::size_t d,
                 const std::int64_t* anomaly_index, int n_threads, std::int64_t* cover);

// The anomalies as seen from one centre c_i, sorted by their distance to it: bucket(v) of a
// distance v is the first anomaly (in that order) that v does not exceed, so that
// c_i(a) = #{other centres in buckets up to a's}. The search is branch-free over the sorted
// distances padded with +inf to a power of two (its outcome is unpredictable).
template <class T>
class CoverBuckets {
public:
    // The anomalies a < m with flagged[a] set (the flags are cleared), by their squared distance
    // to_anomaly[a] to c_i; update_best then reads and writes those anomalies only.
    void sort_flagged(const T* to_anomaly, std::uint8_t* flagged, std::size_t m);

    std::uint32_t bucket(T v) const {
        std::size_t t = 0;  // #{u : sorted[u] < v}
        for (std::size_t half = sorted_.size() / 2; half > 0; half /= 2)
            t += sorted_[t + half - 1] < v ? half : 0;
        return static_cast<std::uint32_t>(t);
    }

    // out[j] = bucket(v[j]) for j < n; AVX-512 runs 8 (double) or 16 (float) searches at once.
    void buckets(const T* v, std::size_t n, std::uint32_t* out) const;

    // counts[u]: the other centres in bucket u, n centres in all, c_i being centre i:
    // best[a] = min(best[a], c_i(a) + 1) for each sorted anomaly a whose ball that is.
    void update_best(const std::int64_t* counts, std::size_t n, std::size_t i,
                     const std::int64_t* anomaly_index, std::int64_t* best) const;

    std::size_t n_buckets() const { return by_distance_.size() + 1; }

private:
    std::vector<T> sorted_;
    std::vector<std::size_t> by_distance_;
};

// Centre i's K nearest other centres, sorted (nearest[0, K), K <= n - 1 of n centres), settle
// every anomaly a nearer than the K-th: c_i(a) = #{nearest <= d(c_i, a)} <= K - 1, and
// best[a] = min(best[a], c_i(a) + 1). A farther anomaly has c_i(a) >= K, which cannot lower a
// best of at most K + 1; the others get flagged[a] = 1: only a count over the whole row can
// tell their c_i(a). K = 0 settles none. The anomaly's own ball (anomaly_index[a] == i) is left
// out. Returns whether any anomaly was flagged.
template <class T>
bool settle_nearest(const T* nearest, std::size_t K, const T* to_anomaly, std::size_t m,
                    std::size_t i, const std::int64_t* anomaly_index, std::int64_t* best,
                    std::uint8_t* flagged) {
    bool any = false;
    for (std::size_t a = 0; a < m; ++a) {
        if (anomaly_index[a] == static_cast<std::int64_t>(i)) continue;
        const T v = to_anomaly[a];
        if (K > 0 && v < nearest[K - 1]) {
            const auto c = std::upper_bound(nearest, nearest + K, v) - nearest;
            best[a] = std::min<std::int64_t>(best[a], c + 1);
        } else if (best[a] > static_cast<std::int64_t>(K) + 1) {
            flagged[a] = 1;
            any = true;
        }
    }
    return any;
}

template <class T>
struct CoverScratch {
    CoverBuckets<T> buckets;
    std::vector<std::uint32_t> bucket_of;
    std::vector<std::int64_t> counts;
    std::vector<T> nearest;               // the K nearest other centres
    std::vector<std::uint8_t> flagged;    // per anomaly, all clear between calls
};

// One centre i's part of cover_ranks: best[a] = min(best[a], c_i(a) + 1) where that is a cover,
// from the squared distances row[j] of c_i to each of the n centres and to_anomaly[a] to each of
// the m anomalies. Distances must come from one kernel (an anomaly that is a centre then gets
// bit-identical distances either way, so ties resolve consistently). The kSmallestMaxK nearest
// other centres settle most anomalies (settle_nearest); best must hold what this caller found so far.
template <class T>
void cover_from_row(std::size_t i, const T* row, std::size_t n, const T* to_anomaly,
                    std::size_t m, const std::int64_t* anomaly_index, CoverScratch<T>& s,
                    std::int64_t* best);

}  // namespace eap

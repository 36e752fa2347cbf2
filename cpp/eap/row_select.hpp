// Selection over one row of filter values without reordering it (Floyd-Rivest style).
// The values are in random order (the packed order of filter_points.hpp), so a prefix is a
// random sample: two of its order statistics bracket the k-th with high probability, and one
// vectorised pass (row_pass.hpp) counts the values below the bracket and gathers those inside
// it, a few percent of the row, with their positions. The counts check the bracket, so an
// unlucky sample costs a second pass, never a wrong answer. The gathered set then also
// serves the band of exact recomputation around the k-th.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "eap/row_pass.hpp"

namespace eap {

template <class T>
class RowSelect {
public:
    // k-th smallest (1 <= k <= len) of x[0, len).
    T kth(const T* x, std::size_t len, std::size_t k) {
        constexpr T inf = std::numeric_limits<T>::infinity();
        lo_ = -inf;
        hi_ = inf;
        if (len > kSample * 4) bracket(x, len, k);
        gather(x, len);
        if (below_ >= k || below_ + m_ < k) {  // the sample missed: widen that side
            if (below_ >= k)
                lo_ = -inf;
            else
                hi_ = inf;
            gather(x, len);
        }
        work_.assign(vals_.begin(), vals_.begin() + static_cast<std::ptrdiff_t>(m_ + 16));
        tmp_.resize(m_ + 16);
        return kth_smallest(work_.data(), m_, k - below_ - 1, tmp_.data());
    }

    // Positions of the values in [lo, hi] go to out; returns how many values are below lo.
    // After kth(x, ...), from the gathered set when the bracket covers [lo, hi].
    std::size_t band(const T* x, std::size_t len, T lo, T hi, std::vector<std::uint32_t>& out) {
        if (!(lo_ <= lo && hi <= hi_)) {
            lo_ = lo;
            hi_ = hi;
            gather(x, len);
        }
        // One vectorised pass over the gathered set: the indices of its values in [lo, hi],
        // then their positions (a scalar loop here cost 10-17 % of a large-k knn_radii). The
        // values the pass copies to band_vals_ are not needed, only their indices.
        band_vals_.resize(m_ + 16);
        band_at_.resize(m_ + 16);
        std::size_t count = 0;
        const std::size_t below =
            below_ + gather_between(vals_.data(), m_, lo, hi, band_vals_.data(), band_at_.data(), &count);
        out.resize(count);
        for (std::size_t t = 0; t < count; ++t) out[t] = pos_[band_at_[t]];
        return below;
    }

private:
    static constexpr std::size_t kSample = 1024;

    // Sample ranks about 2.5 standard deviations either side of the k-th's expected rank.
    void bracket(const T* x, std::size_t len, std::size_t k) {
        const double p = static_cast<double>(k - 1) / static_cast<double>(len - 1);
        const double centre = p * (kSample - 1);
        const double gap = 2.5 * std::sqrt(kSample * p * (1 - p)) + 2;
        const double a = std::floor(centre - gap), b = std::ceil(centre + gap);
        work_.resize(kSample + 16);
        tmp_.resize(kSample + 16);
        if (a > 0) {
            std::copy(x, x + kSample, work_.begin());
            lo_ = kth_smallest(work_.data(), kSample, static_cast<std::size_t>(a), tmp_.data());
        }
        if (b < kSample - 1) {
            std::copy(x, x + kSample, work_.begin());
            hi_ = kth_smallest(work_.data(), kSample, static_cast<std::size_t>(b), tmp_.data());
        }
    }

    void gather(const T* x, std::size_t len) {
        vals_.resize(len + 16);
        pos_.resize(len + 16);
        below_ = gather_between(x, len, lo_, hi_, vals_.data(), pos_.data(), &m_);
    }

    T lo_ = 0, hi_ = 0;  // bracket of the gathered set
    std::size_t below_ = 0, m_ = 0;
    std::vector<T> vals_, work_, tmp_, band_vals_;
    std::vector<std::uint32_t> pos_, band_at_;
};

}  // namespace eap

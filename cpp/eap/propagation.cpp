#include "eap/propagation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "eap/parallel.hpp"

namespace eap {

namespace {
// (d / eta)^2 above which 2^-(d/eta)^2 < 2^-60: 7.75^2.
constexpr double kCutRatio2 = 7.75 * 7.75;
// Query rows per micro-tile and per parallel work item.
constexpr std::size_t kTileRows = 6, kItemRows = 48;
}  // namespace

template <class T>
TrainingIndex<T>::TrainingIndex(const T* X, std::size_t n, std::size_t d,
                                const std::uint8_t* is_anomaly, const double* radius, double tau,
                                double eta)
    : n_(n),
      d_(d),
      packed_(X, n, d),
      is_anomaly_(is_anomaly, is_anomaly + n),
      radius_(radius, radius + n),
      threshold_(n),
      inv_eta2_(1.0 / (eta * eta)),
      cut2_(kCutRatio2 * eta * eta) {
    for (std::size_t j = 0; j < n; ++j) {
        const double r = radius[j] * (1.0 - tau);
        threshold_[j] = r * r;
    }
}

template <class T>
void TrainingIndex<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                             double* w_neg, double* rarity) const {
    const auto n_items = static_cast<std::ptrdiff_t>((l + kItemRows - 1) / kItemRows);
    constexpr double inf = std::numeric_limits<double>::infinity();
    parallel_for(
        n_items, n_threads, [] { return std::vector<T>(kTileRows * W); },
        [&](std::vector<T>& tile, std::ptrdiff_t item) {
            const std::size_t i0 = static_cast<std::size_t>(item) * kItemRows;
            const std::size_t i1 = std::min(l, i0 + kItemRows);
            double pos[kItemRows] = {}, neg[kItemRows] = {}, best[kItemRows];
            std::fill(best, best + kItemRows, inf);
            for (std::size_t p = 0; p < packed_.n_panels(); ++p) {
                const std::size_t j0 = p * W, w = std::min(W, n_ - j0);
                for (std::size_t r0 = i0; r0 < i1; r0 += kTileRows) {
                    const std::size_t nr = std::min(kTileRows, i1 - r0);
                    panel_sq_dists(Z + r0 * d_, nr, d_, packed_.panel(p), d_, tile.data());
                    for (std::size_t r = 0; r < nr; ++r) {
                        const std::size_t q = r0 - i0 + r;
                        for (std::size_t j = 0; j < w; ++j) {
                            const double d2 = tile[r * W + j];
                            if (d2 < threshold_[j0 + j]) best[q] = std::min(best[q], radius_[j0 + j]);
                            if (d2 > cut2_) continue;
                            const double k = std::exp2(-d2 * inv_eta2_);
                            if (is_anomaly_[j0 + j]) pos[q] += k; else neg[q] += k;
                        }
                    }
                }
            }
            for (std::size_t i = i0; i < i1; ++i) {
                w_pos[i] = pos[i - i0];
                w_neg[i] = neg[i - i0];
                rarity[i] = best[i - i0] < inf ? best[i - i0] : 0.0;
            }
        });
}

template class TrainingIndex<float>;
template class TrainingIndex<double>;

}  // namespace eap

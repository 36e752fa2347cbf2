#include "eap/training_pass.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "eap/ball.hpp"
#include "eap/parallel.hpp"
#include "eap/simd.hpp"

namespace eap {

namespace {
// (d / eta)^2 above which 2^-(d/eta)^2 < 2^-60: 7.75^2.
constexpr double kCutRatio2 = 7.75 * 7.75;
// Query rows per micro-tile and per parallel work item.
constexpr std::size_t kTileRows = 6, kItemRows = 48;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Adds one panel's kernel terms and ball tests for nr query rows into per-lane accumulators
// pos/neg/best[r * W + j]. Terms beyond the cut-off (and padding) add exactly +0.
template <class T>
EAP_ALWAYS_INLINE void accumulate(const T* tile, std::size_t nr, const double* positive,
                                  const double* negative, const double* threshold,
                                  const double* radius, double inv_eta2, double cut2, double* pos,
                                  double* neg, double* best) {
    constexpr std::size_t W = PackedPoints<T>::W;
#if defined(EAP_VECTOR_EXTENSIONS)
    constexpr std::size_t NV = W / 4;
    for (std::size_t r = 0; r < nr; ++r) {
        for (std::size_t v = 0; v < NV; ++v) {
            const std::size_t j = v * 4;
            const V4d d2 = load_as_double(tile + r * W + j);
            const V4d a = load(positive + j), b = load(negative + j);
            const V4d thr = load(threshold + j), rad = load(radius + j);
            const V4d m = load(best + r * W + j);
            const V4d x = d2 > 0.0 ? -d2 * inv_eta2 : V4d{};  // 0 * inf (tiny eta) must stay 0
            const V4d w = d2 <= cut2 ? exp2_negative(x < -70.0 ? V4d{} - 70.0 : x) : V4d{};
            store(pos + r * W + j, load(pos + r * W + j) + w * a);
            store(neg + r * W + j, load(neg + r * W + j) + w * b);
            store(best + r * W + j, smallest_ball(d2, thr, rad, m));
        }
    }
#else
    for (std::size_t r = 0; r < nr; ++r) {
        for (std::size_t j = 0; j < W; ++j) {
            const double d2 = tile[r * W + j];
            const double w = d2 <= cut2 ? (d2 > 0.0 ? std::exp2(-d2 * inv_eta2) : 1.0) : 0.0;
            pos[r * W + j] += w * positive[j];
            neg[r * W + j] += w * negative[j];
            best[r * W + j] = smallest_ball(d2, threshold[j], radius[j], best[r * W + j]);
        }
    }
#endif
}

EAP_TARGET_CLONES void accumulate_panel(const float* tile, std::size_t nr, const double* positive,
                                        const double* negative, const double* threshold,
                                        const double* radius, double inv_eta2, double cut2,
                                        double* pos, double* neg, double* best) {
    accumulate(tile, nr, positive, negative, threshold, radius, inv_eta2, cut2, pos, neg, best);
}

EAP_TARGET_CLONES void accumulate_panel(const double* tile, std::size_t nr, const double* positive,
                                        const double* negative, const double* threshold,
                                        const double* radius, double inv_eta2, double cut2,
                                        double* pos, double* neg, double* best) {
    accumulate(tile, nr, positive, negative, threshold, radius, inv_eta2, cut2, pos, neg, best);
}

template <class T>
typename TrainingPass<T>::Lanes make_lanes(const std::uint8_t* is_anomaly, const double* radius,
                                            std::size_t n, std::size_t padded, double tau) {
    typename TrainingPass<T>::Lanes lanes{std::vector<double>(padded, 0.0),
                                           std::vector<double>(padded, 0.0),
                                           std::vector<double>(padded, -1.0),
                                           std::vector<double>(padded, 0.0)};
    for (std::size_t j = 0; j < n; ++j) {
        lanes.positive[j] = is_anomaly[j] ? 1.0 : 0.0;
        lanes.negative[j] = is_anomaly[j] ? 0.0 : 1.0;
        lanes.threshold[j] = ball_threshold(radius[j], tau);
        lanes.radius[j] = radius[j];
    }
    return lanes;
}

}  // namespace

template <class T>
TrainingPass<T>::TrainingPass(const T* X, std::size_t n, std::size_t d,
                              const std::uint8_t* is_anomaly, const double* radius, double tau,
                              double eta)
    : d_(d),
      packed_(X, n, d),
      lanes_(make_lanes<T>(is_anomaly, radius, n, packed_.n_panels() * W, tau)),
      inv_eta2_(1.0 / (eta * eta)),
      cut2_(kCutRatio2 * eta * eta) {}

template <class T>
void TrainingPass<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                             double* w_neg, double* rarity) const {
    struct Scratch {
        std::vector<T> tile;
        std::vector<double> pos, neg, best;
    };
    parallel_for_rows(
        l, kItemRows, n_threads,
        [] {
            return Scratch{std::vector<T>(kTileRows * W), std::vector<double>(kItemRows * W),
                           std::vector<double>(kItemRows * W), std::vector<double>(kItemRows * W)};
        },
        [&](Scratch& s, std::size_t i0, std::size_t i1) {
            std::fill(s.pos.begin(), s.pos.end(), 0.0);
            std::fill(s.neg.begin(), s.neg.end(), 0.0);
            std::fill(s.best.begin(), s.best.end(), kInf);
            for (std::size_t p = 0; p < packed_.n_panels(); ++p) {
                const std::size_t j0 = p * W;
                for (std::size_t r0 = i0; r0 < i1; r0 += kTileRows) {
                    const std::size_t nr = std::min(kTileRows, i1 - r0), o = (r0 - i0) * W;
                    panel_sq_dists(Z + r0 * d_, nr, d_, packed_.panel(p), d_, s.tile.data());
                    accumulate_panel(s.tile.data(), nr, lanes_.positive.data() + j0,
                                     lanes_.negative.data() + j0, lanes_.threshold.data() + j0,
                                     lanes_.radius.data() + j0, inv_eta2_, cut2_, s.pos.data() + o,
                                     s.neg.data() + o, s.best.data() + o);
                }
            }
            for (std::size_t i = i0; i < i1; ++i) {
                const std::size_t o = (i - i0) * W;
                double pos = 0, neg = 0, best = kInf;
                for (std::size_t j = 0; j < W; ++j) {
                    pos += s.pos[o + j];
                    neg += s.neg[o + j];
                    best = std::min(best, s.best[o + j]);
                }
                w_pos[i] = pos;
                w_neg[i] = neg;
                rarity[i] = best < kInf ? best : 0.0;
            }
        });
}

template class TrainingPass<float>;
template class TrainingPass<double>;

}  // namespace eap

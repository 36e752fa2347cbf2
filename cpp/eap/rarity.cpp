#include "eap/rarity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "eap/ball.hpp"
#include "eap/parallel.hpp"

namespace eap {

namespace {

// Reorders idx[lo, hi) so that groups of `leaf` consecutive points are spatially compact:
// recursive median split on the coordinate of widest spread (a kd-tree's leaf order).
template <class T>
void spatial_order(const T* C, std::size_t d, std::size_t* lo, std::size_t* hi, std::size_t leaf) {
    const std::size_t count = static_cast<std::size_t>(hi - lo);
    if (count <= leaf) return;
    std::size_t axis = 0;
    T widest = -1;
    for (std::size_t k = 0; k < d; ++k) {
        T mn = std::numeric_limits<T>::max(), mx = std::numeric_limits<T>::lowest();
        for (std::size_t* p = lo; p != hi; ++p) {
            mn = std::min(mn, C[*p * d + k]);
            mx = std::max(mx, C[*p * d + k]);
        }
        if (mx - mn > widest) widest = mx - mn, axis = k;
    }
    // Split on a multiple of the leaf size so that panels never straddle the two halves.
    std::size_t* mid = lo + ((count / 2 + leaf - 1) / leaf) * leaf;
    if (mid >= hi) return;
    std::nth_element(lo, mid, hi, [&](std::size_t a, std::size_t b) {
        return C[a * d + axis] < C[b * d + axis] || (C[a * d + axis] == C[b * d + axis] && a < b);
    });
    spatial_order(C, d, lo, mid, leaf);
    spatial_order(C, d, mid, hi, leaf);
}

template <class T>
std::vector<std::size_t> ball_order(const T* C, std::size_t n, std::size_t d, const double* radii,
                                    std::size_t band) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return radii[a] < radii[b]; });
    for (std::size_t b0 = 0; b0 < n; b0 += band)
        spatial_order(C, d, order.data() + b0, order.data() + std::min(n, b0 + band),
                      PackedPoints<T>::W);
    return order;
}

}  // namespace

template <class T>
RarityIndex<T>::RarityIndex(const T* C, std::size_t n, std::size_t d, const double* radii, double tau)
    : n_(n),
      d_(d),
      panels_per_band_(32),
      gamma_(distance_rel_error<T>(d)),
      order_(ball_order(C, n, d, radii, panels_per_band_ * W)),
      packed_(C, order_.data(), n, d),
      radius_(n),
      threshold_(n),
      centroid_(packed_.n_panels() * d),
      spread_(packed_.n_panels()),
      panel_threshold_(packed_.n_panels()) {
    for (std::size_t i = 0; i < n; ++i) {
        radius_[i] = radii[order_[i]];
        threshold_[i] = ball_threshold(radius_[i], tau);
    }
    std::vector<double> mean(d);
    for (std::size_t p = 0; p < packed_.n_panels(); ++p) {
        const std::size_t i0 = p * W, i1 = std::min(n, i0 + W);
        std::fill(mean.begin(), mean.end(), 0.0);
        for (std::size_t i = i0; i < i1; ++i)
            for (std::size_t k = 0; k < d; ++k) mean[k] += C[order_[i] * d + k];
        T* centre = centroid_.data() + p * d;
        for (std::size_t k = 0; k < d; ++k) centre[k] = static_cast<T>(mean[k] / double(i1 - i0));
        double spread = 0, thr = 0;
        for (std::size_t i = i0; i < i1; ++i) {
            spread = std::max(spread, std::sqrt(double(sq_dist(C + order_[i] * d, centre, d))));
            thr = std::max(thr, threshold_[i]);
        }
        spread_[p] = spread;
        panel_threshold_[p] = thr;
    }
}

template <class T>
double RarityIndex<T>::query(const T* z, T* tile) const {
    const std::size_t n_panels = packed_.n_panels();
    for (std::size_t p0 = 0; p0 < n_panels; p0 += panels_per_band_) {
        double best = std::numeric_limits<double>::infinity();
        for (std::size_t p = p0; p < std::min(n_panels, p0 + panels_per_band_); ++p) {
            if (panel_threshold_[p] <= 0) continue;  // radius-0 balls hold nothing
            // Lower bound on the true distance to any ball centre of the panel, then on the
            // computed squared distance: skip only when no member can pass the strict test.
            const double to_centre = std::sqrt(double(sq_dist(z, centroid_.data() + p * d_, d_)));
            const double lower = to_centre * (1 - gamma_) - spread_[p] * (1 + gamma_);
            if (lower > 0 && lower * lower * (1 - gamma_) >= panel_threshold_[p]) continue;
            panel_sq_dists(z, 1, d_, packed_.panel(p), d_, tile);
            const std::size_t i0 = p * W, w = std::min(W, n_ - i0);
            for (std::size_t j = 0; j < w; ++j)
                best = smallest_ball(double(tile[j]), threshold_[i0 + j], radius_[i0 + j], best);
        }
        if (best < std::numeric_limits<double>::infinity()) return best;
    }
    return 0.0;
}

template <class T>
void RarityIndex<T>::score(const T* Z, std::size_t l, int n_threads, double* out) const {
    parallel_for_rows(
        l, 64, n_threads, [] { return std::vector<T>(W); },
        [&](std::vector<T>& tile, std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i) out[i] = query(Z + i * d_, tile.data());
        });
}

template <class T>
void rarity_scores(const T* Z, std::size_t l, const T* C, std::size_t n, std::size_t d,
                   const double* radii, double tau, int n_threads, double* out) {
    RarityIndex<T>(C, n, d, radii, tau).score(Z, l, n_threads, out);
}

template class RarityIndex<float>;
template class RarityIndex<double>;
template void rarity_scores<float>(const float*, std::size_t, const float*, std::size_t,
                                   std::size_t, const double*, double, int, double*);
template void rarity_scores<double>(const double*, std::size_t, const double*, std::size_t,
                                    std::size_t, const double*, double, int, double*);

}  // namespace eap

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "eap/pass_kernel.hpp"

#if defined(EAP_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace eap {

namespace {

// (d / eta)^2 above which 2^-(d/eta)^2 < 2^-60: 7.75^2.
constexpr double kCutRatio2 = 7.75 * 7.75;

// scale = -1/eta^2, finite (only d2 = 0 passes a cut-off that underflows to 0, and 0 * scale
// must stay 0). float: scale = 2^-s (scale_hi + scale_lo) with 2^s a float, so that any eta
// works; x = d2 / eta^2 <= 60.06 (up to the rounding of a subnormal cut2, at most 121).
template <class T>
typename PassLanes<T>::Kernel make_kernel(double eta);

template <>
PassLanes<double>::Kernel make_kernel<double>(double eta) {
    const double scale = std::max(-1.0 / (eta * eta), -std::numeric_limits<double>::max());
    return {scale, 0.0, 1.0, kCutRatio2 * eta * eta, scale, 0.0};
}

template <>
PassLanes<float>::Kernel make_kernel<float>(double eta) {
    constexpr double kFloatMax = std::numeric_limits<float>::max();
    const double scale = -1.0 / (eta * eta);
    const int s = std::clamp(std::ilogb(std::max(-scale, 0x1p-1000)), -126, 127);
    const double rest = std::max(std::ldexp(scale, -s), -kFloatMax);
    const auto top12 = bit_cast<std::uint32_t>(static_cast<float>(rest)) & 0xFFFFF000u;
    const float hi = bit_cast<float>(top12);
    const auto whole = static_cast<float>(rest);
    return {hi, static_cast<float>(rest - hi), std::ldexp(1.0f, s),
            static_cast<float>(std::min(kCutRatio2 * eta * eta, kFloatMax)), whole,
            static_cast<float>(rest - whole)};
}

std::vector<double> distinct_radii(const double* radius, std::size_t n) {
    std::vector<double> sorted(radius, radius + n);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    return sorted;
}

}  // namespace

std::vector<std::size_t> anomalies_first(const std::uint8_t* is_anomaly, std::size_t n) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return is_anomaly[i]; });
    return order;
}

template <class T>
PassLanes<T>::PassLanes(const std::uint8_t* is_anomaly, const double* radius,
                        const std::vector<std::size_t>& order, double tau, double eta)
    : n(order.size()),
      radius_of_key(distinct_radii(radius, n)),
      positive(n_panels() * W, T(0)),
      negative(n_panels() * W, T(0)),
      threshold(n_panels() * W, T(-1)),
      key(n_panels() * W, std::numeric_limits<Key>::max()),
      feeds(n_panels(), kBoth),
      kernel(make_kernel<T>(eta)) {
    for (std::size_t q = 0; q < n; ++q) {
        const std::size_t i = order[q];
        positive[q] = is_anomaly[i] ? T(1) : T(0);
        negative[q] = is_anomaly[i] ? T(0) : T(1);
        threshold[q] = ball_threshold_as<T>(ball_threshold(radius[i], tau));
        key[q] = static_cast<Key>(
            std::lower_bound(radius_of_key.begin(), radius_of_key.end(), radius[i]) -
            radius_of_key.begin());
    }
    for (std::size_t p = 0; p < n_panels(); ++p) {
        if ((p + 1) * W > n) continue;  // padding needs the masks
        const auto first = positive.begin() + static_cast<std::ptrdiff_t>(p * W);
        const auto n_anomalies = static_cast<std::size_t>(std::count(first, first + W, T(1)));
        if (n_anomalies == W) feeds[p] = kPositive;
        if (n_anomalies == 0) feeds[p] = kNegative;
    }
}

template struct PassLanes<float>;
template struct PassLanes<double>;

#if defined(EAP_X86_DISPATCH)
EAP_TARGET_AVX512 void gather_tile_avx512(const float* const* rows, const std::uint32_t* offsets,
                                          std::size_t width, std::size_t nr, float* out) {
    const auto lanes = static_cast<__mmask16>(width >= 16 ? 0xFFFFu : (1u << width) - 1u);
    const __m512i index = _mm512_loadu_si512(offsets);
    for (std::size_t r = 0; r < nr; ++r)
        _mm512_storeu_ps(out + r * 16,
                         _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, index, rows[r], 4));
}

EAP_TARGET_AVX512 void gather_tile_avx512(const double* const* rows, const std::uint32_t* offsets,
                                          std::size_t width, std::size_t nr, double* out) {
    const auto lanes = static_cast<__mmask8>(width >= 8 ? 0xFFu : (1u << width) - 1u);
    const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets));
    for (std::size_t r = 0; r < nr; ++r)
        _mm512_storeu_pd(out + r * 8,
                         _mm512_mask_i32gather_pd(_mm512_setzero_pd(), lanes, index, rows[r], 8));
}
#endif

}  // namespace eap

// Ball membership (SPEC section 2), shared by the rarity index and the training pass: a point
// at computed squared distance d2 lies in a ball iff d2 < (r (1 - tau))^2, strictly, and the
// smallest radius among the balls holding it wins.
#pragma once

#include <cmath>
#include <limits>

#include "eap/simd.hpp"

namespace eap {

inline double ball_threshold(double radius, double tau) {
    const double r = radius * (1.0 - tau);
    return r * r;
}

// The threshold in T that decides exactly as the double one for every squared distance
// computed in T: for float, the smallest float t >= threshold. Proof: if the threshold is a
// float, t equals it. Otherwise, for a float d2, d2 < threshold implies d2 <= the largest float
// below the threshold, which is below t; and d2 < t implies d2 <= the float before t, which is
// below the threshold since t is the smallest float above it. (+inf stays +inf.)
template <class T>
T ball_threshold_as(double threshold);

template <>
inline double ball_threshold_as<double>(double threshold) {
    return threshold;
}

template <>
inline float ball_threshold_as<float>(double threshold) {
    const float t = static_cast<float>(threshold);
    const float above = std::nextafter(t, std::numeric_limits<float>::infinity());
    return static_cast<double>(t) < threshold ? above : t;
}

// best, updated with one ball; scalars or vectors (lane-wise, the same result). key orders the
// balls as their radii do.
template <class D, class K>
EAP_ALWAYS_INLINE K smallest_ball(D d2, D threshold, K key, K best) {
    const K smaller = key < best ? key : best;  // two selects on comparisons: mask registers
    return d2 < threshold ? smaller : best;
}

}  // namespace eap

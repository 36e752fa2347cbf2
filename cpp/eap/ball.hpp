// Ball membership (SPEC section 2), shared by the rarity index and the training pass: a point
// at computed squared distance d2 lies in a ball iff d2 < (r (1 - tau))^2, strictly, and the
// smallest radius among the balls holding it wins.
#pragma once

#include "eap/simd.hpp"

namespace eap {

inline double ball_threshold(double radius, double tau) {
    const double r = radius * (1.0 - tau);
    return r * r;
}

// best, updated with one ball; V is double or a vector of doubles (lane-wise, same result).
template <class V>
EAP_ALWAYS_INLINE V smallest_ball(V d2, V threshold, V radius, V best) {
    return (d2 < threshold) & (radius < best) ? radius : best;
}

}  // namespace eap

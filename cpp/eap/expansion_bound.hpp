// Proven bounds between the GEMM filter value of a pair and its exact squared distance.
//
// Setting. Rows c_i (type T) are mapped to a'_i = fl_F((c_i - mu) s) with F = T, mu any shift
// (the mean) and s a power of two putting every |a'_ik| below 1. The tile kernel returns
// v = fl(fl(|b'|^2) - 2 dot~), dot~ = a'.b' summed in any order, with or without FMA.
// The result must be D = sq_dist(c_i, c_j): sum_k (c_ik - c_jk)^2 rounded in T, in order.
//
// Proof of the margin. u = unit roundoff of F, g_m = m u / (1 - m u), eta = smallest subnormal
// of F (absolute error of an underflowing product), na = |a'|^2 computed in double, nbmax the
// largest |b'|^2.
// (1) Filter: |dot~ - a'.b'| <= g_d sum |a'_k b'_k| + d eta <= g_d |a'||b'| + d eta; fl(|b'|^2)
//     and the final subtraction add u |b'|^2 and u |v|; 2 dot~ is exact; na carries g_d na.
//     With 2|a'||b'| <= na + nb:  |v + na - |a' - b'|^2| <= M := g_(2d+8) (3 na + 3 nbmax)
//     + 8 (d + 2) eta  (the constants at least double the derived ones).
// (2) Centring: each a'_ik is within (u + 2 u_double) |.| + eta of s (c_ik - mu_k), so
//     | |a' - b'| - s |c_i - c_j| | <= rho := 2 (u + 2 u_double) (sqrt(na) + sqrt(nbmax))
//     + 2 sqrt(d) eta.
// (3) Exact sum: |D - |c_i - c_j|^2| <= g_(2d+8) |c_i - c_j|^2 + 2 d eta_T (sub, square and
//     d - 1 additions, underflow absolute), provided nothing overflows in T; `safe` says that
//     sum_k range_k^2 is far below T's largest value, otherwise every bound is infinite.
// Hence D <= up(v) = ((sqrt(v + na + M) + rho) / s)^2 (1 + g) + 2 d eta_T and
//       D >= low(v) = ((sqrt(v + na - M) - rho)_+ / s)^2 (1 - g) - 2 d eta_T.
// Both are evaluated in double with a relative slack of 16 u_double per step chain and an
// absolute slack on the sums, and are non-decreasing in v (each floating-point step is
// monotone), so a threshold checked at one value holds for every value beyond it.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

namespace eap {

template <class T>
class ExpansionBound {
public:
    // Per-row constants of the bound (na = |a'_i|^2 in double).
    struct Row {
        double na, M, rho, slack;
    };

    ExpansionBound(std::size_t d, double s, double nbmax, bool safe)
        : d_(static_cast<double>(d)), s_(s), nbmax_(nbmax), safe_(safe) {
        const double u = std::numeric_limits<T>::epsilon() / 2;
        g_ = gamma(2 * d_ + 8, u);
        eta_ = std::numeric_limits<T>::denorm_min();
        rho_u_ = 2 * (u + 2 * kUd);
    }

    // False when an exact distance could overflow: then the bounds say nothing.
    bool safe() const { return safe_; }

    Row row(double na) const {
        const double M = g_ * (3 * na + 3 * nbmax_) + 8 * (d_ + 2) * eta_;
        const double rho = rho_u_ * (std::sqrt(na) + std::sqrt(nbmax_)) + 2 * std::sqrt(d_) * eta_;
        // |v| + na + M <= 4 (na + nbmax) + M bounds every operand of the sums below.
        return {na, M, rho, 8 * kUd * (4 * (na + nbmax_) + M)};
    }

    // E with |est / s^2 - D| <= E for every pair of the row, where est = fl(v + fl(na)) is
    // evaluated in T (and may be raised to 0, which only brings it nearer D >= 0): steps (1)-(3)
    // summed, with A = sqrt(na) + sqrt(nbmax) >= |a' - b'| and |c_i - c_j| <= (A + rho) / s,
    // plus the two roundings of est, each at most u (na + A^2 + M) + eta. Infinite when unsafe.
    double band(const Row& r) const {
        if (!safe_) return kInf;
        const double u = std::numeric_limits<T>::epsilon() / 2;
        const double A = (std::sqrt(r.na) + std::sqrt(nbmax_)) * (1 + g_);
        const double E = r.M + r.rho * (2 * A + r.rho) + g_ * (A + r.rho) * (A + r.rho) +
                         2 * (u * (r.na + A * A + r.M) + eta_) + r.slack;
        return (E / (s_ * s_) + 2 * d_ * eta_) * (1 + 16 * kUd);
    }

    // D <= up(v).
    double up(const Row& r, double v) const {
        if (!safe_ || std::isinf(v)) return kInf;
        const double arg = (v + r.na) + r.M + r.slack;
        const double n = (arg > 0 ? std::sqrt(arg) : 0.0) + r.rho;
        const double x = n / s_;
        const double D = x * x * (1 + g_) + 2 * d_ * eta_;
        return D * (1 + 16 * kUd);
    }

    // D >= low(v).
    double low(const Row& r, double v) const {
        if (!safe_) return -kInf;
        if (std::isinf(v)) return v;
        const double arg = (v + r.na) - r.M - r.slack;
        const double n = arg > 0 ? std::sqrt(arg) - r.rho : 0.0;
        const double x = n > 0 ? n / s_ : 0.0;
        const double D = x * x * (1 - g_) - 2 * d_ * eta_;
        return D >= 0 ? D * (1 - 16 * kUd) : D * (1 + 16 * kUd);
    }

    // A threshold t with low(v) > U for every v > t: rows with v > t are farther than U.
    T keep_at_most(const Row& r, double U) const {
        if (!safe_ || !(U < kInf)) return std::numeric_limits<T>::infinity();
        const double x = std::sqrt(std::fmax(U + 2 * d_ * eta_, 0.0) / (1 - g_)) * s_ + r.rho;
        double t = x * x - r.na + r.M + 2 * r.slack;
        for (int attempt = 0; attempt < 8; ++attempt, t += std::fabs(t) + r.slack) {
            const T tf = round_up(t);
            if (low(r, next_up(tf)) > U) return tf;
        }
        return std::numeric_limits<T>::infinity();
    }

    // A threshold t with up(v) < L for every v < t: rows with v < t are nearer than L.
    T strictly_below(const Row& r, double L) const {
        const T none = -std::numeric_limits<T>::infinity();
        if (!safe_ || !(L > 2 * d_ * eta_)) return none;
        const double x = std::sqrt((L - 2 * d_ * eta_) / (1 + g_)) * s_ - r.rho;
        if (!(x > 0)) return none;
        double t = x * x - r.na - r.M - 2 * r.slack;
        for (int attempt = 0; attempt < 8; ++attempt, t -= std::fabs(t) + r.slack) {
            const T tf = round_down(t);
            if (up(r, next_down(tf)) < L) return tf;
        }
        return none;
    }

private:
    static constexpr double kUd = std::numeric_limits<double>::epsilon() / 2;
    static constexpr double kInf = std::numeric_limits<double>::infinity();
    static double gamma(double m, double u) { return m * u / (1 - m * u); }
    static T next_up(T x) { return std::nextafter(x, std::numeric_limits<T>::infinity()); }
    static T next_down(T x) { return std::nextafter(x, -std::numeric_limits<T>::infinity()); }
    static T round_up(double x) {
        const T y = static_cast<T>(x);
        return static_cast<double>(y) < x ? next_up(y) : y;
    }
    static T round_down(double x) {
        const T y = static_cast<T>(x);
        return static_cast<double>(y) > x ? next_down(y) : y;
    }

    double d_, s_, nbmax_, g_, eta_, rho_u_;
    bool safe_;
};

}  // namespace eap

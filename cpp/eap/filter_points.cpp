#include "eap/filter_points.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace eap {

namespace {

// Column means in double: the shift of the filter coordinates (any shift is valid; the mean
// keeps |a'| and so the error bound small).
template <class T>
std::vector<double> column_means(const T* C, std::size_t n, std::size_t d) {
    std::vector<double> mu(d, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < d; ++k) mu[k] += static_cast<double>(C[i * d + k]);
    for (double& m : mu) m /= static_cast<double>(n);
    return mu;
}

// sum_k (max_i c_ik - min_i c_ik)^2 well below T's largest value: no step of sq_dist overflows.
template <class T>
bool no_overflow(const T* C, std::size_t n, std::size_t d) {
    if (n == 0) return true;
    double sum = 0;
    for (std::size_t k = 0; k < d; ++k) {
        double lo = static_cast<double>(C[k]), hi = lo;
        for (std::size_t i = 1; i < n; ++i) {
            lo = std::fmin(lo, static_cast<double>(C[i * d + k]));
            hi = std::fmax(hi, static_cast<double>(C[i * d + k]));
        }
        sum += (hi - lo) * (hi - lo);
    }
    return sum < static_cast<double>(std::numeric_limits<T>::max()) / 16;
}

// Fixed-seed Fisher-Yates shuffle (splitmix64): the packed order.
std::vector<std::uint32_t> shuffled(std::size_t n) {
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = n; i > 1; --i) {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        std::swap(order[i - 1], order[z % i]);
    }
    return order;
}

template <class T>
ExpansionBound<T> make_bound(std::size_t d, double s, const std::vector<double>& na, bool safe) {
    const double nbmax = na.empty() ? 0.0 : *std::max_element(na.begin(), na.end());
    return ExpansionBound<T>(d, s, nbmax, safe);
}

}  // namespace

template <class T>
FilterPoints<T>::FilterPoints(const T* C, std::size_t n, std::size_t d)
    : FilterPoints(C, n, d, shuffled(n), true) {}

template <class T>
FilterPoints<T>::FilterPoints(const T* C, std::size_t n, std::size_t d,
                              std::vector<std::uint32_t> order, bool scale)
    : n_(n), d_(d), n_pad_((n + NR - 1) / NR * NR), mu_(column_means(C, n, d)), s_(1.0),
      na_(n), packed_(n_pad_ * d, T(0)),
      nb_(n_pad_, std::numeric_limits<T>::infinity()), order_(std::move(order)), position_(n),
      bound_(d, 1.0, 0.0, false) {
    double peak = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < d; ++k)
            peak = std::fmax(peak, std::fabs(static_cast<double>(C[i * d + k]) - mu_[k]));
    // s = 2^-e with peak * s in [1/2, 1): every filter coordinate is at most 1 in magnitude.
    int e = 0;
    if (scale && peak > 0 && std::isfinite(peak)) std::frexp(peak, &e);
    s_ = std::ldexp(1.0, -e);
    for (std::size_t p = 0; p < n; ++p) {
        const std::size_t i = order_[p];
        position_[i] = static_cast<std::uint32_t>(p);
        na_[i] = map_row(C + i * d, packed_.data() + (p / NR) * NR * d + (p % NR), NR);
        nb_[p] = static_cast<T>(na_[i]);
    }
    bound_ = make_bound<T>(d, s_, na_, std::isfinite(peak) && no_overflow(C, n, d));
}

template <class T>
double FilterPoints<T>::map_row(const T* c, T* out, std::size_t stride) const {
    double norm = 0;
    for (std::size_t k = 0; k < d_; ++k) {
        const T y = static_cast<T>((static_cast<double>(c[k]) - mu_[k]) * s_);
        out[k * stride] = y;
        norm += static_cast<double>(y) * static_cast<double>(y);
    }
    return norm;
}

template <class T>
void FilterPoints<T>::pack_queries(const T* Z, std::size_t rows, T* out, double* na) const {
    const std::size_t blocks = (rows + MR - 1) / MR;
    std::fill(out, out + blocks * MR * d_, T(0));
    for (std::size_t r = 0; r < rows; ++r) {
        const double norm = map_row(Z + r * d_, out + (r / MR) * MR * d_ + (r % MR), MR);
        if (na != nullptr) na[r] = norm;
    }
}

template class FilterPoints<float>;
template class FilterPoints<double>;

}  // namespace eap

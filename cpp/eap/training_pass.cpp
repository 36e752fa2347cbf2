#include "eap/training_pass.hpp"

#include <limits>

#include "eap/distance_tile.hpp"
#include "eap/expanded_distances.hpp"
#include "eap/parallel.hpp"

namespace eap {

namespace {

// Tiles computed from the candidates and the packed training points.
template <class T>
struct ComputedDistances {
    const T* Z;
    const PackedPoints<T>& packed;
    std::size_t d;

    template <int B>
    EAP_ALWAYS_INLINE void begin_panel(std::size_t) const {}

    template <int B>
    EAP_ALWAYS_INLINE void tile(std::size_t p, std::size_t i, std::size_t nr, T* out) const {
        distance_tile<T, B>(Z + i * d, nr, d, packed.panel(p), d, out);
    }
};

}  // namespace

template <class T>
TrainingPass<T>::TrainingPass(const T* X, std::size_t n, std::size_t d,
                              const std::uint8_t* is_anomaly, const double* radius, double tau,
                              double eta)
    : TrainingPass(X, d, anomalies_first(is_anomaly, n), is_anomaly, radius, tau, eta) {}

template <class T>
TrainingPass<T>::TrainingPass(const T* X, std::size_t d, const std::vector<std::size_t>& order,
                              const std::uint8_t* is_anomaly, const double* radius, double tau,
                              double eta)
    : d_(d),
      packed_(X, order.data(), order.size(), d),
      lanes_(is_anomaly, radius, order, tau, eta) {
    if (d >= kExpansionMinDim && !order.empty())
        filter_.emplace(X, order.size(), d, std::vector<std::uint32_t>(order.begin(), order.end()),
                        false);
}

template <class T>
void TrainingPass<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                            double* w_neg, double* rarity, bool exact) const {
    if (!filter_ || exact) {
        const ComputedDistances<T> src{Z, packed_, d_};
        const auto rows = pass_rows_for_isa<T, ComputedDistances<T>>();
        parallel_for_rows(l, kPassItemRows, n_threads, &PassScratch<T>::make,
                          [&](PassScratch<T>& s, std::size_t i0, std::size_t i1) {
                              rows(lanes_, src, i0, i1, s, w_pos, w_neg, rarity);
                          });
        return;
    }
    struct Scratch {
        PassScratch<T> pass;
        ExpansionScratch<T> expansion;
    };
    const auto rows = pass_rows_for_isa<T, ExpandedDistances<T>>();
    const auto cut2 = static_cast<double>(lanes_.kernel.cut2);
    parallel_for_rows(
        l, kPassItemRows, n_threads,
        [&] { return Scratch{PassScratch<T>::make(), ExpansionScratch<T>::make(d_)}; },
        [&](Scratch& s, std::size_t i0, std::size_t i1) {
            const ExpandedDistances<T> src(Z, i0, i1 - i0, *filter_, packed_,
                                           lanes_.threshold.data(), cut2, s.expansion);
            rows(lanes_, src, i0, i1, s.pass, w_pos, w_neg, rarity);
        });
}

template <class T>
void TrainingPass<T>::expanded_rows(const T* Z, std::size_t l, std::uint8_t* out) const {
    std::vector<T> packed(GemmTile<T>::MR * d_);
    for (std::size_t i = 0; i < l; ++i) {
        double na = 0;
        if (filter_) filter_->pack_queries(Z + i * d_, 1, packed.data(), &na);
        out[i] = filter_ && expansion_margin(*filter_, d_, na, double(lanes_.kernel.cut2)) <
                                std::numeric_limits<T>::infinity();
    }
}

template class TrainingPass<float>;
template class TrainingPass<double>;

}  // namespace eap

#include "eap/training_pass.hpp"

#include "eap/distance_tile.hpp"
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
      lanes_(is_anomaly, radius, order, tau, eta) {}

template <class T>
void TrainingPass<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                            double* w_neg, double* rarity) const {
    const ComputedDistances<T> src{Z, packed_, d_};
    const auto rows = pass_rows_for_isa<T, ComputedDistances<T>>();
    parallel_for_rows(l, kPassItemRows, n_threads, &PassScratch<T>::make,
                      [&](PassScratch<T>& s, std::size_t i0, std::size_t i1) {
                          rows(lanes_, src, i0, i1, s, w_pos, w_neg, rarity);
                      });
}

template class TrainingPass<float>;
template class TrainingPass<double>;

}  // namespace eap

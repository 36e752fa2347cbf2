#include "eap/rounds_pass.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "eap/parallel.hpp"

namespace eap {

namespace {

// Squared distances of one work item's rows to every training point, panel by panel:
// d2[p * rows * W + r * W + j] for point p * W + j and row i0 + r.
template <class T>
struct ItemDistances {
    static constexpr std::size_t W = PackedPoints<T>::W;
    const T* d2;
    std::size_t i0, rows;
    EAP_ALWAYS_INLINE const T* row(std::size_t i) const { return d2 + (i - i0) * W; }
    EAP_ALWAYS_INLINE std::uint32_t offset(std::uint32_t c) const {
        return static_cast<std::uint32_t>((c / W) * rows * W + c % W);
    }
    // The item's distances were just computed: nothing to ask for.
    EAP_ALWAYS_INLINE void prefetch(std::size_t, std::uint32_t, std::uint32_t) const {}
};

// Rows per work item: kPassItemRows, fewer (a multiple of the micro-tile) when the item's
// distances to every training point would pass 8 MiB.
template <class T>
std::size_t item_rows(std::size_t n_padded) {
    const std::size_t fit = (std::size_t(8) << 20) / (n_padded * sizeof(T));
    return std::clamp(fit / kPassTileRows * kPassTileRows, kPassTileRows, kPassItemRows);
}

}  // namespace

template <class T>
RoundsPass<T>::RoundsPass(const T* X, std::size_t n, std::size_t d,
                          const std::uint8_t* is_anomaly, const Rounds& rounds,
                          const double* radius, double tau, const double* eta, int n_threads)
    : d_(d), packed_(X, n, d), cols_(rounds.count) {
    // An item's distances are read at 32-bit offsets (ItemDistances).
    if ((n + PackedPoints<T>::W) * kPassItemRows >= (std::size_t(1) << 31))
        throw std::invalid_argument("a bagged pass takes fewer than 44 million training points");
    // Rounds side by side (a bagged model's 100 rounds: about 5 ms on one thread).
    std::vector<std::unique_ptr<PassLanes<T>>> lanes(rounds.count);
    parallel_for(static_cast<std::ptrdiff_t>(rounds.count), n_threads,
                 [] { return std::vector<std::uint8_t>(); },
                 [&](std::vector<std::uint8_t>& flags, std::ptrdiff_t item) {
                     const auto r = static_cast<std::size_t>(item);
                     const std::vector<std::uint32_t> points = rounds.indices(r);
                     flags.clear();
                     for (const std::uint32_t t : points) {
                         if (t >= n)
                             throw std::invalid_argument("round rows must index the training points");
                         flags.push_back(is_anomaly[t]);
                     }
                     if (!(eta[r] > 0)) throw std::invalid_argument("eta must be positive");
                     const std::vector<std::size_t> order = anomalies_first(flags.data(), flags.size());
                     lanes[r] = std::make_unique<PassLanes<T>>(flags.data(), radius + rounds.start(r),
                                                               order, tau, eta[r]);
                     cols_[r] = packed_order(points, order);
                 });
    for (auto& round : lanes) lanes_.push_back(std::move(*round));
}

template <class T>
void RoundsPass<T>::score(const T* Z, std::size_t l, int n_threads, double* w_pos,
                          double* w_neg, double* rarity) const {
    constexpr std::size_t W = PackedPoints<T>::W;
    using Source = GatheredDistances<T, ItemDistances<T>>;
    const auto rows = pass_rows_for_isa<T, Source>();
    const std::size_t n_panels = packed_.n_panels(), per_item = item_rows<T>(n_panels * W);
    struct Scratch {
        std::vector<T> d2;
        PassScratch<T> pass;
    };
    parallel_for_rows(
        l, per_item, n_threads,
        [&] { return Scratch{std::vector<T>(per_item * n_panels * W), PassScratch<T>::make()}; },
        [&](Scratch& s, std::size_t i0, std::size_t i1) {
            const std::size_t nr = i1 - i0;
            for (std::size_t p = 0; p < n_panels; ++p)
                panel_sq_dists(Z + i0 * d_, nr, d_, packed_.panel(p), d_,
                               s.d2.data() + p * nr * W);
            for (std::size_t r = 0; r < lanes_.size(); ++r) {
                const Source src{ItemDistances<T>{s.d2.data(), i0, nr}, cols_[r].data(),
                                 cols_[r].size()};
                rows(lanes_[r], src, i0, i1, s.pass, w_pos + r * l, w_neg + r * l,
                     rarity + r * l);
            }
        });
}

template class RoundsPass<float>;
template class RoundsPass<double>;

}  // namespace eap

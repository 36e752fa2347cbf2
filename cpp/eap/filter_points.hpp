// The centres as the GEMM filter sees them: centred on their mean and scaled by a power of two
// (which keeps the expansion's error bound tight and free of overflow), packed in panels for
// gemm_tile.hpp in a fixed pseudo-random order (so any prefix of the panels is a random sample
// of the centres), with the bound that links filter values to exact distances. The scoring pass
// packs them in its own order, unscaled (s = 1: its filter values are squared distances).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "eap/expansion_bound.hpp"
#include "eap/gemm_tile.hpp"

namespace eap {

template <class T>
class FilterPoints {
public:
    static constexpr std::size_t MR = GemmTile<T>::MR, NR = GemmTile<T>::NR;

    FilterPoints(const T* C, std::size_t n, std::size_t d);
    // order: the centre at each packed position; scale: s as above, else s = 1.
    FilterPoints(const T* C, std::size_t n, std::size_t d, std::vector<std::uint32_t> order,
                 bool scale);

    std::size_t n_panels() const { return n_pad_ / NR; }
    std::size_t padded() const { return n_pad_; }
    const T* panel(std::size_t p) const { return packed_.data() + p * NR * d_; }
    const T* panel_norms(std::size_t p) const { return nb_.data() + p * NR; }
    // Centre at packed position p (p < n), and packed position of centre i.
    std::size_t centre(std::size_t p) const { return order_[p]; }
    std::size_t position(std::size_t i) const { return position_[i]; }
    // Packs rows of Z mapped as the centres are (the centres' own rows: the same bits as their
    // panels) as ceil(rows / MR) blocks of MR rows, zero-padded, and writes their |a'|^2 in
    // double to na unless it is null.
    void pack_queries(const T* Z, std::size_t rows, T* out, double* na) const;
    typename ExpansionBound<T>::Row bound_row(std::size_t i) const { return bound_.row(na_[i]); }
    const ExpansionBound<T>& bound() const { return bound_; }

private:
    // Writes a' = fl((c - mu) s) of row c to out[k * stride] and returns |a'|^2 in double.
    double map_row(const T* c, T* out, std::size_t stride) const;

    std::size_t n_, d_, n_pad_;
    std::vector<double> mu_;
    double s_;
    std::vector<double> na_;  // their squared norms
    std::vector<T> packed_, nb_;  // panels and |b|^2 per packed position (+inf for padding)
    std::vector<std::uint32_t> order_, position_;
    ExpansionBound<T> bound_;
};

}  // namespace eap

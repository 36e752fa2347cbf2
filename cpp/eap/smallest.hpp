// The k smallest of a row of values, sorted, for small k: one pass, no copy of the row.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace eap {

// Up to this k, smallest_except's one pass beats copying the row and selecting in it
// (SSDO's bandwidth, k-hat's nearest centres).
constexpr std::size_t kSmallestMaxK = 32;

// v into b[0, k), the k smallest values so far in increasing order, when it is below the k-th.
// v goes in after the values not above it, without a branch on where: from the top down,
// b[u] = min(b[u], max(v, b[u - 1])) keeps the values below v, puts v at the first place whose
// value exceeds it, and shifts the rest up by one.
template <class T>
inline void insert_smallest(T* b, std::size_t k, T v) {
    if (!(v < b[k - 1])) return;
    for (std::size_t u = k - 1; u > 0; --u) b[u] = std::min(b[u], std::max(v, b[u - 1]));
    b[0] = std::min(b[0], v);
}

// buf = the k smallest of at(j) over j in [0, len), j != skip, in increasing order (+inf where
// fewer than k values exist); ties are kept with multiplicity. For k up to kSmallestMaxK.
template <class T, class At>
void smallest_except(At at, std::size_t len, std::size_t skip, std::size_t k, std::vector<T>& buf) {
    buf.assign(k, std::numeric_limits<T>::infinity());
    T* b = buf.data();
    const auto insert = [&](std::size_t j, T v) {
        if (j != skip) insert_smallest(b, k, v);
    };
    // Once the k smallest settle, few values beat the k-th: a block's values are screened
    // without a branch per value, and only those below the k-th at the block's start are
    // inserted (each tested again: the k-th falls as they go in).
    constexpr std::size_t kBlock = 16;
    std::size_t j = 0;
    for (; j + kBlock <= len; j += kBlock) {
        T v[kBlock];
        const T kth = b[k - 1];
        std::uint32_t below = 0;
        for (std::size_t t = 0; t < kBlock; ++t) {
            v[t] = at(j + t);
            below |= static_cast<std::uint32_t>(v[t] < kth) << t;
        }
        for (; below != 0; below &= below - 1) {
            const auto t = static_cast<std::size_t>(__builtin_ctz(below));
            insert(j + t, v[t]);
        }
    }
    for (; j < len; ++j) insert(j, at(j));
}

}  // namespace eap

// The k smallest of a row of values, sorted, for small k: one pass, no copy of the row.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace eap {

// buf = the k smallest of at(j) over j in [0, len), j != skip, in increasing order (+inf where
// fewer than k values exist); ties are kept with multiplicity. For k up to a few dozen.
template <class T, class At>
void smallest_except(At at, std::size_t len, std::size_t skip, std::size_t k, std::vector<T>& buf) {
    buf.assign(k, std::numeric_limits<T>::infinity());
    const auto insert = [&](std::size_t j, T v) {
        if (j == skip || !(v < buf[k - 1])) return;
        std::size_t u = k - 1;
        for (; u > 0 && buf[u - 1] > v; --u) buf[u] = buf[u - 1];
        buf[u] = v;
    };
    // Once the k smallest settle, few values beat the k-th: screen blocks without a branch per
    // value, inserting only from blocks that hold one.
    constexpr std::size_t kBlock = 16;
    std::size_t j = 0;
    for (; j + kBlock <= len; j += kBlock) {
        T v[kBlock];
        bool below = false;
        for (std::size_t t = 0; t < kBlock; ++t) {
            v[t] = at(j + t);
            below |= v[t] < buf[k - 1];
        }
        if (below)
            for (std::size_t t = 0; t < kBlock; ++t) insert(j + t, v[t]);
    }
    for (; j < len; ++j) insert(j, at(j));
}

}  // namespace eap

// The k-th smallest of an array of values, leaving the array as it is.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace eap {

template <class T>
class KthValue {
public:
    // k-th smallest (1 <= k <= len) of x[0, len).
    T operator()(const T* x, std::size_t len, std::size_t k) {
        copy_.assign(x, x + len);
        std::nth_element(copy_.begin(), copy_.begin() + static_cast<std::ptrdiff_t>(k - 1), copy_.end());
        return copy_[k - 1];
    }

private:
    std::vector<T> copy_;
};

}  // namespace eap

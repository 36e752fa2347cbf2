// Bagging rounds (SPEC section 7) as lists of training-point indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eap {

// Round r holds the training points rows[offsets[r]], ..., rows[offsets[r + 1] - 1], increasing;
// a value per round point (a flag, a radius, an output) lives at the same position of an array
// laid out like rows.
struct Rounds {
    const std::int64_t* offsets;
    std::size_t count;
    const std::int64_t* rows;

    std::size_t size(std::size_t r) const {
        return static_cast<std::size_t>(offsets[r + 1] - offsets[r]);
    }
    std::size_t start(std::size_t r) const { return static_cast<std::size_t>(offsets[r]); }

    // Round r's indices, or those of its points whose flag (laid out like rows) is set.
    std::vector<std::uint32_t> indices(std::size_t r, const std::uint8_t* flag = nullptr) const {
        std::vector<std::uint32_t> out;
        for (std::size_t q = start(r); q < start(r) + size(r); ++q)
            if (!flag || flag[q]) out.push_back(static_cast<std::uint32_t>(rows[q]));
        return out;
    }
};

}  // namespace eap

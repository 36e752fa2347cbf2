#include "eap/forest_levels.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#if defined(EAP_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace eap {

ForestLevels::ForestLevels(const std::int32_t* words, const std::vector<std::int32_t>& roots,
                           const std::vector<std::int32_t>& heights)
    : height_(heights) {
    std::size_t n_top = 0, n_entry = 0;
    for (const std::int32_t h : heights) {
        top_start_.push_back(static_cast<std::uint32_t>(n_top));
        entry_start_.push_back(static_cast<std::uint32_t>(n_entry));
        n_top += (std::size_t(1) << std::min(h, kTopLevels)) - 1;
        n_entry += std::size_t(1) << std::min(h, kTopLevels);
    }
    if (n_entry > std::numeric_limits<std::uint32_t>::max()) {  // 67 million trees: pointers only
        top_start_.clear();
        entry_start_.clear();
        return;
    }
    // Levels of up to 32 nodes are read as whole vectors, past a small tree's end.
    feature_.reset(new std::int32_t[n_top + 32]);
    below_.reset(new float[n_top + 32]);
    entry_.reset(new std::int32_t[n_entry]);
    std::fill_n(feature_.get() + n_top, 32, 0);
    std::fill_n(below_.get() + n_top, 32, 0.0f);
    struct Slot {
        std::int32_t node, level;
        std::uint32_t position;
    };
    // The walk down stops at the top's last level: at most 2 slots per level wait.
    Slot stack[2 * kTopLevels + 1];
    for (std::size_t t = 0; t < roots.size(); ++t) {
        const std::int32_t top = std::min(heights[t], kTopLevels);
        std::int32_t* feature = feature_.get() + top_start_[t];
        float* below = below_.get() + top_start_[t];
        std::int32_t* entry = entry_.get() + entry_start_[t];
        std::size_t waiting = 0;
        stack[waiting++] = {roots[t], 0, 0};
        while (waiting) {
            const Slot s = stack[--waiting];
            const std::int32_t* node = words + 4 * static_cast<std::size_t>(s.node);
            if (s.level == top) {
                entry[s.position] = s.node;
                continue;
            }
            if (node[2] == s.node) {  // a leaf
                // Under a leaf, every slot splits on feature 0 at +inf: both ways lead to it.
                for (std::int32_t level = s.level; level < top; ++level) {
                    const std::size_t span = std::size_t(1) << (level - s.level);
                    const std::size_t at = (std::size_t(1) << level) - 1 + s.position * span;
                    std::fill_n(feature + at, span, 0);
                    std::fill_n(below + at, span, std::numeric_limits<float>::infinity());
                }
                std::fill_n(entry + (std::size_t(s.position) << (top - s.level)),
                            std::size_t(1) << (top - s.level), s.node);
                continue;
            }
            const std::size_t at = (std::size_t(1) << s.level) - 1 + s.position;
            feature[at] = node[1];
            std::memcpy(below + at, node, sizeof(float));
            stack[waiting++] = {node[2], s.level + 1, 2 * s.position};
            stack[waiting++] = {node[3], s.level + 1, 2 * s.position + 1};
        }
    }
}

#if defined(EAP_X86_DISPATCH)
EAP_TARGET_AVX512 void ForestLevels::add_depths_avx512(std::size_t t, const std::int32_t* words,
                                                       const double* leaf_value, const float* Z,
                                                       std::size_t n_features, std::size_t i0,
                                                       std::size_t i1, double* out) const {
    // 8 vectors of 16 rows side by side: a level's gather of the rows' values takes about 20
    // cycles, so one chain alone would leave the units idle (100 forests, 750 rows, d = 36:
    // 2 vectors 40 ms, 4 29 ms, 8 25 ms, 16 25 ms).
    constexpr std::size_t kVectors = 8, kRows = 16 * kVectors;
    const std::int32_t* feature = feature_.get() + top_start_[t];
    const float* below = below_.get() + top_start_[t];
    const std::int32_t* entry = entry_.get() + entry_start_[t];
    const std::int32_t h = height_[t], top = std::min(h, kTopLevels);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
    const __m512i width = _mm512_set1_epi32(static_cast<std::int32_t>(n_features));
    for (std::size_t i = i0; i < i1; i += kRows) {
        const std::size_t g = std::min(kRows, i1 - i), nv = (g + 15) / 16;
        // Each vector's rows from their own base, so the offsets stay below 16 n_features.
        const float* z[kVectors];
        __m512i at[kVectors], row[kVectors];
        __mmask16 live[kVectors];
        for (std::size_t v = 0; v < nv; ++v) {
            const std::size_t rows = std::min<std::size_t>(16, g - 16 * v);
            live[v] = static_cast<__mmask16>(rows == 16 ? 0xFFFFu : (1u << rows) - 1u);
            z[v] = Z + (i + 16 * v) * n_features;
            // A lane past the vector's last row reads its first row; its leaf is dropped.
            row[v] = _mm512_maskz_mullo_epi32(live[v], lane, width);
            at[v] = _mm512_setzero_si512();  // the position in the level
        }
        for (std::int32_t level = 0; level < top; ++level) {
            const std::size_t start = (std::size_t(1) << level) - 1;
            const std::int32_t* f = feature + start;
            const float* b = below + start;
            for (std::size_t v = 0; v < nv; ++v) {
                __m512i split;
                __m512 threshold;
                if (level <= 4) {
                    split = _mm512_permutexvar_epi32(at[v], _mm512_loadu_si512(f));
                    threshold = _mm512_permutexvar_ps(at[v], _mm512_loadu_ps(b));
                } else {
                    split = _mm512_permutex2var_epi32(_mm512_loadu_si512(f), at[v],
                                                      _mm512_loadu_si512(f + 16));
                    threshold = _mm512_permutex2var_ps(_mm512_loadu_ps(b), at[v],
                                                       _mm512_loadu_ps(b + 16));
                }
                const __m512 value = _mm512_i32gather_ps(_mm512_add_epi32(row[v], split), z[v], 4);
                const __mmask16 right = _mm512_cmp_ps_mask(value, threshold, _CMP_NLE_UQ);
                const __m512i twice = _mm512_add_epi32(at[v], at[v]);
                at[v] = _mm512_mask_add_epi32(twice, right, twice, one);
            }
        }
        for (std::size_t v = 0; v < nv; ++v) at[v] = _mm512_i32gather_epi32(at[v], entry, 4);
        for (std::int32_t level = top; level < h; ++level)  // the pointer layout's nodes
            for (std::size_t v = 0; v < nv; ++v) {
                const __m512i base = _mm512_slli_epi32(at[v], 2);
                const __m512i split = _mm512_i32gather_epi32(_mm512_add_epi32(base, one), words, 4);
                const __m512 threshold = _mm512_i32gather_ps(base, words, 4);
                const __m512 value = _mm512_i32gather_ps(_mm512_add_epi32(row[v], split), z[v], 4);
                const __mmask16 right = _mm512_cmp_ps_mask(value, threshold, _CMP_NLE_UQ);
                const __m512i left = _mm512_add_epi32(base, two);
                at[v] = _mm512_i32gather_epi32(_mm512_mask_add_epi32(left, right, left, one), words, 4);
            }
        for (std::size_t v = 0; v < nv; ++v) {
            double* o = out + i + 16 * v;
            const auto low = static_cast<__mmask8>(live[v] & 0xFFu);
            const auto high = static_cast<__mmask8>(live[v] >> 8);
            const __m512d value_low = _mm512_i32gather_pd(_mm512_castsi512_si256(at[v]), leaf_value, 8);
            _mm512_mask_storeu_pd(o, low, _mm512_add_pd(_mm512_maskz_loadu_pd(low, o), value_low));
            if (high) {
                const __m512d value_high =
                    _mm512_i32gather_pd(_mm512_extracti64x4_epi64(at[v], 1), leaf_value, 8);
                _mm512_mask_storeu_pd(o + 8, high,
                                      _mm512_add_pd(_mm512_maskz_loadu_pd(high, o + 8), value_high));
            }
        }
    }
}
#endif

}  // namespace eap

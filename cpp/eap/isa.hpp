// Which instruction set the vector kernels run on: the widest the CPU supports, chosen at run
// time (the package is built without -march=native). Results do not depend on it (simd.hpp),
// except the scoring pass's kernel sums, which the FMA of the AVX2 and AVX-512 variants moves
// within their bounds (pass_kernel.hpp, expanded_distances.hpp); forcing one is for tests and
// benchmarks.
#pragma once

#include <string>
#include <vector>

namespace eap {

enum class Isa { baseline, avx2, avx512 };

Isa active_isa();
bool isa_supported(Isa isa);
// Whether the active instruction set is AVX-512 and the CPU also has the VL, DQ and BW subsets
// that the selection passes and GEMM tiles use (without them those kernels take AVX2's).
bool active_avx512_full();
// Forces isa for the whole process (throws std::invalid_argument if the CPU lacks it);
// force_isa_auto() returns to the widest supported.
void force_isa(Isa isa);
void force_isa_auto();

const char* isa_name(Isa isa);
Isa isa_from_name(const std::string& name);  // throws std::invalid_argument
std::vector<Isa> supported_isas();

// The variant of a kernel for the active instruction set.
template <class F>
F for_isa(F baseline, F avx2, F avx512) {
    switch (active_isa()) {
        case Isa::avx512: return avx512;
        case Isa::avx2: return avx2;
        default: return baseline;
    }
}

}  // namespace eap

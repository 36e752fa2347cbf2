#include "eap/isa.hpp"

#include <atomic>
#include <stdexcept>

#include "eap/simd.hpp"

namespace eap {

namespace {

constexpr Isa kAll[] = {Isa::baseline, Isa::avx2, Isa::avx512};

bool cpu_has(Isa isa) {
#if defined(EAP_X86_DISPATCH)
    __builtin_cpu_init();
    switch (isa) {
        case Isa::avx512: return __builtin_cpu_supports("avx512f");
        case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        default: return true;
    }
#else
    return isa == Isa::baseline;
#endif
}

Isa widest() {
    Isa best = Isa::baseline;
    for (Isa isa : kAll)
        if (cpu_has(isa)) best = isa;
    return best;
}

const Isa kWidest = widest();
std::atomic<Isa> active{kWidest};

}  // namespace

Isa active_isa() { return active.load(std::memory_order_relaxed); }

bool active_avx512_full() {
#if defined(EAP_X86_DISPATCH)
    static const bool subsets = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    }();
    return active_isa() == Isa::avx512 && subsets;
#else
    return false;
#endif
}

bool isa_supported(Isa isa) { return cpu_has(isa); }

void force_isa(Isa isa) {
    if (!cpu_has(isa)) throw std::invalid_argument(std::string("this CPU lacks ") + isa_name(isa));
    active.store(isa, std::memory_order_relaxed);
}

void force_isa_auto() { active.store(kWidest, std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512: return "avx512";
        case Isa::avx2: return "avx2";
        default: return "baseline";
    }
}

Isa isa_from_name(const std::string& name) {
    for (Isa isa : kAll)
        if (name == isa_name(isa)) return isa;
    throw std::invalid_argument("unknown instruction set '" + name +
                                "' (expected baseline, avx2 or avx512)");
}

std::vector<Isa> supported_isas() {
    std::vector<Isa> out;
    for (Isa isa : kAll)
        if (cpu_has(isa)) out.push_back(isa);
    return out;
}

}  // namespace eap

// The one OpenMP loop of the core: thread-count control, per-thread scratch, and exception
// capture. An exception must never leave a parallel region (it would terminate the
// interpreter) and every thread must reach the worksharing loop (or the others wait forever),
// so failures are recorded and rethrown after the region has joined.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace eap {

// n_threads <= 0 means "OpenMP default" (honours OMP_NUM_THREADS).
inline int resolve_threads(int n_threads) {
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

class ExceptionSlot {
public:
    template <class F>
    bool run(F&& body) noexcept {
        try {
            body();
            return true;
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
            failed_.store(true, std::memory_order_relaxed);
            return false;
        }
    }
    bool failed() const { return failed_.load(std::memory_order_relaxed); }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::mutex mutex_;
    std::exception_ptr error_;
    std::atomic<bool> failed_{false};
};

// Runs body(scratch, i) for i in [0, n_items) over n_threads threads, each with its own
// scratch = make_scratch(); then finish(scratch) once per thread, one thread at a time.
// Items are independent, so results do not depend on the thread count.
template <class MakeScratch, class Body, class Finish>
void parallel_for(std::ptrdiff_t n_items, int n_threads, MakeScratch make_scratch, Body body,
                  Finish finish) {
    ExceptionSlot slot;
    std::mutex finish_mutex;
#pragma omp parallel num_threads(resolve_threads(n_threads))
    {
        decltype(make_scratch()) scratch{};
        const bool ready = slot.run([&] { scratch = make_scratch(); });
#pragma omp for schedule(dynamic, 1)
        for (std::ptrdiff_t i = 0; i < n_items; ++i) {
            if (ready && !slot.failed()) slot.run([&] { body(scratch, i); });
        }
        if (ready && !slot.failed()) {
            std::lock_guard<std::mutex> lock(finish_mutex);
            slot.run([&] { finish(scratch); });
        }
    }
    slot.rethrow();
}

template <class MakeScratch, class Body>
void parallel_for(std::ptrdiff_t n_items, int n_threads, MakeScratch make_scratch, Body body) {
    parallel_for(n_items, n_threads, make_scratch, body, [](auto&) {});
}

// Rows [0, n_rows) in items of rows_per_item consecutive rows: body(scratch, i0, i1) per item.
template <class MakeScratch, class Body>
void parallel_for_rows(std::size_t n_rows, std::size_t rows_per_item, int n_threads,
                       MakeScratch make_scratch, Body body) {
    const auto n_items = static_cast<std::ptrdiff_t>((n_rows + rows_per_item - 1) / rows_per_item);
    parallel_for(n_items, n_threads, make_scratch, [&](auto& scratch, std::ptrdiff_t item) {
        const std::size_t i0 = static_cast<std::size_t>(item) * rows_per_item;
        body(scratch, i0, std::min(n_rows, i0 + rows_per_item));
    });
}

}  // namespace eap

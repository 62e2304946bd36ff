// A threaded loop that never lets an exception escape the OpenMP region: every worker catches,
// the first exception is kept, and it is rethrown on the calling thread once all workers stop.
// Work is split into fixed contiguous blocks independent of timing, and each element is computed
// by the same code whichever thread runs it, so results are bit-identical for any n_threads.
// Every block starts with check_interrupt(), so Ctrl-C stops a call within one block's time.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#include "pmfast_core/common/interrupt.hpp"

#ifdef PMFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace pmfast {

inline bool have_openmp() {
#ifdef PMFAST_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

// body(begin, end) is called on disjoint ranges covering [0, n).
template <class Body>
void parallel_for(int64_t n, int n_threads, int64_t grain, Body&& body) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t n_blocks = (n + grain - 1) / grain;
  int threads = static_cast<int>(std::min<int64_t>(std::max(n_threads, 1), n_blocks));
  if (threads <= 1) {
    for (int64_t begin = 0; begin < n; begin += grain) {
      check_interrupt();
      body(begin, std::min(n, begin + grain));
    }
    return;
  }
#ifdef PMFAST_HAVE_OPENMP
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t b = 0; b < n_blocks; ++b) {
    if (failed.load(std::memory_order_relaxed)) continue;
    try {
      check_interrupt();
      const int64_t begin = b * grain;
      body(begin, std::min(n, begin + grain));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  }
  if (first_error) std::rethrow_exception(first_error);
#else
  for (int64_t begin = 0; begin < n; begin += grain) {
    check_interrupt();
    body(begin, std::min(n, begin + grain));
  }
#endif
}

}  // namespace pmfast

// Fixed row blocks for the Book's threaded kernels (segment_sort.cpp, encode_strings.cpp): the
// split depends only on the row count and n_threads, never on timing, and each kernel combines
// the blocks' results in block order, so its output is bit-identical for any n_threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>

#include "pmfast_core/common/parallel.hpp"

namespace pmfast {
namespace rowblocks {

constexpr int64_t kMinRowsPerThread = int64_t{1} << 16;  // below: a thread costs more than it gives

template <class T>
using Buffer = std::unique_ptr<T[]>;  // uninitialised: first touched by the (threaded) pass

template <class T>
Buffer<T> buffer(int64_t n) {
  return Buffer<T>(new T[static_cast<size_t>(std::max<int64_t>(n, 1))]);
}

// Blocks handed out to threads as they free up (several per thread: a thread that another
// process preempts holds up only its current block, not a fixed half of the work). One block
// when a single thread is used, else kBlocksPerThread per thread that gets enough rows.
constexpr int kBlocksPerThread = 4;

inline int block_count(int64_t n, int n_threads) {
  const int64_t threads =
      std::max<int64_t>(1, std::min<int64_t>(std::max(n_threads, 1), n / kMinRowsPerThread));
  return threads == 1 ? 1 : static_cast<int>(threads) * kBlocksPerThread;
}

inline int threads_for(int count) { return count == 1 ? 1 : count / kBlocksPerThread; }

inline int64_t block_begin(int64_t n, int count, int64_t b) { return n * b / count; }

// body(block, lo, hi) for every block of a block_count() split.
template <class Body>
void for_blocks(int64_t n, int count, Body&& body) {
  parallel_for(count, threads_for(count), 1, [&](int64_t b, int64_t) {
    body(static_cast<int>(b), block_begin(n, count, b), block_begin(n, count, b + 1));
  });
}

}  // namespace rowblocks
}  // namespace pmfast

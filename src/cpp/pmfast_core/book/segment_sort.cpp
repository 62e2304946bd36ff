#include "pmfast_core/book/segment_sort.hpp"

#include <algorithm>
#include <climits>
#include <memory>
#include <utility>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/book/encode_threads.hpp"

namespace pmfast {
namespace {

constexpr int kDigitBits = 8;  // 256 buckets: write cursors and their pages stay in L1 and the TLB
constexpr int64_t kBuckets = int64_t{1} << kDigitBits;
using rowblocks::Buffer;
using rowblocks::block_count;
using rowblocks::buffer;
using rowblocks::for_blocks;

// Stable LSD radix argsort of non-negative keys <= max_key: (key, row) pairs move together,
// so every pass streams memory; ties keep input order. On return key[] is sorted and
// order[k] = the row at sorted position k.
// Threads: each block counts its digits, every (digit, block) pair gets its output range from
// the counts (digit-major, block-minor: exactly where a serial stable pass puts those rows),
// then the blocks scatter in parallel. A stable sort's output is unique, so the result is
// bit-identical for any n_threads.
void radix_argsort(uint64_t* key, int64_t n, uint64_t max_key, int64_t* order, int n_threads) {
  const int blocks = block_count(n, n_threads);
  Buffer<uint32_t> row_a = buffer<uint32_t>(n), row_b = buffer<uint32_t>(n);
  Buffer<uint64_t> key_b = buffer<uint64_t>(n);
  uint64_t* kin = key;
  uint64_t* kout = key_b.get();
  uint32_t* rin = row_a.get();
  uint32_t* rout = row_b.get();
  for_blocks(n, blocks, [&](int, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) rin[i] = static_cast<uint32_t>(i);
  });
  int bits = 0;
  while (bits < 64 && (max_key >> bits) != 0) bits += kDigitBits;
  // count[b * kBuckets + d]: rows of block b with digit d, then block b's cursor for digit d
  std::vector<int64_t> count(static_cast<size_t>(blocks * kBuckets));
  const uint64_t mask = static_cast<uint64_t>(kBuckets - 1);
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    std::fill(count.begin(), count.end(), 0);
    for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
      int64_t* c = &count[static_cast<size_t>(b * kBuckets)];
      for (int64_t i = lo; i < hi; ++i) ++c[(kin[i] >> shift) & mask];
    });
    const uint64_t first_digit = n > 0 ? (kin[0] >> shift) & mask : 0;
    int64_t first_total = 0;
    for (int b = 0; b < blocks; ++b) first_total += count[b * kBuckets + first_digit];
    if (first_total == n) continue;  // one digit value: nothing moves
    int64_t sum = 0;
    for (int64_t d = 0; d < kBuckets; ++d) {
      for (int b = 0; b < blocks; ++b) {
        int64_t& c = count[b * kBuckets + d];
        const int64_t here = c;
        c = sum;
        sum += here;
      }
    }
    for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
      int64_t* c = &count[static_cast<size_t>(b * kBuckets)];
      for (int64_t i = lo; i < hi; ++i) {
        const int64_t to = c[(kin[i] >> shift) & mask]++;
        kout[to] = kin[i];
        rout[to] = rin[i];
      }
    });
    std::swap(kin, kout);
    std::swap(rin, rout);
  }
  for_blocks(n, blocks, [&](int, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) order[i] = rin[i];
    if (kin != key) std::copy(kin + lo, kin + hi, key + lo);
  });
}

// (group, key) packed into one radix key when it fits in 64 bits; validates both (the first
// offending row is reported, whatever the number of threads).
template <class Key>
bool pack_keys(const int32_t* group, const Key* key, int64_t n, int64_t n_groups,
               const char* group_name, const char* key_name, Buffer<uint64_t>& packed,
               uint64_t& max_packed, uint64_t& stride, int n_threads) {
  const int blocks = block_count(n, n_threads);
  std::vector<int64_t> block_max(static_cast<size_t>(blocks), 0);
  std::vector<char> block_bad(static_cast<size_t>(blocks), 0);
  for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
    int64_t mx = 0;
    bool bad = false;
    for (int64_t i = lo; i < hi; ++i) {
      bad |= (group[i] < 0) | (group[i] >= n_groups) | (key[i] < 0);
      mx = std::max<int64_t>(mx, key[i]);
    }
    block_max[b] = mx;
    block_bad[b] = bad;
  });
  for (int b = 0; b < blocks; ++b) {
    if (!block_bad[b]) continue;
    const int64_t hi = rowblocks::block_begin(n, blocks, b + 1);
    for (int64_t i = rowblocks::block_begin(n, blocks, b); i < hi; ++i) {
      if (group[i] < 0 || group[i] >= n_groups)
        throw bad_value(group_name, i, group[i], "must be in [0, n_groups)");
      if (key[i] < 0) throw bad_value(key_name, i, static_cast<double>(key[i]), "must be >= 0");
    }
  }
  const int64_t max_key = *std::max_element(block_max.begin(), block_max.end());
  const unsigned __int128 span = static_cast<unsigned __int128>(max_key) + 1;
  const unsigned __int128 top = static_cast<unsigned __int128>(std::max<int64_t>(n_groups, 1)) *
                                span;
  if (top >> 63 || n >= (int64_t{1} << 32)) return false;
  packed = buffer<uint64_t>(n);
  stride = static_cast<uint64_t>(span);
  uint64_t* p = packed.get();
  const uint64_t st = stride;
  for_blocks(n, blocks, [&](int, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      p[i] = static_cast<uint64_t>(group[i]) * st + static_cast<uint64_t>(key[i]);
  });
  max_packed = static_cast<uint64_t>(top - 1);
  return true;
}

// Fallback for keys too wide to pack: counting sort by group, then each group by (key, row).
template <class Key>
void grouped_sort(const int32_t* group, const Key* key, int64_t n, int64_t n_groups,
                  int64_t* order) {
  std::vector<int64_t> start(static_cast<size_t>(n_groups) + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[static_cast<size_t>(group[i]) + 1];
  for (int64_t g = 0; g < n_groups; ++g) start[g + 1] += start[g];
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) order[fill[group[i]]++] = i;
  std::vector<std::pair<int64_t, int64_t>> buf;
  for (int64_t g = 0; g < n_groups; ++g) {
    buf.clear();
    for (int64_t k = start[g]; k < start[g + 1]; ++k)
      buf.emplace_back(static_cast<int64_t>(key[order[k]]), order[k]);
    std::sort(buf.begin(), buf.end());
    for (int64_t k = start[g]; k < start[g + 1]; ++k) order[k] = buf[k - start[g]].second;
  }
}

// Positions in sorted order where a new run of equal values starts, counted per block; the
// returned vector holds each block's first run index (its exclusive prefix), back() the total.
template <class Same>
std::vector<int64_t> run_starts(int64_t n, int blocks, Same&& same_as_previous) {
  std::vector<int64_t> first(static_cast<size_t>(blocks) + 1, 0);
  for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
    int64_t c = 0;
    for (int64_t k = lo; k < hi; ++k) c += !(k > 0 && same_as_previous(k));
    first[b + 1] = c;
  });
  for (int b = 0; b < blocks; ++b) first[b + 1] += first[b];
  return first;
}

}  // namespace

int64_t encode_sorted(const uint64_t* key, int64_t n, int32_t* code, int64_t* first_row,
                      int n_threads) {
  if (n >= (int64_t{1} << 32)) throw InputError("encode_sorted: more than 2^32 rows");
  const int blocks = block_count(n, n_threads);
  Buffer<uint64_t> sorted = buffer<uint64_t>(n);
  for_blocks(n, blocks, [&](int, int64_t lo, int64_t hi) {
    std::copy(key + lo, key + hi, sorted.get() + lo);
  });
  Buffer<int64_t> order = buffer<int64_t>(n);
  radix_argsort(sorted.get(), n, ~uint64_t{0}, order.get(), n_threads);
  const uint64_t* s = sorted.get();
  const int64_t* o = order.get();
  auto same = [&](int64_t k) { return s[k] == s[k - 1]; };
  const std::vector<int64_t> first = run_starts(n, blocks, same);
  if (first.back() - 1 > INT32_MAX) throw InputError("encode_sorted: more than 2^31 distinct keys");
  for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
    int64_t u = first[b] - 1;
    for (int64_t k = lo; k < hi; ++k) {
      if (!(k > 0 && same(k))) first_row[++u] = o[k];  // stable: the earliest row of its run
      code[o[k]] = static_cast<int32_t>(u);
    }
  });
  return first.back();
}

void segment_sort(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
                  int64_t* order, int n_threads) {
  if (n_groups < 0) throw InputError("n_groups must be >= 0");
  Buffer<uint64_t> packed;
  uint64_t max_packed = 0, stride = 0;
  if (pack_keys(group, key, n, n_groups, "group", "key", packed, max_packed, stride,
                n_threads)) {
    radix_argsort(packed.get(), n, max_packed, order, n_threads);
  } else {
    grouped_sort(group, key, n, n_groups, order);
  }
}

int64_t net_positions(const int32_t* account, const int32_t* instrument, const double* quantity,
                      int64_t n, int64_t n_accounts, int32_t* out_account,
                      int32_t* out_instrument, double* out_quantity, int n_threads) {
  if (n_accounts < 0) throw InputError("n_accounts must be >= 0");
  Buffer<int64_t> order = buffer<int64_t>(n);
  Buffer<uint64_t> packed;
  uint64_t max_packed = 0, stride = 0;
  const bool fast = pack_keys(account, instrument, n, n_accounts, "account", "instrument", packed,
                              max_packed, stride, n_threads);
  if (fast) {
    radix_argsort(packed.get(), n, max_packed, order.get(), n_threads);  // packed sorted too
  } else {  // (account, instrument) too wide for 64 bits, or 2^32 rows or more
    grouped_sort(account, instrument, n, n_accounts, order.get());
  }
  const int64_t* o = order.get();
  const uint64_t* p = packed.get();
  // the sorted packed keys give account and instrument without gathering them by row
  auto account_at = [&](int64_t k) {
    return fast ? static_cast<int32_t>(p[k] / stride) : account[o[k]];
  };
  auto instrument_at = [&](int64_t k) {
    return fast ? static_cast<int32_t>(p[k] % stride) : instrument[o[k]];
  };
  auto same = [&](int64_t k) {
    return fast ? p[k] == p[k - 1]
                : account[o[k]] == account[o[k - 1]] && instrument[o[k]] == instrument[o[k - 1]];
  };
  const int blocks = block_count(n, n_threads);
  // Quantities in sorted order first: a loop of independent loads keeps many cache misses in
  // flight, where the netting loop below (a branch and a running sum per row) stalled on each
  // random read (85% of this function's time on a million positions).
  Buffer<double> sorted_qty = buffer<double>(n);
  double* sq = sorted_qty.get();
  for_blocks(n, blocks, [&](int, int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) sq[k] = quantity[o[k]];
  });
  const std::vector<int64_t> first = run_starts(n, blocks, same);
  // each block nets the runs that start in it, reading past its end to finish its last run:
  // every sum is taken in input order by one thread, so any n_threads gives the same bits
  for_blocks(n, blocks, [&](int b, int64_t lo, int64_t hi) {
    int64_t m = first[b] - 1;
    int64_t k = lo;
    while (k < hi && k > 0 && same(k)) ++k;  // the run started in an earlier block
    if (k >= hi) return;
    for (; k < n; ++k) {
      if (k > 0 && same(k)) {
        out_quantity[m] += sq[k];  // duplicates summed in input order
      } else {
        if (k >= hi) break;
        ++m;
        out_account[m] = account_at(k);
        out_instrument[m] = instrument_at(k);
        out_quantity[m] = sq[k];
      }
    }
  });
  return first.back();
}

}  // namespace pmfast

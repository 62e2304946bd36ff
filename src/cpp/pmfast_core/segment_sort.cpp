#include "pmfast_core/segment_sort.hpp"

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "pmfast_core/errors.hpp"

namespace pmfast {
namespace {

constexpr int kDigitBits = 8;  // 256 buckets: write cursors and their pages stay in L1 and the TLB

// Stable LSD radix argsort of non-negative keys <= max_key: (key, row) pairs move together,
// so every pass streams memory; ties keep input order. order[k] = row at sorted position k.
void radix_argsort(std::vector<uint64_t>& key, uint64_t max_key, int64_t* order) {
  const int64_t n = static_cast<int64_t>(key.size());
  std::vector<uint32_t> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) row[i] = static_cast<uint32_t>(i);
  std::vector<uint64_t> key2(static_cast<size_t>(n));
  std::vector<uint32_t> row2(static_cast<size_t>(n));
  int bits = 0;
  while (bits < 64 && (max_key >> bits) != 0) bits += kDigitBits;
  std::vector<int64_t> count(size_t{1} << kDigitBits);
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    const uint64_t mask = (uint64_t{1} << kDigitBits) - 1;
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i) ++count[(key[i] >> shift) & mask];
    if (n > 0 && count[(key[0] >> shift) & mask] == n) continue;  // one digit value: no move
    int64_t sum = 0;
    for (auto& c : count) {
      const int64_t here = c;
      c = sum;
      sum += here;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t to = count[(key[i] >> shift) & mask]++;
      key2[to] = key[i];
      row2[to] = row[i];
    }
    key.swap(key2);
    row.swap(row2);
  }
  for (int64_t i = 0; i < n; ++i) order[i] = row[i];
}

// (group, key) packed into one radix key when it fits in 64 bits; validates both.
bool pack_keys(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
               std::vector<uint64_t>& packed, uint64_t& max_packed, uint64_t& stride) {
  int64_t max_key = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t g = group[i];
    if (g < 0 || g >= n_groups) throw bad_value("group", i, g, "must be in [0, n_groups)");
    if (key[i] < 0) throw bad_value("key", i, static_cast<double>(key[i]), "must be >= 0");
    max_key = std::max(max_key, key[i]);
  }
  const unsigned __int128 span = static_cast<unsigned __int128>(max_key) + 1;
  const unsigned __int128 top = static_cast<unsigned __int128>(std::max<int64_t>(n_groups, 1)) *
                                span;
  if (top >> 63 || n >= (int64_t{1} << 32)) return false;
  packed.resize(static_cast<size_t>(n));
  stride = static_cast<uint64_t>(span);
  for (int64_t i = 0; i < n; ++i)
    packed[i] = static_cast<uint64_t>(group[i]) * stride + static_cast<uint64_t>(key[i]);
  max_packed = static_cast<uint64_t>(top - 1);
  return true;
}

// Fallback for keys too wide to pack: counting sort by group, then each group by (key, row).
void grouped_sort(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
                  int64_t* order) {
  std::vector<int64_t> start(static_cast<size_t>(n_groups) + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[static_cast<size_t>(group[i]) + 1];
  for (int64_t g = 0; g < n_groups; ++g) start[g + 1] += start[g];
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) order[fill[group[i]]++] = i;
  std::vector<std::pair<int64_t, int64_t>> buf;
  for (int64_t g = 0; g < n_groups; ++g) {
    buf.clear();
    for (int64_t k = start[g]; k < start[g + 1]; ++k) buf.emplace_back(key[order[k]], order[k]);
    std::sort(buf.begin(), buf.end());
    for (int64_t k = start[g]; k < start[g + 1]; ++k) order[k] = buf[k - start[g]].second;
  }
}

}  // namespace

int64_t encode_sorted(const uint64_t* key, int64_t n, int32_t* code, int64_t* first_row) {
  if (n >= (int64_t{1} << 32)) throw InputError("encode_sorted: more than 2^32 rows");
  std::vector<uint64_t> sorted(key, key + n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  radix_argsort(sorted, ~uint64_t{0}, order.data());
  int64_t u = -1;
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || sorted[k] != sorted[k - 1]) {
      ++u;
      if (u > INT32_MAX) throw InputError("encode_sorted: more than 2^31 distinct keys");
      first_row[u] = order[k];  // stable: the earliest row of its run
    }
    code[order[k]] = static_cast<int32_t>(u);
  }
  return u + 1;
}

void segment_sort(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
                  int64_t* order, int /*n_threads*/) {
  if (n_groups < 0) throw InputError("n_groups must be >= 0");
  std::vector<uint64_t> packed;
  uint64_t max_packed = 0, stride = 0;
  if (pack_keys(group, key, n, n_groups, packed, max_packed, stride)) {
    radix_argsort(packed, max_packed, order);
  } else {
    grouped_sort(group, key, n, n_groups, order);
  }
}

int64_t net_positions(const int32_t* account, const int32_t* instrument, const double* quantity,
                      int64_t n, int64_t n_accounts, int32_t* out_account,
                      int32_t* out_instrument, double* out_quantity, int /*n_threads*/) {
  if (n_accounts < 0) throw InputError("n_accounts must be >= 0");
  std::vector<int64_t> key(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (instrument[i] < 0) throw bad_value("instrument", i, instrument[i], "must be >= 0");
    key[i] = instrument[i];
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<uint64_t> packed;
  uint64_t max_packed = 0, stride = 0;
  const bool fast = pack_keys(account, key.data(), n, n_accounts, packed, max_packed, stride);
  if (fast) {
    std::vector<int64_t>().swap(key);
    radix_argsort(packed, max_packed, order.data());  // `packed` is now sorted too
  } else {  // more than 2^32 rows
    grouped_sort(account, key.data(), n, n_accounts, order.data());
  }
  // the sorted packed keys give account and instrument without gathering them by row
  auto account_at = [&](int64_t k) {
    return fast ? static_cast<int32_t>(packed[k] / stride) : account[order[k]];
  };
  auto instrument_at = [&](int64_t k) {
    return fast ? static_cast<int32_t>(packed[k] % stride) : instrument[order[k]];
  };
  int64_t m = -1;
  for (int64_t k = 0; k < n; ++k) {
    const int32_t a = account_at(k), i = instrument_at(k);
    const double q = quantity[order[k]];
    if (m >= 0 && out_account[m] == a && out_instrument[m] == i) {
      out_quantity[m] += q;  // duplicates summed in input order
    } else {
      ++m;
      out_account[m] = a;
      out_instrument[m] = i;
      out_quantity[m] = q;
    }
  }
  return m + 1;
}

}  // namespace pmfast

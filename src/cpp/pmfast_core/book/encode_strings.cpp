#include "pmfast_core/book/encode_strings.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>
#include <string>
#include <string_view>

#include "pmfast_core/book/encode_threads.hpp"
#include "pmfast_core/common/errors.hpp"

namespace pmfast {
namespace {

using rowblocks::Buffer;
using rowblocks::block_count;
using rowblocks::buffer;
using rowblocks::for_blocks;

constexpr int kPartitionBits = 8;  // 256 hash partitions: each one's table is built by one thread
constexpr int64_t kPartitions = int64_t{1} << kPartitionBits;

inline uint64_t fmix64(uint64_t h) {  // MurmurHash3's finaliser: every input bit moves every output bit
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t hash_bytes(const uint8_t* p, int64_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(n);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ fmix64(w)) * 0x100000001b3ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, static_cast<size_t>(n));
  return fmix64(h ^ fmix64(tail ^ (static_cast<uint64_t>(n) << 56)));
}

struct Bytes {
  const uint8_t* p;
  int64_t n;
  std::string_view view() const { return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)}; }
};

inline bool operator==(const Bytes& a, const Bytes& b) {
  return a.n == b.n && (a.n == 0 || std::memcmp(a.p, b.p, static_cast<size_t>(a.n)) == 0);
}

int chunk_of(const StringChunks& c, int64_t row) {
  return static_cast<int>(std::upper_bound(c.start.begin(), c.start.end(), row) - c.start.begin()) -
         1;
}

// Row -> bytes in O(1) when every chunk but the last has the same length (Parquet row groups
// and record batches usually do), by binary search over the chunk starts otherwise.
class RowLocator {
 public:
  explicit RowLocator(const StringChunks& c) : c_(c) {
    const size_t k = c.offsets.size();
    chunk_len_ = k > 0 ? c.start[1] - c.start[0] : 0;
    for (size_t j = 0; j + 1 < k && chunk_len_ > 0; ++j)
      if (c.start[j + 1] - c.start[j] != chunk_len_) chunk_len_ = 0;
  }
  Bytes bytes(int64_t row) const {
    int k;
    if (chunk_len_ > 0) {
      k = static_cast<int>(std::min<int64_t>(row / chunk_len_,
                                             static_cast<int64_t>(c_.offsets.size()) - 1));
    } else {
      k = chunk_of(c_, row);
    }
    const int64_t j = row - c_.start[k];
    const int32_t* off = c_.offsets[k];
    return {c_.data[k] + off[j], off[j + 1] - off[j]};
  }

 private:
  const StringChunks& c_;
  int64_t chunk_len_ = 0;
};

// f(row, bytes, valid) for rows [lo, hi) in order, walking the chunks.
template <class F>
void for_rows(const StringChunks& c, int64_t lo, int64_t hi, F&& f) {
  if (lo >= hi) return;
  for (int k = chunk_of(c, lo); lo < hi; ++k) {
    const int64_t end = std::min(hi, c.start[k + 1]);
    const int32_t* off = c.offsets[k];
    const uint8_t* data = c.data[k];
    const uint8_t* valid = c.validity[k];
    for (; lo < end; ++lo) {
      const int64_t j = lo - c.start[k];
      const int64_t bit = c.validity_bit[k] + j;
      const bool ok = valid == nullptr || ((valid[bit >> 3] >> (bit & 7)) & 1);
      f(lo, Bytes{data + off[j], off[j + 1] - off[j]}, ok);
    }
  }
}

void check_shape(const StringChunks& c) {
  const size_t k = c.offsets.size();
  if (c.data.size() != k || c.validity.size() != k || c.validity_bit.size() != k ||
      c.start.size() != k + 1)
    throw InputError("string column: inconsistent chunk arrays");
}

// Zeroed slots; tables of 2 MB or more sit on transparent huge pages: probes are random, and
// on a virtual machine a TLB miss (a two-level page walk) costs more than the cache miss.
class HugeSlots {
 public:
  HugeSlots() = default;
  explicit HugeSlots(int64_t n) : n_(n) {
    constexpr size_t kHuge = size_t{1} << 21;
    const size_t bytes = static_cast<size_t>(n) * sizeof(uint64_t);
    if (bytes >= kHuge) {
      const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
      p_.reset(static_cast<uint64_t*>(std::aligned_alloc(kHuge, rounded)));
      if (p_) madvise(p_.get(), rounded, MADV_HUGEPAGE);
    }
    if (!p_) p_.reset(static_cast<uint64_t*>(std::malloc(std::max<size_t>(bytes, 8))));
    if (!p_) throw std::bad_alloc();
    std::memset(p_.get(), 0, bytes);
  }
  uint64_t& operator[](uint64_t i) { return p_.get()[i]; }
  int64_t size() const { return n_; }

 private:
  struct Free {
    void operator()(uint64_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint64_t, Free> p_;
  int64_t n_ = 0;
};

// Open addressing over ids >= 0: a slot holds the id's hash tag (high 32 bits) and id + 1
// (0: empty), so most probes settle without touching the id's bytes. Kept at most half full:
// it doubles, rehashing by hash only (hash_of(id)).
class IdTable {
 public:
  explicit IdTable(int64_t expected) { resize(expected); }

  // The id holding `b` (hash h); when absent, `fresh` is inserted (unless negative) and returned.
  template <class HashOf, class BytesOf>
  int32_t find_or_insert(uint64_t h, const Bytes& b, int32_t fresh, HashOf&& hash_of,
                         BytesOf&& bytes_of) {
    const uint64_t tag = h & ~uint64_t{0xffffffff};
    for (uint64_t s = h & mask_;; s = (s + 1) & mask_) {
      const uint64_t v = slot_[s];
      if (v == 0) {
        if (fresh < 0) return fresh;
        slot_[s] = tag | (static_cast<uint64_t>(fresh) + 1);
        if (++size_ * 2 > slot_.size()) grow(hash_of);
        return fresh;
      }
      if ((v & ~uint64_t{0xffffffff}) == tag) {
        const int32_t id = static_cast<int32_t>((v & 0xffffffff) - 1);
        if (bytes_of(id) == b) return id;
      }
    }
  }

 private:
  void resize(int64_t expected) {
    int64_t cap = 16;
    while (cap < 2 * expected) cap <<= 1;
    slot_ = HugeSlots(cap);
    mask_ = static_cast<uint64_t>(cap - 1);
  }
  template <class HashOf>
  void grow(HashOf&& hash_of) {
    HugeSlots old = std::move(slot_);
    resize(2 * size_);
    for (int64_t k = 0; k < old.size(); ++k) {
      const uint64_t v = old[k];
      if (v == 0) continue;
      uint64_t s = hash_of(static_cast<int32_t>((v & 0xffffffff) - 1)) & mask_;
      while (slot_[s] != 0) s = (s + 1) & mask_;
      slot_[s] = v;
    }
  }
  HugeSlots slot_;
  uint64_t mask_ = 0;
  int64_t size_ = 0;
};

// The first 8 bytes as a big-endian integer, zero padded: comparing it orders strings as their
// bytes do (a string that runs out compares as zeros, and a prefix sorts first), so only ties
// need the full comparison.
uint64_t prefix_key(const Bytes& b) {
  uint8_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(buf, b.p, static_cast<size_t>(std::min<int64_t>(b.n, 8)));
  uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k = (k << 8) | buf[i];
  return k;
}

}  // namespace

int64_t encode_strings(const StringChunks& col, const char* what, int32_t* code,
                       int64_t* first_row, int n_threads) {
  check_shape(col);
  const int64_t n = col.rows();
  if (n > INT32_MAX) throw InputError(std::string(what) + ": more than 2^31 rows");
  const int nb = block_count(n, n_threads);
  const RowLocator locate(col);
  Buffer<uint64_t> hash = buffer<uint64_t>(n);
  uint64_t* h = hash.get();
  // 1. hash every row; nulls are reported by their first row, whatever the thread count
  std::vector<int64_t> first_null(static_cast<size_t>(nb), -1);
  std::vector<int64_t> counts(static_cast<size_t>(nb * kPartitions), 0);
  for_blocks(n, nb, [&](int b, int64_t lo, int64_t hi) {
    int64_t* cnt = &counts[static_cast<size_t>(b * kPartitions)];
    for_rows(col, lo, hi, [&](int64_t i, const Bytes& s, bool ok) {
      if (!ok && first_null[b] < 0) first_null[b] = i;
      h[i] = hash_bytes(s.p, s.n);
      ++cnt[h[i] >> (64 - kPartitionBits)];
    });
  });
  for (int b = 0; b < nb; ++b)
    if (first_null[b] >= 0)
      throw InputError(std::string(what) + ": missing (null) value at row " +
                       std::to_string(first_null[b]));
  // 2. rows grouped by hash partition, in row order inside each (partition-major, block-minor)
  std::vector<int64_t> part_start(static_cast<size_t>(kPartitions) + 1, 0);
  int64_t sum = 0;
  for (int64_t p = 0; p < kPartitions; ++p) {
    part_start[p] = sum;
    for (int b = 0; b < nb; ++b) {
      int64_t& c = counts[b * kPartitions + p];
      const int64_t here = c;
      c = sum;
      sum += here;
    }
  }
  part_start[kPartitions] = n;
  Buffer<uint32_t> perm = buffer<uint32_t>(n);
  for_blocks(n, nb, [&](int b, int64_t lo, int64_t hi) {
    int64_t* cnt = &counts[static_cast<size_t>(b * kPartitions)];
    for (int64_t i = lo; i < hi; ++i)
      perm[cnt[h[i] >> (64 - kPartitionBits)]++] = static_cast<uint32_t>(i);
  });
  // 3. per partition, one hash table: distinct values numbered by first appearance; code[i]
  // holds the row's number inside its partition for now
  std::vector<std::vector<int64_t>> part_first(static_cast<size_t>(kPartitions));
  parallel_for(kPartitions, n_threads, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t lo = part_start[p], hi = part_start[p + 1];
      std::vector<int64_t>& firsts = part_first[p];
      // the distinct values' hashes and bytes, copied into this partition's own small pool:
      // comparisons then stay in cache instead of reaching back into the whole column
      std::vector<uint64_t> hashes;
      std::vector<uint8_t> pool;
      std::vector<int64_t> pool_end{0};
      IdTable table(std::min<int64_t>(hi - lo, 4096));
      auto hash_of = [&](int32_t id) { return hashes[id]; };
      auto bytes_of = [&](int32_t id) {
        return Bytes{pool.data() + pool_end[id], pool_end[id + 1] - pool_end[id]};
      };
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t i = perm[k];
        const Bytes b = locate.bytes(i);
        const int32_t fresh = static_cast<int32_t>(firsts.size());
        const int32_t id = table.find_or_insert(h[i], b, fresh, hash_of, bytes_of);
        if (id == fresh) {
          firsts.push_back(i);
          hashes.push_back(h[i]);
          pool.insert(pool.end(), b.p, b.p + b.n);
          pool_end.push_back(static_cast<int64_t>(pool.size()));
        }
        code[i] = id;
      }
    }
  });
  // 4. every distinct value gets a global number (partition order), then its rank in byte order
  std::vector<int64_t> base(static_cast<size_t>(kPartitions) + 1, 0);
  for (int64_t p = 0; p < kPartitions; ++p)
    base[p + 1] = base[p] + static_cast<int64_t>(part_first[p].size());
  const int64_t u = base[kPartitions];
  struct Entry {
    uint64_t prefix;
    int64_t row;
    int64_t global;
  };
  std::vector<Entry> entry(static_cast<size_t>(u));
  parallel_for(kPartitions, n_threads, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      for (size_t l = 0; l < part_first[p].size(); ++l) {
        const int64_t row = part_first[p][l];
        entry[base[p] + l] = {prefix_key(locate.bytes(row)), row,
                              base[p] + static_cast<int64_t>(l)};
      }
      std::vector<int64_t>().swap(part_first[p]);
    }
  });
  auto less = [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return locate.bytes(a.row).view() < locate.bytes(b.row).view();
  };
  // distinct values have one order: sorting blocks on threads and merging gives the same one
  const int sb = block_count(u, n_threads);
  for_blocks(u, sb, [&](int, int64_t lo, int64_t hi) {
    std::sort(entry.begin() + lo, entry.begin() + hi, less);
  });
  for (int width = 1; width < sb; width *= 2) {
    for (int b = 0; b + width < sb; b += 2 * width) {
      const int64_t lo = rowblocks::block_begin(u, sb, b);
      const int64_t mid = rowblocks::block_begin(u, sb, b + width);
      const int64_t hi = rowblocks::block_begin(u, sb, std::min(b + 2 * width, sb));
      std::inplace_merge(entry.begin() + lo, entry.begin() + mid, entry.begin() + hi, less);
    }
  }
  std::vector<int32_t> rank(static_cast<size_t>(u));
  for_blocks(u, sb, [&](int, int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      rank[entry[k].global] = static_cast<int32_t>(k);
      first_row[k] = entry[k].row;
    }
  });
  // 5. each row's code: the rank of its (partition, number)
  for_blocks(n, nb, [&](int, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      code[i] = rank[base[h[i] >> (64 - kPartitionBits)] + code[i]];
  });
  return u;
}

}  // namespace pmfast

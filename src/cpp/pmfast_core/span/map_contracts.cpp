#include "pmfast_core/span/map_contracts.hpp"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "pmfast_core/common/parallel.hpp"

namespace pmfast {
namespace {

// Row i of a chunked string column as a view; false when null. `chunk` is a cursor that only
// moves forward (rows are visited in increasing order within a block).
bool field(const StringChunks& col, int64_t i, size_t& chunk, std::string_view& out) {
  while (col.start[chunk + 1] <= i) ++chunk;
  const int64_t j = i - col.start[chunk];
  const uint8_t* valid = col.validity[chunk];
  if (valid != nullptr) {
    const int64_t bit = col.validity_bit[chunk] + j;
    if (!((valid[bit >> 3] >> (bit & 7)) & 1)) return false;
  }
  const int32_t* off = col.offsets[chunk];
  const char* data = reinterpret_cast<const char*>(col.data[chunk]);
  out = std::string_view(data == nullptr ? "" : data + off[j],
                         static_cast<size_t>(off[j + 1] - off[j]));
  return true;
}

// A row's key: fields written length-prefixed (no separator ambiguity) into a reused buffer;
// plain memcpy into a buffer grown only when a longer key comes (std::string appends cost more
// than the hashing here).
struct Key {
  std::vector<char> buf = std::vector<char>(256);
  size_t n = 0;
  void put(const char* s, size_t len) {
    if (n + len + 4 > buf.size()) buf.resize(2 * (n + len + 4));
    const uint32_t l = static_cast<uint32_t>(len);
    std::memcpy(buf.data() + n, &l, 4);
    std::memcpy(buf.data() + n + 4, s, len);
    n += len + 4;
  }
  void put(std::string_view s) { put(s.data(), s.size()); }
  std::string_view view() const { return std::string_view(buf.data(), n); }
};

// A word-at-a-time hash of a short key (a few dozen bytes): multiply-xor per 8 bytes, several
// times cheaper than a byte-wise hash; the table holds a few thousand keys, so this mixing is
// plenty, and equal keys are confirmed byte for byte anyway.
uint64_t key_hash(std::string_view k) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ k.size();
  size_t i = 0;
  for (; i + 8 <= k.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, k.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (i < k.size()) {
    uint64_t w = 0;
    std::memcpy(&w, k.data() + i, k.size() - i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  return h;
}

struct Cursor {
  size_t ex = 0, pr = 0, ki = 0, pe = 0, ri = 0;
};

// The key of row i, or false when a field it needs is null or the strike is not finite.
bool make_key(const SpanNames& t, bool use_exchange, int64_t i, Cursor& c, Key& key) {
  key.n = 0;
  std::string_view s;
  if (use_exchange) {
    if (!field(t.exchange, i, c.ex, s)) return false;
    key.put(s);
  }
  if (!field(t.product, i, c.pr, s)) return false;
  key.put(s);
  std::string_view kind;
  if (!field(t.kind, i, c.ki, kind)) return false;
  key.put(kind);
  if (!field(t.period, i, c.pe, s)) return false;
  key.put(s);
  if (kind == "option") {
    if (!field(t.right, i, c.ri, s) || s.size() != 1) return false;
    char r = s[0];
    if (r >= 'a' && r <= 'z') r = static_cast<char>(r - 'a' + 'A');
    double k = t.strike[i];
    if (!(k - k == 0.0)) return false;  // NaN or infinite
    if (k == 0.0) k = 0.0;              // -0.0 equals 0.0
    char tail[1 + sizeof k];
    tail[0] = r;
    std::memcpy(tail + 1, &k, sizeof k);
    key.put(tail, sizeof tail);
  }
  return true;
}

}  // namespace

void span_map_contracts(const SpanNames& file, int64_t n_file, const SpanNames& pos,
                        int64_t n_pos, int32_t* contract, int n_threads) {
  const bool use_exchange = pos.has_exchange;
  // open addressing, load <= 1/2; keys in one arena
  size_t cap = 16;
  while (cap < 2 * static_cast<size_t>(n_file) + 2) cap <<= 1;
  std::vector<int32_t> slot(cap, -1);
  std::vector<uint64_t> slot_hash(cap, 0);
  std::string arena;
  std::vector<size_t> key_start(static_cast<size_t>(n_file) + 1, 0);
  std::vector<bool> has_key(static_cast<size_t>(n_file), false);
  {
    Cursor c;
    Key key;
    for (int64_t r = 0; r < n_file; ++r) {
      key_start[r] = arena.size();
      if (make_key(file, use_exchange, r, c, key)) {
        has_key[r] = true;
        arena.append(key.buf.data(), key.n);
      }
    }
    key_start[n_file] = arena.size();
    for (int64_t r = 0; r < n_file; ++r) {
      if (!has_key[r]) continue;
      const std::string_view k(arena.data() + key_start[r], key_start[r + 1] - key_start[r]);
      const uint64_t h = key_hash(k);
      size_t at = h & (cap - 1);
      while (slot[at] >= 0) {
        const int32_t o = slot[at];
        if (slot_hash[at] == h &&
            std::string_view(arena.data() + key_start[o], key_start[o + 1] - key_start[o]) == k)
          break;  // the same name again: the last row wins
        at = (at + 1) & (cap - 1);
      }
      slot[at] = static_cast<int32_t>(r);
      slot_hash[at] = h;
    }
  }
  parallel_for(n_pos, n_threads, 1 << 16, [&](int64_t begin, int64_t end) {
    Cursor c;
    Key key;
    for (int64_t i = begin; i < end; ++i) {
      contract[i] = -1;
      if (!make_key(pos, use_exchange, i, c, key)) continue;
      const std::string_view k = key.view();
      const uint64_t h = key_hash(k);
      size_t at = h & (cap - 1);
      while (slot[at] >= 0) {
        const int32_t o = slot[at];
        if (slot_hash[at] == h &&
            std::string_view(arena.data() + key_start[o], key_start[o + 1] - key_start[o]) ==
                k) {
          contract[i] = o;
          break;
        }
        at = (at + 1) & (cap - 1);
      }
    }
  });
}

}  // namespace pmfast

// Sorting rows that belong to dense integer groups (accounts) by (group, key): (group, key) is
// packed into one 64-bit key and sorted by a stable LSD radix sort with 8-bit digits (one
// streaming pass per non-constant byte, where numpy's argsort of the same keys misses the caches
// on every comparison). Keys too wide to pack fall back to a counting sort by group and a
// std::sort of each group. Threaded: each radix pass splits the rows into fixed blocks (counts
// per block, then every block scatters into its own output ranges), so the result is
// bit-identical for any n_threads.
#pragma once
#include <cstdint>

namespace pmfast {

// order[k] = the row at sorted position k, rows sorted by (group, key, row): ties keep input
// order, so the result equals a stable argsort of (group, key). group codes in [0, n_groups),
// keys >= 0.
void segment_sort(const int32_t* group, const int64_t* key, int64_t n, int64_t n_groups,
                  int64_t* order, int n_threads);

// Dense codes of 64-bit keys in sorted key order: code[i] = rank of key[i] among the distinct
// keys, first_row[u] = the first row holding the u-th smallest key. Returns the number of
// distinct keys (first_row must have room for n). Radix passes over constant digits are skipped.
int64_t encode_sorted(const uint64_t* key, int64_t n, int32_t* code, int64_t* first_row,
                      int n_threads);

// Net positions: rows with the same (account, instrument) summed in input order, output
// sorted by (account, instrument). Writes at most n rows to the out_* arrays and returns the
// number written.
int64_t net_positions(const int32_t* account, const int32_t* instrument, const double* quantity,
                      int64_t n, int64_t n_accounts, int32_t* out_account,
                      int32_t* out_instrument, double* out_quantity, int n_threads);

}  // namespace pmfast

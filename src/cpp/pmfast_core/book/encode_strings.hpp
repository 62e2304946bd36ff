// String keys (Arrow string columns: int32 offsets + UTF-8 data, in chunks) to int32 codes,
// threaded and for ids of any length: the distinct values of a column sorted by bytes (UTF-8
// byte order is code point order) and each row's index among them - what the Book needs of ten
// million account ids that are not all of one byte length (equal-length ids take the radix
// path of segment_sort.hpp). Rows are hashed in fixed blocks, grouped into 256 hash partitions
// (row order kept inside each), each partition numbered by one thread, then the distinct
// values sorted; the result is bit-identical for any n_threads.
#pragma once
#include <cstdint>
#include <vector>

namespace pmfast {

// A chunked Arrow string column: chunk c holds rows [start[c], start[c + 1]); its row j spans
// data[c][offsets[c][j] .. offsets[c][j + 1]). validity[c] is the chunk's validity bitmap (or
// nullptr when it has no nulls), whose bit validity_bit[c] + j is row j's.
struct StringChunks {
  std::vector<const int32_t*> offsets;
  std::vector<const uint8_t*> data;
  std::vector<const uint8_t*> validity;
  std::vector<int64_t> validity_bit;
  std::vector<int64_t> start;  // size chunks + 1
  int64_t rows() const { return start.empty() ? 0 : start.back(); }
};

// code[i] = rank of row i's value among the distinct values in byte order; first_row[u] = the
// first row holding the u-th smallest value (room for rows()). Returns the number of distinct
// values. A null row throws InputError naming `what` and the first null row.
int64_t encode_strings(const StringChunks& column, const char* what, int32_t* code,
                       int64_t* first_row, int n_threads);

}  // namespace pmfast

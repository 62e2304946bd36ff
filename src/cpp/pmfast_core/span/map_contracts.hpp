// Positions naming contracts the way a SPAN file does (plain Arrow string columns: exchange,
// product, kind, period, right, and a float strike) to the file's contract rows in one pass:
// each row's fields are written into one length-prefixed key and looked up in a hash table of
// the file's contracts. One hash per row instead of one dictionary encoding per column plus
// integer combining (the cost that dominated span_margin end to end).
#pragma once
#include <cstdint>
#include "pmfast_core/book/encode_strings.hpp"

namespace pmfast {

// The naming columns of a table of n rows. `exchange` is used only when has_exchange; `right`
// and `strike` only on rows whose kind is "option" (a future's right and strike are ignored).
struct SpanNames {
  bool has_exchange = false;
  StringChunks exchange, product, kind, period, right;
  const double* strike = nullptr;
};

// contract[i] = the row of `file` (the file's contracts, n_file rows) that position row i names,
// or -1 when none does (a null field, an unknown name, a non-finite strike). Rights are compared
// upper-cased (ASCII), strikes as exact doubles. When the file names one contract twice the
// last row wins. Threaded over rows in fixed blocks; the result does not depend on n_threads.
void span_map_contracts(const SpanNames& file, int64_t n_file, const SpanNames& pos,
                        int64_t n_pos, int32_t* contract, int n_threads);

}  // namespace pmfast

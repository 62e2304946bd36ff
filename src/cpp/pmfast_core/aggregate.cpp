#include "pmfast_core/aggregate.hpp"

#include "pmfast_core/aggregate_kernel.hpp"

#include <cmath>

#include "pmfast_core/errors.hpp"
#include "pmfast_core/parallel.hpp"

namespace pmfast {

namespace {

void check_offsets(const char* name, const int64_t* start, int64_t n, int64_t total) {
  if (start[0] != 0) throw bad_value(name, 0, static_cast<double>(start[0]), "must be 0");
  for (int64_t i = 0; i < n; ++i) {
    if (start[i + 1] < start[i])
      throw bad_value(name, i + 1, static_cast<double>(start[i + 1]), "offsets must not decrease");
  }
  if (start[n] != total)
    throw bad_value(name, n, static_cast<double>(start[n]), "last offset must equal the row count");
}

void check_layout(const MarginLayout& l, const RiskArray& r) {
  if (r.n_scenarios < 1) throw InputError("risk array: n_scenarios must be >= 1");
  check_offsets("class_start", l.class_start, l.n_class_rows, l.n_positions);
  check_offsets("group_start", l.group_start, l.n_group_rows, l.n_class_rows);
  check_offsets("account_start", l.account_start, l.n_accounts, l.n_group_rows);
  for (int64_t p = 0; p < l.n_positions; ++p) {
    if (l.instrument[p] < 0 || l.instrument[p] >= r.n_instruments)
      throw bad_value("instrument", p, l.instrument[p], "must index a risk-array row");
    if (!std::isfinite(l.quantity[p])) throw bad_value("quantity", p, l.quantity[p], "must be finite");
  }
}

}  // namespace

void portfolio_margin(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                      const MarginOutput& out, int n_threads) {
  check_layout(l, r);
  for (int64_t g = 0; g < l.n_group_rows; ++g) {
    if (!(l.group_offset[g] >= 0.0 && l.group_offset[g] <= 1.0))
      throw bad_value("group_offset", g, l.group_offset[g], "must be in [0, 1]");
  }
  parallel_for(l.n_accounts, n_threads, 1024, [&](int64_t a_begin, int64_t a_end) {
    detail::margin_account_range(l, r, m, out, a_begin, a_end);
  });
}

void concentration_overlay(const MarginLayout& l, const RiskArray& r, int largest, double* out,
                           int n_threads) {
  check_layout(l, r);
  if (r.n_scenarios != 4) throw InputError("concentration risk array must have 4 scenarios");
  if (largest < 0) throw InputError("largest must be >= 0");
  parallel_for(l.n_accounts, n_threads, 256, [&](int64_t a_begin, int64_t a_end) {
    detail::concentration_account_range(l, r, largest, out, a_begin, a_end);
  });
}

}  // namespace pmfast

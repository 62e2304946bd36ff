#include "pmfast_core/aggregate.hpp"

#include "pmfast_core/aggregate_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "pmfast_core/errors.hpp"
#include "pmfast_core/parallel.hpp"

namespace pmfast {

namespace {

// The checks scan blocks with branch-free reductions (they vectorise; a throw inside the loop
// would stop that) and only rescan a failing block for its first offending index: on the medium
// layout they were 6% of the aggregation.
constexpr int64_t kCheckBlock = 4096;

// Calls fail(i) for the first i in [0, n) with bad(i), if any; bad must be branch-free.
template <class Bad, class Fail>
void first_failure(int64_t n, Bad bad, Fail fail) {
  for (int64_t b = 0; b < n; b += kCheckBlock) {
    const int64_t e = std::min(n, b + kCheckBlock);
    int any = 0;
    for (int64_t i = b; i < e; ++i) any |= static_cast<int>(bad(i));
    if (!any) continue;
    for (int64_t i = b; i < e; ++i) {
      if (bad(i)) fail(i);
    }
  }
}

void check_offsets(const char* name, const int64_t* start, int64_t n, int64_t total) {
  if (start[0] != 0) throw bad_value(name, 0, static_cast<double>(start[0]), "must be 0");
  first_failure(
      n, [start](int64_t i) { return start[i + 1] < start[i]; },
      [&](int64_t i) {
        throw bad_value(name, i + 1, static_cast<double>(start[i + 1]), "offsets must not decrease");
      });
  if (start[n] != total)
    throw bad_value(name, n, static_cast<double>(start[n]), "last offset must equal the row count");
}

void check_layout(const MarginLayout& l, const RiskArray& r) {
  if (r.n_scenarios < 1) throw InputError("risk array: n_scenarios must be >= 1");
  check_offsets("class_start", l.class_start, l.n_class_rows, l.n_positions);
  check_offsets("group_start", l.group_start, l.n_group_rows, l.n_class_rows);
  check_offsets("account_start", l.account_start, l.n_accounts, l.n_group_rows);
  const uint64_t n_rows = static_cast<uint64_t>(r.n_instruments);
  const int32_t* instrument = l.instrument;
  const double* quantity = l.quantity;
  // a negative row becomes a huge unsigned one
  first_failure(
      l.n_positions,
      [=](int64_t p) { return static_cast<uint64_t>(int64_t{instrument[p]}) >= n_rows; },
      [&](int64_t p) {
        throw bad_value("instrument", p, instrument[p], "must index a risk-array row");
      });
  const double largest = std::numeric_limits<double>::max();
  first_failure(
      l.n_positions, [=](int64_t p) { return !(std::fabs(quantity[p]) <= largest); },
      [&](int64_t p) { throw bad_value("quantity", p, quantity[p], "must be finite"); });
}

void check_group_offsets(const MarginLayout& l) {
  const double* offset = l.group_offset;
  first_failure(
      l.n_group_rows, [=](int64_t g) { return !(offset[g] >= 0.0 && offset[g] <= 1.0); },
      [&](int64_t g) { throw bad_value("group_offset", g, offset[g], "must be in [0, 1]"); });
}

}  // namespace

void portfolio_margin(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                      const MarginOutput& out, int n_threads) {
  check_layout(l, r);
  check_group_offsets(l);
  std::unique_ptr<double[]> table;
  if (l.n_positions * detail::kTablePositionsPerInstrument >= r.n_instruments) {
    table.reset(new double[2 * r.n_instruments + 1]);
    detail::build_minimum_table(m, r.n_instruments, table.get());
  }
  parallel_for(l.n_accounts, n_threads, 1024, [&](int64_t a_begin, int64_t a_end) {
    detail::margin_account_range(l, r, m, table.get(), out, a_begin, a_end);
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

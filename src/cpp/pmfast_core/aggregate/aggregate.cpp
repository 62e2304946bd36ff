#include "pmfast_core/aggregate/aggregate.hpp"

#include "pmfast_core/aggregate/aggregate_kernel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {

namespace {

// The checks are branch-free reductions over blocks (they vectorise; a throw inside the loop
// would stop that); only a failing block is rescanned for its first offending index.
// margin_aggregate checks each block of accounts in the thread that then aggregates it, while
// its rows are being brought into cache (a separate pass over the layout was 7% of the time),
// and on any failure reruns the serial checks, which name the first offending index.
constexpr int64_t kCheckBlock = 4096;

// Whether bad(i) for some i in [lo, hi); bad must be branch-free.
template <class Bad>
bool any_bad(int64_t lo, int64_t hi, Bad bad) {
  int any = 0;
  for (int64_t i = lo; i < hi; ++i) any |= static_cast<int>(bad(i));
  return any != 0;
}

// Calls fail(i) for the first i in [0, n) with bad(i), if any.
template <class Bad, class Fail>
void first_failure(int64_t n, Bad bad, Fail fail) {
  for (int64_t b = 0; b < n; b += kCheckBlock) {
    const int64_t e = std::min(n, b + kCheckBlock);
    if (!any_bad(b, e, bad)) continue;
    for (int64_t i = b; i < e; ++i) {
      if (bad(i)) fail(i);
    }
  }
}

// The conditions, shared by the serial checks and the per-block ones.
inline auto decreasing(const int64_t* start) {
  return [start](int64_t i) { return start[i + 1] < start[i]; };
}
inline auto bad_instrument(const MarginLayout& l, const RiskArray& r) {
  const uint64_t n_rows = static_cast<uint64_t>(r.n_instruments);
  const int32_t* instrument = l.instrument;
  // a negative row becomes a huge unsigned one
  return [=](int64_t p) { return static_cast<uint64_t>(int64_t{instrument[p]}) >= n_rows; };
}
inline auto bad_quantity(const MarginLayout& l) {
  const double* quantity = l.quantity;
  const double largest = std::numeric_limits<double>::max();
  return [=](int64_t p) { return !(std::fabs(quantity[p]) <= largest); };
}
inline auto bad_offset(const MarginLayout& l) {
  const double* offset = l.group_offset;
  return [=](int64_t g) { return !(offset[g] >= 0.0 && offset[g] <= 1.0); };
}

void check_offsets(const char* name, const int64_t* start, int64_t n, int64_t total) {
  if (start[0] != 0) throw bad_value(name, 0, static_cast<double>(start[0]), "must be 0");
  first_failure(n, decreasing(start), [&](int64_t i) {
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
  const int32_t* instrument = l.instrument;
  first_failure(l.n_positions, bad_instrument(l, r), [&](int64_t p) {
    throw bad_value("instrument", p, instrument[p], "must index a risk-array row");
  });
  const double* quantity = l.quantity;
  first_failure(l.n_positions, bad_quantity(l), [&](int64_t p) {
    throw bad_value("quantity", p, quantity[p], "must be finite");
  });
}

void check_group_offsets(const MarginLayout& l) {
  const double* offset = l.group_offset;
  first_failure(l.n_group_rows, bad_offset(l), [&](int64_t g) {
    throw bad_value("group_offset", g, offset[g], "must be in [0, 1]");
  });
}

// The ends of the three offset arrays (the blocks check the rest).
bool ends_valid(const MarginLayout& l, const RiskArray& r) {
  return r.n_scenarios >= 1 && l.class_start[0] == 0 &&
         l.class_start[l.n_class_rows] == l.n_positions && l.group_start[0] == 0 &&
         l.group_start[l.n_group_rows] == l.n_class_rows &&
         l.account_start[0] == 0 && l.account_start[l.n_accounts] == l.n_group_rows;
}

// Whether accounts [a0, a1) reach only valid rows: their offsets rise and stay in range, their
// positions' instruments index the risk array, quantities are finite (and, if asked, group
// offsets are in [0, 1]).
// With ends_valid, every block valid <=> check_layout (and check_group_offsets) pass (the blocks
// partition the accounts, hence the groups, classes and positions).
bool block_valid(const MarginLayout& l, const RiskArray& r, int64_t a0, int64_t a1,
                 bool group_offsets) {
  if (any_bad(a0, a1, decreasing(l.account_start))) return false;
  const int64_t g0 = l.account_start[a0], g1 = l.account_start[a1];
  if (g0 < 0 || g1 > l.n_group_rows) return false;
  if (any_bad(g0, g1, decreasing(l.group_start))) return false;
  if (group_offsets && any_bad(g0, g1, bad_offset(l))) return false;
  const int64_t c0 = l.group_start[g0], c1 = l.group_start[g1];
  if (c0 < 0 || c1 > l.n_class_rows) return false;
  if (any_bad(c0, c1, decreasing(l.class_start))) return false;
  const int64_t p0 = l.class_start[c0], p1 = l.class_start[c1];
  if (p0 < 0 || p1 > l.n_positions) return false;
  return !any_bad(p0, p1, bad_instrument(l, r)) && !any_bad(p0, p1, bad_quantity(l));
}

// Runs body(a_begin, a_end) over blocks of accounts, each checked first by block_valid in the
// thread that then works on it; on any failure the serial checks rerun and throw the first error.
template <class Body>
void checked_blocks(const MarginLayout& l, const RiskArray& r, bool group_offsets, int n_threads,
                    int64_t grain, Body&& body) {
  const auto check_all = [&] {
    check_layout(l, r);
    if (group_offsets) check_group_offsets(l);
    throw InputError("layout: inconsistent offsets");  // not reached: a check above throws
  };
  if (!ends_valid(l, r)) check_all();
  std::atomic<bool> invalid{false};
  parallel_for(l.n_accounts, n_threads, grain, [&](int64_t a_begin, int64_t a_end) {
    if (invalid.load(std::memory_order_relaxed) ||
        !block_valid(l, r, a_begin, a_end, group_offsets)) {
      invalid.store(true, std::memory_order_relaxed);
      return;
    }
    body(a_begin, a_end);
  });
  if (invalid.load()) check_all();
}

}  // namespace

void margin_aggregate(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                      const MarginOutput& out, int n_threads) {
  std::unique_ptr<double[]> table;
  if (l.n_positions * detail::kTablePositionsPerInstrument >= r.n_instruments) {
    table.reset(new double[2 * r.n_instruments + 1]);
    detail::build_minimum_table(m, r.n_instruments, table.get());
  }
  checked_blocks(l, r, true, n_threads, 1024, [&](int64_t a_begin, int64_t a_end) {
    detail::margin_account_range(l, r, m, table.get(), out, a_begin, a_end);
  });
}

void margin_concentration(const MarginLayout& l, const RiskArray& r, int largest, double* out,
                           int n_threads) {
  if (r.n_scenarios != 4) {
    check_layout(l, r);   // its errors come first, as before
    throw InputError("concentration risk array must have 4 scenarios");
  }
  if (largest < 0) {
    check_layout(l, r);
    throw InputError("largest must be >= 0");
  }
  checked_blocks(l, r, false, n_threads, 256, [&](int64_t a_begin, int64_t a_end) {
    detail::concentration_account_range(l, r, largest, out, a_begin, a_end);
  });
}

}  // namespace pmfast

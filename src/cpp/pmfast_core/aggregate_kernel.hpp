// The inner loops of the portfolio-margin aggregation (aggregate.cpp checks the input and
// threads over accounts; these functions do the arithmetic for one contiguous range of
// accounts).
//
// Arithmetic contract, identical in every code path so results are bit-identical whatever the
// path, the scenario count or the thread count:
//   class P&L    acc[s] = fma(q, pnl[i, s], acc[s]) over the class's positions in order, from +0
//   haircut      h[s] = acc[s] < 0 ? acc[s] : alpha * acc[s]   (a product, then an add)
//   group net    net[s] = net[s] + h[s] over the group's classes in order, from +0
//   worst        the first s with the smallest net[s] (= the largest loss -net[s])
//   minimum      sum over positions in order of per_unit * |q|, for q > 0 capped at q * long_cap
//   account      sums over groups in order; the worst group is the first with the largest risk
#pragma once
#include <cmath>
#include <cstdint>

#include "pmfast_core/aggregate.hpp"

namespace pmfast {
namespace detail {

// q * x + acc rounded once where the target has FMA (what the compiler's contraction of
// `acc += q * x` produced before the kernel was vectorised), else two roundings.
inline double mul_add(double q, double x, double acc) {
#if defined(__FMA__)
  return std::fma(q, x, acc);
#else
  return q * x + acc;
#endif
}

// Per-contract minimum of one position (branch-free: a NaN cap fails the comparison).
inline double position_minimum(double per_unit, double long_cap, double q) {
  const double charge = per_unit * std::fabs(q);
  const double capped = q * long_cap;
  return (q > 0.0 && capped < charge) ? capped : charge;
}

// Accounts [a_begin, a_end) of portfolio_margin (input already checked).
void margin_account_range(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                          const MarginOutput& out, int64_t a_begin, int64_t a_end);

// Concentration overlay of accounts [a_begin, a_end) (input already checked; 4 scenarios).
void concentration_account_range(const MarginLayout& l, const RiskArray& r, int largest,
                                 double* out, int64_t a_begin, int64_t a_end);

}  // namespace detail
}  // namespace pmfast

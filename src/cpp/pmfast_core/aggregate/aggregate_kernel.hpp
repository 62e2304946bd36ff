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
//                (position_minimum below)
//   account      sums over groups in order; the worst group is the first with the largest risk
#pragma once
#include <cmath>
#include <cstdint>

#include "pmfast_core/aggregate/aggregate.hpp"

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

// A rounded product (scalar or SIMD vector) that the compiler may not fuse into a later add:
// the definition rounds each charge and each haircut, then adds, and GCC contracts a * b + c
// into an FMA on FMA targets, even through the vector intrinsics (plain vector arithmetic).
template <class T>
inline T rounded(T x) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+x"(x));
#elif defined(__aarch64__)
  asm("" : "+w"(x));
#endif
  return x;
}

// How many positions ahead the risk-array row is prefetched. On the medium layout (risk array
// in the L3) 16, 32 and 64 are within 3%; none is ~10% slower. With a risk array 5x larger
// (beyond the L3) 32 and 64 are 5-9% faster than 16.
constexpr int64_t kPrefetchDistance = 32;

inline void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// Per-contract minimum of one position, read straight from the rule's two arrays (used for
// small batches, e.g. a what-if's one account against the whole risk array).
struct DirectMinimum {
  const double* per_unit;
  const double* long_cap;
  double operator()(int64_t i, double q) const {
    const double charge = per_unit[i] * std::fabs(q);
    const double capped = q * long_cap[i];
    return rounded((q > 0.0 && capped < charge) ? capped : charge);
  }
  const void* line(int64_t) const { return nullptr; }
};

// The same minimum from a table of two numbers per instrument, so a position reads one 16-byte
// pair and multiplies once, with no branch on the (random) sign of q:
//   table[2 i]     = per_unit                          (short or flat positions)
//   table[2 i + 1] = per_unit capped at long_cap       (long positions; a NaN cap is no cap)
//   minimum(q)     = |q| * table[2 i + (q > 0)]
// Bit for bit the definition: rounding is monotone, so round(q min(a, b)) is the smaller of
// round(q a) and round(q b). Building it costs a pass over the instruments, so margin_aggregate
// uses it only when the batch has enough positions.
struct TableMinimum {
  const double* table;
  double operator()(int64_t i, double q) const {
    return rounded(std::fabs(q) * table[2 * i + (q > 0.0)]);
  }
  const void* line(int64_t i) const { return table + 2 * i; }
};

void build_minimum_table(const MinimumRule& m, int64_t n_instruments, double* table);

// Build the table when positions >= this fraction of the instruments.
constexpr int64_t kTablePositionsPerInstrument = 2;  // n_positions * 2 >= n_instruments

// Accounts [a_begin, a_end) of margin_aggregate (input already checked).
// `minimum_table` (from build_minimum_table) may be null: the rule's arrays are read directly.
void margin_account_range(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                          const double* minimum_table, const MarginOutput& out, int64_t a_begin,
                          int64_t a_end);

// Concentration overlay of accounts [a_begin, a_end) (input already checked; 4 scenarios);
// in aggregate_concentration.cpp.
void concentration_account_range(const MarginLayout& l, const RiskArray& r, int largest,
                                 double* out, int64_t a_begin, int64_t a_end);

}  // namespace detail
}  // namespace pmfast

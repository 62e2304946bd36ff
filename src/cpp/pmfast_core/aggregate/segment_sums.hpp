// The generic half of every margin aggregation: gather risk-array rows by instrument, weight
// them by quantity and sum them over contiguous segments of sorted positions (CSR offsets);
// then per-method reductions over the segment x scenario matrix.
//
// TIMS runs its own fused loop (margin_aggregate in aggregate.hpp: class sums, haircut, group
// nets, worst scenario, minimums and account totals in one pass over the positions, measured
// faster than materialising the class matrix); segment_sums is the same first step, bit for
// bit (class P&L: fma(q, pnl[i, s], acc[s]) in position order from +0), for methods whose
// reduction differs: SPAN's scan (worst loss over the scenario vector, then spreads),
// simulation's tail measure over thousands of scenarios, crypto's worst loss plus add-ons.
#pragma once
#include <cstdint>

#include "pmfast_core/aggregate/aggregate.hpp"

namespace pmfast {

// out[g * n_scenarios + s] = sum over positions p in [start[g], start[g + 1]) of
// quantity[p] * risk.pnl[instrument[p] * n_scenarios + s], in position order from +0, with one
// rounding per term where the target has FMA (as margin_aggregate's class P&L). Checks: start
// monotone from 0 to n_positions, instrument rows in range, finite quantities (InputError
// naming the index). Threaded over segments; bit-identical for any n_threads.
void segment_sums(const int32_t* instrument, const double* quantity, int64_t n_positions,
                  const int64_t* start, int64_t n_segments, const RiskArray& risk, double* out,
                  int n_threads);

// Per row of a [n_rows x n_scenarios] P&L matrix: loss[g] = max(0, -min_s pnl[g, s]) and
// worst[g] = the first s attaining the minimum (SPAN's scan risk, TIMS's group risk before
// minimums). NaN entries are InputError.
void segment_worst_loss(const double* pnl, int64_t n_rows, int64_t n_scenarios, double* loss,
                        int32_t* worst, int n_threads);

}  // namespace pmfast

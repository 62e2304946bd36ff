// Portfolio-margin aggregation (OCC TIMS / FINRA 4210(g)): positions -> class-group scenario
// P&L -> product-group offsets -> group risk, minimums, requirement -> account totals.
//
// Positions arrive sorted by (account, group, class) with CSR offsets for each level, so every
// account is a contiguous slice and risk-array rows are gathered once per position. Rates,
// offsets and minimums arrive as numbers (the rule set is data); nothing here is a constant of
// the rules.
#pragma once
#include <cstdint>

namespace pmfast {

// The nesting of a sorted batch of positions.
struct MarginLayout {
  const int32_t* instrument;      // [n_positions] row of the risk array
  const double* quantity;         // [n_positions] signed net quantity
  int64_t n_positions;
  const int64_t* class_start;     // [n_class_rows + 1] into positions
  int64_t n_class_rows;
  const int64_t* group_start;     // [n_group_rows + 1] into class rows
  int64_t n_group_rows;
  const int64_t* account_start;   // [n_accounts + 1] into group rows
  int64_t n_accounts;
  const double* group_offset;     // [n_group_rows] fraction of class gains that offsets losses
};

// P&L per unit of each instrument at each scenario (multiplier included), row-major.
struct RiskArray {
  const double* pnl;              // [n_instruments * n_scenarios]
  int64_t n_instruments;
  int64_t n_scenarios;
};

// Per-contract minimum: |q| * per_unit, capped for long positions at q * long_cap (NaN: no cap).
struct MinimumRule {
  const double* per_unit;         // [n_instruments]
  const double* long_cap;         // [n_instruments]
};

// Outputs; the optional matrices may be null.
struct MarginOutput {
  double* class_pnl;              // [n_class_rows * n_scenarios] or null
  double* group_net;              // [n_group_rows * n_scenarios] or null (after offsets)
  double* group_risk;             // [n_group_rows] max(0, max_i -net(i))
  double* group_minimum;          // [n_group_rows]
  double* group_requirement;      // [n_group_rows] max(risk, minimum)
  int32_t* group_worst;           // [n_group_rows] first scenario attaining the largest loss
  double* account_risk;           // [n_accounts]
  double* account_minimum;        // [n_accounts]
  double* account_requirement;    // [n_accounts]
  int32_t* account_worst_group;   // [n_accounts] group row with the largest risk (-1: no risk)
};

// Checks the layout (monotone offsets, instrument rows in range, finite quantities and
// offsets) and throws InputError naming the argument and index; then aggregates, threaded
// over accounts. Results are bit-identical for any n_threads.
void margin_aggregate(const MarginLayout& layout, const RiskArray& risk, const MinimumRule& minimum,
                      const MarginOutput& out, int n_threads);

// The concentration overlay. `risk` has 4 scenarios per instrument in the order
// (-large, +large, -other, +other). Per account: the `largest` class groups with the largest
// loss at +-large are taken at that loss, every other class group at its loss at +-other, summed
// with no offsets. out[n_accounts].
void margin_concentration(const MarginLayout& layout, const RiskArray& risk, int largest,
                           double* out, int n_threads);

}  // namespace pmfast

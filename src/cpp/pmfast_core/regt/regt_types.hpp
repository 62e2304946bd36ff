// Strategy-based (Regulation T) margin: the data the batch entry point reads and writes.
// Every rate comes in from the rule set (src/pmfast/rules/regt.toml) through these structs;
// nothing here or in regt_*.cpp hard-codes a rate.
#pragma once
#include <cstdint>
#include <vector>

namespace pmfast {

// Output codes of the strategies (the Python side reads the names via regt_strategy_name).
// The first five are stand-alone positions; the rest are multi-leg templates.
enum class RegtStrategy : int8_t {
  long_stock = 0,
  short_stock,
  long_option,
  naked_call,
  naked_put,
  vertical,
  calendar,
  diagonal,
  short_straddle,
  short_strangle,
  covered_call,
  covered_put,
  protective_put,
  protective_call,
  collar,
  conversion,
  reverse_conversion,
  long_butterfly,
  short_butterfly,
  long_condor,
  iron_condor,
  iron_butterfly,
  box,
  short_box,
  count_
};

constexpr int kRegtStrategyCount = static_cast<int>(RegtStrategy::count_);
const char* regt_strategy_name(int code);

// Leg kinds.
constexpr int8_t kLegStock = 0;
constexpr int8_t kLegCall = 1;
constexpr int8_t kLegPut = -1;

// Rule parameters that are the same for every group (rates per group live in RegtGroups).
struct RegtParams {
  double short_price_threshold;       // short stock below this price uses the low-price rule
  double short_floor_per_share;       // maintenance floor per share at or above the threshold
  double short_low_floor_per_share;   // maintenance floor per share below the threshold
  double naked_floor_per_share;       // house floor on a naked short option, per share (0 = none)
  double protective_put_strike_rate;  // protective put maintenance: rate x K + put OTM ...
  double protective_call_strike_rate; // long call + short stock maintenance: rate x K + call OTM ...
  double collar_put_strike_rate;      // collar maintenance: rate x put K + put OTM ...
  double conversion_strike_rate;      // conversion maintenance: rate x K
  double reverse_conversion_strike_rate;  // reverse conversion maintenance: rate x K + put ITM
  uint32_t enabled;                   // bit (1 << code) per multi-leg template that may be used
  int64_t max_nodes;                  // branch-and-bound node budget per connected component
  int64_t max_work;                   // simplex flops per group and basis (time budget, as data)
  int64_t max_templates;              // template library size per group and basis
  int method;                         // 0 optimal (LP branch and bound), 1 greedy baseline
  int emit_rows;                      // 0: per-group totals only (no strategy rows written)
};

// Legs sorted by group (account, underlying); only kinds stock/call/put, non-zero quantity.
struct RegtLegs {
  const int8_t* kind;        // kLegStock, kLegCall, kLegPut
  const double* strike;      // options only
  const int32_t* expiry;     // days since the epoch; options only
  const double* multiplier;  // deliverable shares per contract (1 for stock)
  const double* price;       // market price per share
  const double* quantity;    // signed: shares for stock, whole contracts for options
  const double* long_rate;   // stand-alone requirement of a long option as a fraction of value
  int64_t n;
};

// Per group: the underlying price and the rates already scaled for leverage by the rule loader.
struct RegtGroups {
  const int64_t* offsets;             // legs of group g: [offsets[g], offsets[g + 1])
  const double* underlying_price;
  const double* naked_rate;
  const double* naked_minimum;
  const double* long_initial;         // long stock initial rate
  const double* long_maintenance;     // long stock maintenance rate
  const double* short_initial;        // short stock initial rate
  const double* short_maintenance;    // short stock maintenance rate at or above the threshold
  const double* short_low_maintenance;  // short stock maintenance rate below the threshold
  int64_t n;
};

// Strategy rows: up to four legs per row (indices into RegtLegs, -1 when unused), the shares
// or contracts of each leg per unit (signed: + long, - short), the units and the requirement
// for all units. Rows are written in blocks of groups, in group order.
struct RegtRows {
  std::vector<int64_t> group;
  std::vector<int8_t> basis;      // 0 initial, 1 maintenance, 2 both (identical)
  std::vector<int8_t> strategy;
  std::vector<int64_t> legs;      // 4 per row
  std::vector<double> ratio;      // 4 per row
  std::vector<double> units;
  std::vector<double> requirement;

  void reserve(int64_t n);
  void push(int64_t g, int8_t b, int8_t s, const int64_t* leg, const double* r, double u,
            double req);
};

struct RegtOutput {
  std::vector<double> gross_initial;      // per group
  std::vector<double> gross_maintenance;  // per group
  std::vector<uint8_t> proven;            // per group: bit 0 initial optimal, bit 1 maintenance
  std::vector<double> gap_initial;        // per group: requirement found - lower bound (0 when
  std::vector<double> gap_maintenance;    // proven; NaN under the greedy method: no bound)
  std::vector<RegtRows> blocks;           // concatenated in order = all rows (no copy here)
};

void regt_margin(const RegtLegs& legs, const RegtGroups& groups, const RegtParams& params,
                 RegtOutput& out, int n_threads);

}  // namespace pmfast

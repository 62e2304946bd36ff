// Simulation margin: revalue every series under every joint scenario, then stream the positions
// of each account through its scenario P&L to the tail measures (docs/simulation-margin.md).
//
// Memory: the only scenario-sized arrays are [series x scenarios] (the risk matrix) and one
// [scenarios] buffer per thread; never positions x scenarios or accounts x scenarios.
#pragma once
#include <cstdint>

namespace pmfast {

// Model codes, as pmfast/scenarios.py numbers them (MODEL_AMERICAN ... MODEL_LINEAR).
enum class SimModel : int8_t { american = 0, bsm = 1, black76 = 2, linear = 3 };

// The series to revalue (structure of arrays, length n). For options S is the spot (the
// future's price for black76); for shares and futures S is the instrument's own price.
struct SimSeries {
  const int8_t* model;        // SimModel
  const int8_t* right;        // +1 call, -1 put (ignored for linear)
  const double* S;
  const double* K;
  const double* T;            // years
  const double* q;            // continuous yield (ignored by black76 and linear)
  const double* vol;          // today's volatility (ignored by linear)
  const double* multiplier;
  const int32_t* underlying;  // row of the scenario matrices
  int64_t n;
  double rate;                // today's continuous rate
  int american_model;         // pmfast::Model of the American engine (fixed_point, bjs2002 ...)
  int steps;                  // tree steps (crr)
};

// Scenarios, underlying-major so one series reads contiguous memory: element (u, k) at
// u * n_scenarios + k.
struct SimScenarios {
  const double* returns;      // simple return over the horizon, > -1
  const double* vol_shifts;   // relative, or nullptr (none)
  const double* rate_shifts;  // [n_scenarios] absolute, or nullptr (none)
  int64_t n_underlyings;
  int64_t n_scenarios;
  double horizon_years;       // T' = max(T - horizon, 0)
};

// Where the risk matrix goes: float64, or float32 (half the memory and half the bytes the
// aggregation streams; grid mode, whose documented error is far above float32's 6e-8).
// Exactly one of the two is set.
struct RiskRows {
  double* f64 = nullptr;
  float* f32 = nullptr;
};

// Full revaluation. pnl[i * n_scenarios + k] = multiplier_i (V_i(k) - V_i(0)) per unit held,
// value0[i] = V_i(0), today's model value (the same model and volatility as portfolio margin).
// Scenarios are processed in chunks per series; series blocks are spread over threads.
void simulation_revalue(const SimSeries& series, const SimScenarios& scenarios,
                        const RiskRows& pnl, double* value0, int n_threads);

// Positions sorted by (account, underlying, instrument): CSR offsets per (account, underlying)
// row and per account.
struct SimLayout {
  const int32_t* series;        // per position: row of the risk matrix
  const double* quantity;
  int64_t n_positions;
  const int64_t* class_start;   // n_class_rows + 1 offsets into positions
  int64_t n_class_rows;
  const int64_t* account_start; // n_accounts + 1 offsets into class rows
  int64_t n_accounts;
};

struct SimOutput {
  double* es;              // [n_accounts] mean of the tail_count largest losses
  double* var;             // [n_accounts] tail_count-th largest loss
  double* worst;           // [n_accounts] largest loss
  int32_t* worst_scenario; // [n_accounts] scenario of the largest loss (lowest index on ties)
  double* component;       // [n_class_rows] Euler contribution to the account's ES
};

// Tail measures of every account. The tail is the tail_count scenarios first in the order
// (loss descending, scenario index ascending): a strict order, so ties never depend on row
// order or threads.
void simulation_aggregate(const SimLayout& layout, const double* pnl, int64_t n_scenarios,
                          int64_t tail_count, const SimOutput& out, int n_threads);
void simulation_aggregate(const SimLayout& layout, const float* pnl, int64_t n_scenarios,
                          int64_t tail_count, const SimOutput& out, int n_threads);

// Throws InputError if a position's series is outside [0, n_series).
void simulation_check_series(const SimLayout& layout, int64_t n_series);

// out[a * n_scenarios + k] = P&L of account a in scenario k (a few accounts: charts, audits).
void simulation_account_pnl(const SimLayout& layout, const double* pnl, int64_t n_scenarios,
                            double* out, int n_threads);
void simulation_account_pnl(const SimLayout& layout, const float* pnl, int64_t n_scenarios,
                            double* out, int n_threads);

}  // namespace pmfast

namespace pmfast {

// Grid revaluation of American series (docs/simulation-margin.md, "Grid revaluation"). Series
// sharing a table (same underlying, right, expiry and yield; strikes and volatilities may
// differ) share one table of the early-exercise premium of a unit-strike option over
// (log-moneyness, volatility, rate); each scenario's value is the closed-form European value
// plus strike x the premium, interpolated (cubic Lagrange in log-moneyness and volatility, linear
// in rate). One American boundary per (volatility, rate) node serves every moneyness node.
struct SimGrid {
  const int32_t* table;  // per series: its table, -1 for full revaluation (not American, T' = 0)
  int64_t n_tables;
  int n_spot;            // moneyness nodes, >= 4
  int n_vol;             // volatility nodes, >= 4 (1 when the table's volatility never moves)
  // A table spanning many strikes or large shifts gets more nodes, so that its spacing is at
  // most max_dx (log-moneyness) and max_dvol (volatility), up to max_spot / max_vol nodes.
  double max_dx;
  double max_dvol;
  int max_spot;
  int max_vol;
};

void simulation_revalue_grid(const SimSeries& series, const SimScenarios& scenarios,
                             const SimGrid& grid, const RiskRows& pnl, double* value0,
                             int n_threads);

}  // namespace pmfast

// Per-series building blocks shared by the full and the grid revaluation (internal).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "pmfast_core/pricing/pricing.hpp"
#include "pmfast_core/simulation/simulation.hpp"

namespace pmfast {
namespace sim_detail {

// The scenario inputs of one series: spot, volatility and rate per scenario.
struct Shifted {
  const double* ret;
  const double* dvol;   // nullptr: no shift
  const double* drate;  // nullptr: no shift
  const double* log_growth;  // log(1 + ret)
  double spot(double S, int64_t k) const { return std::max(S * (1.0 + ret[k]), 0.0); }
  double vol(double v, int64_t k) const { return scenario_vol(v, dvol ? dvol[k] : 0.0, true); }
  double rate(double r, int64_t k) const { return drate ? r + drate[k] : r; }
};

// log(1 + return) of every (underlying, scenario), underlying-major like the returns.
std::vector<double> log_growth(const SimScenarios& sc);

inline Shifted shifted(const SimScenarios& sc, const std::vector<double>& log_growth,
                       int64_t u) {
  const int64_t n = sc.n_scenarios;
  return Shifted{sc.returns + u * n, sc.vol_shifts ? sc.vol_shifts + u * n : nullptr,
                 sc.rate_shifts, log_growth.data() + u * n};
}

// A European option (black76: an option on a future, q = r) at time T' after the horizon.
struct EuropeanSeries {
  double right, S, K, T, r, q, vol;
  bool black76;
};

// The value of one European series in every scenario is computed by the per-ISA kernel
// sim_kernels().european_scenarios (sim_kernels.hpp, european_scenarios_simd.cpp).

// Series per parallel block of the revaluation loops (each block starts with check_interrupt).
constexpr int64_t kSeriesPerBlock = 4;

// Reusable per-thread buffers.
struct Scratch {
  std::vector<int64_t> order;
  std::vector<double> spots, out, values;
};

// V_i(0): today's model value (the volatility floored as every scenario's is).
double value_today(const SimSeries& s, int64_t i);

// values[k] = European (bsm, or black76 when black76) value of series i in every scenario.
void european_values(const SimSeries& s, int64_t i, bool black76, const Shifted& x,
                     int64_t n_sc, double Tp, double* values);

// values[k] = value of series i in every scenario by full revaluation (any model but linear).
void full_values(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc, double Tp,
                 double* values, Scratch& scratch);

// Row i of the risk matrix: multiplier x (values - V_0); linear series need no values.
void write_row(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc,
               const double* values, double v0, const RiskRows& pnl);

void check_inputs(const SimSeries& s, const SimScenarios& sc);

}  // namespace sim_detail
}  // namespace pmfast

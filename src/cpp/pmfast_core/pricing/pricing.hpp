// Batch pricing and scenario repricing: the entry points the binding calls.
#pragma once
#include <cstdint>

#include "pmfast_core/dispatch/isa_namespace.hpp"
#include "pmfast_core/pricing/options.hpp"

namespace pmfast {

// out[i] = value of option i under `model` (steps: tree steps for crr; american: crr style).
void price_options(const OptionArrays& o, Model model, int steps, bool american, double* out,
                   int n_threads);
// The same where the columns flagged in `broadcast` (options.hpp's BroadcastBit) hold one value
// for all o.n options: results bit-identical to passing the repeated column.
void price_options(const OptionArrays& o, unsigned broadcast, Model model, int steps,
                   bool american, double* out, int n_threads);

// A scenario grid: spot moves (S' = S (1 + m)) outer, volatility shifts inner.
struct ScenarioGrid {
  const double* spot_moves;
  int64_t n_moves;
  const double* vol_shifts;  // length n_vols (use {0.0} for none)
  int64_t n_vols;
  bool vol_relative;      // vol' = vol (1 + shift) if true, vol + shift otherwise
  double horizon_years;   // T' = max(T - horizon, 0)
  int64_t n_scenarios() const { return n_moves * n_vols; }
};

// Smallest volatility a scenario may produce (pricing.md).
constexpr double kScenarioVolFloor = 1e-4;

PMFAST_ISA_BEGIN
inline double scenario_vol(double vol, double shift, bool relative) {
  const double v = relative ? vol * (1.0 + shift) : vol + shift;
  return v > kScenarioVolFloor ? v : kScenarioVolFloor;
}
PMFAST_ISA_END

// out is row-major [n_series, n_moves * n_vols]; column = move_index * n_vols + vol_index.
void reprice_grid(const OptionArrays& o, const ScenarioGrid& grid, Model model, int steps,
                  double* out, int n_threads);

}  // namespace pmfast

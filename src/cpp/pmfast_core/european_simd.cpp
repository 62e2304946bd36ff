#include "pmfast_core/european_simd.hpp"

#include <cmath>
#include <vector>

#include "pmfast_core/european.hpp"

namespace pmfast {

void bsm_block(const OptionArrays& o, bool black76, int64_t begin, int64_t end, double* out) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const double q = black76 ? o.r[i] : o.q[i];
    out[i] = bsm_value(static_cast<double>(o.right[i]), o.S[i], o.K[i], o.T[i], o.r[i], q,
                       o.vol[i]);
  }
}

void bsm_grid_block(const OptionArrays& o, const ScenarioGrid& grid, bool black76,
                    int64_t begin, int64_t end, double* out) {
  const int64_t n_moves = grid.n_moves, n_vols = grid.n_vols, n_sc = grid.n_scenarios();
  std::vector<double> spot(n_moves);
  for (int64_t i = begin; i < end; ++i) {
    double* row = out + (i - begin) * n_sc;
    const double T = std::fmax(o.T[i] - grid.horizon_years, 0.0);
    const double q = black76 ? o.r[i] : o.q[i];
    const double right = static_cast<double>(o.right[i]);
    for (int64_t m = 0; m < n_moves; ++m) spot[m] = std::fmax(o.S[i] * (1.0 + grid.spot_moves[m]), 0.0);
    for (int64_t v = 0; v < n_vols; ++v) {
      const double vol = scenario_vol(o.vol[i], grid.vol_shifts[v], grid.vol_relative);
#pragma omp simd
      for (int64_t m = 0; m < n_moves; ++m) {
        row[m * n_vols + v] = bsm_value(right, spot[m], o.K[i], T, o.r[i], q, vol);
      }
    }
  }
}

}  // namespace pmfast

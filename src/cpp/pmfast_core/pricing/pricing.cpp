#include "pmfast_core/pricing/pricing.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/pricing/european_simd.hpp"
#include "pmfast_core/pricing/pricing_kernels.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {

namespace {
bool is_european_model(Model m) { return m == Model::bsm || m == Model::black76; }

void check_grid(const ScenarioGrid& g) {
  for (int64_t m = 0; m < g.n_moves; ++m) {
    if (!std::isfinite(g.spot_moves[m]) || g.spot_moves[m] < -1.0)
      throw bad_value("spot_moves", m, g.spot_moves[m], "must be finite and >= -1");
  }
  for (int64_t v = 0; v < g.n_vols; ++v) {
    if (!std::isfinite(g.vol_shifts[v]))
      throw bad_value("vol_shifts", v, g.vol_shifts[v], "must be finite");
  }
  if (!std::isfinite(g.horizon_years) || g.horizon_years < 0)
    throw InputError("horizon must be finite and >= 0");
}
}  // namespace

void price_options(const OptionArrays& o, Model model, int steps, bool american, double* out,
                   int n_threads) {
  check_model(model, steps);
  validate_options(o);
  if (is_european_model(model)) {
    const PricingKernels& kern = pricing_kernels();
    parallel_for(o.n, n_threads, 1 << 14, [&](int64_t b, int64_t e) {
      kern.bsm_block(o, model == Model::black76, b, e, out);
    });
    return;
  }
  parallel_for(o.n, n_threads, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      out[i] = (model == Model::crr && !american)
                   ? crr_value(o.right[i], o.S[i], o.K[i], o.T[i], o.r[i], o.q[i], o.vol[i], steps, false)
                   : american_value(model, steps, o.right[i], o.S[i], o.K[i], o.T[i], o.r[i],
                                    o.q[i], o.vol[i]);
    }
  });
}

void reprice_grid(const OptionArrays& o, const ScenarioGrid& grid, Model model, int steps,
                  double* out, int n_threads) {
  check_model(model, steps);
  validate_options(o);
  check_grid(grid);
  const int64_t n_sc = grid.n_scenarios();
  if (is_european_model(model)) {
    // 1024 series per task: a multiple of kGridLanes (bit-identical results for any n_threads).
    static_assert(1024 % kGridLanes == 0, "grid tasks must start on a chunk boundary");
    const PricingKernels& kern = pricing_kernels();
    parallel_for(o.n, n_threads, 1024, [&](int64_t b, int64_t e) {
      kern.bsm_grid_block(o, grid, model == Model::black76, b, e, out + b * n_sc);
    });
    return;
  }
  parallel_for(o.n, n_threads, 64, [&](int64_t b, int64_t e) {
    std::vector<double> spots(grid.n_moves);
    for (int64_t i = b; i < e; ++i) {
      const double T = std::max(o.T[i] - grid.horizon_years, 0.0);
      for (int64_t m = 0; m < grid.n_moves; ++m)
        spots[m] = std::max(o.S[i] * (1.0 + grid.spot_moves[m]), 0.0);
      for (int64_t v = 0; v < grid.n_vols; ++v) {
        const double vol = scenario_vol(o.vol[i], grid.vol_shifts[v], grid.vol_relative);
        american_spots(model, steps, o.right[i], spots.data(), grid.n_moves, o.K[i], T, o.r[i],
                       o.q[i], vol, out + i * n_sc + v, grid.n_vols);
      }
    }
  });
}

}  // namespace pmfast

#include "pmfast_core/pricing/european_simd.hpp"

#include <algorithm>
#include <cmath>

#include "pmfast_core/pricing/european.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

void bsm_block(const OptionArrays& o, bool black76, int64_t begin, int64_t end, double* out) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const double q = black76 ? o.r[i] : o.q[i];
    out[i] = bsm_value(static_cast<double>(o.right[i]), o.S[i], o.K[i], o.T[i], o.r[i], q,
                       o.vol[i]);
  }
}

namespace {

// Per-series terms that no scenario changes, for one chunk of kGridLanes series.
struct alignas(64) SeriesChunk {
  double sign[kGridLanes];     // +1 call, -1 put
  double fwd[kGridLanes];      // prepaid forward S e^{-qT'}
  double strike[kGridLanes];   // discounted strike K e^{-rT'}
  double log_fk[kGridLanes];   // log(fwd / strike), zeros guarded as in bsm_value
  double sqrt_t[kGridLanes];
  double vol[kGridLanes];
};

// Fill the chunk for series [first, first + count); lanes past count repeat the last series so
// the vector loops always run all kGridLanes lanes (no remainder loop: every value is computed by
// the same instructions whatever the thread split, which keeps n_threads results bit-identical).
void load_chunk(const OptionArrays& o, bool black76, double horizon, int64_t first, int count,
                SeriesChunk& c) {
  alignas(64) double S[kGridLanes], K[kGridLanes], T[kGridLanes], r[kGridLanes], q[kGridLanes];
  for (int l = 0; l < kGridLanes; ++l) {
    const int64_t i = first + std::min(l, count - 1);
    c.sign[l] = o.right[i];
    S[l] = o.S[i];
    K[l] = o.K[i];
    T[l] = std::fmax(o.T[i] - horizon, 0.0);
    r[l] = o.r[i];
    q[l] = black76 ? o.r[i] : o.q[i];
    c.vol[l] = o.vol[i];
  }
  constexpr double kTiny = 1e-300;
#pragma omp simd
  for (int l = 0; l < kGridLanes; ++l) {
    c.fwd[l] = S[l] * std::exp(-q[l] * T[l]);
    c.strike[l] = K[l] * std::exp(-r[l] * T[l]);
    c.log_fk[l] = std::log((c.fwd[l] + kTiny) / (c.strike[l] + kTiny));
    c.sqrt_t[l] = std::sqrt(T[l]);
  }
}

}  // namespace

// Series are taken kGridLanes at a time and vectorised across series: for one (vol shift, spot
// move) the lanes differ only in their precomputed terms, so each value costs two erfc, a
// multiply-add chain and no exp or log (the move enters as log(1 + m), computed once per grid).
void bsm_grid_block(const OptionArrays& o, const ScenarioGrid& grid, bool black76,
                    int64_t begin, int64_t end, double* out) {
  constexpr double kTiny = 1e-300;
  constexpr double kMaxD = 40.0;  // as bsm_value: N(40) == 1 in double precision
  const int64_t n_moves = grid.n_moves, n_vols = grid.n_vols, n_sc = grid.n_scenarios();
  SeriesChunk c;
  alignas(64) double sd[kGridLanes], inv_sd[kGridLanes], value[kGridLanes];
  for (int64_t first = begin; first < end; first += kGridLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kGridLanes, end - first));
    load_chunk(o, black76, grid.horizon_years, first, count, c);
    double* rows = out + (first - begin) * n_sc;
    for (int64_t v = 0; v < n_vols; ++v) {
      const double shift = grid.vol_shifts[v];
      for (int l = 0; l < kGridLanes; ++l) {
        sd[l] = scenario_vol(c.vol[l], shift, grid.vol_relative) * c.sqrt_t[l];
        inv_sd[l] = 1.0 / (sd[l] > kTiny ? sd[l] : kTiny);
      }
      for (int64_t m = 0; m < n_moves; ++m) {
        // Recomputed per chunk (one log per 64 lanes x 2 erfc): no heap buffer in a per-ISA
        // kernel, whose out-of-line library code could be shared with another ISA's copy.
        const double g = std::fmax(1.0 + grid.spot_moves[m], 0.0);
        const double lg = std::log(std::fmax(g, kTiny));
#pragma omp simd
        for (int l = 0; l < kGridLanes; ++l) {
          const double s = c.sign[l];
          double d1 = (c.log_fk[l] + lg) * inv_sd[l] + 0.5 * sd[l];
          d1 = d1 > kMaxD ? kMaxD : (d1 < -kMaxD ? -kMaxD : d1);
          const double d2 = d1 - sd[l];
          const double x = s * (c.fwd[l] * g * norm_cdf(s * d1) - c.strike[l] * norm_cdf(s * d2));
          value[l] = x > 0.0 ? x : 0.0;
        }
        double* col = rows + m * n_vols + v;
        for (int l = 0; l < count; ++l) col[l * n_sc] = value[l];
      }
    }
  }
}

PMFAST_ISA_END
}  // namespace pmfast

#include "pmfast_core/pricing/european_simd.hpp"

#include <algorithm>
#include <cmath>

#include "pmfast_core/pricing/european.hpp"

namespace pmfast {
PMFAST_ISA_BEGIN

namespace {

// kGridLanes options from the given column pointers. One out-of-line copy for the whole book
// and its padded tail, so every option runs the same vector instructions: a remainder loop
// would run scalar libm (other bits than libmvec), and an option's bits would then depend on
// where the row order put it.
__attribute__((noinline)) void bsm_lanes(const int8_t* __restrict right,
                                         const double* __restrict S, const double* __restrict K,
                                         const double* __restrict T, const double* __restrict r,
                                         const double* __restrict q,
                                         const double* __restrict vol,
                                         double* __restrict out) {
#pragma omp simd
  for (int l = 0; l < kGridLanes; ++l)
    out[l] = bsm_value(static_cast<double>(right[l]), S[l], K[l], T[l], r[l], q[l], vol[l]);
}

}  // namespace

void bsm_block(const OptionArrays& o, bool black76, int64_t begin, int64_t end, double* out) {
  const double* q = black76 ? o.r : o.q;
  int64_t i = begin;
  for (; i + kGridLanes <= end; i += kGridLanes)
    bsm_lanes(o.right + i, o.S + i, o.K + i, o.T + i, o.r + i, q + i, o.vol + i, out + i);
  if (i == end) return;
  // The tail, padded with copies of its last option.
  alignas(64) int8_t right[kGridLanes];
  alignas(64) double S[kGridLanes], K[kGridLanes], T[kGridLanes], r[kGridLanes],
      qq[kGridLanes], vol[kGridLanes], value[kGridLanes];
  for (int l = 0; l < kGridLanes; ++l) {
    const int64_t k = std::min<int64_t>(i + l, end - 1);
    right[l] = o.right[k];
    S[l] = o.S[k];
    K[l] = o.K[k];
    T[l] = o.T[k];
    r[l] = o.r[k];
    qq[l] = q[k];
    vol[l] = o.vol[k];
  }
  bsm_lanes(right, S, K, T, r, qq, vol, value);
  for (int64_t k = i; k < end; ++k) out[k] = value[k - i];
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

// Per-lane terms of one volatility shift: with d1 = lg * inv_sd + a (lg = log(1 + move)),
// value = g half_fwd erfc(ns d1) - half_strike erfc(ns (d1 - sd)), ns = -sign / sqrt(2).
// Folding the constants here leaves the move loop a multiply-add, a clamp, two erfc and a
// subtraction per value, and little to keep across the two erfc calls (which clobber every
// vector register, so each live value costs a spill and a reload).
struct alignas(64) ShiftTerms {
  double a[kGridLanes], inv_sd[kGridLanes], sd[kGridLanes];
  double ns[kGridLanes], half_fwd[kGridLanes], half_strike[kGridLanes];
};

// The value of lane l at move (g, lg), floored at 0 (N(40) == 1 in double precision: d1 is
// clamped to +-40 as in bsm_value).
inline double grid_value(const ShiftTerms& t, int l, double g, double lg) {
  constexpr double kMaxD = 40.0;
  double d1 = lg * t.inv_sd[l] + t.a[l];
  d1 = d1 > kMaxD ? kMaxD : (d1 < -kMaxD ? -kMaxD : d1);
  const double x = g * t.half_fwd[l] * std::erfc(t.ns[l] * d1) -
                   t.half_strike[l] * std::erfc(t.ns[l] * (d1 - t.sd[l]));
  return x > 0.0 ? x : 0.0;
}

}  // namespace

// Series are taken kGridLanes at a time and vectorised across series: for one (vol shift, spot
// move) the lanes differ only in their precomputed terms, so each value costs two erfc, a
// multiply-add chain and no exp or log (the move enters as log(1 + m), computed once per grid).
// A full chunk stores each value straight into its row of `out` (strided); only the last,
// partial chunk goes through a lane buffer, so lanes past the end are never written.
void bsm_grid_block(const OptionArrays& o, const ScenarioGrid& grid, bool black76,
                    int64_t begin, int64_t end, double* out) {
  constexpr double kTiny = 1e-300;
  constexpr double kInvSqrt2 = 0.70710678118654752440;
  const int64_t n_moves = grid.n_moves, n_vols = grid.n_vols, n_sc = grid.n_scenarios();
  SeriesChunk c;
  ShiftTerms t;
  alignas(64) double value[kGridLanes];
  for (int64_t first = begin; first < end; first += kGridLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kGridLanes, end - first));
    load_chunk(o, black76, grid.horizon_years, first, count, c);
    double* rows = out + (first - begin) * n_sc;
    for (int64_t v = 0; v < n_vols; ++v) {
      const double shift = grid.vol_shifts[v];
#pragma omp simd
      for (int l = 0; l < kGridLanes; ++l) {
        const double sd = scenario_vol(c.vol[l], shift, grid.vol_relative) * c.sqrt_t[l];
        t.sd[l] = sd;
        t.inv_sd[l] = 1.0 / (sd > kTiny ? sd : kTiny);
        t.a[l] = c.log_fk[l] * t.inv_sd[l] + 0.5 * sd;
        t.ns[l] = -c.sign[l] * kInvSqrt2;
        t.half_fwd[l] = 0.5 * c.sign[l] * c.fwd[l];
        t.half_strike[l] = 0.5 * c.sign[l] * c.strike[l];
      }
      for (int64_t m = 0; m < n_moves; ++m) {
        // Recomputed per chunk (one log per 64 lanes x 2 erfc): no heap buffer in a per-ISA
        // kernel, whose out-of-line library code could be shared with another ISA's copy.
        const double g = std::fmax(1.0 + grid.spot_moves[m], 0.0);
        const double lg = std::log(std::fmax(g, kTiny));
        double* col = rows + m * n_vols + v;
        // One loop for both cases, so every lane of every chunk runs the same instructions
        // (two copies of the loop may be compiled differently: a series' bits would then
        // depend on whether it sits in the last chunk, i.e. on the row order).
        const bool full = count == kGridLanes;
        double* dst = full ? col : value;
        const int64_t stride = full ? n_sc : 1;
#pragma omp simd
        for (int l = 0; l < kGridLanes; ++l) dst[l * stride] = grid_value(t, l, g, lg);
        if (!full)
          for (int l = 0; l < count; ++l) col[l * n_sc] = value[l];
      }
    }
  }
}

PMFAST_ISA_END
}  // namespace pmfast

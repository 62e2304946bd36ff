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

// Chunk of a broadcast column materialised on the stack: a multiple of kGridLanes, so chunks
// of a task that starts on a lane boundary group options into the same lanes as the full
// columns would (bit-identical results), and small enough to stay in L1.
constexpr int64_t kBroadcastChunk = 1024;
static_assert(kBroadcastChunk % kGridLanes == 0, "broadcast chunks must keep the lane grouping");

namespace {
// Calls fn(view, first, count) over [b, e): view holds options [first, first + count) at
// indices 0..count-1, broadcast columns repeated from their one value.
template <class Fn>
void for_each_view(const OptionArrays& o, unsigned broadcast, int64_t b, int64_t e, Fn&& fn) {
  auto shift = [&](const OptionArrays& src, int64_t first, int64_t count) {
    OptionArrays v{src.right + first, src.S + first, src.K + first, src.T + first,
                   src.r + first, src.q + first, src.vol + first, count};
    return v;
  };
  if (broadcast == 0) {  // no copy at all
    fn(shift(o, b, e - b), b, e - b);
    return;
  }
  alignas(64) int8_t right[kBroadcastChunk];
  alignas(64) double cols[6][kBroadcastChunk];
  const double* const src[6] = {o.S, o.K, o.T, o.r, o.q, o.vol};
  const unsigned bits[6] = {kBroadcastS, kBroadcastK, kBroadcastT,
                            kBroadcastR, kBroadcastQ, kBroadcastVol};
  const int64_t width = std::min<int64_t>(kBroadcastChunk, e - b);
  if (broadcast & kBroadcastRight) std::fill(right, right + width, o.right[0]);
  for (int c = 0; c < 6; ++c)
    if (broadcast & bits[c]) std::fill(cols[c], cols[c] + width, src[c][0]);
  for (int64_t first = b; first < e; first += kBroadcastChunk) {
    const int64_t count = std::min<int64_t>(kBroadcastChunk, e - first);
    const double* p[6];
    for (int c = 0; c < 6; ++c) p[c] = (broadcast & bits[c]) ? cols[c] : src[c] + first;
    const OptionArrays v{(broadcast & kBroadcastRight) ? right : o.right + first,
                         p[0], p[1], p[2], p[3], p[4], p[5], count};
    fn(v, first, count);
  }
}
}  // namespace

void price_options(const OptionArrays& o, Model model, int steps, bool american, double* out,
                   int n_threads) {
  price_options(o, 0u, model, steps, american, out, n_threads);
}

void price_options(const OptionArrays& o, unsigned broadcast, Model model, int steps,
                   bool american, double* out, int n_threads) {
  check_model(model, steps);
  validate_options(o, broadcast);
  if (is_european_model(model)) {
    const PricingKernels& kern = pricing_kernels();
    static_assert((1 << 14) % kBroadcastChunk == 0, "tasks must start on a chunk boundary");
    parallel_for(o.n, n_threads, 1 << 14, [&](int64_t b, int64_t e) {
      for_each_view(o, broadcast, b, e, [&](const OptionArrays& v, int64_t first, int64_t n) {
        kern.bsm_block(v, model == Model::black76, 0, n, out + first);
      });
    });
    return;
  }
  parallel_for(o.n, n_threads, 256, [&](int64_t b, int64_t e) {
    for_each_view(o, broadcast, b, e, [&](const OptionArrays& v, int64_t first, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        out[first + i] =
            (model == Model::crr && !american)
                ? crr_value(v.right[i], v.S[i], v.K[i], v.T[i], v.r[i], v.q[i], v.vol[i], steps,
                            false)
                : american_value(model, steps, v.right[i], v.S[i], v.K[i], v.T[i], v.r[i],
                                 v.q[i], v.vol[i]);
      }
    });
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

// One European (BSM / Black-76) series under many joint scenarios (compiled with -ffast-math
// like every *_simd.cpp: inputs are validated and finite, and no infinity is ever formed).
// The spot's move enters as log(1 + return), computed once per underlying and scenario, so a
// valuation costs two erfc and at most two exp (one when rates do not move) instead of the
// generic kernel's exp, log and sqrt per option.
#include <cmath>

#include "pmfast_core/pricing/european.hpp"
#include "pmfast_core/pricing/pricing.hpp"
#include "pmfast_core/simulation/sim_kernels.hpp"

namespace pmfast {
namespace sim_detail {
PMFAST_ISA_BEGIN  // compiled once per instruction set (sim_kernels.hpp)

namespace {
// inline templates in an anonymous namespace: emitted locally under -fno-implicit-templates
template <bool kVol, bool kRate, bool kBlack76>
inline void kernel(const EuropeanSeries& e, const Shifted& x, int64_t n, double* __restrict out) {
  // local restrict pointers: without them the loop does not vectorise (possible aliasing)
  const double* __restrict ret = x.ret;
  const double* __restrict lg = x.log_growth;
  const double* __restrict dvol = x.dvol;
  const double* __restrict drate = x.drate;
  const double right = e.right, S = e.S, K = e.K, T = e.T, r0 = e.r, q0 = e.q, vol = e.vol;
  constexpr bool black76 = kBlack76;
  constexpr double kTiny = 1e-300;
  constexpr double kMaxD = 40.0;  // as bsm_value: N(40) == 1 in double precision
  const double sqrt_t = std::sqrt(T);
  const double log_sk = std::log((S + kTiny) / (K + kTiny));
  const double df_q = std::exp(-(black76 ? r0 : q0) * T), df_r = std::exp(-r0 * T);
  // Chunks of kChunk scenarios copied into aligned buffers, the last one padded by repeating
  // its last scenario, and every loop runs the full kChunk: each scenario is computed by the
  // same vector instructions wherever it sits (no remainder loop with scalar erfc), so the
  // figures do not depend on the scenarios' order. Rate-shifted discount factors come first:
  // with them inline the main loop ran ~4x slower (GCC 12).
  constexpr int64_t kChunk = 256;
  alignas(64) double b_ret[kChunk], b_lg[kChunk], b_dvol[kChunk], b_drate[kChunk],
      b_disc[kChunk], b_out[kChunk];
  for (int64_t k0 = 0; k0 < n; k0 += kChunk) {
    const int64_t len = n - k0 < kChunk ? n - k0 : kChunk;
    for (int64_t j = 0; j < kChunk; ++j) {
      const int64_t k = k0 + (j < len ? j : len - 1);
      b_ret[j] = ret[k];
      b_lg[j] = lg[k];
      b_dvol[j] = kVol ? dvol[k] : 0.0;
      b_drate[j] = kRate ? drate[k] : 0.0;
    }
    if (kRate) {
#pragma omp simd aligned(b_disc, b_drate : 64)
      for (int64_t j = 0; j < kChunk; ++j) b_disc[j] = std::exp(-(r0 + b_drate[j]) * T);
    }
#pragma omp simd aligned(b_ret, b_lg, b_dvol, b_drate, b_disc, b_out : 64)
    for (int64_t j = 0; j < kChunk; ++j) {
      const double r = kRate ? r0 + b_drate[j] : r0;
      const double q = black76 ? r : q0;
      double v = kVol ? vol * (1.0 + b_dvol[j]) : vol;
      v = v > kScenarioVolFloor ? v : kScenarioVolFloor;
      const double sd = v * sqrt_t;
      const double sd_safe = sd > kTiny ? sd : kTiny;
      const double disc_r = kRate ? b_disc[j] : df_r;
      const double fwd = S * (1.0 + b_ret[j]) * (black76 ? disc_r : df_q);
      const double disc = K * disc_r;
      double d1 = (log_sk + b_lg[j] + (r - q) * T) / sd_safe + 0.5 * sd;
      d1 = d1 > kMaxD ? kMaxD : (d1 < -kMaxD ? -kMaxD : d1);
      const double d2 = d1 - sd;
      const double value = right * (fwd * norm_cdf(right * d1) - disc * norm_cdf(right * d2));
      b_out[j] = value > 0.0 ? value : 0.0;
    }
    for (int64_t j = 0; j < len; ++j) out[k0 + j] = b_out[j];
  }
}
}  // namespace

template <bool kVol, bool kRate>
inline void dispatch(const EuropeanSeries& e, const Shifted& x, int64_t n, double* out) {
  if (e.black76)
    kernel<kVol, kRate, true>(e, x, n, out);
  else
    kernel<kVol, kRate, false>(e, x, n, out);
}

void european_scenarios(const EuropeanSeries& e, const Shifted& x, int64_t n, double* out) {
  if (x.dvol && x.drate) return dispatch<true, true>(e, x, n, out);
  if (x.dvol) return dispatch<true, false>(e, x, n, out);
  if (x.drate) return dispatch<false, true>(e, x, n, out);
  dispatch<false, false>(e, x, n, out);
}

PMFAST_ISA_END
}  // namespace sim_detail
}  // namespace pmfast

// Full revaluation of every series under every joint scenario (simulation.hpp). The pricing is
// the pricing/ kernels': bsm_block for European and Black-76 options, american_spots for the
// American engine (one early-exercise boundary per distinct (volatility, rate) of a series, so a
// set without volatility or rate shifts prices all its spots off a single boundary).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/european.hpp"
#include "pmfast_core/pricing/european_simd.hpp"
#include "pmfast_core/pricing/options.hpp"
#include "pmfast_core/pricing/pricing.hpp"
#include "pmfast_core/simulation/simulation.hpp"

namespace pmfast {

namespace {

constexpr int64_t kChunk = 256;  // scenarios per European kernel call (scratch stays in L1/L2)

// The scenario inputs of one series: spot, volatility and rate per scenario.
struct Shifted {
  const double* ret;
  const double* dvol;   // nullptr: no shift
  const double* drate;  // nullptr: no shift
  double spot(double S, int64_t k) const { return std::max(S * (1.0 + ret[k]), 0.0); }
  double vol(double v, int64_t k) const { return scenario_vol(v, dvol ? dvol[k] : 0.0, true); }
  double rate(double r, int64_t k) const { return drate ? r + drate[k] : r; }
};

double european_value(bool black76, double right, double S, double K, double T, double r,
                      double q, double vol) {
  return black76 ? black76_value(right, S, K, T, r, vol) : bsm_value(right, S, K, T, r, q, vol);
}

// European and Black-76: the scenarios of a chunk as an option batch for bsm_block.
void revalue_european(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc, double Tp,
                      double* values) {
  const bool black76 = static_cast<SimModel>(s.model[i]) == SimModel::black76;
  int8_t right[kChunk];
  double S[kChunk], K[kChunk], T[kChunk], r[kChunk], q[kChunk], vol[kChunk];
  std::fill(right, right + kChunk, s.right[i]);
  std::fill(K, K + kChunk, s.K[i]);
  std::fill(T, T + kChunk, Tp);
  std::fill(q, q + kChunk, s.q[i]);
  for (int64_t k0 = 0; k0 < n_sc; k0 += kChunk) {
    const int64_t len = std::min(kChunk, n_sc - k0);
    for (int64_t j = 0; j < len; ++j) {
      S[j] = x.spot(s.S[i], k0 + j);
      vol[j] = x.vol(s.vol[i], k0 + j);
      r[j] = x.rate(s.rate, k0 + j);
    }
    OptionArrays o{right, S, K, T, r, q, vol, len};
    bsm_block(o, black76, 0, len, values + k0);
  }
}

// American: scenarios sorted by (volatility, rate); each run of equal pairs shares a boundary.
void revalue_american(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc, double Tp,
                      double* values, std::vector<int64_t>& order, std::vector<double>& spots,
                      std::vector<double>& out) {
  const Model model = static_cast<Model>(s.american_model);
  order.resize(n_sc);
  std::iota(order.begin(), order.end(), int64_t{0});
  if (x.dvol || x.drate) {
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double va = x.vol(s.vol[i], a), vb = x.vol(s.vol[i], b);
      if (va != vb) return va < vb;
      const double ra = x.rate(s.rate, a), rb = x.rate(s.rate, b);
      if (ra != rb) return ra < rb;
      return a < b;
    });
  }
  spots.resize(n_sc);
  out.resize(n_sc);
  for (int64_t b = 0; b < n_sc;) {
    const double vol = x.vol(s.vol[i], order[b]), r = x.rate(s.rate, order[b]);
    int64_t e = b;
    while (e < n_sc && x.vol(s.vol[i], order[e]) == vol && x.rate(s.rate, order[e]) == r) {
      spots[e - b] = x.spot(s.S[i], order[e]);
      ++e;
    }
    american_spots(model, s.steps, s.right[i], spots.data(), e - b, s.K[i], Tp, r, s.q[i], vol,
                   out.data(), 1);
    for (int64_t j = b; j < e; ++j) values[order[j]] = out[j - b];
    b = e;
  }
}

void check_series(const SimSeries& s, int64_t n_underlyings) {
  for (int64_t i = 0; i < s.n; ++i) {
    const int m = s.model[i];
    if (m < 0 || m > 3) throw bad_value("model", i, m, "must be a SimModel code (0..3)");
    if (s.underlying[i] < 0 || s.underlying[i] >= n_underlyings)
      throw bad_value("underlying", i, s.underlying[i], "must index a scenario row");
  }
  if (!std::isfinite(s.rate)) throw InputError("rate must be finite");
}

}  // namespace

void simulation_revalue(const SimSeries& s, const SimScenarios& sc, double* pnl, double* value0,
                        int n_threads) {
  check_series(s, sc.n_underlyings);
  check_model(static_cast<Model>(s.american_model), s.steps);
  if (!std::isfinite(sc.horizon_years) || sc.horizon_years < 0)
    throw InputError("horizon must be finite and >= 0");
  const int64_t n_sc = sc.n_scenarios;
  // American series cost ~100x a European one: smaller blocks keep threads balanced and Ctrl-C
  // prompt. Blocks are fixed, each series is computed by the same code on any thread.
  parallel_for(s.n, n_threads, 16, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> order;
    std::vector<double> spots, out, values(std::max<int64_t>(n_sc, 1));
    for (int64_t i = begin; i < end; ++i) {
      const SimModel model = static_cast<SimModel>(s.model[i]);
      const int64_t u = s.underlying[i];
      const Shifted x{sc.returns + u * n_sc, sc.vol_shifts ? sc.vol_shifts + u * n_sc : nullptr,
                      sc.rate_shifts};
      double* row = pnl + i * n_sc;
      const double mult = s.multiplier[i];
      if (model == SimModel::linear) {
        value0[i] = s.S[i];
        for (int64_t k = 0; k < n_sc; ++k) row[k] = mult * (s.S[i] * x.ret[k]);
        continue;
      }
      const double vol0 = scenario_vol(s.vol[i], 0.0, true);
      const double Tp = std::max(s.T[i] - sc.horizon_years, 0.0);
      double v0;
      if (model == SimModel::american) {
        american_spots(static_cast<Model>(s.american_model), s.steps, s.right[i], &s.S[i], 1,
                       s.K[i], s.T[i], s.rate, s.q[i], vol0, &v0, 1);
        revalue_american(s, i, x, n_sc, Tp, values.data(), order, spots, out);
      } else {
        v0 = european_value(model == SimModel::black76, s.right[i], s.S[i], s.K[i], s.T[i],
                            s.rate, s.q[i], vol0);
        revalue_european(s, i, x, n_sc, Tp, values.data());
      }
      value0[i] = v0;
      for (int64_t k = 0; k < n_sc; ++k) row[k] = mult * (values[k] - v0);
    }
  });
}

}  // namespace pmfast

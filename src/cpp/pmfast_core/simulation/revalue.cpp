// Full revaluation of every series under every joint scenario (simulation.hpp). European and
// Black-76 options: european_scenarios, dispatched per instruction set (bsm_value's formula vectorised over scenarios);
// American options: the pricing core's american_spots (one early-exercise boundary per distinct
// (volatility, rate) of a series, so a set without volatility or rate shifts prices all its
// spots off a single boundary).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/european.hpp"
#include "pmfast_core/pricing/options.hpp"
#include "pmfast_core/simulation/revalue_detail.hpp"
#include "pmfast_core/simulation/sim_kernels.hpp"

namespace pmfast {
namespace sim_detail {

double value_today(const SimSeries& s, int64_t i) {
  const SimModel model = static_cast<SimModel>(s.model[i]);
  const double vol0 = scenario_vol(s.vol[i], 0.0, true);
  switch (model) {
    case SimModel::linear: return s.S[i];
    case SimModel::american: {
      double v0;
      american_spots(static_cast<Model>(s.american_model), s.steps, s.right[i], &s.S[i], 1,
                     s.K[i], s.T[i], s.rate, s.q[i], vol0, &v0, 1);
      return v0;
    }
    case SimModel::black76: return black76_value(s.right[i], s.S[i], s.K[i], s.T[i], s.rate, vol0);
    default: return bsm_value(s.right[i], s.S[i], s.K[i], s.T[i], s.rate, s.q[i], vol0);
  }
}

void european_values(const SimSeries& s, int64_t i, bool black76, const Shifted& x,
                     int64_t n_sc, double Tp, double* values) {
  const EuropeanSeries e{static_cast<double>(s.right[i]), s.S[i], s.K[i], Tp, s.rate, s.q[i],
                         s.vol[i], black76};
  sim_kernels().european_scenarios(e, x, n_sc, values);
}

std::vector<double> log_growth(const SimScenarios& sc) {
  std::vector<double> out(static_cast<size_t>(sc.n_underlyings * sc.n_scenarios));
  for (size_t j = 0; j < out.size(); ++j) out[j] = std::log1p(sc.returns[j]);
  return out;
}

namespace {
// American: scenarios sorted by (volatility, rate); each run of equal pairs shares a boundary.
void american_values(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc, double Tp,
                     double* values, Scratch& w) {
  const Model model = static_cast<Model>(s.american_model);
  w.order.resize(n_sc);
  std::iota(w.order.begin(), w.order.end(), int64_t{0});
  if (x.dvol || x.drate) {
    std::sort(w.order.begin(), w.order.end(), [&](int64_t a, int64_t b) {
      const double va = x.vol(s.vol[i], a), vb = x.vol(s.vol[i], b);
      if (va != vb) return va < vb;
      const double ra = x.rate(s.rate, a), rb = x.rate(s.rate, b);
      if (ra != rb) return ra < rb;
      return a < b;
    });
  }
  w.spots.resize(n_sc);
  w.out.resize(n_sc);
  for (int64_t b = 0; b < n_sc;) {
    const double vol = x.vol(s.vol[i], w.order[b]), r = x.rate(s.rate, w.order[b]);
    int64_t e = b;
    while (e < n_sc && x.vol(s.vol[i], w.order[e]) == vol && x.rate(s.rate, w.order[e]) == r) {
      w.spots[e - b] = x.spot(s.S[i], w.order[e]);
      ++e;
    }
    american_spots(model, s.steps, s.right[i], w.spots.data(), e - b, s.K[i], Tp, r, s.q[i],
                   vol, w.out.data(), 1);
    for (int64_t j = b; j < e; ++j) values[w.order[j]] = w.out[j - b];
    b = e;
  }
}
}  // namespace

void full_values(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc, double Tp,
                 double* values, Scratch& scratch) {
  const SimModel model = static_cast<SimModel>(s.model[i]);
  if (model == SimModel::american)
    american_values(s, i, x, n_sc, Tp, values, scratch);
  else
    european_values(s, i, model == SimModel::black76, x, n_sc, Tp, values);
}

namespace {
template <class T>
void write_row_as(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc,
                  const double* values, double v0, T* row) {
  const double mult = s.multiplier[i];
  if (static_cast<SimModel>(s.model[i]) == SimModel::linear) {
    for (int64_t k = 0; k < n_sc; ++k) row[k] = static_cast<T>(mult * (s.S[i] * x.ret[k]));
    return;
  }
  for (int64_t k = 0; k < n_sc; ++k) row[k] = static_cast<T>(mult * (values[k] - v0));
}
}  // namespace

void write_row(const SimSeries& s, int64_t i, const Shifted& x, int64_t n_sc,
               const double* values, double v0, const RiskRows& pnl) {
  if (pnl.f32)
    write_row_as(s, i, x, n_sc, values, v0, pnl.f32 + i * n_sc);
  else
    write_row_as(s, i, x, n_sc, values, v0, pnl.f64 + i * n_sc);
}

void check_inputs(const SimSeries& s, const SimScenarios& sc) {
  for (int64_t i = 0; i < s.n; ++i) {
    const int m = s.model[i];
    if (m < 0 || m > 3) throw bad_value("model", i, m, "must be a SimModel code (0..3)");
    if (s.underlying[i] < 0 || s.underlying[i] >= sc.n_underlyings)
      throw bad_value("underlying", i, s.underlying[i], "must index a scenario row");
  }
  if (!std::isfinite(s.rate)) throw InputError("rate must be finite");
  check_model(static_cast<Model>(s.american_model), s.steps);
  if (!std::isfinite(sc.horizon_years) || sc.horizon_years < 0)
    throw InputError("horizon must be finite and >= 0");
}

}  // namespace sim_detail

void simulation_revalue(const SimSeries& s, const SimScenarios& sc, const RiskRows& pnl,
                        double* value0, int n_threads) {
  using namespace sim_detail;
  check_inputs(s, sc);
  const int64_t n_sc = sc.n_scenarios;
  const std::vector<double> lg = log_growth(sc);
  // American series cost ~100x a European one: blocks of kSeriesPerBlock keep threads balanced
  // and Ctrl-C prompt (4 American series x 1,000 distinct-volatility scenarios ~ 30 ms).
  // Blocks are fixed and each series is computed by the same code on any thread.
  parallel_for(s.n, n_threads, kSeriesPerBlock, [&](int64_t begin, int64_t end) {
    Scratch scratch;
    scratch.values.resize(std::max<int64_t>(n_sc, 1));
    for (int64_t i = begin; i < end; ++i) {
      const Shifted x = shifted(sc, lg, s.underlying[i]);
      const double Tp = std::max(s.T[i] - sc.horizon_years, 0.0);
      value0[i] = value_today(s, i);
      if (static_cast<SimModel>(s.model[i]) != SimModel::linear)
        full_values(s, i, x, n_sc, Tp, scratch.values.data(), scratch);
      write_row(s, i, x, n_sc, scratch.values.data(), value0[i], pnl);
    }
  });
}

}  // namespace pmfast

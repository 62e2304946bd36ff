// Grid revaluation of American series (simulation.hpp, SimGrid). Error control: the table holds
// the early-exercise premium, not the value, so the part with the kink and the curvature of a
// short-dated option (the European value) is exact per scenario and only the smooth premium is
// interpolated; measured against full revaluation in docs/simulation-margin.md.
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/pricing/american.hpp"
#include "pmfast_core/pricing/european.hpp"
#include "pmfast_core/simulation/revalue_detail.hpp"

namespace pmfast {

namespace {

using sim_detail::Shifted;

// A uniform axis of n nodes from lo with step h.
struct Axis {
  double lo = 0.0, h = 1.0;
  int n = 1;
  double node(int j) const { return lo + h * j; }
  // Position of x in node units, clamped to the axis.
  double where(double x) const {
    if (n == 1) return 0.0;
    return std::min(std::max((x - lo) / h, 0.0), static_cast<double>(n - 1));
  }
  // The cell [c, c + 1] holding position t (c <= n - 2).
  int cell(double t) const { return n == 1 ? 0 : std::min(static_cast<int>(t), n - 2); }
  // Cubic Lagrange weights at position t of the 4 nodes from `start` (start in [0, n - 4]; t
  // may lie outside them: a stencil shifted off the exercise boundary extrapolates by < 1 cell).
  static void weights(double t, int start, double w[4]) {
    const double u = t - start;
    w[0] = -(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0;
    w[1] = u * (u - 2.0) * (u - 3.0) / 2.0;
    w[2] = -u * (u - 1.0) * (u - 3.0) / 2.0;
    w[3] = u * (u - 1.0) * (u - 2.0) / 6.0;
  }
  // Stencil starts that contain cell c, centred first (for n == 1: the single node).
  int starts(int c, int out[3]) const {
    if (n == 1) {
      out[0] = 0;
      return 1;
    }
    int k = 0;
    for (int d : {-1, 0, -2}) {
      const int st = c + d;
      if (st >= 0 && st <= n - 4) out[k++] = st;
    }
    return k;
  }
};

Axis make_axis(double lo, double hi, int n) {
  Axis a;
  if (!(hi > lo) || n < 4) {  // a single node: nothing moves along this axis
    a.lo = lo;
    return a;
  }
  a.lo = lo;
  a.n = n;
  a.h = (hi - lo) / (n - 1);
  return a;
}

struct Table {
  double right = 0, T = 0, q = 0;
  Axis x, vol;               // log-moneyness, volatility
  double r_lo = 0, r_h = 0;  // rate nodes r_lo (and r_lo + r_h when two)
  int n_rate = 1;
  std::vector<double> eep;   // [rate][vol][x]: American - European, unit strike
  std::vector<uint8_t> exercised;  // [rate][vol][x]: the node is in the exercise region
  // [rate][vol + 1][x + 1]: exercised nodes in [0, b) x [0, j) of a rate layer (a summed-area
  // table): premium() counts the exercised nodes of a box for every scenario, in O(1) per rate
  // layer instead of one load per node (the same integer counts as summing the flags)
  std::vector<int32_t> exercised_sum;

  // Where a query point sits: its cell in the continuation region (a stencil of continuation
  // nodes found), in the exercise region (every corner of its cell exercised: the exercise
  // region is x <= boundary(vol) for a put, >= for a call, so the whole cell is), or on the
  // boundary (the cell straddles it: the premium has a kink there, no polynomial fits).
  enum Region { kContinue = 0, kExercise = 1, kMixed = 2 };

  int64_t at(int rr, int b, int j) const {
    return (static_cast<int64_t>(rr) * vol.n + b) * this->x.n + j;
  }
  int64_t sum_at(int rr, int b, int j) const {
    return (static_cast<int64_t>(rr) * (vol.n + 1) + b) * (this->x.n + 1) + j;
  }
  void build_exercised_sum() {
    exercised_sum.assign(static_cast<size_t>(n_rate) * (vol.n + 1) * (this->x.n + 1), 0);
    for (int rr = 0; rr < n_rate; ++rr)
      for (int b = 0; b < vol.n; ++b)
        for (int j = 0; j < this->x.n; ++j)
          exercised_sum[sum_at(rr, b + 1, j + 1)] = exercised[at(rr, b, j)] +
              exercised_sum[sum_at(rr, b, j + 1)] + exercised_sum[sum_at(rr, b + 1, j)] -
              exercised_sum[sum_at(rr, b, j)];
  }
  // Exercised nodes in x0 <= j < x0 + nx, v0 <= b < v0 + nv, over every rate layer.
  int count_exercised(int x0, int nx, int v0, int nv) const {
    int n = 0;
    const int x1 = x0 + nx, v1 = v0 + nv;
    for (int rr = 0; rr < n_rate; ++rr)
      n += exercised_sum[sum_at(rr, v1, x1)] - exercised_sum[sum_at(rr, v0, x1)] -
           exercised_sum[sum_at(rr, v1, x0)] + exercised_sum[sum_at(rr, v0, x0)];
    return n;
  }

  double premium(double x, double v, double r, Region* region) const {
    const double tx = this->x.where(x), tv = vol.where(v);
    const int cx = this->x.cell(tx), cv = vol.cell(tv);
    const int nvw = vol.n == 1 ? 1 : 4, ncv = vol.n == 1 ? 1 : 2;
    const int in_cell = count_exercised(cx, 2, cv, ncv);
    if (in_cell == 2 * ncv * n_rate) {
      *region = kExercise;
      return 0.0;
    }
    if (in_cell > 0) {
      *region = kMixed;
      return 0.0;
    }
    // the most centred stencil of continuation nodes around the cell
    // (shifted along moneyness only: shifting along volatility too saved little time and
    // cost accuracy on the measured books)
    int sx[3], sv[3];
    const int kx = this->x.starts(cx, sx);
    vol.starts(cv, sv);
    const int kv = 1;
    int ix = -1, iv = -1;
    for (int a = 0; a < kx && ix < 0; ++a)
      for (int b = 0; b < kv; ++b)
        if (count_exercised(sx[a], 4, sv[b], nvw) == 0) {
          ix = sx[a];
          iv = sv[b];
          break;
        }
    if (ix < 0) {
      *region = kMixed;
      return 0.0;
    }
    *region = kContinue;
    double wx[4], wv[4] = {1.0, 0.0, 0.0, 0.0};
    Axis::weights(tx, ix, wx);
    if (vol.n > 1) Axis::weights(tv, iv, wv);
    double out = 0.0;
    for (int rr = 0; rr < n_rate; ++rr) {
      double wr = 1.0;
      if (n_rate == 2) {
        const double a = std::min(std::max((r - r_lo) / r_h, 0.0), 1.0);
        wr = rr == 0 ? 1.0 - a : a;
      }
      double sum = 0.0;
      for (int b = 0; b < nvw; ++b) {
        const double* row = eep.data() + at(rr, iv + b, ix);
        sum += wv[b] * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
      }
      out += wr * sum;
    }
    return out;
  }
};

// Nodes of an axis spanning `range`: at least n, more if the spacing would exceed max_step,
// at most max_n (the budget that bounds a table's cost).
int nodes(double range, int n, double max_step, int max_n) {
  const double want = max_step > 0.0 ? std::ceil(range / max_step) + 1.0 : 0.0;
  return static_cast<int>(std::min<double>(std::max<double>(n, want), std::max(max_n, n)));
}

void minmax(const double* a, int64_t n, double& lo, double& hi) {
  lo = hi = a[0];
  for (int64_t k = 1; k < n; ++k) {
    lo = std::min(lo, a[k]);
    hi = std::max(hi, a[k]);
  }
}

// Axes of every table from the ranges its members and their scenarios span.
std::vector<Table> plan_tables(const SimSeries& s, const SimScenarios& sc, const SimGrid& g) {
  const int64_t n_sc = sc.n_scenarios;
  std::vector<Table> tables(g.n_tables);
  std::vector<double> x_lo(g.n_tables, HUGE_VAL), x_hi(g.n_tables, -HUGE_VAL);
  std::vector<double> v_lo(g.n_tables, HUGE_VAL), v_hi(g.n_tables, -HUGE_VAL);
  std::vector<char> seen(g.n_tables, 0);
  double dr_lo = 0.0, dr_hi = 0.0;
  if (sc.rate_shifts) minmax(sc.rate_shifts, n_sc, dr_lo, dr_hi);
  // every axis also covers the unmoved point (the anchor below is taken there)
  dr_lo = std::min(dr_lo, 0.0);
  dr_hi = std::max(dr_hi, 0.0);
  for (int64_t i = 0; i < s.n; ++i) {
    const int32_t t = g.table[i];
    if (t < 0) continue;
    if (t >= g.n_tables) throw bad_value("table", i, t, "must be < n_tables");
    if (static_cast<SimModel>(s.model[i]) != SimModel::american)
      throw bad_value("table", i, t, "only American series are valued on a grid");
    const double* ret = sc.returns + static_cast<int64_t>(s.underlying[i]) * n_sc;
    const double* dvol = sc.vol_shifts ? sc.vol_shifts + static_cast<int64_t>(s.underlying[i]) * n_sc : nullptr;
    double r_lo, r_hi, d_lo = 0.0, d_hi = 0.0;
    minmax(ret, n_sc, r_lo, r_hi);
    if (dvol) minmax(dvol, n_sc, d_lo, d_hi);
    r_lo = std::min(r_lo, 0.0);
    r_hi = std::max(r_hi, 0.0);
    d_lo = std::min(d_lo, 0.0);
    d_hi = std::max(d_hi, 0.0);
    const double S = s.S[i], K = s.K[i];
    Table& tab = tables[t];
    if (!seen[t]) {
      seen[t] = 1;
      tab.right = s.right[i];
      tab.T = std::max(s.T[i] - sc.horizon_years, 0.0);
      tab.q = s.q[i];
    } else if (tab.right != s.right[i] || tab.q != s.q[i] ||
               tab.T != std::max(s.T[i] - sc.horizon_years, 0.0)) {
      throw bad_value("table", i, t, "members of a table must share right, expiry and yield");
    }
    if (!(S > 0.0) || !(K > 0.0) || !(tab.T > 0.0))
      throw bad_value("table", i, t, "grid series need S > 0, K > 0 and T' > 0");
    x_lo[t] = std::min(x_lo[t], std::log(S * (1.0 + r_lo) / K));
    x_hi[t] = std::max(x_hi[t], std::log(S * (1.0 + r_hi) / K));
    v_lo[t] = std::min(v_lo[t], scenario_vol(s.vol[i], d_lo, true));
    v_hi[t] = std::max(v_hi[t], scenario_vol(s.vol[i], d_hi, true));
  }
  for (int64_t t = 0; t < g.n_tables; ++t) {
    if (!seen[t]) continue;
    Table& tab = tables[t];
    // a table whose members never move in moneyness still needs 4 nodes around its point
    const double pad = 1e-6 + 1e-9 * (x_hi[t] - x_lo[t]);
    tab.x = make_axis(x_lo[t] - pad, x_hi[t] + pad,
                      nodes(x_hi[t] - x_lo[t] + 2 * pad, g.n_spot, g.max_dx, g.max_spot));
    tab.vol = make_axis(v_lo[t], v_hi[t], nodes(v_hi[t] - v_lo[t], g.n_vol, g.max_dvol, g.max_vol));
    tab.r_lo = s.rate + dr_lo;
    tab.n_rate = dr_hi > dr_lo ? 2 : 1;
    tab.r_h = dr_hi - dr_lo;
  }
  return tables;
}

// A unit-strike node whose value is within this of its exercise value is in the exercise region.
constexpr double kExerciseTol = 1e-12;

void fill_table(const SimSeries& s, Table& tab) {
  const Model model = static_cast<Model>(s.american_model);
  const int nx = tab.x.n;
  std::vector<double> spots(nx), vals(nx);
  for (int j = 0; j < nx; ++j) spots[j] = std::exp(tab.x.node(j));
  tab.eep.resize(static_cast<size_t>(tab.n_rate) * tab.vol.n * nx);
  tab.exercised.resize(tab.eep.size());
  for (int rr = 0; rr < tab.n_rate; ++rr) {
    const double r = tab.r_lo + rr * tab.r_h;
    for (int b = 0; b < tab.vol.n; ++b) {
      const double vol = tab.vol.node(b);
      american_spots(model, s.steps, tab.right, spots.data(), nx, 1.0, tab.T, r, tab.q, vol,
                     vals.data(), 1);
      const int64_t at = (static_cast<int64_t>(rr) * tab.vol.n + b) * nx;
      for (int j = 0; j < nx; ++j) {
        const double exercise = std::max(tab.right * (spots[j] - 1.0), 0.0);
        tab.exercised[at + j] = exercise > 0.0 && vals[j] - exercise <= kExerciseTol;
        tab.eep[at + j] = vals[j] - bsm_value(tab.right, spots[j], 1.0, tab.T, r, tab.q, vol);
      }
    }
  }
  tab.build_exercised_sum();
}

}  // namespace

void simulation_revalue_grid(const SimSeries& s, const SimScenarios& sc, const SimGrid& g,
                             const RiskRows& pnl, double* value0, int n_threads) {
  using namespace sim_detail;
  check_inputs(s, sc);
  if (g.n_spot < 4 || g.n_vol < 4) throw InputError("grid needs n_spot >= 4 and n_vol >= 4");
  const int64_t n_sc = sc.n_scenarios;
  std::vector<Table> tables = plan_tables(s, sc, g);
  const std::vector<double> lg = log_growth(sc);
  parallel_for(g.n_tables, n_threads, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t)
      if (tables[t].T > 0.0) fill_table(s, tables[t]);
  });
  parallel_for(s.n, n_threads, kSeriesPerBlock, [&](int64_t begin, int64_t end) {
    Scratch scratch;
    scratch.values.resize(std::max<int64_t>(n_sc, 1));
    double* values = scratch.values.data();
    for (int64_t i = begin; i < end; ++i) {
      const Shifted x = shifted(sc, lg, s.underlying[i]);
      const double Tp = std::max(s.T[i] - sc.horizon_years, 0.0);
      value0[i] = value_today(s, i);
      const int32_t t = g.table[i];
      if (t < 0) {
        if (static_cast<SimModel>(s.model[i]) != SimModel::linear)
          full_values(s, i, x, n_sc, Tp, values, scratch);
      } else {
        const Table& tab = tables[t];
        european_values(s, i, false, x, n_sc, Tp, values);
        const double K = s.K[i], log_sk = std::log(s.S[i] / K);
        // Anchor: the interpolated premium at the unmoved point (spot, volatility and rate of
        // today, time T') is corrected to the exact one, so a scenario's error is the change
        // of the interpolation error from there (smooth, mostly cancelling), not its level.
        const double vol0 = scenario_vol(s.vol[i], 0.0, true);
        double exact;
        american_spots(static_cast<Model>(s.american_model), s.steps, s.right[i], &s.S[i], 1, K,
                       Tp, s.rate, s.q[i], vol0, &exact, 1);
        // (only where the stencil there is smooth: a mixed one's error says nothing about
        // its neighbours')
        Table::Region at_zero;
        const double eep0 = tab.premium(log_sk, vol0, s.rate, &at_zero);
        const double bias = at_zero != Table::kContinue ? 0.0 :
            K * eep0 - (exact - bsm_value(s.right[i], s.S[i], K, Tp, s.rate, s.q[i], vol0));
        for (int64_t k = 0; k < n_sc; ++k) {
          const double S1 = x.spot(s.S[i], k), vol = x.vol(s.vol[i], k), r = x.rate(s.rate, k);
          Table::Region region;
          const double eep = tab.premium(log_sk + x.log_growth[k], vol, r, &region);
          const double exercise = tab.right * (S1 - K);
          if (region == Table::kExercise) {          // deep in the money: exercise now
            values[k] = exercise;
          } else if (region == Table::kMixed) {      // the boundary crosses the point's cell
            american_spots(static_cast<Model>(s.american_model), s.steps, s.right[i], &S1, 1, K,
                           Tp, r, s.q[i], vol, &values[k], 1);
          } else {  // never below exercise value: clips any undershoot of the interpolation
            values[k] = std::max(values[k] - bias + K * eep, exercise);
          }
        }
      }
      write_row(s, i, x, n_sc, values, value0[i], pnl);
    }
  });
}

}  // namespace pmfast

// Revised primal simplex with an explicit dense basis inverse (see regt_lp.hpp for why).
// Dantzig pricing, switching to Bland's rule after a run of degenerate pivots (no cycling);
// the inverse is rebuilt from scratch every kRefactor pivots so round-off cannot accumulate.
#include "pmfast_core/regt/regt_lp.hpp"

#include <algorithm>
#include <cmath>

#include "pmfast_core/common/interrupt.hpp"

namespace pmfast {

namespace {

constexpr double kCostTol = 1e-10;  // reduced-cost tolerance (objective normalised to max 1)
constexpr double kPivTol = 1e-9;    // smallest pivot element
constexpr int kRefactor = 100;      // pivots between rebuilds of the basis inverse
constexpr int kInterruptEvery = 64; // pivots between Ctrl-C checks

struct Problem {
  const SparseCols& P;
  const std::vector<int>& extra_of;  // per structural column: its bound row - m, or -1
  int m, n, R;
  // Entries of variable j (structural or slack) as (row, value) pairs through f.
  template <class F>
  void column(int j, F&& f) const {
    if (j >= n) {
      f(j - n, 1.0);
      return;
    }
    for (int k = 4 * j; k < 4 * j + 4; ++k)
      if (P.row[k] >= 0) f(P.row[k], P.val[k]);
    if (extra_of[j] >= 0) f(m + extra_of[j], 1.0);
  }
};

// Rebuilds binv = B^-1 by Gauss-Jordan elimination with partial pivoting; false if singular.
bool refactor(const Problem& Q, LpWorkspace& ws, std::vector<double>& scratch) {
  const int R = Q.R;
  scratch.assign(static_cast<size_t>(R) * 2 * R, 0.0);  // [B | I]
  auto at = [&](int r, int j) -> double& { return scratch[static_cast<size_t>(r) * 2 * R + j]; };
  for (int k = 0; k < R; ++k) {
    Q.column(ws.basis[k], [&](int r, double v) { at(r, k) = v; });
    at(k, R + k) = 1.0;
  }
  for (int k = 0; k < R; ++k) {
    int p = k;
    for (int r = k + 1; r < R; ++r)
      if (std::fabs(at(r, k)) > std::fabs(at(p, k))) p = r;
    if (std::fabs(at(p, k)) < 1e-12) return false;
    if (p != k)
      for (int j = 0; j < 2 * R; ++j) std::swap(at(p, j), at(k, j));
    const double inv = 1.0 / at(k, k);
    for (int j = 0; j < 2 * R; ++j) at(k, j) *= inv;
    for (int r = 0; r < R; ++r) {
      if (r == k) continue;
      const double f = at(r, k);
      if (f == 0.0) continue;
      for (int j = 0; j < 2 * R; ++j) at(r, j) -= f * at(k, j);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < R; ++j) ws.binv[static_cast<size_t>(r) * R + j] = at(r, R + j);
  return true;
}

}  // namespace

LpStatus lp_max(const SparseCols& P, const double* b, const double* c,
                const std::vector<int>& extra_col, const std::vector<double>& extra_u,
                LpWorkspace& ws, double* y_out, double& value, int64_t& work,
                int64_t work_limit) {
  const int m = P.m, n = P.n;
  const int E = static_cast<int>(extra_col.size());
  const int R = m + E;
  ws.extra_of.assign(n, -1);
  for (int e = 0; e < E; ++e) ws.extra_of[extra_col[e]] = e;
  const Problem Q{P, ws.extra_of, m, n, R};
  auto& binv = ws.binv;
  binv.assign(static_cast<size_t>(R) * R, 0.0);
  ws.basis.resize(R);
  ws.xb.resize(R);
  ws.is_basic.assign(n + R, 0);
  std::vector<double> rhs(R);
  for (int r = 0; r < R; ++r) {
    binv[static_cast<size_t>(r) * R + r] = 1.0;
    ws.basis[r] = n + r;
    ws.is_basic[n + r] = 1;
    rhs[r] = r < m ? std::max(b[r], 0.0) : std::max(extra_u[r - m], 0.0);
    ws.xb[r] = rhs[r];
  }
  auto cost = [&](int j) { return j < n ? c[j] : 0.0; };
  auto& y = ws.y;       // duals: y = c_B B^-1
  auto& alpha = ws.alpha;
  y.assign(R, 0.0);
  alpha.resize(R);
  std::vector<double> scratch;

  bool bland = false;
  int degenerate = 0, since_refactor = 0;
  const int max_iter = 1000 + 50 * (R + n);
  for (int iter = 0; iter < max_iter; ++iter) {
    if (iter % kInterruptEvery == kInterruptEvery - 1) check_interrupt();
    if (work > work_limit) return LpStatus::budget;
    if (since_refactor >= kRefactor) {
      if (!refactor(Q, ws, scratch)) return LpStatus::failed;
      since_refactor = 0;
      for (int r = 0; r < R; ++r) {  // x_B = B^-1 rhs, y = c_B B^-1
        double v = 0.0;
        for (int j = 0; j < R; ++j) v += binv[static_cast<size_t>(r) * R + j] * rhs[j];
        ws.xb[r] = std::max(v, 0.0);
      }
      std::fill(y.begin(), y.end(), 0.0);
      for (int r = 0; r < R; ++r) {
        const double cr = cost(ws.basis[r]);
        if (cr == 0.0) continue;
        for (int j = 0; j < R; ++j) y[j] += cr * binv[static_cast<size_t>(r) * R + j];
      }
      work += 3LL * R * R * R;
    }
    // pricing: reduced cost d_j = c_j - y.a_j of every nonbasic variable
    int e = -1;
    double best = kCostTol;
    for (int j = 0; j < n + R; ++j) {
      if (ws.is_basic[j]) continue;
      double d = cost(j);
      Q.column(j, [&](int r, double v) { d -= y[r] * v; });
      if (d > best) {
        e = j;
        if (bland) break;
        best = d;
      }
    }
    work += 5LL * (n + R);
    if (e < 0) {
      std::fill(y_out, y_out + n, 0.0);
      value = 0.0;
      for (int r = 0; r < R; ++r) {
        if (ws.basis[r] < n) y_out[ws.basis[r]] = ws.xb[r];
        value += cost(ws.basis[r]) * ws.xb[r];
      }
      return LpStatus::optimal;
    }
    // entering column in the current basis: alpha = B^-1 a_e
    std::fill(alpha.begin(), alpha.end(), 0.0);
    Q.column(e, [&](int k, double v) {
      for (int r = 0; r < R; ++r) alpha[r] += binv[static_cast<size_t>(r) * R + k] * v;
    });
    int leave = -1;
    double ratio = 1e300;
    for (int r = 0; r < R; ++r) {
      const double a = alpha[r];
      if (a <= kPivTol) continue;
      const double q = ws.xb[r] / a;
      if (leave < 0 || q < ratio - 1e-12 * (1.0 + ratio) ||
          (q <= ratio + 1e-12 * (1.0 + ratio) && ws.basis[r] < ws.basis[leave])) {
        leave = r;
        ratio = std::min(q, ratio);
      }
    }
    if (leave < 0) return LpStatus::failed;  // unbounded: impossible for packing columns
    degenerate = ratio <= 1e-12 ? degenerate + 1 : 0;
    if (degenerate > 20) bland = true;
    // update x_B, the inverse (row operations) and the duals
    const double theta = ws.xb[leave] / alpha[leave];
    for (int r = 0; r < R; ++r) ws.xb[r] = std::max(ws.xb[r] - theta * alpha[r], 0.0);
    ws.xb[leave] = theta;
    double* lrow = &binv[static_cast<size_t>(leave) * R];
    const double inv = 1.0 / alpha[leave];
    for (int j = 0; j < R; ++j) lrow[j] *= inv;
    int touched = 0;
    for (int r = 0; r < R; ++r) {
      if (r == leave || alpha[r] == 0.0) continue;
      const double f = alpha[r];
      double* row = &binv[static_cast<size_t>(r) * R];
      for (int j = 0; j < R; ++j) row[j] -= f * lrow[j];
      ++touched;
    }
    double d_e = cost(e);  // reduced cost of e before the pivot
    Q.column(e, [&](int r, double v) { d_e -= y[r] * v; });
    for (int j = 0; j < R; ++j) y[j] += d_e * lrow[j];
    work += static_cast<int64_t>(touched + 4) * R + 8LL * R;
    ws.is_basic[ws.basis[leave]] = 0;
    ws.is_basic[e] = 1;
    ws.basis[leave] = e;
    ++since_refactor;
  }
  return LpStatus::failed;
}

}  // namespace pmfast

// Exact solution of the per-group packing program by LP-based branch and bound.
//
// Why this is exact (docs/strategy-margin.md has the long form): every node's LP relaxation
// (a dense primal simplex; the origin is always feasible because all coefficients and
// capacities are >= 0) bounds the best integer saving below that node from above. A node is
// discarded only when that bound cannot beat the incumbent by more than a tolerance of 1e-7 of
// the largest per-unit saving, and an integral LP optimum is accepted only after re-checking
// feasibility. Branching on x_t <= floor(v) / x_t >= ceil(v) partitions the integer points, so
// the search visits every region that could hold a better solution.
// The problem is first split into connected components (items linked by some template), which
// are independent.
#include "pmfast_core/regt/regt_packing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pmfast {

namespace {

constexpr double kNoBound = 1e300;
constexpr double kIntTol = 1e-6;   // distance to an integer that counts as integral
constexpr double kFitTol = 1e-9;   // slack allowed when testing that units fit
constexpr double kCostTol = 1e-10; // reduced-cost tolerance (objective normalised to max 1)
constexpr double kPivTol = 1e-9;   // smallest pivot element

int find_root(std::vector<int>& parent, int i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

// A dense component: m rows x n columns (row-major A), capacities b, savings s.
struct Dense {
  int m, n;
  const double* A;
  const double* b;
  const double* s;
  const char* hyper;  // column has 3+ legs (branch on these first)
  double a(int r, int t) const { return A[static_cast<size_t>(r) * n + t]; }
};

// Units of column t that fit in resid.
double fit(const Dense& P, int t, const double* resid) {
  double k = kNoBound;
  for (int r = 0; r < P.m; ++r) {
    const double a = P.a(r, t);
    if (a > 0.0) k = std::min(k, std::floor((resid[r] + kFitTol) / a));
  }
  return std::max(k, 0.0);
}

void take(const Dense& P, int t, double k, double* x, double* resid) {
  x[t] += k;
  for (int r = 0; r < P.m; ++r) resid[r] -= k * P.a(r, t);
}

// Fill x greedily in `order` within resid and the upper bounds hi (nullptr: none).
void greedy_fill(const Dense& P, const int* order, const double* hi, double* x, double* resid) {
  for (int i = 0; i < P.n; ++i) {
    const int t = order[i];
    double k = fit(P, t, resid);
    if (hi) k = std::min(k, hi[t] - x[t]);
    if (k >= 1.0) take(P, t, k, x, resid);
  }
}

double objective(const Dense& P, const double* x) {
  double v = 0.0;
  for (int t = 0; t < P.n; ++t) v += P.s[t] * x[t];
  return v;
}

// maximise c.y subject to A y <= b (m rows), y_t <= u_t for the listed extra bounds, y >= 0,
// with b >= 0 and u >= 0 so the slack basis is feasible. Dense tableau, Dantzig pricing with a
// switch to Bland's rule after a run of degenerate pivots (no cycling). Returns false only if
// the iteration limit is hit.
bool lp_max(const Dense& P, const double* b, const double* c, const std::vector<int>& extra_col,
            const std::vector<double>& extra_u, PackingWorkspace& ws, double* y, double& value) {
  const int m = P.m, n = P.n;
  const int R = m + static_cast<int>(extra_col.size());
  const int C = n + R + 1;  // structurals, slacks, rhs
  auto& T = ws.tableau;
  T.assign(static_cast<size_t>(R + 1) * C, 0.0);
  auto at = [&](int r, int j) -> double& { return T[static_cast<size_t>(r) * C + j]; };
  ws.basis.resize(R);
  for (int r = 0; r < m; ++r) {
    for (int t = 0; t < n; ++t) at(r, t) = P.a(r, t);
    at(r, n + r) = 1.0;
    at(r, C - 1) = std::max(b[r], 0.0);
    ws.basis[r] = n + r;
  }
  for (int e = 0; e < static_cast<int>(extra_col.size()); ++e) {
    const int r = m + e;
    at(r, extra_col[e]) = 1.0;
    at(r, n + r) = 1.0;
    at(r, C - 1) = std::max(extra_u[e], 0.0);
    ws.basis[r] = n + r;
  }
  for (int t = 0; t < n; ++t) at(R, t) = -c[t];

  bool bland = false;
  int degenerate = 0;
  const int max_iter = 1000 + 50 * (R + C);
  for (int iter = 0; iter < max_iter; ++iter) {
    int e = -1;
    double best = -kCostTol;
    for (int j = 0; j < C - 1; ++j) {
      if (at(R, j) < best) {
        e = j;
        if (bland) break;
        best = at(R, j);
      }
    }
    if (e < 0) {
      std::fill(y, y + n, 0.0);
      for (int r = 0; r < R; ++r)
        if (ws.basis[r] < n) y[ws.basis[r]] = at(r, C - 1);
      value = at(R, C - 1);
      return true;
    }
    int leave = -1;
    double ratio = kNoBound;
    for (int r = 0; r < R; ++r) {
      const double a = at(r, e);
      if (a <= kPivTol) continue;
      const double q = at(r, C - 1) / a;
      if (leave < 0 || q < ratio - 1e-12 * (1.0 + ratio) ||
          (q <= ratio + 1e-12 * (1.0 + ratio) && ws.basis[r] < ws.basis[leave])) {
        leave = r;
        ratio = std::min(q, ratio);
      }
    }
    if (leave < 0) return false;  // unbounded: impossible for packing columns with a > 0
    degenerate = ratio <= 1e-12 ? degenerate + 1 : 0;
    if (degenerate > 20) bland = true;
    const double pivot = at(leave, e);
    for (int j = 0; j < C; ++j) at(leave, j) /= pivot;
    for (int r = 0; r <= R; ++r) {
      if (r == leave) continue;
      const double f = at(r, e);
      if (f == 0.0) continue;
      for (int j = 0; j < C; ++j) at(r, j) -= f * at(leave, j);
      at(r, e) = 0.0;
    }
    for (int r = 0; r < R; ++r)  // keep the basis primal feasible against round-off
      if (at(r, C - 1) < 0.0) at(r, C - 1) = 0.0;
    ws.basis[leave] = e;
  }
  return false;
}

// Branch and bound on one dense component. x (length n) receives the best solution.
bool branch_and_bound(const Dense& P, int64_t max_nodes, PackingWorkspace& ws, double* x) {
  const int n = P.n, m = P.m;
  double smax = 0.0;
  for (int t = 0; t < n; ++t) smax = std::max(smax, P.s[t]);
  const double tol = 1e-7 * smax;
  auto& c = ws.c;
  c.resize(n);
  for (int t = 0; t < n; ++t) c[t] = P.s[t] / smax;

  // order of the greedy heuristic: saving per unit, then column index
  ws.order.resize(n);
  std::iota(ws.order.begin(), ws.order.end(), 0);
  std::stable_sort(ws.order.begin(), ws.order.end(),
                   [&](int a, int b) { return P.s[a] > P.s[b]; });

  // incumbent: the greedy solution
  ws.best.assign(n, 0.0);
  ws.resid.assign(P.b, P.b + m);
  greedy_fill(P, ws.order.data(), nullptr, ws.best.data(), ws.resid.data());
  double incumbent = objective(P, ws.best.data());

  // node stack: lo[n], hi[n] per node
  auto& stack = ws.bounds;
  stack.clear();
  stack.resize(2 * n);
  std::fill(stack.begin(), stack.begin() + n, 0.0);
  std::fill(stack.begin() + n, stack.end(), kNoBound);

  auto &lo = ws.lo, &hi = ws.hi, &y = ws.y, &xf = ws.xf, &bnode = ws.bnode;
  auto &extra_u = ws.extra_u;
  auto &extra_col = ws.extra_col;
  lo.resize(n);
  hi.resize(n);
  y.resize(n);
  xf.resize(n);
  bnode.resize(m);
  int64_t nodes = 0;
  bool proven = true;
  while (!stack.empty()) {
    if (++nodes > max_nodes) {
      proven = false;
      break;
    }
    const size_t top = stack.size() - 2 * n;
    std::copy(stack.begin() + top, stack.begin() + top + n, lo.begin());
    std::copy(stack.begin() + top + n, stack.end(), hi.begin());
    stack.resize(top);

    // shift to y = x - lo and check the node is feasible
    bool feasible = true;
    for (int r = 0; r < m; ++r) {
      double v = P.b[r];
      for (int t = 0; t < n; ++t) v -= P.a(r, t) * lo[t];
      if (v < -kFitTol) feasible = false;
      bnode[r] = std::max(v, 0.0);
    }
    if (!feasible) continue;
    extra_col.clear();
    extra_u.clear();
    for (int t = 0; t < n; ++t) {
      if (hi[t] >= kNoBound) continue;
      const double room = hi[t] - lo[t];
      if (room < 0.0) {
        feasible = false;
        break;
      }
      extra_col.push_back(t);  // a branching bound is a row of the node's LP
      extra_u.push_back(room);
    }
    if (!feasible) continue;
    double lp_value;
    if (!lp_max(P, bnode.data(), c.data(), extra_col, extra_u, ws, y.data(), lp_value)) {
      proven = false;  // never seen; keep searching the rest but do not claim optimality
      continue;
    }
    const double bound = objective(P, lo.data()) + smax * lp_value;
    if (bound <= incumbent + tol) continue;

    // Branch on a multi-leg template first: once those are integral the two-leg part is a
    // bipartite b-matching whose LP vertices are integral, so two-leg columns rarely need it.
    int branch = -1;
    for (int pass = 0; pass < 2 && branch < 0; ++pass) {
      double most = kIntTol;
      for (int t = 0; t < n; ++t) {
        if (pass == 0 && !P.hyper[t]) continue;
        const double v = lo[t] + y[t];
        const double frac = std::fabs(v - std::round(v));
        if (frac > most) {
          most = frac;
          branch = t;
        }
      }
    }
    // heuristic: round the LP point down (feasible: A >= 0), then fill greedily
    for (int t = 0; t < n; ++t) xf[t] = lo[t] + std::floor(y[t] + kIntTol);
    ws.resid.assign(P.b, P.b + m);
    bool fits = true;
    for (int r = 0; r < m; ++r) {
      for (int t = 0; t < n; ++t) ws.resid[r] -= P.a(r, t) * xf[t];
      if (ws.resid[r] < -kFitTol) fits = false;
    }
    if (fits) {
      greedy_fill(P, ws.order.data(), hi.data(), xf.data(), ws.resid.data());
      const double v = objective(P, xf.data());
      if (v > incumbent + 1e-12 * smax) {
        incumbent = v;
        std::copy(xf.begin(), xf.end(), ws.best.begin());
      }
    }
    if (branch < 0) continue;  // integral LP optimum: the rounding above is that point
    const double v = lo[branch] + y[branch];
    // push "down" first so "up" (x >= ceil) is explored first
    const size_t base = stack.size();
    stack.resize(base + 4 * n);
    std::copy(lo.begin(), lo.end(), stack.begin() + base);
    std::copy(hi.begin(), hi.end(), stack.begin() + base + n);
    stack[base + n + branch] = std::floor(v);
    std::copy(lo.begin(), lo.end(), stack.begin() + base + 2 * n);
    std::copy(hi.begin(), hi.end(), stack.begin() + base + 3 * n);
    stack[base + 2 * n + branch] = std::ceil(v);
  }
  std::copy(ws.best.begin(), ws.best.end(), x);
  return proven;
}

// Splits the problem into connected components and calls solve(component, x_of_component).
template <class Solve>
bool for_each_component(const std::vector<RegtItem>& items,
                        const std::vector<RegtColumn>& columns, PackingWorkspace& ws,
                        std::vector<double>& x, Solve&& solve) {
  const int n_items = static_cast<int>(items.size());
  const int n_cols = static_cast<int>(columns.size());
  x.assign(n_cols, 0.0);
  auto& parent = ws.parent;
  parent.resize(n_items);
  std::iota(parent.begin(), parent.end(), 0);
  for (const auto& col : columns)
    for (int k = 1; k < col.n_legs; ++k) {
      const int a = find_root(parent, col.item[0]), b = find_root(parent, col.item[k]);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  bool proven = true;
  auto& done = ws.done;
  done.assign(n_cols, 0);
  for (int first = 0; first < n_cols; ++first) {
    if (done[first]) continue;
    const int root = find_root(parent, columns[first].item[0]);
    ws.comp_cols.clear();
    for (int t = first; t < n_cols; ++t)
      if (!done[t] && find_root(parent, columns[t].item[0]) == root) {
        ws.comp_cols.push_back(t);
        done[t] = 1;
      }
    ws.comp_rows.clear();
    ws.row_local.assign(n_items, -1);
    for (int i = 0; i < n_items; ++i)
      if (find_root(parent, i) == root) {
        ws.row_local[i] = static_cast<int>(ws.comp_rows.size());
        ws.comp_rows.push_back(i);
      }
    const int m = static_cast<int>(ws.comp_rows.size());
    const int n = static_cast<int>(ws.comp_cols.size());
    ws.A.assign(static_cast<size_t>(m) * n, 0.0);
    ws.b.resize(m);
    ws.s.resize(n);
    for (int r = 0; r < m; ++r) ws.b[r] = items[ws.comp_rows[r]].cap;
    for (int t = 0; t < n; ++t) {
      const RegtColumn& col = columns[ws.comp_cols[t]];
      ws.s[t] = col.saving;
      for (int k = 0; k < col.n_legs; ++k)
        ws.A[static_cast<size_t>(ws.row_local[col.item[k]]) * n + t] += col.ratio[k];
    }
    // A row whose every use has the same ratio r (stock: M shares per contract) holds
    // floor(cap / r) whole uses: rescaling it to ratio 1 is exact for integers and makes the
    // LP tighter (the two-leg part becomes a 0/1 bipartite incidence matrix).
    for (int r = 0; r < m; ++r) {
      double ratio = 0.0;
      bool single = true;
      for (int t = 0; t < n && single; ++t) {
        const double a = ws.A[static_cast<size_t>(r) * n + t];
        if (a == 0.0) continue;
        if (ratio == 0.0) ratio = a;
        single = a == ratio;
      }
      if (!single || ratio <= 1.0) continue;
      ws.b[r] = std::floor((ws.b[r] + kFitTol) / ratio);
      for (int t = 0; t < n; ++t)
        if (ws.A[static_cast<size_t>(r) * n + t] != 0.0) ws.A[static_cast<size_t>(r) * n + t] = 1.0;
    }
    ws.hyper.resize(n);
    for (int t = 0; t < n; ++t) ws.hyper[t] = columns[ws.comp_cols[t]].n_legs >= 3;
    ws.x.assign(n, 0.0);
    const Dense P{m, n, ws.A.data(), ws.b.data(), ws.s.data(), ws.hyper.data()};
    proven = solve(P, ws.x.data()) && proven;
    for (int t = 0; t < n; ++t) x[ws.comp_cols[t]] = ws.x[t];
  }
  return proven;
}

// Best saving of a packing of `cand` columns into the legs of `target` (tiny: <= 4 legs).
void best_split(const std::vector<RegtColumn>& cols, const std::vector<int>& cand, size_t i,
                const RegtColumn& target, double* room, double saving, double& best) {
  best = std::max(best, saving);
  for (size_t k = i; k < cand.size(); ++k) {
    const RegtColumn& c = cols[cand[k]];
    bool fits = true;
    for (int l = 0; l < c.n_legs && fits; ++l) {
      int j = 0;
      while (target.item[j] != c.item[l]) ++j;
      fits = room[j] + kFitTol >= c.ratio[l];
    }
    if (!fits) continue;
    for (int l = 0; l < c.n_legs; ++l)
      for (int j = 0; j < target.n_legs; ++j)
        if (target.item[j] == c.item[l]) room[j] -= c.ratio[l];
    best_split(cols, cand, k, target, room, saving + c.saving, best);  // k: reuse allowed
    for (int l = 0; l < c.n_legs; ++l)
      for (int j = 0; j < target.n_legs; ++j)
        if (target.item[j] == c.item[l]) room[j] += c.ratio[l];
  }
}

// A template of 3+ legs is dominated when smaller templates on the same legs save as much:
// any solution using it can swap each unit for that split without losing, so dropping it
// keeps an optimal solution (ties are dropped too: the simpler decomposition is reported).
bool dominated(const std::vector<RegtColumn>& cols, size_t t, std::vector<int>& cand) {
  const RegtColumn& target = cols[t];
  if (target.n_legs < 3) return false;
  cand.clear();
  for (size_t c = 0; c < cols.size(); ++c) {
    if (c == t || cols[c].n_legs >= target.n_legs) continue;
    bool inside = true;
    for (int l = 0; l < cols[c].n_legs && inside; ++l) {
      inside = false;
      for (int j = 0; j < target.n_legs; ++j)
        inside |= target.item[j] == cols[c].item[l] && cols[c].ratio[l] <= target.ratio[j];
    }
    if (inside) cand.push_back(static_cast<int>(c));
  }
  double room[4];
  for (int j = 0; j < 4; ++j) room[j] = target.ratio[j];
  double best = 0.0;
  best_split(cols, cand, 0, target, room, 0.0, best);
  return target.saving <= best + 1e-9 * std::max(1.0, target.saving);
}

}  // namespace

bool solve_kept(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                int64_t max_nodes, PackingWorkspace& ws, std::vector<double>& x);

bool solve_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                   int64_t max_nodes, PackingWorkspace& ws, std::vector<double>& x) {
  // Columns dominated by a split of their own legs never need to be used.
  ws.keep.resize(columns.size());
  ws.kept.clear();
  for (size_t t = 0; t < columns.size(); ++t) {
    ws.keep[t] = !dominated(columns, t, ws.cand);
    if (ws.keep[t]) ws.kept.push_back(columns[t]);
  }
  auto& xk = ws.xk;
  const bool proven = solve_kept(items, ws.kept, max_nodes, ws, xk);
  x.assign(columns.size(), 0.0);
  for (size_t t = 0, k = 0; t < columns.size(); ++t)
    if (ws.keep[t]) x[t] = xk[k++];
  return proven;
}

bool solve_kept(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                int64_t max_nodes, PackingWorkspace& ws, std::vector<double>& x) {
  return for_each_component(items, columns, ws, x, [&](const Dense& P, double* xc) {
    if (P.n == 1) {  // a single template: as many units as fit
      xc[0] = fit(P, 0, P.b);
      return true;
    }
    return branch_and_bound(P, max_nodes, ws, xc);
  });
}

void greedy_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                    PackingWorkspace& ws, std::vector<double>& x) {
  for_each_component(items, columns, ws, x, [&](const Dense& P, double* xc) {
    ws.order.resize(P.n);
    std::iota(ws.order.begin(), ws.order.end(), 0);
    std::stable_sort(ws.order.begin(), ws.order.end(),
                     [&](int a, int b) { return P.s[a] > P.s[b]; });
    ws.resid.assign(P.b, P.b + P.m);
    greedy_fill(P, ws.order.data(), nullptr, xc, ws.resid.data());
    return true;
  });
}

}  // namespace pmfast

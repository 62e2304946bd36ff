// Exact solution of the per-group packing program by LP-based branch and bound.
//
// Why this is exact (docs/strategy-margin.md has the long form): every node's LP relaxation
// (a revised primal simplex, regt_lp.cpp; the origin is always feasible because all coefficients and
// capacities are >= 0) bounds the best integer saving below that node from above. A node is
// discarded only when that bound cannot beat the incumbent by more than a tolerance of 1e-7 of
// the largest per-unit saving, and an integral LP optimum is accepted only after re-checking
// feasibility. Branching on x_t <= floor(v) / x_t >= ceil(v) partitions the integer points, so
// the search visits every region that could hold a better solution.
// The problem is first split into connected components (items linked by some template), which
// are independent.
// Budget: the work (flops of the simplex, a deterministic stand-in for time, so results do not
// depend on machine load or n_threads) is capped per group and basis by the rule set's
// pairing.max_work; when it runs out the best solution found is returned with its gap to the
// best bound of the nodes left open (proven = false).
#include "pmfast_core/regt/regt_packing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "pmfast_core/common/interrupt.hpp"
#include "pmfast_core/regt/regt_lp.hpp"

namespace pmfast {

namespace {

constexpr double kNoBound = 1e300;
constexpr double kIntTol = 1e-6;   // distance to an integer that counts as integral
constexpr double kFitTol = 1e-9;   // slack allowed when testing that units fit

int find_root(std::vector<int>& parent, int i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

// One component: m rows x n template columns (sparse, <= 4 entries each), capacities b,
// savings s.
struct Comp {
  const SparseCols& A;
  const double* b;
  const double* s;
  const char* hyper;  // column has 3+ legs (branch on these first)
  int m() const { return A.m; }
  int n() const { return A.n; }
  template <class F>
  void entries(int t, F&& f) const {
    for (int k = 4 * t; k < 4 * t + 4; ++k)
      if (A.row[k] >= 0) f(A.row[k], A.val[k]);
  }
};

// Units of column t that fit in resid.
double fit(const Comp& P, int t, const double* resid) {
  double k = kNoBound;
  P.entries(t, [&](int r, double a) { k = std::min(k, std::floor((resid[r] + kFitTol) / a)); });
  return std::max(k, 0.0);
}

void take(const Comp& P, int t, double k, double* x, double* resid) {
  x[t] += k;
  P.entries(t, [&](int r, double a) { resid[r] -= k * a; });
}

// Fill x greedily in `order` within resid and the upper bounds hi (nullptr: none).
void greedy_fill(const Comp& P, const int* order, const double* hi, double* x, double* resid) {
  for (int i = 0; i < P.n(); ++i) {
    const int t = order[i];
    double k = fit(P, t, resid);
    if (hi) k = std::min(k, hi[t] - x[t]);
    if (k >= 1.0) take(P, t, k, x, resid);
  }
}

double objective(const Comp& P, const double* x) {
  double v = 0.0;
  for (int t = 0; t < P.n(); ++t) v += P.s[t] * x[t];
  return v;
}

// resid = b - A x; false if some row is over capacity.
bool residual(const Comp& P, const double* x, double* resid) {
  std::copy(P.b, P.b + P.m(), resid);
  for (int t = 0; t < P.n(); ++t)
    if (x[t] != 0.0) P.entries(t, [&](int r, double a) { resid[r] -= a * x[t]; });
  for (int r = 0; r < P.m(); ++r)
    if (resid[r] < -kFitTol) return false;
  return true;
}

// A bound on the saving needing no LP (used when the budget ends before the root LP does):
// each unit of column t uses a_it of each of its |t| rows, so s_t x_t is at most
// sum_i (s_t / (|t| a_it)) a_it x_t and the total at most sum_i b_i max_t s_t / (|t| a_it).
double trivial_bound(const Comp& P, std::vector<double>& per_row) {
  per_row.assign(P.m(), 0.0);
  for (int t = 0; t < P.n(); ++t) {
    int legs = 0;
    P.entries(t, [&](int, double) { ++legs; });
    P.entries(t, [&](int r, double a) {
      per_row[r] = std::max(per_row[r], P.s[t] / (legs * a));
    });
  }
  double v = 0.0;
  for (int r = 0; r < P.m(); ++r) v += P.b[r] * per_row[r];
  return v;
}

// Branch and bound on one component. x (length n) receives the best solution; returns the
// solution's gap to the best bound on the saving (0 when proven optimal).
PackResult branch_and_bound(const Comp& P, const PackLimits& lim, PackingWorkspace& ws,
                            double* x, int64_t& work) {
  const int n = P.n(), m = P.m();
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

  // node stack: lo[n], hi[n] per node, and the LP bound of the node's parent
  auto& stack = ws.bounds;
  auto& stack_bound = ws.stack_bound;
  stack.assign(2 * n, 0.0);
  std::fill(stack.begin() + n, stack.end(), kNoBound);
  stack_bound.assign(1, trivial_bound(P, ws.resid));

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
  double open_bound = -kNoBound;  // best bound of nodes left unexplored
  auto stop = [&](double node_bound) {  // budget gone: every open node stays a bound
    proven = false;
    open_bound = std::max(open_bound, node_bound);
    for (double v : stack_bound) open_bound = std::max(open_bound, v);
    stack.clear();
    stack_bound.clear();
  };
  while (!stack.empty()) {
    const size_t top = stack.size() - 2 * n;
    const double parent_bound = stack_bound.back();
    if (++nodes > lim.max_nodes || work > lim.work_limit) {
      stop(-kNoBound);
      break;
    }
    std::copy(stack.begin() + top, stack.begin() + top + n, lo.begin());
    std::copy(stack.begin() + top + n, stack.end(), hi.begin());
    stack.resize(top);
    stack_bound.pop_back();
    if (parent_bound <= incumbent + tol) continue;

    // shift to y = x - lo and check the node is feasible
    if (!residual(P, lo.data(), bnode.data())) continue;
    for (int r = 0; r < m; ++r) bnode[r] = std::max(bnode[r], 0.0);
    bool feasible = true;
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
    const LpStatus st = lp_max(P.A, bnode.data(), c.data(), extra_col, extra_u, ws.lp, y.data(),
                               lp_value, work, lim.work_limit);
    if (st == LpStatus::budget) {
      stop(parent_bound);
      break;
    }
    if (st == LpStatus::failed) {  // never seen; keep the parent's bound, do not claim optimality
      proven = false;
      open_bound = std::max(open_bound, parent_bound);
      continue;
    }
    const double bound = std::min(parent_bound, objective(P, lo.data()) + smax * lp_value);
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
    ws.resid.resize(m);
    if (residual(P, xf.data(), ws.resid.data())) {
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
    stack_bound.push_back(bound);
    stack_bound.push_back(bound);
  }
  std::copy(ws.best.begin(), ws.best.end(), x);
  return {proven, proven ? 0.0 : std::max(open_bound - incumbent, 0.0)};
}

// Splits the problem into connected components and calls solve(component, x_of_component),
// which returns the component's PackResult; the results add up.
template <class Solve>
PackResult for_each_component(const std::vector<RegtItem>& items,
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
  // columns and rows of each component, in index order
  ws.comp_of.resize(n_items);
  for (int i = 0; i < n_items; ++i) ws.comp_of[i] = find_root(parent, i);
  PackResult total{true, 0.0};
  auto& done = ws.done;
  done.assign(n_cols, 0);
  for (int first = 0; first < n_cols; ++first) {
    if (done[first]) continue;
    const int root = ws.comp_of[columns[first].item[0]];
    ws.comp_cols.clear();
    for (int t = first; t < n_cols; ++t)
      if (!done[t] && ws.comp_of[columns[t].item[0]] == root) {
        ws.comp_cols.push_back(t);
        done[t] = 1;
      }
    ws.comp_rows.clear();
    ws.row_local.assign(n_items, -1);
    for (int i = 0; i < n_items; ++i)
      if (ws.comp_of[i] == root) {
        ws.row_local[i] = static_cast<int>(ws.comp_rows.size());
        ws.comp_rows.push_back(i);
      }
    const int m = static_cast<int>(ws.comp_rows.size());
    const int n = static_cast<int>(ws.comp_cols.size());
    SparseCols& A = ws.A;
    A.m = m;
    A.n = n;
    A.row.assign(4 * static_cast<size_t>(n), -1);
    A.val.assign(4 * static_cast<size_t>(n), 0.0);
    ws.b.resize(m);
    ws.s.resize(n);
    for (int r = 0; r < m; ++r) ws.b[r] = items[ws.comp_rows[r]].cap;
    for (int t = 0; t < n; ++t) {
      const RegtColumn& col = columns[ws.comp_cols[t]];
      ws.s[t] = col.saving;
      for (int k = 0; k < col.n_legs; ++k) {  // one entry per row (a leg listed twice adds up)
        const int r = ws.row_local[col.item[k]];
        int slot = 4 * t;
        while (A.row[slot] >= 0 && A.row[slot] != r) ++slot;
        A.row[slot] = r;
        A.val[slot] += col.ratio[k];
      }
    }
    // A row whose every use has the same ratio r (stock: M shares per contract) holds
    // floor(cap / r) whole uses: rescaling it to ratio 1 is exact for integers and makes the
    // LP tighter (the two-leg part becomes a 0/1 bipartite incidence matrix).
    auto& ratio = ws.row_ratio;
    ratio.assign(m, 0.0);
    ws.keep.assign(m, 1);  // here: "the row has a single ratio"
    for (size_t k = 0; k < A.row.size(); ++k) {
      const int r = A.row[k];
      if (r < 0) continue;
      if (ratio[r] == 0.0) ratio[r] = A.val[k];
      else if (A.val[k] != ratio[r]) ws.keep[r] = 0;
    }
    for (int r = 0; r < m; ++r)
      if (ws.keep[r] && ratio[r] > 1.0) ws.b[r] = std::floor((ws.b[r] + kFitTol) / ratio[r]);
    for (size_t k = 0; k < A.row.size(); ++k) {
      const int r = A.row[k];
      if (r >= 0 && ws.keep[r] && ratio[r] > 1.0) A.val[k] = 1.0;
    }
    ws.hyper.resize(n);
    for (int t = 0; t < n; ++t) ws.hyper[t] = columns[ws.comp_cols[t]].n_legs >= 3;
    ws.x.assign(n, 0.0);
    const Comp P{A, ws.b.data(), ws.s.data(), ws.hyper.data()};
    const PackResult res = solve(P, ws.x.data());
    total.proven = total.proven && res.proven;
    total.gap += res.gap;
    for (int t = 0; t < n; ++t) x[ws.comp_cols[t]] = ws.x[t];
  }
  return total;
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

// Key of a set of 2 or 3 items (sorted; 21 bits each, checked by the caller).
uint64_t item_key(int n, const int32_t* items) {
  int32_t v[3] = {items[0], items[1], n > 2 ? items[2] : -1};
  std::sort(v, v + n);
  uint64_t key = static_cast<uint64_t>(n);
  for (int k = 0; k < n; ++k) key = (key << 21) | static_cast<uint64_t>(v[k]);
  return key;
}

// A template of 3+ legs is dominated when smaller templates on the same legs save as much:
// any solution using it can swap each unit for that split without losing, so dropping it
// keeps an optimal solution (ties are dropped too: the simpler decomposition is reported).
// Candidates are looked up by their item set (by_set: every 2- and 3-leg column under the key
// of its items), so each check costs the few subsets of the target's legs, not a scan of a
// market maker's ~10^5 templates.
bool dominated(const std::vector<RegtColumn>& cols, size_t t,
               const std::unordered_map<uint64_t, std::vector<int>>& by_set,
               std::vector<int>& cand) {
  const RegtColumn& target = cols[t];
  if (target.n_legs < 3) return false;
  cand.clear();
  int32_t sub[3];
  const int n = target.n_legs;
  for (int mask = 0; mask < (1 << n); ++mask) {
    const int size = __builtin_popcount(mask);
    if (size < 2 || size > 3 || size >= n) continue;
    int k = 0;
    for (int j = 0; j < n; ++j)
      if (mask >> j & 1) sub[k++] = target.item[j];
    const auto it = by_set.find(item_key(size, sub));
    if (it == by_set.end()) continue;
    for (int c : it->second) {
      const RegtColumn& col = cols[c];
      bool inside = true;
      for (int l = 0; l < col.n_legs && inside; ++l) {
        inside = false;
        for (int j = 0; j < n; ++j)
          inside |= target.item[j] == col.item[l] && col.ratio[l] <= target.ratio[j];
      }
      if (inside) cand.push_back(c);
    }
  }
  std::sort(cand.begin(), cand.end());  // the order of a full scan
  double room[4];
  for (int j = 0; j < 4; ++j) room[j] = target.ratio[j];
  double best = 0.0;
  best_split(cols, cand, 0, target, room, 0.0, best);
  return target.saving <= best + 1e-9 * std::max(1.0, target.saving);
}

}  // namespace

PackResult solve_packing(const std::vector<RegtItem>& items,
                         const std::vector<RegtColumn>& columns, const PackLimits& lim,
                         PackingWorkspace& ws, std::vector<double>& x, int64_t& work) {
  // Columns dominated by a split of their own legs never need to be used. (Skipped for a
  // group of 2^21+ legs, whose items do not fit the keys: keeping a column is always exact.)
  auto& by_set = ws.by_set;
  by_set.clear();
  const bool check = items.size() < (size_t{1} << 21);
  if (check)
    for (size_t t = 0; t < columns.size(); ++t)
      if (columns[t].n_legs <= 3)
        by_set[item_key(columns[t].n_legs, columns[t].item)].push_back(static_cast<int>(t));
  ws.keep_col.resize(columns.size());
  ws.kept.clear();
  for (size_t t = 0; t < columns.size(); ++t) {
    if ((t & 4095) == 4095) check_interrupt();
    ws.keep_col[t] = !check || !dominated(columns, t, by_set, ws.cand);
    if (ws.keep_col[t]) ws.kept.push_back(columns[t]);
  }
  work += 16 * static_cast<int64_t>(columns.size());
  auto& xk = ws.xk;
  const PackResult res =
      for_each_component(items, ws.kept, ws, xk, [&](const Comp& P, double* xc) -> PackResult {
        if (P.n() == 1) {  // a single template: as many units as fit
          xc[0] = fit(P, 0, P.b);
          return {true, 0.0};
        }
        return branch_and_bound(P, lim, ws, xc, work);
      });
  x.assign(columns.size(), 0.0);
  for (size_t t = 0, k = 0; t < columns.size(); ++t)
    if (ws.keep_col[t]) x[t] = xk[k++];
  return res;
}

void greedy_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                    PackingWorkspace& ws, std::vector<double>& x) {
  for_each_component(items, columns, ws, x, [&](const Comp& P, double* xc) -> PackResult {
    ws.order.resize(P.n());
    std::iota(ws.order.begin(), ws.order.end(), 0);
    std::stable_sort(ws.order.begin(), ws.order.end(),
                     [&](int a, int b) { return P.s[a] > P.s[b]; });
    ws.resid.assign(P.b, P.b + P.m());
    greedy_fill(P, ws.order.data(), nullptr, xc, ws.resid.data());
    return {false, 0.0};
  });
}

}  // namespace pmfast

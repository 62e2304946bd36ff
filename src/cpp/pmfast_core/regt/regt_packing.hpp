// The pairing problem of one group as an integer packing program:
//   maximise sum_t saving_t x_t  subject to  sum_t ratio_{t,i} x_t <= cap_i,  x_t in Z>=0,
// where t runs over templates (RegtColumn) and i over inventory rows (RegtItem). Minimising the
// total requirement is the same as maximising the saving of the templates used.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "pmfast_core/regt/regt_lp.hpp"
#include "pmfast_core/regt/regt_templates.hpp"

namespace pmfast {

// Scratch space reused across groups by one thread (no allocation per group once warm).
struct PackingWorkspace {
  std::vector<int> parent, comp_of, comp_rows, comp_cols, row_local;
  SparseCols A;
  std::vector<double> b, s, x, bounds, stack_bound, resid, best, row_ratio;
  std::vector<int> order;
  std::vector<char> hyper, keep, keep_col, done;
  std::vector<int> cand;
  std::unordered_map<uint64_t, std::vector<int>> by_set;
  std::vector<double> xk, c, lo, hi, y, xf, bnode, extra_u;
  std::vector<int> extra_col;
  std::vector<RegtColumn> kept;
  LpWorkspace lp;
};

struct PackLimits {
  int64_t max_nodes;   // branch-and-bound nodes per connected component
  int64_t work_limit;  // simplex flops per solve (all components of one group and basis)
};

struct PackResult {
  bool proven;  // optimality proven (the search finished within its limits)
  double gap;   // best bound on the saving - the saving found (0 when proven)
};

// Optimal units per column (x.size() == columns.size()); `work` is charged with the flops
// spent. When a limit runs out, x holds the best solution found and the result its gap.
PackResult solve_packing(const std::vector<RegtItem>& items,
                         const std::vector<RegtColumn>& columns, const PackLimits& lim,
                         PackingWorkspace& ws, std::vector<double>& x, int64_t& work);

// Broker-style baseline: take templates in order of saving per unit, as many units as fit.
void greedy_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                    PackingWorkspace& ws, std::vector<double>& x);

}  // namespace pmfast

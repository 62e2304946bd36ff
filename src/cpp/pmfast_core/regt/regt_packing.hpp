// The pairing problem of one group as an integer packing program:
//   maximise sum_t saving_t x_t  subject to  sum_t ratio_{t,i} x_t <= cap_i,  x_t in Z>=0,
// where t runs over templates (RegtColumn) and i over inventory rows (RegtItem). Minimising the
// total requirement is the same as maximising the saving of the templates used.
#pragma once
#include <cstdint>
#include <vector>

#include "pmfast_core/regt/regt_templates.hpp"

namespace pmfast {

// Scratch space reused across groups by one thread (no allocation per group once warm).
struct PackingWorkspace {
  std::vector<int> parent, comp_rows, comp_cols, row_local;
  std::vector<double> A, b, s, x, tableau, bounds, resid, best;
  std::vector<int> basis, order;
  std::vector<char> hyper, keep, done;
  std::vector<int> cand;
  std::vector<double> xk, c, lo, hi, y, xf, bnode, extra_u;
  std::vector<int> extra_col;
  std::vector<RegtColumn> kept;
};

// Optimal units per column (x.size() == columns.size()). Returns false when the node budget
// ran out before optimality was proven (x then holds the best solution found).
bool solve_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                   int64_t max_nodes, PackingWorkspace& ws, std::vector<double>& x);

// Broker-style baseline: take templates in order of saving per unit, as many units as fit.
void greedy_packing(const std::vector<RegtItem>& items, const std::vector<RegtColumn>& columns,
                    PackingWorkspace& ws, std::vector<double>& x);

}  // namespace pmfast

// LP relaxation of one pairing component: maximise c.y subject to A y <= b, y_j <= u_j for the
// branching bounds listed, y >= 0, with A >= 0 sparse (<= 4 entries per template column) and
// b, u >= 0 (so the all-slack basis is feasible).
//
// Why a revised simplex: a market maker's underlying has ~200 series and ~10^4 templates but
// only ~200 rows. A dense tableau costs rows x (templates + rows) per pivot; keeping only the
// basis inverse (rows^2) and pricing the sparse columns (4 per template) costs ~100x less.
#pragma once
#include <cstdint>
#include <vector>

namespace pmfast {

// Template columns in compressed form: column t has entries [4t, 4t + 4) of row/val, row -1
// when unused.
struct SparseCols {
  int m = 0, n = 0;
  std::vector<int> row;
  std::vector<double> val;
};

struct LpWorkspace {
  std::vector<double> binv, xb, y, alpha, cb, d;
  std::vector<int> basis, extra_of;
  std::vector<char> is_basic;
};

enum class LpStatus { optimal, budget, failed };

// `work` is charged with the flops spent (a deterministic measure of time); the solve stops
// with LpStatus::budget once it exceeds `work_limit`. Checks Ctrl-C every few pivots.
LpStatus lp_max(const SparseCols& P, const double* b, const double* c,
                const std::vector<int>& extra_col, const std::vector<double>& extra_u,
                LpWorkspace& ws, double* y, double& value, int64_t& work, int64_t work_limit);

}  // namespace pmfast

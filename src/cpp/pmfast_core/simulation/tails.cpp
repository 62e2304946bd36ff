// Streaming aggregation of simulation margin (simulation.hpp): each account's scenario P&L is
// built in one per-thread buffer from its positions' risk-matrix rows, reduced to its tail
// measures and Euler components, and forgotten. Accounts are independent, each summed by one
// thread in position order, so every figure is bit-identical for any n_threads.
#include <algorithm>
#include <numeric>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/simulation/sim_kernels.hpp"
#include "pmfast_core/simulation/simulation.hpp"

namespace pmfast {

namespace {

void check_layout(const SimLayout& l) {
  if (l.account_start[0] != 0 || l.account_start[l.n_accounts] != l.n_class_rows)
    throw InputError("account_start must run from 0 to the number of class rows");
  if (l.class_start[0] != 0 || l.class_start[l.n_class_rows] != l.n_positions)
    throw InputError("class_start must run from 0 to the number of positions");
  for (int64_t a = 0; a < l.n_accounts; ++a)
    if (l.account_start[a + 1] < l.account_start[a])
      throw bad_value("account_start", a + 1, l.account_start[a + 1], "must not decrease");
  for (int64_t c = 0; c < l.n_class_rows; ++c)
    if (l.class_start[c + 1] < l.class_start[c])
      throw bad_value("class_start", c + 1, l.class_start[c + 1], "must not decrease");
}

void check_series_index(const SimLayout& l, int64_t n_series) {
  for (int64_t p = 0; p < l.n_positions; ++p)
    if (l.series[p] < 0 || l.series[p] >= n_series)
      throw bad_value("series", p, l.series[p], "must index a risk-matrix row");
}

// P[k] = sum of quantity x pnl[series, k] over positions [begin, end), in position order
// (float32 rows are widened: the sums are always in double): the per-ISA kernel
// (accumulate_kernel.cpp, the loop that streams the whole risk matrix).
void accumulate(const SimLayout& l, const double* pnl, int64_t n_sc, int64_t begin, int64_t end,
                double* P) {
  sim_kernels().accumulate_rows_f64(l.series, l.quantity, pnl, n_sc, begin, end, P);
}
void accumulate(const SimLayout& l, const float* pnl, int64_t n_sc, int64_t begin, int64_t end,
                double* P) {
  sim_kernels().accumulate_rows_f32(l.series, l.quantity, pnl, n_sc, begin, end, P);
}

template <class T>
void aggregate(const SimLayout& l, const T* pnl, int64_t n_sc, int64_t m, const SimOutput& out,
               int n_threads) {
  check_layout(l);
  if (n_sc < 1) throw InputError("a scenario set needs at least one scenario");
  if (m < 1 || m > n_sc) throw InputError("tail_count must be in [1, n_scenarios]");
  // Max risk-matrix row + 1 is not known here: the binding checks series < n_series.
  parallel_for(l.n_accounts, n_threads, 64, [&](int64_t begin, int64_t end) {
    std::vector<double> P(n_sc);
    std::vector<int32_t> idx(n_sc);
    for (int64_t a = begin; a < end; ++a) {
      const int64_t c0 = l.account_start[a], c1 = l.account_start[a + 1];
      std::fill(P.begin(), P.end(), 0.0);
      accumulate(l, pnl, n_sc, l.class_start[c0], l.class_start[c1], P.data());
      // tail: the m first scenarios by (loss = -P descending, index ascending), sorted
      std::iota(idx.begin(), idx.end(), 0);
      auto before = [&](int32_t x, int32_t y) { return P[x] != P[y] ? P[x] < P[y] : x < y; };
      if (m < n_sc) std::nth_element(idx.begin(), idx.begin() + (m - 1), idx.end(), before);
      std::sort(idx.begin(), idx.begin() + m, before);
      double tail_sum = 0.0;
      for (int64_t j = 0; j < m; ++j) tail_sum += -P[idx[j]];
      out.es[a] = tail_sum / static_cast<double>(m);
      out.var[a] = -P[idx[m - 1]];
      out.worst[a] = -P[idx[0]];
      out.worst_scenario[a] = idx[0];
      // Euler components: each (account, underlying) row's mean P&L over the tail, negated
      for (int64_t c = c0; c < c1; ++c) {
        double sum = 0.0;
        for (int64_t j = 0; j < m; ++j) {
          const int64_t k = idx[j];
          double u = 0.0;
          for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p)
            u += l.quantity[p] * static_cast<double>(pnl[static_cast<int64_t>(l.series[p]) * n_sc + k]);
          sum += -u;
        }
        out.component[c] = sum / static_cast<double>(m);
      }
    }
  });
}

template <class T>
void account_pnl(const SimLayout& l, const T* pnl, int64_t n_sc, double* out, int n_threads) {
  check_layout(l);
  parallel_for(l.n_accounts, n_threads, 16, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin; a < end; ++a) {
      double* P = out + a * n_sc;
      std::fill(P, P + n_sc, 0.0);
      accumulate(l, pnl, n_sc, l.class_start[l.account_start[a]],
                 l.class_start[l.account_start[a + 1]], P);
    }
  });
}

}  // namespace

void simulation_aggregate(const SimLayout& l, const double* pnl, int64_t n_sc, int64_t m,
                          const SimOutput& out, int n_threads) {
  aggregate(l, pnl, n_sc, m, out, n_threads);
}
void simulation_aggregate(const SimLayout& l, const float* pnl, int64_t n_sc, int64_t m,
                          const SimOutput& out, int n_threads) {
  aggregate(l, pnl, n_sc, m, out, n_threads);
}
void simulation_account_pnl(const SimLayout& l, const double* pnl, int64_t n_sc, double* out,
                            int n_threads) {
  account_pnl(l, pnl, n_sc, out, n_threads);
}
void simulation_account_pnl(const SimLayout& l, const float* pnl, int64_t n_sc, double* out,
                            int n_threads) {
  account_pnl(l, pnl, n_sc, out, n_threads);
}

void simulation_check_series(const SimLayout& l, int64_t n_series) { check_series_index(l, n_series); }

}  // namespace pmfast

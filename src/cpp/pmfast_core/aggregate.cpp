#include "pmfast_core/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pmfast_core/errors.hpp"
#include "pmfast_core/parallel.hpp"

namespace pmfast {

namespace {

void check_offsets(const char* name, const int64_t* start, int64_t n, int64_t total) {
  if (start[0] != 0) throw bad_value(name, 0, static_cast<double>(start[0]), "must be 0");
  for (int64_t i = 0; i < n; ++i) {
    if (start[i + 1] < start[i])
      throw bad_value(name, i + 1, static_cast<double>(start[i + 1]), "offsets must not decrease");
  }
  if (start[n] != total)
    throw bad_value(name, n, static_cast<double>(start[n]), "last offset must equal the row count");
}

void check_layout(const MarginLayout& l, const RiskArray& r) {
  if (r.n_scenarios < 1) throw InputError("risk array: n_scenarios must be >= 1");
  check_offsets("class_start", l.class_start, l.n_class_rows, l.n_positions);
  check_offsets("group_start", l.group_start, l.n_group_rows, l.n_class_rows);
  check_offsets("account_start", l.account_start, l.n_accounts, l.n_group_rows);
  for (int64_t p = 0; p < l.n_positions; ++p) {
    if (l.instrument[p] < 0 || l.instrument[p] >= r.n_instruments)
      throw bad_value("instrument", p, l.instrument[p], "must index a risk-array row");
    if (!std::isfinite(l.quantity[p])) throw bad_value("quantity", p, l.quantity[p], "must be finite");
  }
}

// acc[s] = sum over the class's positions of q * pnl[instrument, s]. NS > 0 fixes the scenario
// count at compile time (the common grids) so the inner loops unroll and vectorise.
template <int NS>
inline void class_sum_n(const MarginLayout& l, const RiskArray& r, int64_t c, double* acc) {
  const int64_t S = NS > 0 ? NS : r.n_scenarios;
  for (int64_t s = 0; s < S; ++s) acc[s] = 0.0;
  for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
    const double q = l.quantity[p];
    const double* row = r.pnl + static_cast<int64_t>(l.instrument[p]) * S;
    for (int64_t s = 0; s < S; ++s) acc[s] += q * row[s];
  }
}

inline void class_sum(const MarginLayout& l, const RiskArray& r, int64_t c, double* acc) {
  class_sum_n<0>(l, r, c, acc);
}

template <int NS>
void margin_accounts(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                     const MarginOutput& out, int64_t a_begin, int64_t a_end) {
  const int64_t S = NS > 0 ? NS : r.n_scenarios;
  std::vector<double> scratch_class(S), scratch_net(S);
  for (int64_t a = a_begin; a < a_end; ++a) {
    double risk_sum = 0.0, min_sum = 0.0, req_sum = 0.0, worst_risk = 0.0;
    int32_t worst_group = -1;
    for (int64_t g = l.account_start[a]; g < l.account_start[a + 1]; ++g) {
      double* net = out.group_net ? out.group_net + g * S : scratch_net.data();
      for (int64_t s = 0; s < S; ++s) net[s] = 0.0;
      const double alpha = l.group_offset[g];
      double minimum = 0.0;
      for (int64_t c = l.group_start[g]; c < l.group_start[g + 1]; ++c) {
        double* acc = out.class_pnl ? out.class_pnl + c * S : scratch_class.data();
        class_sum_n<NS>(l, r, c, acc);
        // losses net fully; only a fraction alpha of a class group's gain offsets them
        for (int64_t s = 0; s < S; ++s) net[s] += acc[s] < 0.0 ? acc[s] : alpha * acc[s];
        for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
          const int32_t i = l.instrument[p];
          const double q = l.quantity[p];
          double charge = m.per_unit[i] * std::fabs(q);
          if (q > 0.0 && !std::isnan(m.long_cap[i])) charge = std::min(charge, q * m.long_cap[i]);
          minimum += charge;
        }
      }
      int32_t worst = 0;
      double worst_loss = -net[0];
      for (int64_t s = 1; s < S; ++s) {
        if (-net[s] > worst_loss) {
          worst_loss = -net[s];
          worst = static_cast<int32_t>(s);
        }
      }
      const double risk = std::max(0.0, worst_loss);
      out.group_risk[g] = risk;
      out.group_minimum[g] = minimum;
      out.group_requirement[g] = std::max(risk, minimum);
      out.group_worst[g] = worst;
      risk_sum += risk;
      min_sum += minimum;
      req_sum += std::max(risk, minimum);
      if (risk > worst_risk) {
        worst_risk = risk;
        worst_group = static_cast<int32_t>(g);
      }
    }
    out.account_risk[a] = risk_sum;
    out.account_minimum[a] = min_sum;
    out.account_requirement[a] = req_sum;
    out.account_worst_group[a] = worst_group;
  }
}

}  // namespace

void portfolio_margin(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                      const MarginOutput& out, int n_threads) {
  check_layout(l, r);
  for (int64_t g = 0; g < l.n_group_rows; ++g) {
    if (!(l.group_offset[g] >= 0.0 && l.group_offset[g] <= 1.0))
      throw bad_value("group_offset", g, l.group_offset[g], "must be in [0, 1]");
  }
  parallel_for(l.n_accounts, n_threads, 1024, [&](int64_t a_begin, int64_t a_end) {
    switch (r.n_scenarios) {
      case 10: margin_accounts<10>(l, r, m, out, a_begin, a_end); break;
      case 30: margin_accounts<30>(l, r, m, out, a_begin, a_end); break;
      default: margin_accounts<0>(l, r, m, out, a_begin, a_end);
    }
  });
}

void concentration_overlay(const MarginLayout& l, const RiskArray& r, int largest, double* out,
                           int n_threads) {
  check_layout(l, r);
  if (r.n_scenarios != 4) throw InputError("concentration risk array must have 4 scenarios");
  if (largest < 0) throw InputError("largest must be >= 0");
  parallel_for(l.n_accounts, n_threads, 256, [&](int64_t a_begin, int64_t a_end) {
    double acc[4];
    std::vector<double> large, other;
    for (int64_t a = a_begin; a < a_end; ++a) {
      large.clear();
      other.clear();
      const int64_t c_begin = l.group_start[l.account_start[a]];
      const int64_t c_end = l.group_start[l.account_start[a + 1]];
      for (int64_t c = c_begin; c < c_end; ++c) {
        class_sum(l, r, c, acc);
        large.push_back(std::max(0.0, -std::min(acc[0], acc[1])));
        other.push_back(std::max(0.0, -std::min(acc[2], acc[3])));
      }
      // stable choice of the `largest` class groups by their loss at +-large (ties: first)
      std::vector<int64_t> order(large.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int64_t>(k);
      const size_t top = std::min(order.size(), static_cast<size_t>(largest));
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return large[x] > large[y]; });
      std::vector<char> chosen(large.size(), 0);
      for (size_t k = 0; k < top; ++k) chosen[order[k]] = 1;
      double total = 0.0;
      for (size_t k = 0; k < large.size(); ++k) total += chosen[k] ? large[k] : other[k];
      out[a] = total;
    }
  });
}

}  // namespace pmfast

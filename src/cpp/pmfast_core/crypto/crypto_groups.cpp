#include "pmfast_core/crypto/crypto_groups.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {

namespace {

void check(const CryptoGroups& g, const CryptoWeights& w, const CryptoPairParams& p) {
  if (g.n_scenarios < 1 || g.n_standard < 0 || g.n_standard > g.n_scenarios)
    throw InputError("crypto groups: need n_scenarios >= 1 and 0 <= n_standard <= n_scenarios");
  if (w.n_expiry_codes < 1) throw InputError("crypto weights: n_expiry_codes must be >= 1");
  if (g.group_start[0] != 0 || g.group_start[g.n_groups] != g.n_positions)
    throw InputError("group_start must run from 0 to the number of positions");
  for (int64_t k = 0; k < g.n_groups; ++k) {
    if (g.group_start[k + 1] < g.group_start[k])
      throw bad_value("group_start", k + 1, double(g.group_start[k + 1]), "must not decrease");
    if (g.group_pair[k] < 0 || g.group_pair[k] >= p.n_pairs)
      throw bad_value("group_pair", k, double(g.group_pair[k]), "must be a pair row");
  }
  for (int64_t s = 0; s < g.n_scenarios; ++s)
    if (g.tie_order[s] < 0 || g.tie_order[s] >= g.n_scenarios)
      throw bad_value("tie_order", s, double(g.tie_order[s]), "must be a scenario index");
  for (int64_t i = 0; i < g.n_positions; ++i) {
    if (g.instrument[i] < 0 || g.instrument[i] >= w.n_instruments)
      throw bad_value("instrument", i, double(g.instrument[i]), "must be an instrument row");
    if (!std::isfinite(g.quantity[i])) throw bad_value("quantity", i, g.quantity[i], "not finite");
  }
  for (int64_t i = 0; i < w.n_instruments; ++i)
    if (w.expiry_code[i] < 0 || w.expiry_code[i] >= w.n_expiry_codes)
      throw bad_value("expiry_code", i, double(w.expiry_code[i]), "must be an expiry code");
}

}  // namespace

void crypto_group_margin(const CryptoGroups& g, const CryptoWeights& w,
                         const CryptoPairParams& p, const CryptoGroupOutput& out, int n_threads) {
  check(g, w, p);
  const int64_t S = g.n_scenarios, C = w.n_expiry_codes;
  parallel_for(g.n_groups, n_threads, 4096, [&](int64_t begin, int64_t end) {
    std::vector<double> exposure(C);
    for (int64_t k = begin; k < end; ++k) {
      const int64_t pair = g.group_pair[k];
      const double* raw = g.raw + k * S;
      double* adj = out.adjusted + k * S;
      // a gain counts pnl_offset of itself, at most max_offsetable_pnl; an extended entry is
      // scaled by extended_table_factor and its loss reduced by the dampener, not below zero
      for (int64_t s = 0; s < S; ++s) {
        double x = raw[s];
        const bool extended = s >= g.n_standard;
        if (extended) x *= p.ext_factor[pair];
        if (x > 0) {
          x = std::min(x * p.offset[pair], p.offset_cap[pair]);
        } else if (extended && x < 0) {
          x = std::min(x + p.dampener[pair], 0.0);
        }
        adj[s] = x;
      }
      int64_t best = g.tie_order[0];
      for (int64_t s = 1; s < S; ++s)
        if (adj[g.tie_order[s]] < adj[best]) best = g.tie_order[s];
      out.worst_case[k] = std::max(-adj[best], 0.0);
      out.worst_index[k] = adj[best] < 0 ? best : -1;
      // roll shock: net exposure per expiry, in position order
      std::fill(exposure.begin(), exposure.end(), 0.0);
      double delta = 0.0, short_units = 0.0;
      for (int64_t i = g.group_start[k]; i < g.group_start[k + 1]; ++i) {
        const int32_t ins = g.instrument[i];
        const double q = g.quantity[i];
        exposure[w.expiry_code[ins]] += q * w.roll_weight[ins];
        delta += q * w.delta[ins];
        short_units += std::max(-q, 0.0) * w.short_weight[ins];
      }
      double roll = 0.0;
      for (int64_t c = 0; c < C; ++c) roll += std::fabs(exposure[c]) * p.rate[pair * C + c];
      out.roll_shock[k] = roll;
      out.net_delta[k] = delta;
      out.short_units[k] = short_units;
    }
  });
}

}  // namespace pmfast

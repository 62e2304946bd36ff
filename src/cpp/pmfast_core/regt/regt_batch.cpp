// Batch entry point: every (account, underlying) group is paired independently, in parallel.
// Groups are split into fixed blocks; each block writes its strategy rows into its own buffer
// and the buffers are joined in block order, so the output is identical for any n_threads.
#include <cmath>
#include <string>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"
#include "pmfast_core/regt/regt_packing.hpp"
#include "pmfast_core/regt/regt_templates.hpp"
#include "pmfast_core/regt/regt_types.hpp"

namespace pmfast {

namespace {

constexpr int64_t kGroupGrain = 512;
constexpr int8_t kBasisBoth = 2;

void validate(const RegtLegs& legs, const RegtGroups& groups) {
  if (groups.n < 0 || groups.offsets[0] != 0 || groups.offsets[groups.n] != legs.n)
    throw InputError("regt: group offsets must start at 0 and end at the number of legs");
  for (int64_t g = 0; g < groups.n; ++g) {
    if (groups.offsets[g + 1] < groups.offsets[g])
      throw bad_value("regt group offsets", g + 1, double(groups.offsets[g + 1]),
                      "must not decrease");
    if (!(groups.underlying_price[g] > 0.0) || !std::isfinite(groups.underlying_price[g]))
      throw bad_value("underlying price", g, groups.underlying_price[g], "must be finite and > 0");
  }
  for (int64_t i = 0; i < legs.n; ++i) {
    const int8_t k = legs.kind[i];
    if (k != kLegStock && k != kLegCall && k != kLegPut)
      throw bad_value("regt leg kind", i, k, "must be 0 (stock), 1 (call) or -1 (put)");
    if (!(legs.price[i] >= 0.0) || !std::isfinite(legs.price[i]))
      throw bad_value("price", i, legs.price[i], "must be finite and >= 0");
    if (!(legs.multiplier[i] > 0.0) || !std::isfinite(legs.multiplier[i]))
      throw bad_value("multiplier", i, legs.multiplier[i], "must be finite and > 0");
    if (!std::isfinite(legs.quantity[i]))
      throw bad_value("quantity", i, legs.quantity[i], "must be finite");
    if (k != kLegStock) {
      if (!(legs.strike[i] > 0.0) || !std::isfinite(legs.strike[i]))
        throw bad_value("strike", i, legs.strike[i], "must be finite and > 0");
      if (legs.quantity[i] != std::round(legs.quantity[i]))
        throw bad_value("quantity", i, legs.quantity[i],
                        "an option position must be a whole number of contracts");
    }
  }
}

struct GroupSolver {
  const RegtLegs& legs;
  const RegtParams& params;
  PackingWorkspace ws;
  std::vector<RegtItem> items;
  std::vector<RegtColumn> columns;
  TemplateScratch scratch;
  std::vector<double> x, used;

  struct Solved {
    double gross;  // requirement before proceeds
    bool proven;   // optimality proven
    double gap;    // gross - a lower bound on the optimal gross (NaN: greedy, no bound)
  };

  // Pairs one basis of group g and appends its rows.
  Solved solve(int64_t g, int64_t begin, int64_t end, const GroupRates& r,
                                int basis, int8_t basis_code, RegtRows& rows) {
    build_items(legs, begin, end, r, params, basis, items);
    const bool complete = build_columns(items, r, params, basis, scratch, columns);
    PackResult res{params.method != 1, params.method == 1 ? NAN : 0.0};
    if (columns.empty()) {
      x.clear();
    } else if (params.method == 1) {
      greedy_packing(items, columns, ws, x);
    } else {
      int64_t work = 0;
      res = solve_packing(items, columns, PackLimits{params.max_nodes, params.max_work}, ws, x,
                          work);
    }
    // a cut library: the pairing is feasible but nothing bounds the templates left out
    if (!complete) res = PackResult{false, NAN};

    double gross = 0.0;
    used.assign(items.size(), 0.0);
    int64_t leg[4];
    double ratio[4];
    for (size_t t = 0; t < columns.size(); ++t) {
      if (x[t] <= 0.0) continue;
      const RegtColumn& c = columns[t];
      for (int k = 0; k < 4; ++k) {
        if (k < c.n_legs) {
          const RegtItem& it = items[c.item[k]];
          leg[k] = it.leg;
          ratio[k] = it.sign * c.ratio[k];
          used[c.item[k]] += c.ratio[k] * x[t];
        } else {
          leg[k] = -1;
          ratio[k] = 0.0;
        }
      }
      const double req = c.cost * x[t];
      gross += req;
      if (params.emit_rows) rows.push(g, basis_code, c.strategy, leg, ratio, x[t], req);
    }
    for (size_t i = 0; i < items.size(); ++i) {
      const RegtItem& it = items[i];
      const double left = it.cap - used[i];
      if (left <= 1e-9 * std::max(1.0, it.cap)) continue;
      leg[0] = it.leg;
      ratio[0] = it.sign;
      for (int k = 1; k < 4; ++k) {
        leg[k] = -1;
        ratio[k] = 0.0;
      }
      const double req = it.unit_cost * left;
      gross += req;
      if (params.emit_rows)
        rows.push(g, basis_code, static_cast<int8_t>(standalone_strategy(it)), leg, ratio, left,
                req);
    }
    return {gross, res.proven, res.gap};
  }
};

}  // namespace

void RegtRows::reserve(int64_t n) {
  group.reserve(n);
  basis.reserve(n);
  strategy.reserve(n);
  legs.reserve(4 * n);
  ratio.reserve(4 * n);
  units.reserve(n);
  requirement.reserve(n);
}

void RegtRows::push(int64_t g, int8_t b, int8_t s, const int64_t* leg, const double* r, double u,
                    double req) {
  group.push_back(g);
  basis.push_back(b);
  strategy.push_back(s);
  legs.insert(legs.end(), leg, leg + 4);
  ratio.insert(ratio.end(), r, r + 4);
  units.push_back(u);
  requirement.push_back(req);
}

void regt_margin(const RegtLegs& legs, const RegtGroups& groups, const RegtParams& params,
                 RegtOutput& out, int n_threads) {
  validate(legs, groups);
  const int64_t G = groups.n;
  out.gross_initial.assign(G, 0.0);
  out.gross_maintenance.assign(G, 0.0);
  out.proven.assign(G, 0);
  out.gap_initial.assign(G, 0.0);
  out.gap_maintenance.assign(G, 0.0);
  const int64_t n_blocks = (G + kGroupGrain - 1) / kGroupGrain;
  out.blocks.assign(n_blocks, RegtRows{});
  auto& blocks = out.blocks;

  parallel_for(G, n_threads, kGroupGrain, [&](int64_t begin, int64_t end) {
    GroupSolver solver{legs, params, {}, {}, {}, {}, {}, {}};
    RegtRows& rows = blocks[begin / kGroupGrain];
    if (params.emit_rows)  // at most one row per leg and basis
      rows.reserve(2 * (groups.offsets[end] - groups.offsets[begin]));
    for (int64_t g = begin; g < end; ++g) {
      const int64_t lb = groups.offsets[g], le = groups.offsets[g + 1];
      bool has_stock = false;
      for (int64_t i = lb; i < le; ++i)
        has_stock |= legs.kind[i] == kLegStock && legs.quantity[i] != 0.0;
      const GroupRates r = group_rates(groups, g);
      if (!has_stock) {  // option-only strategies cost the same on both bases
        const auto res = solver.solve(g, lb, le, r, kBasisInitial, kBasisBoth, rows);
        out.gross_initial[g] = out.gross_maintenance[g] = res.gross;
        out.gap_initial[g] = out.gap_maintenance[g] = res.gap;
        out.proven[g] = res.proven ? 3 : 0;
      } else {
        const auto ini = solver.solve(g, lb, le, r, kBasisInitial, kBasisInitial, rows);
        const auto mnt = solver.solve(g, lb, le, r, kBasisMaintenance, kBasisMaintenance, rows);
        out.gross_initial[g] = ini.gross;
        out.gross_maintenance[g] = mnt.gross;
        out.gap_initial[g] = ini.gap;
        out.gap_maintenance[g] = mnt.gap;
        out.proven[g] = (ini.proven ? 1 : 0) | (mnt.proven ? 2 : 0);
      }
    }
  });

}

}  // namespace pmfast

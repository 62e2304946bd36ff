// Strategy requirements (spec strategy-margin.md, rules from the TOML rule set) and the
// enumeration of the templates a group's positions can form.
#include "pmfast_core/regt/regt_templates.hpp"

#include <algorithm>
#include <cmath>

namespace pmfast {

namespace {

const char* const kNames[kRegtStrategyCount] = {
    "long_stock",      "short_stock",     "long_option",     "naked_call",
    "naked_put",       "vertical",        "calendar",        "diagonal",
    "short_straddle",  "short_strangle",  "covered_call",    "covered_put",
    "protective_put",  "protective_call", "collar",          "conversion",
    "reverse_conversion", "long_butterfly", "short_butterfly", "long_condor",
    "iron_condor",     "iron_butterfly",  "box",             "short_box"};

// Strikes and widths are compared with a relative tolerance: 97.5 - 95 must equal 100 - 97.5.
bool same_price(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

double otm_call(double K, double U) { return std::max(K - U, 0.0); }
double otm_put(double K, double U) { return std::max(U - K, 0.0); }

// Naked short option requirement per share, before proceeds (proceeds included in p).
double naked_per_share(int8_t kind, double p, double K, const GroupRates& r,
                       const RegtParams& params) {
  double req;
  if (kind == kLegCall) {
    req = p + std::max(r.naked_rate * r.U - otm_call(K, r.U), r.naked_min * r.U);
  } else {
    req = p + std::max(r.naked_rate * r.U - otm_put(K, r.U), r.naked_min * K);
  }
  return std::max(req, params.naked_floor_per_share);
}

double long_stock_per_share(double P, const GroupRates& r, int basis) {
  return (basis == kBasisInitial ? r.long_init : r.long_maint) * P;
}

double short_stock_per_share(double P, const GroupRates& r, const RegtParams& params, int basis) {
  if (basis == kBasisInitial) return r.short_init * P;
  if (P >= params.short_price_threshold)
    return std::max(r.short_maint * P, params.short_floor_per_share);
  return std::max(r.short_low * P, params.short_low_floor_per_share);
}

bool enabled(const RegtParams& params, RegtStrategy s) {
  return (params.enabled >> static_cast<int>(s)) & 1u;
}

// Collects templates; drops those that save nothing.
struct ColumnSink {
  const std::vector<RegtItem>& items;
  std::vector<RegtColumn>& out;
  size_t cap;         // pairing.max_templates: the library stops growing here ...
  bool full = false;  // ... and the enumeration loops stop once this is set
  void add(RegtStrategy s, std::initializer_list<std::pair<int, double>> legs, double cost) {
    if (out.size() >= cap) {
      full = true;
      return;
    }
    RegtColumn c{};
    c.strategy = static_cast<int8_t>(s);
    c.n_legs = 0;
    double standalone = 0.0;
    for (const auto& leg : legs) {
      c.item[c.n_legs] = leg.first;
      c.ratio[c.n_legs] = leg.second;
      standalone += leg.second * items[leg.first].unit_cost;
      ++c.n_legs;
    }
    for (int k = c.n_legs; k < 4; ++k) {
      c.item[k] = -1;
      c.ratio[k] = 0.0;
    }
    c.cost = cost;
    c.saving = standalone - cost;
    // A template must also fit the inventory at least once.
    for (int k = 0; k < c.n_legs; ++k)
      if (items[c.item[k]].cap + 1e-9 < c.ratio[k]) return;
    if (c.saving > 1e-12 * std::max(1.0, standalone)) out.push_back(c);
  }
};

bool same_series_family(const RegtItem& a, const RegtItem& b) {
  return a.kind == b.kind && a.expiry == b.expiry && same_price(a.M, b.M);
}

// Two-leg option spreads: long a, short b of the same right; the long expires on or after the
// short. The short leg costs min(naked, loss strike difference); the long is paid in full.
void add_spreads(ColumnSink& sink, const std::vector<int>& longs, const std::vector<int>& shorts,
                 const RegtParams& params) {
  for (int a : longs) {
    if (sink.full) return;
    const RegtItem& L = sink.items[a];
    for (int b : shorts) {
      if (sink.full) return;
      const RegtItem& S = sink.items[b];
      if (L.kind != S.kind || !same_price(L.M, S.M) || L.expiry < S.expiry) continue;
      RegtStrategy s = L.expiry == S.expiry ? RegtStrategy::vertical
                       : same_price(L.K, S.K) ? RegtStrategy::calendar
                                              : RegtStrategy::diagonal;
      if (!enabled(params, s)) continue;
      const double width = L.kind == kLegCall ? L.K - S.K : S.K - L.K;
      const double cost = L.value + std::min(S.naked, std::max(width, 0.0) * S.M);
      sink.add(s, {{a, 1.0}, {b, 1.0}}, cost);
    }
  }
}

// Short call + short put: the larger naked requirement + the other side's premium.
void add_straddles(ColumnSink& sink, const std::vector<int>& shorts, const RegtParams& params) {
  for (int a : shorts) {
    if (sink.full) return;
    const RegtItem& C = sink.items[a];
    if (C.kind != kLegCall) continue;
    for (int b : shorts) {
      if (sink.full) return;
      const RegtItem& P = sink.items[b];
      if (P.kind != kLegPut || !same_price(C.M, P.M)) continue;
      RegtStrategy s = (C.expiry == P.expiry && same_price(C.K, P.K))
                           ? RegtStrategy::short_straddle
                           : RegtStrategy::short_strangle;
      if (!enabled(params, s)) continue;
      double cost = HUGE_VAL;
      if (C.naked >= P.naked) cost = std::min(cost, C.naked + P.value);
      if (P.naked >= C.naked) cost = std::min(cost, P.naked + C.value);
      sink.add(s, {{a, 1.0}, {b, 1.0}}, cost);
    }
  }
}

// Stock hedges. One template unit uses M shares of the stock and one contract.
void add_stock_hedges(ColumnSink& sink, const std::vector<int>& stocks,
                      const std::vector<int>& longs, const std::vector<int>& shorts,
                      const GroupRates& r, const RegtParams& params, int basis) {
  const bool init = basis == kBasisInitial;
  for (int s : stocks) {
    if (sink.full) return;
    const RegtItem& St = sink.items[s];
    const double P = St.p;
    if (St.sign > 0) {
      for (int c : shorts) {  // covered call; maintenance values the stock at no more than K
        const RegtItem& C = sink.items[c];
        if (C.kind != kLegCall || !enabled(params, RegtStrategy::covered_call)) continue;
        const double per_share = init ? r.long_init * P : r.long_maint * std::min(P, C.K);
        sink.add(RegtStrategy::covered_call, {{s, C.M}, {c, 1.0}}, per_share * C.M);
      }
      for (int p : longs) {  // protective put
        const RegtItem& Pu = sink.items[p];
        if (Pu.kind != kLegPut || !enabled(params, RegtStrategy::protective_put)) continue;
        const double per_share =
            init ? r.long_init * P
                 : std::min(params.protective_put_strike_rate * Pu.K + otm_put(Pu.K, r.U),
                            r.long_maint * P);
        sink.add(RegtStrategy::protective_put, {{s, Pu.M}, {p, 1.0}}, Pu.value + per_share * Pu.M);
      }
      for (int p : longs) {  // collar and conversion: long stock + long put + short call
        const RegtItem& Pu = sink.items[p];
        if (Pu.kind != kLegPut) continue;
        for (int c : shorts) {
          if (sink.full) return;
          const RegtItem& C = sink.items[c];
          if (C.kind != kLegCall || !same_price(C.M, Pu.M)) continue;
          if (enabled(params, RegtStrategy::conversion) && same_price(C.K, Pu.K) &&
              C.expiry == Pu.expiry) {
            const double per_share = init ? r.long_init * P : params.conversion_strike_rate * C.K;
            sink.add(RegtStrategy::conversion, {{s, C.M}, {p, 1.0}, {c, 1.0}},
                     Pu.value + per_share * C.M);
          }
          if (enabled(params, RegtStrategy::collar) && Pu.K <= C.K && Pu.expiry >= C.expiry) {
            const double per_share =
                init ? r.long_init * P
                     : std::min(params.collar_put_strike_rate * Pu.K + otm_put(Pu.K, r.U),
                                r.long_maint * C.K);
            sink.add(RegtStrategy::collar, {{s, C.M}, {p, 1.0}, {c, 1.0}},
                     Pu.value + per_share * C.M);
          }
        }
      }
    } else {
      const double short_req = short_stock_per_share(P, r, params, basis);
      for (int p : shorts) {  // covered put: short stock requirement + put ITM amount
        const RegtItem& Pu = sink.items[p];
        if (Pu.kind != kLegPut || !enabled(params, RegtStrategy::covered_put)) continue;
        sink.add(RegtStrategy::covered_put, {{s, Pu.M}, {p, 1.0}},
                 (short_req + otm_call(Pu.K, r.U)) * Pu.M);  // put ITM = max(K - U, 0)
      }
      for (int c : longs) {  // long call + short stock
        const RegtItem& C = sink.items[c];
        if (C.kind != kLegCall || !enabled(params, RegtStrategy::protective_call)) continue;
        const double per_share =
            init ? short_req
                 : std::min(params.protective_call_strike_rate * C.K + otm_call(C.K, r.U),
                            short_req);
        sink.add(RegtStrategy::protective_call, {{s, C.M}, {c, 1.0}}, C.value + per_share * C.M);
      }
      if (!enabled(params, RegtStrategy::reverse_conversion)) continue;
      for (int c : longs) {  // reverse conversion: short stock + short put + long call
        const RegtItem& C = sink.items[c];
        if (C.kind != kLegCall) continue;
        for (int p : shorts) {
          if (sink.full) return;
          const RegtItem& Pu = sink.items[p];
          if (Pu.kind != kLegPut || !same_price(C.K, Pu.K) || C.expiry != Pu.expiry ||
              !same_price(C.M, Pu.M))
            continue;
          const double per_share =
              init ? short_req
                   : params.reverse_conversion_strike_rate * C.K + otm_call(Pu.K, r.U);
          sink.add(RegtStrategy::reverse_conversion, {{s, C.M}, {p, 1.0}, {c, 1.0}},
                   C.value + per_share * C.M);
        }
      }
    }
  }
}

// Butterflies: wings and body of one right and expiry, equal strike intervals.
void add_butterflies(ColumnSink& sink, const std::vector<int>& wings,
                     const std::vector<int>& bodies, bool long_fly, const RegtParams& params) {
  const RegtStrategy s = long_fly ? RegtStrategy::long_butterfly : RegtStrategy::short_butterfly;
  if (!enabled(params, s)) return;
  for (int b : bodies) {
    if (sink.full) return;
    const RegtItem& B = sink.items[b];
    if (B.cap < 2.0 - 1e-9) continue;
    for (int lo : wings) {
      if (sink.full) return;
      const RegtItem& L = sink.items[lo];
      if (!same_series_family(L, B) || !(L.K < B.K)) continue;
      for (int hi : wings) {
        if (sink.full) return;
        const RegtItem& H = sink.items[hi];
        if (!same_series_family(H, B) || !same_price(H.K - B.K, B.K - L.K)) continue;
        // long: wings at value; short: body at value + one wing's strike difference
        const double cost = long_fly ? L.value + H.value : 2.0 * B.value + (B.K - L.K) * B.M;
        sink.add(s, {{lo, 1.0}, {b, 2.0}, {hi, 1.0}}, cost);
      }
    }
  }
}

// Long condor: long K1, short K2, short K3, long K4 with K2 - K1 = K4 - K3; cost the longs.
void add_condors(ColumnSink& sink, const std::vector<int>& longs, const std::vector<int>& shorts,
                 const RegtParams& params) {
  if (!enabled(params, RegtStrategy::long_condor)) return;
  for (int a : longs) {
    if (sink.full) return;
    const RegtItem& A = sink.items[a];
    for (int b : shorts) {
      if (sink.full) return;
      const RegtItem& B = sink.items[b];
      if (!same_series_family(A, B) || !(A.K < B.K)) continue;
      for (int c : shorts) {
        if (sink.full) return;
        const RegtItem& C = sink.items[c];
        if (!same_series_family(C, B) || !(B.K < C.K)) continue;
        for (int d : longs) {
          if (sink.full) return;
          const RegtItem& D = sink.items[d];
          if (!same_series_family(D, A) || !same_price(D.K - C.K, B.K - A.K)) continue;
          sink.add(RegtStrategy::long_condor, {{a, 1.0}, {b, 1.0}, {c, 1.0}, {d, 1.0}},
                   A.value + D.value);
        }
      }
    }
  }
}

// Iron condor / butterfly (long put K1 < short put K2 <= short call K3 < long call K4), long box
// (long call K1, short call K2, long put K2, short put K1) and short box (the reverse), all one
// expiry. Only one side of an iron condor can lose, so it pays the wider wing once.
void add_four_leg_mixed(ColumnSink& sink, const std::vector<int>& longs,
                        const std::vector<int>& shorts, const RegtParams& params) {
  const bool iron = enabled(params, RegtStrategy::iron_condor) ||
                    enabled(params, RegtStrategy::iron_butterfly);
  const bool box = enabled(params, RegtStrategy::box);
  const bool short_box = enabled(params, RegtStrategy::short_box);
  for (int lp : longs) {
    if (sink.full) return;
    const RegtItem& LP = sink.items[lp];
    if (LP.kind != kLegPut) continue;
    for (int sp : shorts) {
      if (sink.full) return;
      const RegtItem& SP = sink.items[sp];
      if (SP.kind != kLegPut || SP.expiry != LP.expiry || !same_price(SP.M, LP.M)) continue;
      for (int sc : shorts) {
        if (sink.full) return;
        const RegtItem& SC = sink.items[sc];
        if (SC.kind != kLegCall || SC.expiry != LP.expiry || !same_price(SC.M, LP.M)) continue;
        for (int lc : longs) {
          if (sink.full) return;
          const RegtItem& LC = sink.items[lc];
          if (LC.kind != kLegCall || LC.expiry != LP.expiry || !same_price(LC.M, LP.M)) continue;
          const auto legs = {std::pair<int, double>{lp, 1.0}, {sp, 1.0}, {sc, 1.0}, {lc, 1.0}};
          if (iron && LP.K < SP.K && SP.K <= SC.K && SC.K < LC.K) {
            const RegtStrategy s =
                same_price(SP.K, SC.K) ? RegtStrategy::iron_butterfly : RegtStrategy::iron_condor;
            if (enabled(params, s)) {
              const double wing = std::max(SP.K - LP.K, LC.K - SC.K);
              sink.add(s, legs, LP.value + LC.value + wing * LP.M);
            }
          }
          // long box: long call K1 / short call K2, long put K2 / short put K1
          if (box && LC.K < SC.K && same_price(LC.K, SP.K) && same_price(SC.K, LP.K))
            sink.add(RegtStrategy::box, legs, LP.value + LC.value);
          // short box: short call K1 / long call K2, short put K2 / long put K1
          if (short_box && SC.K < LC.K && same_price(SC.K, LP.K) && same_price(LC.K, SP.K))
            sink.add(RegtStrategy::short_box, legs, LP.value + LC.value + (LC.K - SC.K) * LP.M);
        }
      }
    }
  }
}

}  // namespace

const char* regt_strategy_name(int code) {
  return (code >= 0 && code < kRegtStrategyCount) ? kNames[code] : "unknown";
}

GroupRates group_rates(const RegtGroups& g, int64_t i) {
  return GroupRates{g.underlying_price[i], g.naked_rate[i],       g.naked_minimum[i],
                    g.long_initial[i],     g.long_maintenance[i], g.short_initial[i],
                    g.short_maintenance[i], g.short_low_maintenance[i]};
}

void build_items(const RegtLegs& legs, int64_t begin, int64_t end, const GroupRates& r,
                 const RegtParams& params, int basis, std::vector<RegtItem>& items) {
  items.clear();
  for (int64_t i = begin; i < end; ++i) {
    const double q = legs.quantity[i];
    if (q == 0.0) continue;
    RegtItem it{};
    it.leg = i;
    it.kind = legs.kind[i];
    it.sign = q > 0 ? 1 : -1;
    it.cap = std::fabs(q);
    it.K = legs.strike[i];
    it.M = legs.multiplier[i];
    it.p = legs.price[i];
    it.expiry = legs.expiry[i];
    if (it.kind == kLegStock) {
      it.value = it.p;
      it.naked = 0.0;
      it.unit_cost = it.sign > 0 ? long_stock_per_share(it.p, r, basis)
                                 : short_stock_per_share(it.p, r, params, basis);
    } else {
      it.value = it.p * it.M;
      it.naked = naked_per_share(it.kind, it.p, it.K, r, params) * it.M;
      it.unit_cost = it.sign > 0 ? legs.long_rate[i] * it.value : it.naked;
    }
    items.push_back(it);
  }
}

bool build_columns(const std::vector<RegtItem>& items, const GroupRates& r,
                   const RegtParams& params, int basis, TemplateScratch& scratch,
                   std::vector<RegtColumn>& columns) {
  columns.clear();
  auto& stocks = scratch.stocks;
  auto& longs = scratch.longs;
  auto& shorts = scratch.shorts;
  stocks.clear();
  longs.clear();
  shorts.clear();
  for (int i = 0; i < static_cast<int>(items.size()); ++i) {
    if (items[i].kind == kLegStock)
      stocks.push_back(i);
    else if (items[i].sign > 0)
      longs.push_back(i);
    else
      shorts.push_back(i);
  }
  ColumnSink sink{items, columns,
                  static_cast<size_t>(std::max<int64_t>(params.max_templates, 0))};
  if (shorts.empty() && (stocks.empty() || longs.empty())) return true;  // nothing can pair
  add_spreads(sink, longs, shorts, params);
  add_straddles(sink, shorts, params);
  add_stock_hedges(sink, stocks, longs, shorts, r, params, basis);
  add_butterflies(sink, longs, shorts, true, params);
  add_butterflies(sink, shorts, longs, false, params);
  add_condors(sink, longs, shorts, params);
  add_four_leg_mixed(sink, longs, shorts, params);
  return !sink.full;
}

RegtStrategy standalone_strategy(const RegtItem& item) {
  if (item.kind == kLegStock)
    return item.sign > 0 ? RegtStrategy::long_stock : RegtStrategy::short_stock;
  if (item.sign > 0) return RegtStrategy::long_option;
  return item.kind == kLegCall ? RegtStrategy::naked_call : RegtStrategy::naked_put;
}

}  // namespace pmfast

// See span.hpp. The order of every floating-point operation mirrors pmfast/_reference/span.py
// (the twin) so the two agree to the last bit on the same input; keep them in step. Hence no
// fused multiply-add here (the core is built with -march=native, where GCC would fuse q * ra + l).
#pragma GCC optimize("fp-contract=off")
#include "pmfast_core/span/span.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "pmfast_core/common/errors.hpp"
#include "pmfast_core/common/parallel.hpp"

namespace pmfast {
namespace {

// CSR lists "items of each cc" built once per call from the item -> cc arrays.
struct PerCc {
  std::vector<int32_t> start, items;
  PerCc(int32_t n_ccs, int32_t n, const int32_t* cc_of) : start(n_ccs + 1, 0), items(n) {
    for (int32_t i = 0; i < n; ++i) ++start[cc_of[i] + 1];
    for (int32_t k = 0; k < n_ccs; ++k) start[k + 1] += start[k];
    std::vector<int32_t> fill(start.begin(), start.end() - 1);
    for (int32_t i = 0; i < n; ++i) items[fill[cc_of[i]]++] = i;  // ascending within a cc
  }
  const int32_t* begin(int32_t k) const { return items.data() + start[k]; }
  const int32_t* end(int32_t k) const { return items.data() + start[k + 1]; }
};

// One spread, both directions (A long / B short, then A short / B long). pos/neg are each
// tier's long and short delta left. With same_split and every leg on one tier, long and short
// months of that tier spread against each other; otherwise a leg sees its tier's net delta.
double walk_spread(int32_t nl, const int32_t* tier, const int32_t* side, const double* ratio,
                   double* pos, double* neg, bool same_split) {
  bool same = same_split && nl > 0;
  for (int32_t l = 1; same && l < nl; ++l) same = tier[l] == tier[0];
  double total = 0.0;
  for (int dir = 1; dir >= -1; dir -= 2) {
    double n = std::numeric_limits<double>::infinity();
    for (int32_t l = 0; l < nl; ++l) {
      const int want = dir * side[l];
      const double p = pos[tier[l]], g = neg[tier[l]];
      double avail;
      if (same) {
        avail = want > 0 ? p : g;
      } else {
        const double net = p - g;
        avail = (want > 0 && net > 0) ? net : ((want < 0 && net < 0) ? -net : 0.0);
      }
      n = std::min(n, avail / ratio[l]);
    }
    if (nl == 0 || !(n > 0.0)) continue;
    for (int32_t l = 0; l < nl; ++l) {
      double& s = dir * side[l] > 0 ? pos[tier[l]] : neg[tier[l]];
      s = std::max(0.0, s - n * ratio[l]);
    }
    total += n;
  }
  return total;
}

struct Workspace {
  std::vector<double> loss, mdelta, rem, som, nov, intra, spot, inter, wfpr, scan, price;
  std::vector<double> pos, neg, pos0, neg0, itd, xpos, xneg;
  std::vector<int32_t> worst, n_months_held, one_month;
  std::vector<uint8_t> cc_seen, m_seen;
  std::vector<int32_t> ccs, months_held;
  explicit Workspace(const SpanLayout& L)
      : loss(size_t(L.n_groups) * kSpanScenarios, 0.0), mdelta(L.n_months, 0.0),
        rem(L.n_months, 0.0), som(L.n_ccs, 0.0), nov(L.n_ccs, 0.0), intra(L.n_ccs, 0.0),
        spot(L.n_ccs, 0.0), inter(L.n_ccs, 0.0), wfpr(L.n_ccs, 0.0), scan(L.n_ccs, 0.0),
        price(L.n_ccs, 0.0), pos(L.n_tiers, 0.0), neg(L.n_tiers, 0.0), pos0(L.n_tiers, 0.0),
        neg0(L.n_tiers, 0.0), itd(L.n_inter_tiers, 0.0), xpos(L.n_inter_tiers, 0.0),
        xneg(L.n_inter_tiers, 0.0), worst(L.n_ccs, 0), n_months_held(L.n_ccs, 0),
        one_month(L.n_ccs, -1), cc_seen(L.n_ccs, 0), m_seen(L.n_months, 0) {}
};

struct Index {
  PerCc groups, months, tiers, inter_tiers, intra_spreads;
  // With at most 64 inter tiers, each inter spread's leg tiers as a bit mask: a spread is
  // skipped in one AND when a leg's tier held no delta (a pure filter: the walk decides).
  bool use_masks;
  std::vector<uint64_t> spread_mask;
  explicit Index(const SpanLayout& L)
      : groups(L.n_ccs, L.n_groups, L.g_cc), months(L.n_ccs, L.n_months, L.m_cc),
        tiers(L.n_ccs, L.n_tiers, L.t_cc), inter_tiers(L.n_ccs, L.n_inter_tiers, L.it_cc),
        intra_spreads(L.n_ccs, L.n_intra_spreads, L.is_cc),
        use_masks(L.n_inter_tiers <= 64), spread_mask(L.n_inter_spreads, 0) {
    for (int32_t s = 0; use_masks && s < L.n_inter_spreads; ++s)
      for (int32_t l = L.x_leg_start[s]; l < L.x_leg_start[s + 1]; ++l)
        spread_mask[s] |= uint64_t(1) << L.xl_tier[l];
  }
};

// Scan and price risk of one scan group's 16 losses (twin: _scan).
void scan_group(const double* l, const int32_t* paired, double& scan, double& price) {
  int w = 0;
  for (int j = 1; j < kSpanScenarios; ++j)
    if (l[j] > l[w]) w = j;
  const double s = std::max(0.0, l[w]);
  if (s <= 0.0) {
    scan = 0.0;
    price = 0.0;
    return;
  }
  const double time = 0.5 * (l[0] + l[1]);
  const double vol = 0.5 * (l[w] - l[paired[w]]);
  scan = s;
  price = std::max(0.0, s - time - vol);
}

// Intra spreads, delivery charge and what each month keeps, for a cc with several months held.
void general_intra(const SpanLayout& L, const Index& ix, Workspace& w, int32_t k, double price) {
  double net = 0.0;
  for (const int32_t* m = ix.months.begin(k); m != ix.months.end(k); ++m) net += w.mdelta[*m];
  w.wfpr[k] = std::fabs(net) > 0 ? price / std::fabs(net) : 0.0;
  for (const int32_t* m = ix.months.begin(k); m != ix.months.end(k); ++m) {
    const int32_t t = L.m_intra[*m];
    const double d = w.mdelta[*m];
    if (t < 0) continue;
    if (d > 0) w.pos0[t] += d;
    else if (d < 0) w.neg0[t] += -d;
  }
  for (const int32_t* t = ix.tiers.begin(k); t != ix.tiers.end(k); ++t) {
    w.pos[*t] = w.pos0[*t];
    w.neg[*t] = w.neg0[*t];
  }
  for (const int32_t* s = ix.intra_spreads.begin(k); s != ix.intra_spreads.end(k); ++s) {
    const int32_t b = L.is_leg_start[*s], e = L.is_leg_start[*s + 1];
    const double formed = walk_spread(e - b, L.il_tier + b, L.il_side + b, L.il_ratio + b,
                                      w.pos.data(), w.neg.data(), true);
    w.intra[k] += formed * L.is_rate[*s];
  }
  for (const int32_t* m = ix.months.begin(k); m != ix.months.end(k); ++m) {
    const int32_t t = L.m_intra[*m];
    const double d = w.mdelta[*m];
    double r = d;
    if (t >= 0 && d != 0) r = d > 0 ? d * (w.pos[t] / w.pos0[t]) : d * (w.neg[t] / w.neg0[t]);
    w.rem[*m] = r;
    if (L.m_spot_spread[*m] != 0 || L.m_spot_outright[*m] != 0) {
      const double left = std::fabs(r);
      w.spot[k] += (std::fabs(d) - left) * L.m_spot_spread[*m] + left * L.m_spot_outright[*m];
    }
    if (L.m_inter[*m] >= 0) w.itd[L.m_inter[*m]] += r;
  }
}

// Margin one account: positions sc/sq (sorted by contract, no duplicates). Appends nothing;
// writes rows [row, row + number of ccs held) of out.
void margin_account(const SpanLayout& L, const Index& ix, Workspace& w, int32_t a, int64_t n,
                    const int32_t* sc, const double* sq, bool round_scan, int64_t row,
                    SpanOut& out) {
  w.ccs.clear();
  w.months_held.clear();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = sc[i];
    const double q = sq[i];
    double* loss = w.loss.data() + size_t(L.c_group[c]) * kSpanScenarios;
    const double* ra = L.ra + size_t(c) * kSpanScenarios;
    for (int j = 0; j < kSpanScenarios; ++j) loss[j] += q * ra[j];
    const int32_t m = L.c_month[c];
    w.mdelta[m] += q * L.delta[c];
    const int32_t k = L.c_cc[c];
    if (!w.cc_seen[k]) {
      w.cc_seen[k] = 1;
      w.ccs.push_back(k);
    }
    if (!w.m_seen[m]) {
      w.m_seen[m] = 1;
      w.months_held.push_back(m);
      ++w.n_months_held[k];
      w.one_month[k] = m;
    }
    if (q < 0) w.som[k] += (-q) * L.som_rate[c];
    w.nov[k] += q * L.value[c];
  }
  std::sort(w.ccs.begin(), w.ccs.end());
  // scan risk, price risk, worst scenario, weighted futures price risk; intra walk; spot
  for (const int32_t k : w.ccs) {
    double scan = 0.0, price = 0.0, total[kSpanScenarios] = {0.0};
    for (const int32_t* g = ix.groups.begin(k); g != ix.groups.end(k); ++g) {
      const double* l = w.loss.data() + size_t(*g) * kSpanScenarios;
      double s, p;
      scan_group(l, L.paired, s, p);
      scan += s;
      price += p;
      for (int j = 0; j < kSpanScenarios; ++j) total[j] += l[j];
    }
    int worst = 0;
    for (int j = 1; j < kSpanScenarios; ++j)
      if (total[j] > total[worst]) worst = j;
    w.worst[k] = worst + 1;
    if (round_scan) scan = std::floor(scan + 0.5);
    w.scan[k] = scan;
    if (w.n_months_held[k] == 1) {
      // One month held: no spread can form (a same-tier spread needs long and short months,
      // a cross-tier one two tiers), so the month keeps its delta. The same numbers as the
      // general path below (and the twin) for a fraction of its loops.
      const int32_t m = w.one_month[k];
      const double d = w.mdelta[m];
      w.wfpr[k] = std::fabs(d) > 0 ? price / std::fabs(d) : 0.0;
      w.rem[m] = d;
      if (L.m_spot_spread[m] != 0 || L.m_spot_outright[m] != 0) {
        const double left = std::fabs(d);
        w.spot[k] += (std::fabs(d) - left) * L.m_spot_spread[m] + left * L.m_spot_outright[m];
      }
      if (L.m_inter[m] >= 0) w.itd[L.m_inter[m]] += d;
    } else {
      general_intra(L, ix, w, k, price);
    }
    for (const int32_t* t = ix.inter_tiers.begin(k); t != ix.inter_tiers.end(k); ++t) {
      w.xpos[*t] = std::max(w.itd[*t], 0.0);
      w.xneg[*t] = std::max(-w.itd[*t], 0.0);
    }
  }
  // inter-commodity credits, every spread in priority order
  uint64_t live_tiers = 0;
  if (ix.use_masks)
    for (const int32_t k : w.ccs)
      for (const int32_t* t = ix.inter_tiers.begin(k); t != ix.inter_tiers.end(k); ++t)
        if (w.xpos[*t] != 0.0 || w.xneg[*t] != 0.0) live_tiers |= uint64_t(1) << *t;
  if (!w.ccs.empty()) {
    for (int32_t s = 0; s < L.n_inter_spreads; ++s) {
      if (ix.use_masks && (ix.spread_mask[s] & ~live_tiers)) continue;
      const int32_t b = L.x_leg_start[s], e = L.x_leg_start[s + 1];
      bool live = e > b;  // a leg with no delta left forms nothing: skip the walk (most spreads)
      for (int32_t l = b; live && l < e; ++l)
        live = w.xpos[L.xl_tier[l]] != 0.0 || w.xneg[L.xl_tier[l]] != 0.0;
      if (!live) continue;
      const double n = walk_spread(e - b, L.xl_tier + b, L.xl_side + b, L.xl_ratio + b,
                                   w.xpos.data(), w.xneg.data(), false);
      if (!(n > 0)) continue;
      for (int32_t l = b; l < e; ++l) {
        const int32_t k = L.it_cc[L.xl_tier[l]];
        w.inter[k] += n * L.xl_ratio[l] * w.wfpr[k] * L.x_rate[s];
      }
    }
  }
  // assemble the rows and reset the workspace for the next account
  for (const int32_t k : w.ccs) {
    const double risk = std::max(w.scan[k] + w.intra[k] + w.spot[k] - w.inter[k], w.som[k]);
    double nv = w.nov[k];
    if (L.cc_cap_anov[k] && nv > 0) nv = std::min(nv, risk);
    const double fx = L.cc_fx[k];
    out.row_account[row] = a;
    out.row_cc[row] = k;
    out.row_worst[row] = w.worst[k];
    out.scan[row] = w.scan[k] * fx;
    out.intra[row] = w.intra[k] * fx;
    out.spot[row] = w.spot[k] * fx;
    out.inter[row] = w.inter[k] * fx;
    out.som[row] = w.som[k] * fx;
    out.risk[row] = risk * fx;
    out.nov[row] = nv * fx;
    out.maint[row] = risk * L.cc_maint[k] * fx;
    ++row;
    for (const int32_t* g = ix.groups.begin(k); g != ix.groups.end(k); ++g)
      std::fill_n(w.loss.data() + size_t(*g) * kSpanScenarios, kSpanScenarios, 0.0);
    if (w.n_months_held[k] == 1) {
      w.mdelta[w.one_month[k]] = w.rem[w.one_month[k]] = 0.0;
    } else {
      for (const int32_t* m = ix.months.begin(k); m != ix.months.end(k); ++m)
        w.mdelta[*m] = w.rem[*m] = 0.0;
      for (const int32_t* t = ix.tiers.begin(k); t != ix.tiers.end(k); ++t)
        w.pos[*t] = w.neg[*t] = w.pos0[*t] = w.neg0[*t] = 0.0;
    }
    w.n_months_held[k] = 0;
    for (const int32_t* t = ix.inter_tiers.begin(k); t != ix.inter_tiers.end(k); ++t)
      w.itd[*t] = w.xpos[*t] = w.xneg[*t] = 0.0;
    w.som[k] = w.nov[k] = w.intra[k] = w.spot[k] = w.inter[k] = w.wfpr[k] = w.scan[k] = 0.0;
    w.cc_seen[k] = 0;
  }
  for (const int32_t m : w.months_held) w.m_seen[m] = 0;
}

}  // namespace

void span_margin_core(const SpanLayout& L, int64_t n_pos, const int32_t* acct,
                      const int32_t* contract, const double* qty, int32_t n_accounts,
                      bool round_scan, int n_threads, SpanOut& out) {
  for (int64_t i = 0; i < n_pos; ++i) {
    if (acct[i] < 0 || acct[i] >= n_accounts) throw bad_value("account", i, acct[i], "out of range");
    if (contract[i] < 0 || contract[i] >= L.n_contracts)
      throw bad_value("contract", i, contract[i], "out of range");
  }
  const Index ix(L);
  // counting sort by account (stable), then each account's slice sorted by contract
  std::vector<int64_t> start(size_t(n_accounts) + 1, 0);
  for (int64_t i = 0; i < n_pos; ++i) ++start[size_t(acct[i]) + 1];
  for (int32_t a = 0; a < n_accounts; ++a) start[a + 1] += start[a];
  std::vector<int32_t> sc(n_pos);
  std::vector<double> sq(n_pos);
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n_pos; ++i) {
      const int64_t at = fill[acct[i]]++;
      sc[at] = contract[i];
      sq[at] = qty[i];
    }
  }
  out.dup.assign(n_accounts, -1);
  std::vector<int64_t> n_rows(size_t(n_accounts) + 1, 0);
  const int64_t grain = 512;
  parallel_for(n_accounts, n_threads, grain, [&](int64_t a0, int64_t a1) {
    std::vector<uint8_t> seen(L.n_ccs, 0);
    std::vector<std::pair<int32_t, double>> buf;
    for (int64_t a = a0; a < a1; ++a) {
      const int64_t b = start[a], e = start[a + 1];
      buf.clear();
      for (int64_t i = b; i < e; ++i) buf.emplace_back(sc[i], sq[i]);
      std::sort(buf.begin(), buf.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
      int64_t count = 0;
      for (int64_t i = 0; i < e - b; ++i) {
        sc[b + i] = buf[i].first;
        sq[b + i] = buf[i].second;
        if (i > 0 && buf[i].first == buf[i - 1].first && out.dup[a] < 0) out.dup[a] = buf[i].first;
        const int32_t k = L.c_cc[buf[i].first];
        if (!seen[k]) {
          seen[k] = 1;
          ++count;
        }
      }
      for (int64_t i = 0; i < e - b; ++i) seen[L.c_cc[buf[i].first]] = 0;
      n_rows[a + 1] = out.dup[a] >= 0 ? 0 : count;
    }
  });
  for (int32_t a = 0; a < n_accounts; ++a) n_rows[a + 1] += n_rows[a];
  const size_t rows = size_t(n_rows[n_accounts]);
  out.row_account.assign(rows, 0);
  out.row_cc.assign(rows, 0);
  out.row_worst.assign(rows, 0);
  for (auto* v : {&out.scan, &out.intra, &out.spot, &out.inter, &out.som, &out.risk, &out.nov,
                  &out.maint})
    v->assign(rows, 0.0);
  parallel_for(n_accounts, n_threads, grain, [&](int64_t a0, int64_t a1) {
    Workspace w(L);
    for (int64_t a = a0; a < a1; ++a) {
      if (out.dup[a] >= 0 || start[a + 1] == start[a]) continue;
      margin_account(L, ix, w, int32_t(a), start[a + 1] - start[a], sc.data() + start[a],
                     sq.data() + start[a], round_scan, n_rows[a], out);
    }
  });
}

}  // namespace pmfast

"""Numpy twin of the SPAN core (pmfast_core/span): the test oracle.

Written for clarity, one account at a time, straight from the algorithm in docs/span.md and
reference/span-crypto.md section 1; it shares only the flattened parameters (``Layout``) with
the C++ core. Amounts per (account, combined commodity) come back in the base currency.
"""
import numpy as np

N_SCEN = 16


def _scan(loss_rows, paired):
    """Scan risk and price risk of one scan group's loss vector (see docs/span.md: the price
    risk is the scan risk less the time risk (mean of scenarios 1 and 2) and the volatility risk
    (half the gap between the active scenario and its pair))."""
    worst = int(np.argmax(loss_rows))
    scan = max(0.0, float(loss_rows[worst]))
    if scan <= 0.0:
        return 0.0, 0.0
    time = 0.5 * (loss_rows[0] + loss_rows[1])
    vol = 0.5 * (loss_rows[worst] - loss_rows[paired[worst]])
    return scan, max(0.0, scan - time - vol)


def _walk(spreads, rate_of, tier_state, same_tier_split):
    """Walk ``spreads`` (list of legs [(tier, side, ratio)]) in order; both directions.

    ``tier_state[t]`` is ``[pos, neg]`` (long and short delta left). A leg wanting long delta
    takes it from ``pos``; when every leg of a spread is on one tier and ``same_tier_split``,
    long and short months of that tier spread against each other, otherwise a leg sees the
    tier's net delta. Returns the spreads formed per spread."""
    formed = []
    for s, legs in enumerate(spreads):
        total = 0.0
        same = same_tier_split and len({t for t, _, _ in legs}) == 1
        for direction in (1, -1):
            n = np.inf
            for t, side, ratio in legs:
                want = direction * side
                pos, neg = tier_state[t]
                if same:
                    avail = pos if want > 0 else neg
                else:
                    net = pos - neg
                    avail = net if (want > 0 and net > 0) else (-net if (want < 0 and net < 0)
                                                               else 0.0)
                n = min(n, avail / ratio)
            if not legs or not n > 0.0:
                continue
            for t, side, ratio in legs:
                want = direction * side
                k = 0 if want > 0 else 1
                tier_state[t][k] = max(0.0, tier_state[t][k] - n * ratio)
            total += n
        formed.append(total)
    return formed


def _legs(start, tier, side, ratio):
    return [[(int(tier[i]), int(side[i]), float(ratio[i])) for i in range(start[s], start[s + 1])]
            for s in range(len(start) - 1)]


def span_twin(L, acct, contract, qty, n_accounts, round_scan=False):
    """SPAN per (account, combined commodity) for every account.

    Returns a dict of equal-length arrays: ``account, cc, scan, intra, spot, inter, som, risk,
    nov, maint, worst`` (worst 1-based), and ``dup`` (per account: a contract held twice, or -1).
    """
    acct = np.asarray(acct, np.int64)
    contract = np.asarray(contract, np.int64)
    qty = np.asarray(qty, np.float64)
    order = np.lexsort((contract, acct))
    bounds = np.searchsorted(acct[order], np.arange(n_accounts + 1))
    intra_legs = _legs(L.is_leg_start, L.il_tier, L.il_side, L.il_ratio)
    inter_legs = _legs(L.x_leg_start, L.xl_tier, L.xl_side, L.xl_ratio)
    n_months, n_groups = len(L.m_cc), len(L.g_cc)
    cols = {k: [] for k in ("account", "cc", "scan", "intra", "spot", "inter", "som", "risk",
                            "nov", "maint", "worst")}
    dup = np.full(n_accounts, -1, np.int64)
    for a in range(n_accounts):
        sel = order[bounds[a]:bounds[a + 1]]
        cs, q = contract[sel], qty[sel]
        if len(cs) > 1 and (np.diff(cs) == 0).any():
            dup[a] = cs[np.flatnonzero(np.diff(cs) == 0)[0]]
            continue
        if len(cs) == 0:
            continue
        loss = np.zeros((n_groups, N_SCEN))
        mdelta = np.zeros(n_months)
        som = np.zeros(L.n_ccs)
        nov = np.zeros(L.n_ccs)
        for c, qi in zip(cs, q):       # contract order: the C++ core sums in the same order
            loss[L.c_group[c]] += qi * L.ra[c]
            mdelta[L.c_month[c]] += qi * L.delta[c]
            if qi < 0:
                som[L.c_cc[c]] += -qi * L.som_rate[c]
            nov[L.c_cc[c]] += qi * L.value[c]
        ccs = sorted(set(L.c_cc[cs].tolist()))
        scan_cc, price_cc, worst_cc = {}, {}, {}
        for k in ccs:
            groups = np.flatnonzero(L.g_cc == k)
            total = np.zeros(N_SCEN)
            scan_cc[k] = price_cc[k] = 0.0
            for g in groups:
                s, p = _scan(loss[g], L.paired)
                scan_cc[k] += s
                price_cc[k] += p
                total += loss[g]
            worst_cc[k] = int(np.argmax(total)) + 1
            if round_scan:
                scan_cc[k] = float(np.floor(scan_cc[k] + 0.5))
        net_cc = np.zeros(L.n_ccs)
        np.add.at(net_cc, L.m_cc, mdelta)
        wfpr = {k: (price_cc[k] / abs(net_cc[k]) if abs(net_cc[k]) > 0 else 0.0) for k in ccs}
        # intra-commodity spreads: long and short delta per intra tier, walked per cc
        n_tiers = len(L.t_cc)
        pos0, neg0 = np.zeros(n_tiers), np.zeros(n_tiers)
        for m in range(n_months):
            t = L.m_intra[m]
            if t >= 0:
                if mdelta[m] > 0:
                    pos0[t] += mdelta[m]
                elif mdelta[m] < 0:
                    neg0[t] += -mdelta[m]
        state = [[pos0[t], neg0[t]] for t in range(n_tiers)]
        formed = _walk(intra_legs, None, state, True)
        intra = np.zeros(L.n_ccs)
        for s, n in enumerate(formed):
            intra[L.is_cc[s]] += n * L.is_rate[s]
        # what each month keeps: its tier side's remaining fraction
        rem = mdelta.copy()
        for m in range(n_months):
            t = L.m_intra[m]
            if t >= 0 and mdelta[m] != 0:
                k = 0 if mdelta[m] > 0 else 1
                orig = pos0[t] if k == 0 else neg0[t]
                rem[m] = mdelta[m] * (state[t][k] / orig)
        spot = np.zeros(L.n_ccs)
        for m in range(n_months):
            if L.m_spot_spread[m] or L.m_spot_outright[m]:
                left = abs(rem[m])
                spot[L.m_cc[m]] += (abs(mdelta[m]) - left) * L.m_spot_spread[m] + \
                    left * L.m_spot_outright[m]
        # inter-commodity spreads on the inter tiers' remaining net delta
        n_it = len(L.it_cc)
        itd = np.zeros(n_it)
        for m in range(n_months):
            if L.m_inter[m] >= 0:
                itd[L.m_inter[m]] += rem[m]
        xstate = [[max(d, 0.0), max(-d, 0.0)] for d in itd]
        inter = np.zeros(L.n_ccs)
        for s, legs in enumerate(inter_legs):
            n = _walk([legs], None, xstate, False)[0]
            if n > 0:
                for t, _, ratio in legs:
                    k = L.it_cc[t]
                    inter[k] += n * ratio * wfpr.get(k, 0.0) * L.x_rate[s]
        for k in ccs:
            risk = max(scan_cc[k] + intra[k] + spot[k] - inter[k], som[k])
            nv = nov[k]
            if L.cc_cap_anov[k] and nv > 0:
                nv = min(nv, risk)
            fx = L.cc_fx[k]
            for name, v in (("scan", scan_cc[k]), ("intra", intra[k]), ("spot", spot[k]),
                            ("inter", inter[k]), ("som", som[k]), ("risk", risk), ("nov", nv),
                            ("maint", risk * L.cc_maint[k])):
                cols[name].append(v * fx)
            cols["account"].append(a)
            cols["cc"].append(k)
            cols["worst"].append(worst_cc[k])
    out = {k: np.asarray(v) for k, v in cols.items()}
    out["dup"] = dup
    return out

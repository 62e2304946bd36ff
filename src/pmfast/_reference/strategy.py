"""Test oracle of the Reg T engine, written independently of the C++ core: its own template
enumeration (itertools over legs), the minimum-cost decomposition as a MILP (scipy HiGHS), a
brute-force enumerator for tiny books and a greedy (broker-style) pairing.

Slow by design: per-group Python. Use on small books only.
"""
from __future__ import annotations

import dataclasses
import datetime
import itertools
import math

import numpy as np
import pandas as pd

from pmfast.strategy.legs import KIND_CALL, KIND_OTHER, KIND_PUT, KIND_STOCK, add_months

INITIAL, MAINTENANCE = "initial", "maintenance"


@dataclasses.dataclass(frozen=True)
class Leg:
    index: int        # row in the LegColumns
    kind: int         # KIND_STOCK / KIND_CALL / KIND_PUT
    K: float
    expiry: int
    M: float
    p: float
    q: float
    leaps: bool

    @property
    def long(self):
        return self.q > 0

    @property
    def value(self):  # per contract (options) or per share (stock)
        return self.p * self.M if self.kind != KIND_STOCK else self.p


@dataclasses.dataclass(frozen=True)
class Group:
    U: float
    naked_rate: float
    naked_min: float
    long_init: float
    long_maint: float
    short_init: float
    short_maint: float
    short_low: float


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    use: tuple       # ((leg position in group, units per template unit), ...)
    cost: float      # requirement of one unit


def group_params(underlying_price, group_type, leverage, rules):
    lev = abs(leverage)
    nk = rules.naked[group_type]
    scale_naked = lev if rules.options.leverage_scales_naked else 1.0
    s = rules.stock
    m = lev if s.leverage_scales_maintenance else 1.0
    i = lev if s.leverage_scales_initial else 1.0
    cap = s.maintenance_rate_cap
    return Group(U=underlying_price, naked_rate=nk.rate * scale_naked,
                 naked_min=nk.minimum * scale_naked, long_init=min(s.long_initial * i, 1.0),
                 long_maint=min(s.long_maintenance * m, cap), short_init=s.short_initial * i,
                 short_maint=min(s.short_maintenance * m, cap),
                 short_low=max(min(s.short_low_price_maintenance * m, cap),
                               s.short_low_price_maintenance))


def naked_requirement(leg, g, rules):
    """Per contract, before proceeds."""
    if leg.kind == KIND_CALL:
        otm = max(leg.K - g.U, 0.0)
        per_share = leg.p + max(g.naked_rate * g.U - otm, g.naked_min * g.U)
    else:
        otm = max(g.U - leg.K, 0.0)
        per_share = leg.p + max(g.naked_rate * g.U - otm, g.naked_min * leg.K)
    return max(per_share, rules.options.naked_floor_per_share) * leg.M


def short_stock_per_share(price, g, rules, basis):
    s = rules.stock
    if basis == INITIAL:
        return g.short_init * price
    if price >= s.low_price_threshold:
        return max(g.short_maint * price, s.short_floor_per_share)
    return max(g.short_low * price, s.short_low_price_floor_per_share)


def standalone_cost(leg, g, rules, basis):
    """Requirement of one share (stock) or one contract (option) left on its own."""
    if leg.kind == KIND_STOCK:
        if leg.long:
            return (g.long_init if basis == INITIAL else g.long_maint) * leg.p
        return short_stock_per_share(leg.p, g, rules, basis)
    if leg.long:
        rate = rules.options.leaps_requirement if leg.leaps else rules.options.long_requirement
        return rate * leg.value
    return naked_requirement(leg, g, rules)


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def templates(legs, g, rules, basis):
    """Every enabled multi-leg strategy the group's legs can form (with any saving)."""
    on = set(rules.pairing.strategies)
    h = rules.hedges
    out = []
    pos = range(len(legs))
    opt = [i for i in pos if legs[i].kind != KIND_STOCK]
    calls_l = [i for i in opt if legs[i].kind == KIND_CALL and legs[i].long]
    calls_s = [i for i in opt if legs[i].kind == KIND_CALL and not legs[i].long]
    puts_l = [i for i in opt if legs[i].kind == KIND_PUT and legs[i].long]
    puts_s = [i for i in opt if legs[i].kind == KIND_PUT and not legs[i].long]
    stock_l = [i for i in pos if legs[i].kind == KIND_STOCK and legs[i].long]
    stock_s = [i for i in pos if legs[i].kind == KIND_STOCK and not legs[i].long]
    nk = {i: naked_requirement(legs[i], g, rules) for i in calls_s + puts_s}
    ini = basis == INITIAL

    def add(name, use, cost):
        if name in on:
            out.append(Template(name, tuple(use), cost))

    # spreads: long and short of one right, long expiring on or after the short
    for longs, shorts, call in ((calls_l, calls_s, True), (puts_l, puts_s, False)):
        for a, b in itertools.product(longs, shorts):
            L, S = legs[a], legs[b]
            if L.expiry < S.expiry or not _close(L.M, S.M):
                continue
            name = ("vertical" if L.expiry == S.expiry else
                    "calendar" if _close(L.K, S.K) else "diagonal")
            loss = max((L.K - S.K) if call else (S.K - L.K), 0.0)
            add(name, [(a, 1), (b, 1)], L.value + min(nk[b], loss * S.M))
    for a, b in itertools.product(calls_s, puts_s):
        C, P = legs[a], legs[b]
        if not _close(C.M, P.M):
            continue
        name = "short_straddle" if C.expiry == P.expiry and _close(C.K, P.K) else \
            "short_strangle"
        options = []
        if nk[a] >= nk[b]:
            options.append(nk[a] + P.value)
        if nk[b] >= nk[a]:
            options.append(nk[b] + C.value)
        add(name, [(a, 1), (b, 1)], min(options))
    # stock hedges: M shares per contract
    for s in stock_l:
        P0 = legs[s].p
        for c in calls_s:
            C = legs[c]
            per = g.long_init * P0 if ini else g.long_maint * min(P0, C.K)
            add("covered_call", [(s, C.M), (c, 1)], per * C.M)
        for p in puts_l:
            Pu = legs[p]
            per = g.long_init * P0 if ini else min(
                h.protective_put_strike_rate * Pu.K + max(g.U - Pu.K, 0.0), g.long_maint * P0)
            add("protective_put", [(s, Pu.M), (p, 1)], Pu.value + per * Pu.M)
        for p, c in itertools.product(puts_l, calls_s):
            Pu, C = legs[p], legs[c]
            if not _close(Pu.M, C.M):
                continue
            if _close(Pu.K, C.K) and Pu.expiry == C.expiry:
                per = g.long_init * P0 if ini else h.conversion_strike_rate * C.K
                add("conversion", [(s, C.M), (p, 1), (c, 1)], Pu.value + per * C.M)
            if Pu.K <= C.K and Pu.expiry >= C.expiry:
                per = g.long_init * P0 if ini else min(
                    h.collar_put_strike_rate * Pu.K + max(g.U - Pu.K, 0.0), g.long_maint * C.K)
                add("collar", [(s, C.M), (p, 1), (c, 1)], Pu.value + per * C.M)
    for s in stock_s:
        short_req = short_stock_per_share(legs[s].p, g, rules, basis)
        for p in puts_s:
            Pu = legs[p]
            add("covered_put", [(s, Pu.M), (p, 1)], (short_req + max(Pu.K - g.U, 0.0)) * Pu.M)
        for c in calls_l:
            C = legs[c]
            per = short_req if ini else min(
                h.protective_call_strike_rate * C.K + max(C.K - g.U, 0.0), short_req)
            add("protective_call", [(s, C.M), (c, 1)], C.value + per * C.M)
        for c, p in itertools.product(calls_l, puts_s):
            C, Pu = legs[c], legs[p]
            if _close(C.K, Pu.K) and C.expiry == Pu.expiry and _close(C.M, Pu.M):
                per = short_req if ini else \
                    h.reverse_conversion_strike_rate * C.K + max(Pu.K - g.U, 0.0)
                add("reverse_conversion", [(s, C.M), (p, 1), (c, 1)], C.value + per * C.M)

    def family(*idx):
        first = legs[idx[0]]
        return all(legs[i].kind == first.kind and legs[i].expiry == first.expiry and
                   _close(legs[i].M, first.M) for i in idx)

    # butterflies and condors of one right and expiry, equal intervals
    for longs, shorts in ((calls_l, calls_s), (puts_l, puts_s)):
        for lo, body, hi in itertools.product(longs, shorts, longs):
            A, B, C = legs[lo], legs[body], legs[hi]
            if family(lo, body, hi) and A.K < B.K < C.K and _close(B.K - A.K, C.K - B.K):
                add("long_butterfly", [(lo, 1), (body, 2), (hi, 1)], A.value + C.value)
        for lo, body, hi in itertools.product(shorts, longs, shorts):
            A, B, C = legs[lo], legs[body], legs[hi]
            if family(lo, body, hi) and A.K < B.K < C.K and _close(B.K - A.K, C.K - B.K):
                add("short_butterfly", [(lo, 1), (body, 2), (hi, 1)],
                    2 * B.value + (B.K - A.K) * B.M)
        for a, b, c, d in itertools.product(longs, shorts, shorts, longs):
            A, B, C, D = legs[a], legs[b], legs[c], legs[d]
            if family(a, b, c, d) and A.K < B.K < C.K < D.K and _close(B.K - A.K, D.K - C.K):
                add("long_condor", [(a, 1), (b, 1), (c, 1), (d, 1)], A.value + D.value)
    for lp, sp, sc, lc in itertools.product(puts_l, puts_s, calls_s, calls_l):
        LP, SP, SC, LC = legs[lp], legs[sp], legs[sc], legs[lc]
        if not (LP.expiry == SP.expiry == SC.expiry == LC.expiry and
                all(_close(x.M, LP.M) for x in (SP, SC, LC))):
            continue
        use = [(lp, 1), (sp, 1), (sc, 1), (lc, 1)]
        if LP.K < SP.K <= SC.K < LC.K:
            name = "iron_butterfly" if _close(SP.K, SC.K) else "iron_condor"
            add(name, use, LP.value + LC.value + max(SP.K - LP.K, LC.K - SC.K) * LP.M)
        if LC.K < SC.K and _close(LC.K, SP.K) and _close(SC.K, LP.K):
            add("box", use, LP.value + LC.value)
        if SC.K < LC.K and _close(SC.K, LP.K) and _close(LC.K, SP.K):
            add("short_box", use, LP.value + LC.value + (LC.K - SC.K) * LP.M)
    return out


def _caps(legs):
    return np.array([abs(leg.q) for leg in legs], dtype=float)


def _usage(tmpls, n):
    A = np.zeros((n, len(tmpls)))
    for t, tpl in enumerate(tmpls):
        for i, units in tpl.use:
            A[i, t] += units
    return A


def solve_milp(legs, tmpls, base):
    """Minimum total requirement: sum_t cost_t x_t + sum_j base_j r_j, usage + r = cap."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    n, T = len(legs), len(tmpls)
    caps = _caps(legs)
    if T == 0:
        return float(base @ caps), np.zeros(0)
    A = _usage(tmpls, n)
    c = np.r_[[t.cost for t in tmpls], base]
    cons = LinearConstraint(np.hstack([A, np.eye(n)]), caps, caps)
    integrality = np.r_[np.ones(T), np.zeros(n)]
    res = milp(c, constraints=[cons], integrality=integrality,
               bounds=Bounds(np.zeros(T + n), np.full(T + n, np.inf)),
               options={"mip_rel_gap": 1e-12})
    if not res.success:
        raise RuntimeError(f"MILP failed: {res.message}")
    x = np.round(res.x[:T])
    return float(res.fun), x


def solve_brute(legs, tmpls, base):
    """Every integer vector of template units that fits; for tiny books only."""
    caps = _caps(legs)
    A = _usage(tmpls, len(legs))
    costs = np.array([t.cost for t in tmpls])
    best = [float(base @ caps), np.zeros(len(tmpls))]

    def rec(t, used, x):
        if t == len(tmpls):
            total = float(costs @ x + base @ (caps - used))
            if total < best[0] - 1e-9:
                best[0], best[1] = total, x.copy()
            return
        k = 0
        while np.all(used + k * A[:, t] <= caps + 1e-9):
            x[t] = k
            rec(t + 1, used + k * A[:, t], x)
            k += 1
        x[t] = 0

    rec(0, np.zeros(len(legs)), np.zeros(len(tmpls)))
    return best[0], best[1]


def solve_greedy(legs, tmpls, base):
    """Largest saving per unit first, as many units as fit."""
    caps = _caps(legs).copy()
    savings = [sum(base[i] * u for i, u in t.use) - t.cost for t in tmpls]
    x = np.zeros(len(tmpls))
    for t in sorted(range(len(tmpls)), key=lambda t: -savings[t]):
        if savings[t] <= 0:
            continue
        k = min(math.floor(caps[i] / u + 1e-9) for i, u in tmpls[t].use)
        if k > 0:
            x[t] = k
            for i, u in tmpls[t].use:
                caps[i] -= k * u
    total = sum(t.cost * x[j] for j, t in enumerate(tmpls)) + float(base @ caps)
    return total, x


SOLVERS = {"milp": solve_milp, "brute": solve_brute, "greedy": solve_greedy}


def group_legs(legs_columns, as_of_rules):
    """(account code, underlying code) -> list of Leg, for stock and options with q != 0."""
    L = legs_columns
    cutoff = (add_months(L.as_of, as_of_rules.options.leaps_months) -
              datetime.date(1970, 1, 1)).days
    groups = {}
    for i in range(len(L.quantity)):
        if L.quantity[i] == 0 or L.kind[i] == KIND_OTHER:
            continue
        leg = Leg(index=i, kind=int(L.kind[i]), K=float(L.strike[i]), expiry=int(L.expiry[i]),
                  M=float(L.multiplier[i]), p=float(L.price[i]), q=float(L.quantity[i]),
                  leaps=bool(L.kind[i] != KIND_STOCK and L.expiry[i] > cutoff))
        groups.setdefault((int(L.account[i]), int(L.underlying[i])), []).append(leg)
    return groups


def reference_margin(legs_columns, rules, method="milp"):
    """Per-account gross and net requirements: columns account, gross_initial,
    gross_maintenance, initial, maintenance."""
    L = legs_columns
    solve = SOLVERS[method]
    n = len(L.account_ids)
    gross = {INITIAL: np.zeros(n), MAINTENANCE: np.zeros(n)}
    for (acc, und), legs in group_legs(L, rules).items():
        g = group_params(L.underlying_price[und], L.group_type[und], L.leverage[und], rules)
        for basis in (INITIAL, MAINTENANCE):
            base = np.array([standalone_cost(leg, g, rules, basis) for leg in legs])
            total, _ = solve(legs, templates(legs, g, rules, basis), base)
            gross[basis][acc] += total
    is_opt = (L.kind == KIND_CALL) | (L.kind == KIND_PUT)
    short = is_opt & (L.quantity < 0)
    proceeds = np.bincount(L.account[short], weights=-(L.quantity * L.price * L.multiplier)[short],
                           minlength=n)
    return pd.DataFrame({"account": L.account_ids.astype(str),
                         "gross_initial": gross[INITIAL], "gross_maintenance": gross[MAINTENANCE],
                         "initial": gross[INITIAL] - proceeds,
                         "maintenance": gross[MAINTENANCE] - proceeds})


def random_legs(rng, accounts=50, underlyings=2, series=4, as_of="2027-01-04",
                stock_probability=0.5, max_contracts=3, leaps_probability=0.1, expiry_days=(30, 91)):
    """A random flat legs table of small books: per (account, underlying) a handful of series on
    a strike grid (so equal-width butterflies and condors occur), mixed signs, sometimes stock.
    """
    as_of = pd.Timestamp(as_of)
    rows = []
    unds = []
    for u in range(underlyings):
        U = float(rng.choice([4.0, 20.0, 45.0, 97.73, 250.0]))
        unds.append(dict(U=U, step=max(round(U * 0.05, 0), 1.0),
                         group_type=str(rng.choice(["equity", "equity", "broad_index",
                                                    "high_cap_index", "narrow_index"])),
                         leverage=float(rng.choice([1.0, 1.0, 1.0, 2.0, -3.0]))))
    prices = {}  # one mark per instrument, shared by every account holding it
    for a in range(accounts):
        for u in range(underlyings):
            U, step = unds[u]["U"], unds[u]["step"]
            und = f"U{u}"
            common = dict(account=f"A{a:04d}", underlying=und, underlying_price=U,
                          group_type=unds[u]["group_type"], leverage=unds[u]["leverage"])
            if rng.random() < stock_probability:
                shares = int(rng.choice([-1, 1]) * rng.integers(1, 4) * 100 +
                             rng.choice([0, 0, 50]))
                rows.append(dict(common, instrument=und, kind="equity", quantity=shares,
                                 price=U))
            expiries = [as_of + pd.Timedelta(days=int(d)) for d in expiry_days]
            if rng.random() < leaps_probability:
                expiries.append(as_of + pd.Timedelta(days=400))
            seen = set()
            for _ in range(int(rng.integers(1, series + 1))):
                right = str(rng.choice(["C", "P"]))
                K = U + step * int(rng.integers(-(series // 2 + 1), series // 2 + 2))
                if K <= 0:
                    continue
                e = expiries[int(rng.integers(len(expiries)))]
                key = (right, K, e)
                if key in seen:
                    continue
                seen.add(key)
                T = (e - as_of).days / 365.0
                intrinsic = max(U - K, 0.0) if right == "C" else max(K - U, 0.0)
                name = f"{und}{right}{K:g}@{e.date()}"
                price = prices.setdefault(name, round(
                    intrinsic + U * 0.3 * math.sqrt(T) * 0.4 * rng.random(), 2))
                q = int(rng.integers(1, max_contracts + 1)) * int(rng.choice([-1, 1]))
                rows.append(dict(common, instrument=name,
                                 kind="option", right=right, strike=K, expiry=e.date(),
                                 quantity=q, price=price))
    return pd.DataFrame(rows)


def stock_row(account, symbol, quantity, price, **underlying):
    """One flat-table row of shares (underlying fields: group_type, leverage, ...)."""
    return dict(account=account, instrument=symbol, underlying=symbol, kind="equity",
                quantity=quantity, price=price, underlying_price=underlying.pop("U", price),
                **underlying)


def option_row(account, symbol, right, strike, expiry, quantity, price, U, **underlying):
    """One flat-table row of an option on ``symbol`` (multiplier 100 unless given)."""
    return dict(account=account, instrument=f"{symbol} {expiry} {strike:g}{right}",
                underlying=symbol, kind="option", right=right, strike=strike, expiry=expiry,
                quantity=quantity, price=price, underlying_price=U, **underlying)

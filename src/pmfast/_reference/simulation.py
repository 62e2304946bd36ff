"""numpy twin of simulation margin: full revaluation of every instrument in every scenario with
the reference pricers, a dense accounts x scenarios P&L matrix, and a full sort.

Written for clarity on small books (tests), never for speed. It shares only the market inputs
(model, spot, volatility per instrument, ``pmfast.scenarios``) with the compiled engine; the
pricing (``pmfast._reference.pricing``: textbook BSM / Black-76, Bjerksund-Stensland, CRR) and
the aggregation and tail measures are independent.
"""
import math

import numpy as np
import pandas as pd

from pmfast._reference import pricing as ref
from pmfast.rules import RuleSet
from pmfast.scenarios import _np, instrument_inputs, solve_volatility

_MODELS = ("american", "bsm", "black76", "linear")   # pmfast.scenarios model codes 0..3


def revalue(book, scen, rules="finra-cpm"):
    """[n_instruments, n_scenarios] P&L per unit held (multiplier included) and V_0.

    ``scen`` must be selected to the book's underlyings in the book's order (``scen.select``).
    """
    rules = RuleSet.load(rules)
    inp = instrument_inputs(book, rules)
    vol = solve_volatility(book, rules, inp).vol
    und = inp["und_code"]
    n, n_sc = len(und), scen.n_scenarios
    ret = scen.returns.T[und]                        # [n, n_sc]
    dvol = scen.vol_shifts_or_zero().T[und]
    rate = book.rate + scen.rate_shifts_or_zero()[None, :]
    T1 = np.maximum(inp["T"] - scen.horizon_days / 365.0, 0.0)[:, None]
    pnl = np.zeros((n, n_sc))
    value0 = np.zeros(n)
    for code, name in enumerate(_MODELS):
        rows = np.flatnonzero(inp["model"] == code)
        if rows.size == 0:
            continue
        if name == "linear":
            S = inp["linear_spot"][rows]
            value0[rows] = S
            pnl[rows] = inp["multiplier"][rows, None] * (S[:, None] * ret[rows])
            continue
        right = inp["right"][rows].astype(float)[:, None]
        S, K, T, q = (inp[c][rows][:, None] for c in ("spot", "K", "T", "q"))
        v = np.maximum(vol[rows], 1e-4)[:, None]
        S1 = np.maximum(S * (1.0 + ret[rows]), 0.0)
        v1 = np.maximum(vol[rows][:, None] * (1.0 + dvol[rows]), 1e-4)
        full = (rows.size, n_sc)
        if name == "american":
            v0 = np.asarray(ref.american_value(right.ravel(), S.ravel(), K.ravel(), T.ravel(),
                                               book.rate, q.ravel(), v.ravel(),
                                               model=rules.american_model,
                                               steps=rules.crr_steps))
            b = np.broadcast_arrays(right, S1, K, T1[rows], rate, q, v1)
            vk = np.asarray(ref.american_value(*(a.ravel() for a in b),
                                               model=rules.american_model,
                                               steps=rules.crr_steps)).reshape(full)
        else:
            black76 = name == "black76"
            qq = 0.0 if black76 else q
            fn = (lambda R, S_, K_, T_, r_, q_, v_: ref.black76_value(R, S_, K_, T_, r_, v_)) \
                if black76 else ref.bsm_value
            v0 = fn(right, S, K, T, book.rate, qq, v).ravel()
            b = np.broadcast_arrays(right, S1, K, T1[rows], rate, np.broadcast_to(qq, S.shape), v1)
            vk = fn(*b)
        value0[rows] = v0
        pnl[rows] = inp["multiplier"][rows, None] * (vk - v0[:, None])
    return pnl, value0


def tail_count(confidence, n):
    x = (1.0 - confidence) * n
    m = int(round(x)) if abs(x - round(x)) <= 1e-9 else math.ceil(x)
    return min(max(m, 1), n)


def account_pnl(book, pnl):
    """Dense [n_accounts, n_scenarios] P&L and [n_accounts, n_underlyings, n_scenarios]
    per-underlying P&L (small books only)."""
    pos = book.positions
    acct = _np(pos.column("account_code")).astype(np.int64)
    inst = _np(pos.column("instrument_code")).astype(np.int64)
    qty = _np(pos.column("quantity")).astype(np.float64)
    und = _np(book.instruments.column("underlying_code")).astype(np.int64)[inst]
    n_und = book.underlyings.num_rows
    per = np.zeros((book.n_accounts, n_und, pnl.shape[1]))
    np.add.at(per, (acct, und), qty[:, None] * pnl[inst])
    return per.sum(axis=1), per


def simulation_margin(book, scen, confidence=0.99, rules="finra-cpm"):
    """Per account es, var, worst_loss, worst_scenario (label), and components
    {(account, underlying): contribution}, by full revaluation and a full sort."""
    und_ids = _np(book.underlyings.column("underlying")).astype(str)
    scen = scen.select(und_ids, missing="zero")
    pnl, _ = revalue(book, scen, rules)
    P, per = account_pnl(book, pnl)
    n = scen.n_scenarios
    m = tail_count(confidence, n)
    rows, comps = [], {}
    for a, acc in enumerate(book.account_ids):
        loss = -P[a]
        order = np.lexsort((np.arange(n), -loss))      # loss descending, index ascending
        tail = order[:m]
        rows.append({"account": acc, "es": loss[tail].mean(), "var": loss[tail[-1]],
                     "worst_loss": loss[order[0]],
                     "worst_scenario": scen.labels[order[0]]})
        for u in np.flatnonzero(np.any(per[a] != 0, axis=1)):
            comps[(acc, und_ids[u])] = -per[a, u, tail].mean()
    return pd.DataFrame(rows), comps

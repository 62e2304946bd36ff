"""A realistic SPAN book over a risk-parameter file's contracts, for tests and benchmarks.

Each account draws strategies: outright futures, calendar spreads (same product, two periods),
option positions (single legs, covered calls, short strangles) and cross-commodity pairs taken
from the file's own inter-commodity spreads (sized by their delta ratios, so they earn credits).
Reproducible from ``seed``; the rows are in random order, as a broker's extract would be.
"""
import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.span.params import SpanParams


def generate_span_positions(params, n_accounts=1000, positions_per_account=10, seed=0):
    """Positions table (``account, product, kind, period, strike, right, quantity``).

    Parameters
    ----------
    params : SpanParams
        The file whose contracts are used.
    n_accounts : int
        Number of accounts.
    positions_per_account : int
        Average number of rows per account (each account holds distinct contracts).
    seed : int
        Random seed.

    Returns
    -------
    pandas.DataFrame
    """
    if not isinstance(params, SpanParams):
        raise InputError("generate_span_positions: params must be a SpanParams (span.load)")
    if n_accounts < 1 or positions_per_account < 1:
        raise InputError("generate_span_positions: n_accounts and positions_per_account must "
                         "be >= 1")
    rng = np.random.default_rng(seed)
    c = params.contracts
    kind = c["kind"].to_numpy()
    cc_of = c["cc"].to_numpy()
    fut = np.flatnonzero(kind == "future")
    opt = np.flatnonzero(kind == "option")
    if len(fut) == 0:
        raise InputError("generate_span_positions: the file has no futures")
    fut_ccs = np.unique(cc_of[fut])
    cc_pos = params.cc_index()
    pairs = [sp for sp in params.inter_spreads
             if len(sp.legs) == 2 and all(cc_pos[l.cc] in set(fut_ccs.tolist())
                                          for l in sp.legs)]
    # strategies: each adds two rows on average; the number per account is Poisson
    n_strat = rng.poisson(max(positions_per_account / 2.0, 0.5), n_accounts) + 1
    acct = np.repeat(np.arange(n_accounts), n_strat)
    n = len(acct)
    style = rng.random(n)
    size = rng.integers(1, 20, n).astype(np.float64)
    sign = rng.choice([-1.0, 1.0], n)
    cc = fut_ccs[rng.integers(len(fut_ccs), size=n)]
    rows_a, rows_c, rows_q = [], [], []

    def pick(pool_of, ccs):
        """A random contract of each cc from its pool (cc without a pool -> -1)."""
        out = np.full(len(ccs), -1, np.int64)
        for k in np.unique(ccs):
            pool = pool_of(k)
            hit = ccs == k
            if len(pool):
                out[hit] = pool[rng.integers(len(pool), size=int(hit.sum()))]
        return out

    futs = {k: fut[cc_of[fut] == k] for k in fut_ccs}
    opts = {k: opt[cc_of[opt] == k] for k in fut_ccs}
    f1 = pick(lambda k: futs[k], cc)
    f2 = pick(lambda k: futs[k], cc)
    o1 = pick(lambda k: opts[k], cc)
    o2 = pick(lambda k: opts[k], cc)

    def add(mask, con, q):
        ok = mask & (con >= 0)
        rows_a.append(acct[ok])
        rows_c.append(con[ok])
        rows_q.append(q[ok])

    outright = (style < 0.3) | ((style >= 0.5) & (style < 0.8) & (o1 < 0))
    add(outright, f1, size * sign)
    calendar = (style >= 0.3) & (style < 0.5)               # same product, two periods
    add(calendar, f1, size)
    add(calendar & (f2 != f1), f2, -size)
    options = (style >= 0.5) & (style < 0.8) & (o1 >= 0)   # single, covered call, strangle
    add(options, o1, size * sign)
    sub = rng.random(n)
    add(options & (sub < 0.3), f1, size)
    add(options & (sub >= 0.3) & (sub < 0.6) & (o2 != o1), o2, -size)
    cross = style >= 0.8                                    # the file's inter spreads
    if pairs:
        which = rng.integers(len(pairs), size=n)
        for j, sp in enumerate(pairs):
            hit = cross & (which == j)
            if not hit.any():
                continue
            for leg in sp.legs:
                k = cc_pos[leg.cc]
                con = pick(lambda _k: futs[k], np.full(int(hit.sum()), k))
                q = np.maximum(1.0, np.round(leg.ratio * size[hit] / sp.legs[0].ratio))
                mask = np.zeros(n, bool)
                mask[hit] = True
                full = np.full(n, -1, np.int64)
                full[hit] = con
                qq = np.zeros(n)
                qq[hit] = sign[hit] * (1 if leg.side == "A" else -1) * q
                add(mask, full, qq)
    else:
        add(cross, f1, size * sign)
    frame = pd.DataFrame({"a": np.concatenate(rows_a), "c": np.concatenate(rows_c),
                          "q": np.concatenate(rows_q)})
    frame = frame.groupby(["a", "c"], sort=False, as_index=False)["q"].sum()
    frame = frame[frame["q"] != 0]
    frame = frame.iloc[rng.permutation(len(frame))]
    rows = c.iloc[frame["c"].to_numpy()]
    width = len(str(n_accounts))
    ids = np.char.add("S", np.char.zfill(np.arange(n_accounts).astype(str), width))
    right = rows["right"].to_numpy().astype(object)
    right[right == ""] = None
    return pd.DataFrame({
        "account": ids[frame["a"].to_numpy()].astype(object),
        "product": rows["product"].to_numpy(), "kind": rows["kind"].to_numpy(),
        "period": rows["period"].to_numpy(), "strike": rows["strike"].to_numpy(),
        "right": right, "quantity": frame["q"].to_numpy(np.float64)})

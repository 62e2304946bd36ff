"""``pmfast.generate``: a realistic synthetic book, deterministic for a seed, fully vectorised.

What it holds (performance.md): heavy-tailed account sizes; a strategy mix (stock only, covered
calls, protective puts, verticals, straddles/strangles, iron condors, butterflies, naked shorts,
long options, futures with options); an S&P-like product group (SPX high-cap index with
European options, XSP, SPY and IVV-like ETFs with American options) plus a few broad and narrow
indexes; leveraged and inverse ETFs; about 80% American equity/ETF and 20% European index series;
expiries from days to two years; implied volatilities with a skew.

Sizes default from ``accounts`` so that 1,000 / 100,000 / 1,000,000 accounts give the
``small`` / ``medium`` / ``overnight`` workloads (10 positions per account; about 100, 1,000 and
3,000 underlyings; 3k, 60k and 270k series).
"""
import datetime

import numpy as np
import pyarrow as pa

from pmfast._arrays import nullable_float
from pmfast.errors import InputError

EXPIRY_LADDER = np.array([3, 10, 17, 24, 31, 45, 59, 73, 94, 122, 150, 185, 213, 276, 367, 458,
                          549, 640, 730])
# strategy: (probability, legs)
STRATEGIES = {
    "stock": (0.22, 1), "covered_call": (0.12, 2), "protective_put": (0.06, 2),
    "vertical": (0.15, 2), "straddle": (0.08, 2), "iron_condor": (0.06, 4),
    "butterfly": (0.04, 3), "naked_short": (0.12, 1), "long_option": (0.13, 1),
    "future": (0.02, 2),
}
# The S&P-like product group and the other indexes:
# (id, price, group_type, style, leverage, product_group)
INDEX_CLASSES = [
    ("SPX", 6000.0, "high_cap_index", "european", 1.0, "SP500"),
    ("XSP", 600.0, "high_cap_index", "european", 1.0, "SP500"),
    ("SPY", 598.0, "high_cap_index", "american", 1.0, "SP500"),
    ("IVV", 601.0, "high_cap_index", "american", 1.0, "SP500"),
    ("RUT", 2300.0, "broad_index", "european", 1.0, None),
    ("NDX", 21000.0, "high_cap_index", "european", 1.0, None),
    ("DJX", 440.0, "high_cap_index", "european", 1.0, None),
    ("SOX", 5000.0, "narrow_index", "european", 1.0, None),
    ("UPRO", 90.0, "equity", "american", 3.0, None),
    ("SSO", 95.0, "equity", "american", 2.0, None),
    ("SH", 40.0, "equity", "american", -1.0, None),
    ("SDS", 20.0, "equity", "american", -2.0, None),
    ("SPXU", 15.0, "equity", "american", -3.0, None),
]
HAS_NO_SHARES = ("SPX", "XSP", "RUT", "NDX", "DJX", "SOX")


def _ids(prefix, n, width):
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width))


def _underlyings(rng, n):
    n = max(n, len(INDEX_CLASSES) + 2)
    n_stock = n - len(INDEX_CLASSES)
    ids = np.concatenate([[c[0] for c in INDEX_CLASSES], _ids("S", n_stock, 4)])
    price = np.concatenate([[c[1] for c in INDEX_CLASSES],
                            np.round(np.exp(rng.normal(np.log(60), 0.9, n_stock)).clip(2, 3000),
                                     2)])
    gtype = np.concatenate([[c[2] for c in INDEX_CLASSES], np.full(n_stock, "equity")])
    style = np.concatenate([[c[3] for c in INDEX_CLASSES], np.full(n_stock, "american")])
    lev = np.concatenate([[c[4] for c in INDEX_CLASSES], np.ones(n_stock)])
    # a few more leveraged / inverse single-stock ETFs
    levered = rng.random(n_stock) < 0.03
    lev[len(INDEX_CLASSES):][levered] = rng.choice([2.0, 3.0, -1.0, -2.0], levered.sum())
    pg = np.array([c[5] for c in INDEX_CLASSES] + [None] * n_stock, dtype=object)
    base_vol = np.concatenate([np.full(len(INDEX_CLASSES), 0.17), rng.uniform(0.2, 0.8, n_stock)])
    base_vol = base_vol * np.abs(lev).clip(1, None)
    div = np.concatenate([np.full(len(INDEX_CLASSES), 0.013),
                          np.where(rng.random(n_stock) < 0.5, rng.uniform(0, 0.04, n_stock), 0)])
    # popularity: index classes first, then a Zipf tail
    pop = 1.0 / np.arange(1, n + 1) ** 0.9
    pop[:4] *= 6.0   # the S&P group is the busiest
    return {"ids": ids, "price": price, "group_type": gtype, "style": style, "leverage": lev,
            "product_group": pg, "vol": base_vol, "dividend_yield": np.round(div, 4),
            "popularity": pop / pop.sum()}


def _series(rng, und, n_series):
    n_u = len(und["ids"])
    share = rng.multinomial(max(n_series - 16 * n_u, 0), und["popularity"]) + 16
    n_exp = np.clip(np.round(np.sqrt(share / 2.0) / 2.0), 2, len(EXPIRY_LADDER)).astype(np.int64)
    n_strike = np.maximum(np.round(share / (2.0 * n_exp)), 4).astype(np.int64)
    per_u = 2 * n_exp * n_strike
    start = np.r_[0, np.cumsum(per_u)[:-1]]
    total = int(per_u.sum())
    u = np.repeat(np.arange(n_u), per_u)
    local = np.arange(total) - start[u]
    right = local % 2                       # 0 call, 1 put
    k = (local // 2) % n_strike[u]
    e = local // (2 * n_strike[u])
    spot = und["price"][u]
    is_index = np.isin(und["group_type"][u], ("high_cap_index", "broad_index", "narrow_index"))
    step = np.where(is_index, 0.01, 0.025) * np.sqrt(1 + e)
    strike = spot * (1 + step * (k - (n_strike[u] - 1) / 2.0))
    tick = np.where(spot > 500, 5.0, np.where(spot > 50, 1.0, 0.5))
    strike = np.maximum(np.round(strike / tick) * tick, tick)
    # each class's expiries spread over the whole ladder (days to two years)
    last = len(EXPIRY_LADDER) - 1
    days = EXPIRY_LADDER[np.round(e * last / np.maximum(n_exp[u] - 1, 1)).astype(np.int64)]
    T = days / 365.0
    # skew: higher vol for low strikes, a little smile
    x = np.log(strike / spot) / np.sqrt(np.maximum(T, 1 / 52))
    iv = und["vol"][u] * (1 - 0.25 * x + 0.10 * x * x) * rng.uniform(0.97, 1.03, total)
    iv = np.clip(iv, 0.05, 3.0)
    return {"u": u, "right": right, "k": k, "e": e, "strike": strike, "days": days, "T": T,
            "iv": iv, "start": start, "n_exp": n_exp, "n_strike": n_strike}


def generate(accounts=1000, seed=0, *, positions=None, underlyings=None, series=None,
             as_of="2026-11-20", rate=0.045, as_book=False, history_days=None):
    """Generate a realistic synthetic book.

    Parameters
    ----------
    accounts : int
        Number of accounts (1,000 = ``small``, 100,000 = ``medium``, 1,000,000 = ``overnight``).
    seed : int
        The same seed gives the same book.
    positions, underlyings, series : int, optional
        Targets; default 10 per account, ``100 sqrt(accounts/1000)`` and
        ``30 x underlyings x (accounts/1000)^0.15``.
    as_of, rate
        Valuation date and rate (also used for the marks).
    as_book : bool
        Return a ``pmfast.Book`` instead of the tables.
    history_days : int, optional
        Also return ``history`` (date, underlying, price, vol) and ``rates`` (date, rate) over
        this many trading days up to ``as_of`` (:mod:`pmfast.synthetic_history`); the book's
        tables are the same with or without it. Not with ``as_book``.

    Returns
    -------
    dict of pyarrow.Table (positions, instruments, underlyings, product_groups), or a Book.

    Examples
    --------
    >>> import pmfast
    >>> tables = pmfast.generate(accounts=50, seed=1)
    >>> sorted(tables)
    ['instruments', 'positions', 'product_groups', 'underlyings']
    """
    if isinstance(accounts, bool) or not isinstance(accounts, (int, np.integer)) or accounts < 1:
        raise InputError(f"accounts must be a positive integer, got {accounts!r}")
    if history_days is not None and as_book:
        raise InputError("history_days returns the history as tables: build the Book from "
                         "the tables (as_book=False)")
    rng = np.random.default_rng(seed)
    scale = accounts / 1000.0
    n_pos = int(positions if positions is not None else 10 * accounts)
    n_und = int(underlyings if underlyings is not None else max(round(100 * np.sqrt(scale)), 20))
    n_ser = int(series if series is not None else 30 * n_und * max(scale, 1e-3) ** 0.15)
    as_of_date = datetime.date.fromisoformat(str(as_of))
    und = _underlyings(rng, n_und)
    ser = _series(rng, und, n_ser)
    n_u = len(und["ids"])
    has_shares = ~np.isin(und["ids"], HAS_NO_SHARES)
    share_row = np.full(n_u, -1)
    share_row[has_shares] = np.arange(has_shares.sum())
    n_shares = int(has_shares.sum())
    n_series = len(ser["u"])
    # futures on SPX (quarterly) and their options
    fut_days = np.array([28, 119, 210])
    spx = 0
    fut_price = und["price"][spx] * np.exp((rate - und["dividend_yield"][spx]) * fut_days / 365)
    fop_k = np.round(und["price"][spx] * np.linspace(0.9, 1.1, 9) / 5) * 5
    n_fut, n_fop = len(fut_days), len(fut_days) * len(fop_k) * 2
    series_base = n_shares
    fut_base = n_shares + n_series
    fop_base = fut_base + n_fut

    # ---- instruments ------------------------------------------------------------------------
    from pmfast import pricing
    right_txt = np.where(ser["right"] == 0, "C", "P")
    exp_dates = np.datetime64(as_of_date) + ser["days"].astype("timedelta64[D]")
    ser_style = und["style"][ser["u"]]
    spot = und["price"][ser["u"]]
    q = und["dividend_yield"][ser["u"]]
    # marks: European values at the quoted volatility (the engine prices with each style's own
    # model; a mark is used only for the long-option minimum cap)
    mark = np.round(pricing.bsm(right_txt, spot, ser["strike"], ser["T"], rate, q, ser["iv"]), 2)
    mark = np.maximum(mark, 0.01)
    ser_ids = np.char.add(np.char.add(und["ids"][ser["u"]].astype(str), "."),
                          np.char.add(np.char.add(np.char.zfill(ser["e"].astype(str), 2), "."),
                                      np.char.add(np.char.zfill(ser["k"].astype(str), 3),
                                                  right_txt)))
    fop_fut = np.repeat(np.arange(n_fut), len(fop_k) * 2)
    fop_strike = np.tile(np.repeat(fop_k, 2), n_fut)
    fop_right = np.tile(np.array(["C", "P"]), n_fut * len(fop_k))
    fop_T = fut_days[fop_fut] / 365
    fop_mark = np.maximum(np.round(pricing.black76(fop_right, fut_price[fop_fut], fop_strike,
                                                   fop_T, rate, 0.17), 2), 0.01)
    fut_ids = np.array([f"ES.{k}" for k in range(n_fut)])
    fop_ids = np.char.add(np.char.add(fut_ids[fop_fut], "."),
                          np.char.add(fop_strike.astype(int).astype(str), fop_right))
    kinds = np.concatenate([np.full(n_shares, "equity"), np.full(n_series, "option"),
                            np.full(n_fut, "future"), np.full(n_fop, "future_option")])
    nan = np.full
    instruments = pa.table({
        "instrument": pa.array(np.concatenate([und["ids"][has_shares], ser_ids, fut_ids,
                                               fop_ids]).astype(str)),
        "kind": pa.array(kinds),
        "underlying": pa.array(np.concatenate([und["ids"][has_shares], und["ids"][ser["u"]],
                                               np.full(n_fut + n_fop, "SPX")]).astype(str)),
        "right": pa.array(np.concatenate([np.full(n_shares, None), right_txt,
                                          np.full(n_fut, None), fop_right]).astype(object)),
        "strike": nullable_float(np.concatenate([nan(n_shares, np.nan), ser["strike"],
                                            nan(n_fut, np.nan), fop_strike])),
        "expiry": pa.array(np.concatenate([
            np.full(n_shares, np.datetime64("NaT"), dtype="datetime64[D]"), exp_dates,
            np.datetime64(as_of_date) + fut_days.astype("timedelta64[D]"),
            np.datetime64(as_of_date) + fut_days[fop_fut].astype("timedelta64[D]")]),
            pa.date32()),
        "style": pa.array(np.concatenate([np.full(n_shares, None), ser_style,
                                          np.full(n_fut, None),
                                          np.full(n_fop, "european")]).astype(object)),
        "multiplier": np.concatenate([np.ones(n_shares), np.full(n_series, 100.0),
                                      np.full(n_fut + n_fop, 50.0)]),
        "price": np.concatenate([und["price"][has_shares], mark, np.round(fut_price, 2),
                                 fop_mark]),
        "implied_vol": nullable_float(np.concatenate([nan(n_shares, np.nan), ser["iv"],
                                                 nan(n_fut, np.nan), nan(n_fop, 0.17)])),
        "future": pa.array(np.concatenate([np.full(fop_base, None),
                                           fut_ids[fop_fut]]).astype(object)),
    })
    underlyings_t = pa.table({
        "underlying": pa.array(und["ids"].astype(str)),
        "price": und["price"], "group_type": pa.array(und["group_type"].astype(str)),
        "product_group": pa.array(und["product_group"], pa.string()),
        "leverage": und["leverage"], "dividend_yield": und["dividend_yield"],
        "volatility": und["vol"],
    })
    product_groups = pa.table({"product_group": ["SP500"], "offset": [0.90]})

    # ---- positions: strategy units -> legs -------------------------------------------------
    names = list(STRATEGIES)
    probs = np.array([STRATEGIES[s][0] for s in names])
    legs = np.array([STRATEGIES[s][1] for s in names])
    n_units = max(int(round(n_pos / float(probs @ legs / probs.sum()))), accounts)
    kind = rng.choice(len(names), n_units, p=probs / probs.sum())
    # heavy-tailed account sizes: Pareto weights, every account at least one unit
    weight = np.minimum(rng.pareto(1.3, accounts) + 1.0, 40.0)   # a few hundred positions at most
    owner = np.concatenate([rng.permutation(accounts),
                            rng.choice(accounts, n_units - accounts, p=weight / weight.sum())])
    u = rng.choice(n_u, n_units, p=und["popularity"])
    share_pop = und["popularity"] * has_shares
    stock_u = rng.choice(n_u, n_units, p=share_pop / share_pop.sum())
    e = (rng.random(n_units) * ser["n_exp"][u]).astype(np.int64)
    K = ser["n_strike"][u]
    k = (rng.beta(4, 4, n_units) * K).astype(np.int64).clip(0, K - 1)
    w = rng.integers(1, 3, n_units)
    contracts = np.ceil(rng.pareto(1.6, n_units) + 1).clip(1, 500)
    sign = np.where(rng.random(n_units) < 0.5, 1.0, -1.0)

    def sid(uu, kk, right):
        kk = np.clip(kk, 0, ser["n_strike"][uu] - 1)
        ee = np.minimum(e_sel, ser["n_exp"][uu] - 1)
        return series_base + ser["start"][uu] + (ee * ser["n_strike"][uu] + kk) * 2 + right

    out_inst, out_qty, out_acct = [], [], []

    def emit(sel, inst, qty):
        out_inst.append(inst)
        out_qty.append(qty)
        out_acct.append(owner[sel])
    for t, name in enumerate(names):
        sel = np.flatnonzero(kind == t)
        if sel.size == 0:
            continue
        uu, kk, ww, cc, ss = u[sel], k[sel], w[sel], contracts[sel], sign[sel]
        e_sel = e[sel]
        su = stock_u[sel]
        if name == "stock":
            emit(sel, share_row[su], ss * np.round(cc * 25 + 1) * 4)
        elif name in ("covered_call", "protective_put"):
            uu = su
            kk = (ser["n_strike"][uu] * (0.6 if name == "covered_call" else 0.4)).astype(int)
            emit(sel, share_row[uu], 100.0 * cc)
            emit(sel, sid(uu, kk, 0 if name == "covered_call" else 1),
                 -cc if name == "covered_call" else cc)
        elif name == "vertical":
            r = (ss < 0).astype(int)
            emit(sel, sid(uu, kk, r), cc)
            emit(sel, sid(uu, kk + ww, r), -cc)
        elif name == "straddle":
            emit(sel, sid(uu, kk, 0), ss * cc)
            emit(sel, sid(uu, kk - ww + 1, 1), ss * cc)
        elif name == "iron_condor":
            emit(sel, sid(uu, kk - 2 * ww, 1), cc)
            emit(sel, sid(uu, kk - ww, 1), -cc)
            emit(sel, sid(uu, kk + ww, 0), -cc)
            emit(sel, sid(uu, kk + 2 * ww, 0), cc)
        elif name == "butterfly":
            r = (ss < 0).astype(int)
            emit(sel, sid(uu, kk - ww, r), cc)
            emit(sel, sid(uu, kk, r), -2 * cc)
            emit(sel, sid(uu, kk + ww, r), cc)
        elif name in ("naked_short", "long_option"):
            r = (ss < 0).astype(int)
            emit(sel, sid(uu, kk, r), -cc if name == "naked_short" else cc)
        elif name == "future":
            f = rng.integers(0, n_fut, sel.size)
            emit(sel, fut_base + f, ss * np.ceil(cc / 10))
            emit(sel, fop_base + f * len(fop_k) * 2 + rng.integers(0, len(fop_k) * 2, sel.size),
                 -ss * np.ceil(cc / 5))
    inst = np.concatenate(out_inst).astype(np.int64)
    qty = np.concatenate(out_qty).astype(np.float64)
    acct = np.concatenate(out_acct)
    order = rng.permutation(len(inst))         # arrive in no particular order
    inst, qty, acct = inst[order], qty[order], acct[order]
    account_ids = pa.array(_ids("A", accounts, max(len(str(accounts - 1)), 7)))
    positions_t = pa.table({
        "account": pa.DictionaryArray.from_arrays(pa.array(acct.astype(np.int32)), account_ids),
        "instrument": pa.DictionaryArray.from_arrays(pa.array(inst.astype(np.int32)),
                                                     instruments.column("instrument")
                                                     .combine_chunks()),
        "quantity": qty,
    })
    tables = {"positions": positions_t, "instruments": instruments,
              "underlyings": underlyings_t, "product_groups": product_groups}
    if history_days is not None:
        from pmfast.synthetic_history import generate_history
        tables.update(generate_history(underlyings_t, history_days, seed=seed, as_of=as_of_date,
                                       rate=rate))
    if as_book:
        from pmfast.book import Book
        return Book(positions_t, instruments, underlyings_t, product_groups, as_of=as_of_date,
                    rate=rate)
    return tables

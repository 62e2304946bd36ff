"""Revaluation of series over a simulation scenario set: the risk matrix [series x scenarios]
and today's values, in the compiled core.

An account's figures depend on its own positions and the market only, never on which other
accounts are in the call: full revaluation prices each series alone, and the grid mode's
premium tables span *every* series of the instruments table that shares a table's key
(underlying, right, expiry, yield) and that the market can value, held or not. So a book cut
into shards, or a risk matrix priced once for a whole instruments table
(:func:`revalue_instruments`) and read row by row, gives the bytes of one machine's call
(docs/simulation-margin.md, docs/distributed.md).
"""
from dataclasses import dataclass

import numpy as np

from pmfast import _core
from pmfast.errors import InputError
from pmfast.scenarios import _np

GRID_POINTS = (48, 12)        # grid mode: moneyness x volatility nodes per premium table ...
GRID_MAX_STEP = (0.02, 0.03)  # ... more where the spacing would exceed 2% of log-moneyness or
GRID_MAX_NODES = (192, 32)    # 3 vol points, within this budget (docs/simulation-margin.md)


@dataclass(frozen=True)
class SimRevaluation:
    """Risk rows priced once for many calls (a distributed run's shards).

    ``row``: per instrument code of the Book it was priced for, its row of ``risk`` and
    ``value0`` (-1: not priced, the market cannot value it); ``risk``: P&L per unit
    [rows x scenarios] in the order of ``underlyings``' set (float32 in grid mode);
    ``value0``: today's value per unit; ``key``: what the rows depend on besides the series
    (scenario count and labels, horizon, mode, American model), checked on use.
    """
    row: np.ndarray
    risk: np.ndarray
    value0: np.ndarray
    key: tuple

    def rows(self, instruments, key):
        """(risk, value0) of instrument codes ``instruments``, in that order."""
        if key != self.key:
            raise InputError("simulation_margin: revalued= was priced for another scenario "
                             "set, revaluation mode or American model than this call's")
        rows = self.row[instruments] if len(instruments) else np.zeros(0, np.int64)
        if np.any(rows < 0):
            raise InputError("simulation_margin: revalued= has no row for instrument codes "
                             f"{instruments[rows < 0][:5].tolist()} (priced for another "
                             "instruments table?)")
        return np.ascontiguousarray(self.risk[rows]), self.value0[rows]


def revaluation_key(scen, market, revaluation):
    """What a risk row depends on besides its series (``SimRevaluation.key``)."""
    return (scen.n_scenarios, tuple(scen.labels), float(scen.horizon_days),
            use_grid(scen, revaluation), market.american_model, market.rules.crr_steps)


def use_grid(scen, revaluation):
    """Grid mode pays only when the set moves volatilities or the rate: without them full
    revaluation prices all of a series' scenarios off one early-exercise boundary, as cheap
    as a table. Decided on the whole set given (not the underlyings a book holds), so the
    mode, and the float32 storage that comes with it, never depends on the positions."""
    return revaluation == "grid" and any(a is not None and np.any(a != 0)
                                         for a in (scen.vol_shifts, scen.rate_shifts))


def revalue_series(book, market, scen, series, revaluation, grid_points, n_threads):
    """(risk, value0) of instrument codes ``series`` (each valued by the market) over ``scen``
    (a set holding every underlying of them, missing ones held unchanged)."""
    und_code = market.inputs["und_code"]
    on_grid = use_grid(scen, revaluation)
    grid = None
    priced = series
    if on_grid:
        span = _table_members(market, scen, series)
        priced = np.concatenate([series, span]) if span.size else series
    und_ids = _np(book.underlyings.column("underlying")).astype(str)
    needed, und_of_series = np.unique(und_code[priced], return_inverse=True)
    sub = scen.select(und_ids[needed], missing="zero")
    if on_grid:
        grid = _grid_tables(market, priced, sub, grid_points)
    risk, value0 = _revalue(book, market, priced, und_of_series, sub, n_threads, grid)
    n = len(series)
    if len(priced) > n:   # the table members priced only to span the tables
        risk, value0 = np.ascontiguousarray(risk[:n]), value0[:n]
    return risk, value0


def revalue_instruments(book, market, scen, revaluation="grid", grid_points=GRID_POINTS,
                        n_threads=1):
    """Every instrument the market can value, priced once (``SimRevaluation``): what a
    distributed run shares with its shards instead of pricing in each."""
    series = np.flatnonzero(~market.bad).astype(np.int64)
    risk, value0 = revalue_series(book, market, scen, series, revaluation, grid_points,
                                  n_threads)
    row = np.full(len(market.bad), -1, dtype=np.int64)
    row[series] = np.arange(len(series))
    return SimRevaluation(row, risk, value0, revaluation_key(scen, market, revaluation))


def _on_grid(market, codes, horizon_days):
    """bool per instrument code: an American series with time left after the horizon."""
    inp = market.inputs
    T = inp["T"][codes]
    return (inp["model"][codes] == 0) & (T - horizon_days / 365.0 > 0) & \
        (inp["K"][codes] > 0) & (market.spot()[codes] > 0)


def _table_key(market, codes):
    """(underlying, right, expiry, yield) per instrument code: what a premium table is
    shared by."""
    inp = market.inputs
    return np.column_stack([inp["und_code"][codes].astype(np.float64),
                            inp["right"][codes].astype(np.float64), inp["T"][codes],
                            inp["q"][codes]])


def _table_members(market, scen, series):
    """Instrument codes outside ``series`` that share a premium table with one of ``series``
    and that the market can value: priced too, so a table spans the same series whichever
    accounts are in the call."""
    held = np.zeros(len(market.bad), dtype=bool)
    held[series] = True
    others = np.flatnonzero(~held & ~market.bad)
    if not others.size:
        return others.astype(np.int64)
    others = others[_on_grid(market, others, scen.horizon_days)]
    mine = series[_on_grid(market, series, scen.horizon_days)]
    if not others.size or not mine.size:
        return np.zeros(0, np.int64)
    keys = _table_key(market, mine)
    theirs = _table_key(market, others)
    # rows of `theirs` equal to some row of `keys`: unique over both, then membership by label
    _, label = np.unique(np.concatenate([keys, theirs]), axis=0, return_inverse=True)
    label = label.reshape(-1)
    share = np.isin(label[len(keys):], label[:len(keys)])
    return others[share].astype(np.int64)


def _grid_tables(market, held, scen, grid_points):
    """Premium table of each priced series (-1: full revaluation): American series with time
    left after the horizon share a table per (underlying, right, expiry, yield)."""
    try:
        n_spot, n_vol = (int(v) for v in grid_points)
    except (TypeError, ValueError):
        raise InputError(f"grid_points must be two integers, not {grid_points!r}") from None
    if n_spot < 4 or n_vol < 4:
        raise InputError(f"grid_points must be >= 4 each, not {grid_points!r}")
    on_grid = _on_grid(market, held, scen.horizon_days)
    table = np.full(len(held), -1, dtype=np.int32)
    rows = np.flatnonzero(on_grid)
    if rows.size:
        _, table[rows] = np.unique(_table_key(market, held[rows]), axis=0,
                                   return_inverse=True)
    return (table, int(table.max()) + 1 if rows.size else 0, n_spot, n_vol, *GRID_MAX_STEP,
            *GRID_MAX_NODES)


def _revalue(book, market, held, und_of_series, scen, nt, grid=None):
    inputs = market.inputs
    vol = np.nan_to_num(market.vol[held], nan=0.0)
    q = np.where(inputs["model"][held] == 2, 0.0, inputs["q"][held])

    def col(name, dtype=np.float64):
        return np.ascontiguousarray(inputs[name][held], dtype=dtype)
    returns = np.ascontiguousarray(scen.returns.T)
    vol_shifts = None if scen.vol_shifts is None else np.ascontiguousarray(scen.vol_shifts.T)
    rate_shifts = None if scen.rate_shifts is None else np.ascontiguousarray(scen.rate_shifts)
    K = np.nan_to_num(col("K"), nan=0.0)
    T = np.nan_to_num(col("T"), nan=0.0)
    return _core.sim_revalue(
        col("model", np.int8), col("right", np.int8), np.ascontiguousarray(market.spot()[held]),
        K, T, np.ascontiguousarray(q), np.ascontiguousarray(vol), col("multiplier"),
        np.ascontiguousarray(und_of_series, dtype=np.int32), book.rate, market.american_model,
        market.rules.crr_steps, returns, vol_shifts, rate_shifts, scen.horizon_days / 365.0, nt,
        *(grid or ()), float32=grid is not None)

"""The scenario engine: groups and their grids, volatilities, and risk arrays.

* Every underlying (class) belongs to one group: its product group, or a stand-alone class
  group of its own. A group's classes share the valuation points ``m_i``; a class with leverage
  ``L`` moves by ``L x m_i`` (floored at -100%).
* Volatility per option: ``implied_vol`` if given, else solved from ``price`` under the option's
  model, else the underlying's ``volatility``; otherwise the option is bad input.
* Risk arrays: P&L per unit (multiplier included) of every instrument at every scenario,
  ``multiplier x (V_i - V_0)`` with ``V_0`` the model value today, computed once per instrument
  with the compiled ``reprice_grid`` (one call per distinct move vector and model).
"""
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from pmfast import pricing
from pmfast.kinds import (VALUATION_AMERICAN, VALUATION_BLACK76, VALUATION_BSM,
                          VALUATION_LINEAR, kind_codes, pricing_model, valuation_codes)
from pmfast.rules import GROUP_TYPES
from pmfast.stages import stage

# valuation codes (pmfast.kinds), under their old names
MODEL_AMERICAN, MODEL_BSM, MODEL_BLACK76, MODEL_LINEAR = (
    VALUATION_AMERICAN, VALUATION_BSM, VALUATION_BLACK76, VALUATION_LINEAR)


@dataclass(frozen=True)
class Groups:
    """Groups of a book under a rule set (one row per group)."""
    names: np.ndarray           # str: product group id, or the underlying id when stand-alone
    is_product_group: np.ndarray
    down: np.ndarray
    up: np.ndarray
    offset: np.ndarray
    of_underlying: np.ndarray   # int32 group of each underlying


def _np(col):
    return np.asarray(col.to_numpy(zero_copy_only=False))


def build_groups(book, rules):
    """Group of each underlying, each group's range (product_groups row, else the classes'
    common group_type; widened by per-underlying overrides) and offset."""
    und = book.underlyings
    ids = _np(und.column("underlying")).astype(str)
    gtype = _np(und.column("group_type")).astype(str)
    pg = und.column("product_group")
    has_pg = _np(pg.is_valid()).astype(bool)
    key = np.where(has_pg, _np(pc.fill_null(pg, "")).astype(str), ids)
    # a stand-alone class and a product group may share a name: keep them apart
    tag = np.where(has_pg, "P", "C")
    names, first, of_und = np.unique(np.char.add(tag, key), return_index=True,
                                     return_inverse=True)
    n = len(names)
    is_pg = has_pg[first]
    rank = {gt: k for k, gt in enumerate(GROUP_TYPES)}
    gt_code = np.array([rank[g] for g in gtype], dtype=np.int64) if len(gtype) else np.zeros(0, int)
    # range and offset defaults from group types: min/max over members handle mixed groups
    downs = np.array([rules.ranges[g].down for g in GROUP_TYPES])
    ups = np.array([rules.ranges[g].up for g in GROUP_TYPES])
    offs = np.array([rules.offsets[g] for g in GROUP_TYPES])
    down = np.full(n, np.inf)
    up = np.full(n, -np.inf)
    offset = np.full(n, np.inf)
    np.minimum.at(down, of_und, downs[gt_code])
    np.maximum.at(up, of_und, ups[gt_code])
    np.minimum.at(offset, of_und, offs[gt_code])
    # product_groups rows: offset and range overrides
    pgt = book.product_groups
    if pgt.num_rows:
        pg_ids = _np(pgt.column("product_group")).astype(str)
        lookup = {name: k for k, name in enumerate(names)}
        for col, target in (("offset", offset), ("down", down), ("up", up)):
            values = _np(pgt.column(col).fill_null(np.nan)).astype(np.float64)
            for pid, v in zip(pg_ids, values):
                k = lookup.get("P" + pid)
                if k is not None and not np.isnan(v):
                    target[k] = v
    # Per-underlying overrides only ever widen their group's range ("wider ranges per symbol"
    # for earnings, small caps, low-priced stocks): a house may be stricter than the regulatory
    # grid, never looser.
    for u, rng in rules.overrides.items():
        for h in np.flatnonzero(ids == u):
            g = of_und[h]
            down[g], up[g] = min(down[g], rng.down), max(up[g], rng.up)
    display = np.array([s[1:] for s in names], dtype=object)
    return Groups(display, is_pg, down, up, offset, of_und.astype(np.int32))


# -- volatilities --------------------------------------------------------------------------------
@dataclass
class Volatility:
    vol: np.ndarray          # per instrument (NaN for shares and futures)
    source: np.ndarray       # "implied_vol" | "solved" | "underlying" | "expiring" | "" (none)
    bad: np.ndarray          # bool per instrument: an option whose volatility cannot be found


def instrument_inputs(book, rules):
    """Per instrument: model code, spot (underlying or future price), q, and the class."""
    ins = book.instruments
    kind = _np(ins.column("kind")).astype(str)
    style = _np(pc.fill_null(ins.column("style"), "")).astype(str)
    kind_code = (_np(ins.column("kind_code")) if "kind_code" in ins.column_names
                 else kind_codes(kind))
    und_code = _np(ins.column("underlying_code")).astype(np.int64)
    und_price = _np(book.underlyings.column("price")).astype(np.float64)
    und_q = _np(book.underlyings.column("dividend_yield")).astype(np.float64)
    price = _np(ins.column("price").fill_null(np.nan)).astype(np.float64)
    future = _np(ins.column("future_code")).astype(np.int64)
    model = valuation_codes(kind_code, style)
    spot = und_price[und_code] if len(kind) else np.zeros(0)
    is_fop = kind == "future_option"
    spot = np.where(is_fop, price[np.maximum(future, 0)] if len(kind) else spot, spot)
    linear_spot = price  # shares (defaulted to the underlying price) and futures: their own price
    q = und_q[und_code] if len(kind) else np.zeros(0)
    return {"kind": kind, "model": model, "spot": spot, "q": q, "price": price,
            "linear_spot": linear_spot, "und_code": und_code,
            "right": _np(ins.column("right_code")).astype(np.int8),
            "K": _np(ins.column("strike")).astype(np.float64),
            "T": _np(ins.column("T")).astype(np.float64),
            "multiplier": _np(ins.column("multiplier")).astype(np.float64)}


def solve_volatility(book, rules, inputs, n_threads=None):
    """Volatility of every option: given, solved from price, or the underlying's fallback."""
    ins = book.instruments
    n = ins.num_rows
    model = inputs["model"]
    is_opt = model != MODEL_LINEAR
    vol = _np(ins.column("implied_vol").fill_null(np.nan)).astype(np.float64)
    source = np.where(is_opt & ~np.isnan(vol), "implied_vol", "").astype(object)
    T = inputs["T"]
    expiring = is_opt & np.isnan(vol) & (T == 0)
    vol[expiring] = 0.0          # valued at intrinsic: volatility plays no part
    source[expiring] = "expiring"
    price = inputs["price"]
    need = is_opt & np.isnan(vol) & ~np.isnan(price)
    for code in (VALUATION_AMERICAN, VALUATION_BSM, VALUATION_BLACK76):
        style, pmodel = pricing_model(code, rules.american_model)
        rows = np.flatnonzero(need & (model == code))
        if rows.size == 0:
            continue
        q = inputs["q"][rows] if code != MODEL_BLACK76 else np.zeros(rows.size)
        with stage("iv_kernel"):
            solved = pricing.implied_vol(price[rows], inputs["right"][rows],
                                         inputs["spot"][rows], inputs["K"][rows], T[rows],
                                         book.rate, q, style=style, model=pmodel,
                                         steps=rules.crr_steps, n_threads=n_threads)
        solved = np.asarray(solved, dtype=np.float64)
        ok = np.isfinite(solved) & (solved >= 0)   # 0: priced at its zero-vol value
        vol[rows[ok]] = solved[ok]
        source[rows[ok]] = "solved"
    fallback = _np(book.underlyings.column("volatility").fill_null(np.nan)).astype(np.float64)
    fb = fallback[inputs["und_code"]] if n else np.zeros(0)
    use_fb = is_opt & np.isnan(vol) & ~np.isnan(fb)
    vol[use_fb] = fb[use_fb]
    source[use_fb] = "underlying"
    bad = is_opt & np.isnan(vol)
    return Volatility(vol, source.astype(str), bad)


# -- risk arrays ---------------------------------------------------------------------------------
def class_moves(groups, book, scenario_set):
    """[n_underlyings, n_moves] move of each class at each valuation point (L x m, >= -1),
    and the [n_groups, n_moves] market moves m."""
    market = np.array([scenario_set.moves(d, u) for d, u in zip(groups.down, groups.up)])
    market = market.reshape(len(groups.down), scenario_set.n_moves)
    lev = _np(book.underlyings.column("leverage")).astype(np.float64)
    moves = np.maximum(lev[:, None] * market[groups.of_underlying], -1.0)
    return moves, market


def risk_array(book, rules, inputs, vol, moves, scenario_set, skip=None, n_threads=None,
               value0=None):
    """[n_instruments, n_scenarios] P&L per unit, and V_0 per instrument.

    ``moves`` is the class move matrix of ``class_moves``; scenarios are move-outer,
    volatility-shift-inner. Instruments flagged in ``skip`` (bad volatility) get NaN rows.
    ``value0``: the V_0 an earlier call returned for the same instruments, inputs and ``skip``
    (it does not depend on the scenario set); given, today's values are not repriced."""
    n = book.instruments.num_rows
    shifts = np.asarray(scenario_set.vol_shifts, dtype=np.float64)
    n_vols = len(shifts)
    n_sc = scenario_set.n_scenarios
    pnl = np.zeros((n, n_sc))
    given = value0 is not None
    if not given:
        value0 = np.full(n, np.nan)
    model = inputs["model"]
    mult = inputs["multiplier"]
    und = inputs["und_code"]
    skip = np.zeros(n, dtype=bool) if skip is None else skip
    # shares and futures are linear in their own price
    lin = np.flatnonzero(model == MODEL_LINEAR)
    if lin.size:
        spot = inputs["linear_spot"][lin]
        if not given:
            value0[lin] = spot
        pnl[lin] = np.repeat((mult[lin] * spot)[:, None] * moves[und[lin]], n_vols, axis=1)
    # options: one reprice_grid call per (model, distinct class move vector)
    opt = np.flatnonzero((model != MODEL_LINEAR) & ~skip)
    if opt.size == 0:
        pnl[skip] = np.nan
        return pnl, value0
    uniq, which = np.unique(moves, axis=0, return_inverse=True)
    which = np.asarray(which).ravel()
    key = which[und[opt]].astype(np.int64) * 4 + model[opt]
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(key[order]) != 0, True])
    for b in range(len(bounds) - 1):
        rows = opt[order[bounds[b]:bounds[b + 1]]]
        code = model[rows[0]]
        grid_moves = uniq[which[und[rows[0]]]]
        args = (inputs["right"][rows], inputs["spot"][rows], inputs["K"][rows],
                inputs["T"][rows], book.rate,
                inputs["q"][rows] if code != MODEL_BLACK76 else 0.0, vol[rows])
        style, pmodel = pricing_model(code, rules.american_model)
        kw = dict(style=style, model=pmodel, steps=rules.crr_steps, n_threads=n_threads)
        with stage("price_kernel"):
            v0 = value0[rows] if given else pricing.reprice_grid(*args, [0.0], [0.0],
                                                                 **kw)[:, 0]
            grid = pricing.reprice_grid(*args, grid_moves, shifts,
                                        vol_shift_kind=scenario_set.vol_shift_kind,
                                        horizon_days=scenario_set.horizon_days, **kw)
        if not given:
            value0[rows] = v0
        pnl[rows] = mult[rows, None] * (grid - v0[:, None])
    pnl[skip] = np.nan
    return pnl, value0


def scenario_labels(market_moves, scenario_set):
    """Label of each scenario of each group: '-15%', '+1.2%', '-15% vol+25%'."""
    shifts = scenario_set.vol_shifts
    rel = scenario_set.vol_shift_kind == "relative"

    def move_text(m):
        return f"{m * 100:+.4g}%"

    def vol_text(s):
        if s == 0:
            return ""
        return f" vol{s * 100:+.4g}%" if rel else f" vol{s:+.4g}"
    return np.array([[move_text(m) + vol_text(s) for m in row for s in shifts]
                     for row in market_moves], dtype=object).reshape(len(market_moves), -1)

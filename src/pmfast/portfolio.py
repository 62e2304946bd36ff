"""``pmfast.portfolio_margin`` and ``pmfast.risk_arrays``: risk-based portfolio margin (OCC TIMS /
FINRA 4210(g)) over a whole book, with the aggregation in the compiled core."""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmfast import _core
from pmfast._threads import resolve_n_threads
from pmfast.crypto.dispatch import crypto_dispatch
from pmfast.crypto.margin import portfolio_margin as crypto_margin
from pmfast.errors import InputError
from pmfast.finite import reject_non_finite
from pmfast.market import STATUS_NO_VOLATILITY, STATUS_REASONS, resolve_market, volatility
from pmfast.rules import RuleSet, ScenarioSet
from pmfast.revaluation import RiskArrays, revalue
from pmfast.stages import stage, staged
from pmfast.scenarios import (build_groups, class_moves, instrument_inputs,  # noqa: F401
                              risk_array, scenario_labels, solve_volatility, _np)  # (old paths)

ERROR_COLUMNS = ["account", "table", "column", "reason"]
VOL_REASON = STATUS_REASONS[STATUS_NO_VOLATILITY][1]


class Layout:
    """Positions of the accepted accounts sorted by (account, group, class), with CSR offsets."""

    def __init__(self, book, groups, rejected, n_threads=None):
        # Row-wise work is kept to int32 codes and boolean change flags: every ten-million-row
        # temporary is memory the process touches for the first time (costly on this VM), and
        # only the per-class and per-group outputs are widened to int64.
        pos = book.positions
        acct = _np(pos.column("account_code")).astype(np.int32, copy=False)
        inst = _np(pos.column("instrument_code")).astype(np.int32, copy=False)
        qty = _np(pos.column("quantity")).astype(np.float64, copy=False)
        if rejected.any():
            keep = ~rejected[acct]
            acct, inst, qty = acct[keep], inst[keep], qty[keep]
        und_code = _np(book.instruments.column("underlying_code")).astype(np.int32, copy=False)
        n_underlyings = len(groups.of_underlying)
        # classes ranked by (group, class): sorting by (account, rank) sorts by all three
        cls_order = np.lexsort((np.arange(n_underlyings), groups.of_underlying))
        rank = np.empty(n_underlyings, dtype=np.int32)
        rank[cls_order] = np.arange(n_underlyings, dtype=np.int32)
        self.class_rank = rank      # int32 per underlying (WhatIf orders its slices by it)
        cls = und_code[inst] if inst.size else np.zeros(0, np.int32)
        cls_rank = rank[cls] if cls.size else cls
        n = cls.size
        same_acct = acct[1:] == acct[:-1] if n else np.zeros(0, bool)
        if n and (np.any(acct[1:] < acct[:-1]) or np.any(same_acct & (cls_rank[1:] < cls_rank[:-1]))):
            # positions arrive sorted by account: sort each account's rows by class rank (a
            # stable radix sort of (account, rank) in C++, threaded)
            order = _core.book_segment_sort(acct, cls_rank.astype(np.int64), book.n_accounts,
                                            resolve_n_threads(n_threads))
            acct, inst, qty, cls, cls_rank = (acct[order], inst[order], qty[order], cls[order],
                                              cls_rank[order])
            same_acct = acct[1:] == acct[:-1]
        del cls_rank
        grp = groups.of_underlying[cls].astype(np.int32, copy=False) if n else \
            np.zeros(0, np.int32)
        new_class = np.r_[True, ~same_acct | (cls[1:] != cls[:-1])] if n else np.zeros(0, bool)
        new_group = np.r_[True, ~same_acct | (grp[1:] != grp[:-1])] if n else np.zeros(0, bool)
        del same_acct
        class_rows = np.flatnonzero(new_class)
        self.class_start = np.r_[class_rows, n].astype(np.int64)
        self.class_of_row = cls[class_rows].astype(np.int64)
        group_pos = np.flatnonzero(new_group)
        # a group row starts at the class row where its first position sits
        self.group_start = np.r_[np.searchsorted(class_rows, group_pos), len(class_rows)].astype(
            np.int64)
        self.group_of_row = grp[group_pos].astype(np.int64)
        self.account_of_group_row = acct[group_pos].astype(np.int64)
        self.account_start = np.searchsorted(self.account_of_group_row,
                                             np.arange(book.n_accounts + 1)).astype(np.int64)
        self.account_of_class_row = acct[class_rows].astype(np.int64)
        self.instrument = np.ascontiguousarray(inst, dtype=np.int32)
        self.quantity = np.ascontiguousarray(qty)
        # zero-net rows (closed positions) are kept in the layout but not counted
        self.positions_per_account = np.bincount(acct[qty != 0], minlength=book.n_accounts)
        self.group_offset = np.ascontiguousarray(groups.offset[self.group_of_row]
                                                 if group_pos.size else np.zeros(0))

    def args(self):
        return (self.instrument, self.quantity, self.class_start, self.group_start,
                self.account_start, self.group_offset)


def _ranges(start, which):
    """Rows ``start[w]:start[w + 1]`` of every ``w`` in ``which``, concatenated, and the CSR
    offsets of those runs (a sub-layout's ``*_start``)."""
    lo, hi = start[which], start[np.asarray(which) + 1]
    offsets = np.r_[0, np.cumsum(hi - lo)].astype(np.int64)
    idx = np.arange(offsets[-1], dtype=np.int64) + np.repeat(lo - offsets[:-1], hi - lo)
    return idx, offsets


def _minimum_rule(rules, inputs, value0):
    """Per unit of |quantity|: the per-contract minimum (0 for shares) and the long-option cap
    (market value per contract, the model value where the option has no price; NaN: no cap)."""
    kind = inputs["kind"]
    mult = inputs["multiplier"]
    per_unit = np.where(kind == "equity", 0.0, rules.minimum_per_contract * mult)
    is_option = (kind == "option") | (kind == "future_option")
    market = np.where(np.isnan(inputs["price"]), value0, inputs["price"])
    cap = np.where(is_option & rules.cap_long_at_market_value, mult * market, np.nan)
    return np.ascontiguousarray(per_unit), np.ascontiguousarray(cap)


def binding_names(rules):
    """Names of the requirements an account's margin is the largest of, in tie-break order:
    the scenario sets as the rule set lists them, then the concentration overlay."""
    return tuple(ss.name for ss in rules.scenario_sets) + (
        ("concentration",) if rules.concentration is not None else ())


def binding(requirements):
    """Index (into ``binding_names``) of the binding requirement along the last axis: the
    largest, the first on ties. Shared by ``PortfolioMargin.accounts`` and ``WhatIf``."""
    return np.argmax(requirements, axis=-1)


def concentration_label(rules):
    """``worst_scenario`` of an account whose concentration overlay binds."""
    return f"concentration ±{rules.concentration.large_move * 100:g}%"


def _concentration_set(rules):
    c = rules.concentration
    return np.array([-c.large_move, c.large_move, -c.other_move, c.other_move])


@dataclass(frozen=True)
class SetMargin:
    """One scenario set's risk arrays and the aggregation's outputs over the layout."""
    risk: RiskArrays
    res: dict           # the C++ aggregation's per-group and per-account arrays


class PortfolioMargin:
    """Result of ``portfolio_margin``: ``accounts``, ``groups``, ``scenarios``, ``errors``."""

    def __init__(self, book, rules, layout, groups, sets, concentration, rejected, errors,
                 minimum, n_threads, mode="collect"):
        self.book = book
        self.rules = rules
        self.errors = errors
        self._layout = layout
        self._groups = groups
        self._sets = sets
        self._rejected = rejected
        self._per_unit, self._long_cap = minimum
        self._nt = n_threads
        self._mode = mode       # "raise": a non-finite figure raises instead of rejecting
        self.accounts = self._accounts_frame(concentration)
        self._groups_frame = None
        self._scenarios_frame = None

    # -- per account ---------------------------------------------------------------------------
    def _accounts_frame(self, concentration):
        book, layout, groups = self.book, self._layout, self._groups
        reqs = np.column_stack([s.res["account_requirement"] for s in self._sets])
        candidates = reqs
        if concentration is not None:
            candidates = np.column_stack([reqs, concentration])
        bind = binding(candidates) if len(candidates) else np.zeros(0, int)
        requirement = candidates.max(axis=1) if len(candidates) else np.zeros(0)
        n_sets = len(self._sets)
        risk = np.empty(book.n_accounts)
        minimum = np.empty(book.n_accounts)
        worst = np.full(book.n_accounts, None, dtype=object)
        worst_group = np.full(book.n_accounts, None, dtype=object)
        for k, s in enumerate(self._sets):
            res = s.res
            sel = bind == k
            risk[sel] = res["account_risk"][sel]
            minimum[sel] = res["account_minimum"][sel]
            g = res["account_worst_group"]
            has = sel & (g >= 0)
            rows = g[has]
            worst[has] = s.risk.labels[layout.group_of_row[rows], res["group_worst"][rows]]
            worst_group[has] = groups.names[layout.group_of_row[rows]]
        if concentration is not None:
            sel = bind == n_sets
            risk[sel] = concentration[sel]
            minimum[sel] = self._sets[0].res["account_minimum"][sel]
            worst[sel] = concentration_label(self.rules)
        out = {"account": book.account_ids, "requirement": requirement, "risk": risk,
               "minimum": minimum, "worst_scenario": worst, "worst_group": worst_group,
               "status": np.where(self._rejected, "rejected", "ok").astype(object),
               "positions": layout.positions_per_account}
        if n_sets > 1 or concentration is not None:
            for k, s in enumerate(self._sets):
                out[f"{s.risk.scenario_set.name}_requirement"] = reqs[:, k]
            if concentration is not None:
                out["concentration"] = concentration
            out["binding"] = np.array(binding_names(self.rules), dtype=object)[bind]
        frame = pd.DataFrame(out)
        # the safety net (pmfast.finite): inf/NaN figures reject their account, never "ok"
        self._rejected, self.errors = reject_non_finite(
            frame, [c for c in frame.columns if frame[c].dtype.kind == "f"], self._rejected,
            self.errors, self._mode, "portfolio margin")
        frame["status"] = np.where(self._rejected, "rejected", "ok").astype(object)
        bad = self._rejected
        numeric = [c for c in frame.columns if frame[c].dtype.kind == "f"]
        frame.loc[bad, numeric] = np.nan
        for col in ("worst_scenario", "worst_group", "binding"):
            if col in frame:
                frame.loc[bad, col] = None
        return frame

    # -- per group -----------------------------------------------------------------------------
    @property
    def groups(self):
        """One row per (account, product group or stand-alone class group) and scenario set."""
        if self._groups_frame is None:
            layout, groups = self._layout, self._groups
            frames = []
            g = layout.group_of_row
            # the same under every scenario set: looked up once
            account = self.book.account_ids[layout.account_of_group_row]
            name = groups.names[g]
            kind = np.where(groups.is_product_group[g], "product_group", "class")
            offset, down, up = groups.offset[g], groups.down[g], groups.up[g]
            for s in self._sets:
                res = s.res
                frame = pd.DataFrame({
                    "account": account, "group": name, "group_kind": kind,
                    "requirement": res["group_requirement"], "risk": res["group_risk"],
                    "minimum": res["group_minimum"],
                    "worst_scenario": s.risk.labels[g, res["group_worst"]] if len(g) else [],
                    "offset": offset, "down": down, "up": up})
                frame.loc[frame["risk"] <= 0, "worst_scenario"] = None
                if len(self._sets) > 1:
                    frame.insert(3, "scenario_set", s.risk.scenario_set.name)
                frames.append(frame)
            self._groups_frame = pd.concat(frames, ignore_index=True)
        return self._groups_frame

    @property
    def scenarios(self):
        """Long table: account, group, scenario label, market move, vol shift, P&L after
        offsets (one row per group row and scenario)."""
        if self._scenarios_frame is None:
            self._scenarios_frame = self._scenario_rows(slice(None))
        return self._scenarios_frame

    def scenarios_for(self, accounts):
        """The ``scenarios`` table of the given accounts only: cheap for a few accounts of a
        large book (a report, a what-if), where the full long table has millions of rows."""
        wanted = np.isin(self.book.account_ids, np.asarray(accounts, dtype=str))
        return self._scenario_rows(np.flatnonzero(wanted[self._layout.account_of_group_row]))

    def _group_net(self, rows):
        """Net P&L after offsets of the given group rows under each scenario set, recomputed
        on demand: the batch does not keep it ([group rows x scenarios] per set is the largest
        output and only this long table reads it). The group rows are aggregated as a
        one-account layout; a group's net depends on its own positions only."""
        lay = self._layout
        if isinstance(rows, slice):
            args = lay.args()
        else:
            cls, group_start = _ranges(lay.group_start, rows)
            pos, class_start = _ranges(lay.class_start, cls)
            args = (lay.instrument[pos], lay.quantity[pos], class_start, group_start,
                    np.array([0, len(rows)], dtype=np.int64), lay.group_offset[rows])
        return [_core.margin_aggregate(*args, s.risk.pnl, self._per_unit, self._long_cap, False,
                                       True, self._nt)["group_net"] for s in self._sets]

    def _scenario_rows(self, rows):
        layout, groups = self._layout, self._groups
        frames = []
        g = layout.group_of_row[rows]
        account = self.book.account_ids[layout.account_of_group_row[rows]]
        name = groups.names[g]
        for s, net in zip(self._sets, self._group_net(rows)):
            n_sc = net.shape[1]
            ss = s.risk.scenario_set
            n_vols = len(ss.vol_shifts)
            frame = pd.DataFrame({
                "account": np.repeat(account, n_sc),
                "group": np.repeat(name, n_sc),
                "scenario": s.risk.labels[g].ravel() if len(g) else [],
                "move": (s.risk.market_moves[g][:, np.arange(n_sc) // n_vols].ravel()
                         if len(g) else []),
                "vol_shift": np.tile(np.tile(ss.vol_shifts, ss.n_moves), len(g)),
                "pnl": net.ravel()})
            if len(self._sets) > 1:
                frame.insert(2, "scenario_set", ss.name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def __repr__(self):
        ok = int((self.accounts["status"] == "ok").sum())
        return (f"PortfolioMargin({len(self.accounts)} accounts, {ok} margined, total "
                f"requirement {np.nansum(self.accounts['requirement']):,.2f})")


def check_book(book, caller="portfolio_margin"):
    """InputError unless ``book`` is a pmfast.Book (a dict of tables or a path is not)."""
    if not all(hasattr(book, a) for a in ("positions", "instruments", "underlyings",
                                           "account_ids", "rejected")):
        raise InputError(f"{caller}: expected a pmfast.Book, got {type(book).__name__} (build "
                         "one with pmfast.Book(positions, instruments, underlyings, ...))")


def error_mode(book, errors):
    """``errors`` checked; None follows the Book's own mode (``Book(errors=...)``)."""
    if errors is None:
        errors = getattr(book, "error_mode", None) or (
            "collect" if len(book.errors) else "raise")
    if errors not in ("raise", "collect"):
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    return errors


@dataclass
class RunInputs:
    """What every portfolio-margin consumer (batch, what-if, risk arrays) starts from: the
    loaded rule set, threads, the market snapshot, the accounts rejected (Book + market) with
    their reasons, and the groups."""
    rules: RuleSet
    n_threads: int
    market: object          # pmfast.market.MarketSnapshot
    rejected: np.ndarray
    errors: pd.DataFrame
    groups: object          # pmfast.scenarios.Groups

    @property
    def inputs(self):
        return self.market.inputs

    @property
    def vol(self):
        return volatility(self.market)


def prepare(book, rules, n_threads=None, errors=None, market=None):
    """The :class:`RunInputs` of ``book`` under ``rules`` (``market``: a snapshot resolved
    already under the same rule set, else resolved here)."""
    check_book(book)
    rules = RuleSet.load(rules)
    nt = resolve_n_threads(n_threads)
    errors = error_mode(book, errors)
    if market is None:
        market = resolve_market(book, rules, n_threads=nt)
    elif (market.american_model, market.crr_steps) != (rules.american_model, rules.crr_steps):
        raise InputError(f"market: resolved under american_model {market.american_model!r}, "
                         f"crr_steps {market.crr_steps}; the rule set {rules.name!r} takes "
                         f"{rules.american_model!r}, {rules.crr_steps}")
    rejected, all_errors = market.rejections(book, errors)
    with stage("layout"):
        groups = build_groups(book, rules)
    return RunInputs(rules, nt, market, rejected, all_errors, groups)


def _prepare(book, rules, n_threads, errors, market=None):
    """The old 7-tuple of :func:`prepare` (rules, n_threads, inputs, vol, rejected, errors,
    groups), kept for code written against it; new code takes the ``RunInputs``."""
    run = prepare(book, rules, n_threads, errors, market)
    return run.rules, run.n_threads, run.inputs, run.vol, run.rejected, run.errors, run.groups


def set_risk_array(book, rules, inputs, vol, groups, scenario_set, nt, value0=None):
    """Risk array of one scenario set as the aggregation takes it (rows of options whose
    volatility is bad zeroed: no margined account holds them), V_0, and the groups' market
    moves. ``value0``: V_0 from an earlier set (not repriced). Shared with ``pmfast.WhatIf``."""
    moves, market = class_moves(groups, book, scenario_set)
    pnl, value0 = risk_array(book, rules, inputs, vol.vol, moves, scenario_set, skip=vol.bad,
                             n_threads=nt, value0=value0)
    return np.ascontiguousarray(np.nan_to_num(pnl, nan=0.0)), value0, market


def concentration_risk_array(book, rules, inputs, vol, nt, value0=None):
    """[n_instruments, 4] P&L per unit at (-large, +large, -other, +other) x leverage
    (``value0``: V_0 from a scenario set, not repriced)."""
    lev = _np(book.underlyings.column("leverage")).astype(np.float64)
    moves = np.maximum(lev[:, None] * _concentration_set(rules)[None, :], -1.0)
    flat = ScenarioSet(name="concentration", points=4)  # 4 moves given explicitly
    pnl, _ = risk_array(book, rules, inputs, vol.vol, moves, flat, skip=vol.bad, n_threads=nt,
                        value0=value0)
    return np.ascontiguousarray(np.nan_to_num(pnl, nan=0.0))


def portfolio_margin(book, rules="finra-cpm", n_threads=None, errors=None, market=None,
                     revaluation=None):
    """Risk-based portfolio margin of every account of a book.

    Parameters
    ----------
    book : pmfast.Book
    rules : str, path or pmfast.RuleSet
        A preset name (``"finra-cpm"``, ``"house"``), a TOML file, or a RuleSet.
    n_threads : int, optional
        Threads for pricing and aggregation (default: every available CPU). Results are
        identical for any value.
    errors : {"raise", "collect"}, optional
        What to do with an option whose volatility cannot be found: raise ``InputError``, or
        reject the accounts holding it (listed in ``.errors``). Default: ``"collect"`` if the
        book was built with, else ``"raise"``. An account is rejected for an instrument of a
        bad market status (no volatility, an impossible mark) only where it holds a non-zero
        position in it.
    market : pmfast.market.MarketSnapshot, optional
        A snapshot already resolved for this book under the same rule set (``run_book``
        shares one with Reg T); default: resolved here.
    revaluation : pmfast.revaluation.Revaluation, optional
        The risk arrays of a Book with the same instruments, underlyings and product groups
        (same instrument codes) under the same rule set and ``market``, priced once for many
        books (a distributed run's shards); default: priced here.

    Returns
    -------
    PortfolioMargin
        ``.accounts`` (one row per account of the book: account, requirement, risk, minimum,
        worst_scenario, worst_group, status, positions, and per scenario set when the rule set
        has several), ``.groups``, ``.scenarios`` (long table), ``.errors``.

    Examples
    --------
    >>> import pmfast
    >>> book = pmfast.Book(
    ...     {"account": ["A"], "instrument": ["ACME"], "quantity": [100.0]},
    ...     {"instrument": ["ACME"], "kind": ["equity"], "underlying": ["ACME"]},
    ...     {"underlying": ["ACME"], "price": [50.0]}, as_of="2026-11-20")
    >>> round(float(pmfast.portfolio_margin(book).accounts["requirement"][0]), 6)
    750.0
    """
    check_book(book)
    crypto = crypto_dispatch(book, rules)   # method = "crypto": pmfast.crypto (docs/crypto.md)
    if crypto is not None:
        return crypto_margin(book, crypto, n_threads, errors)
    run = prepare(book, rules, n_threads, errors, market)
    rules, nt, rejected, all_errors, groups = (
        run.rules, run.n_threads, run.rejected, run.errors, run.groups)
    layout = staged("layout", Layout, book, groups, rejected, nt)
    reval = revalue(book, run) if revaluation is None else revaluation
    with stage("aggregate"):
        sets = [SetMargin(risk, _core.margin_aggregate(*layout.args(), risk.pnl,
                                                       *reval.minimum, False, False, nt))
                for risk in reval.sets]
        concentration = None
        if reval.concentration is not None:
            concentration = _core.margin_concentration(*layout.args(), reval.concentration,
                                                       rules.concentration.largest, nt)
    result = staged("results", PortfolioMargin, book, rules, layout, groups, sets,
                    concentration, rejected, all_errors, reval.minimum, nt,
                    mode=error_mode(book, errors))
    result.revaluation = reval     # the RiskArrays the run produced (what-if, Dask reuse them)
    result.market = run.market     # the snapshot Reg T shares in a batch run
    return result


def risk_arrays(book, rules="finra-cpm", n_threads=None, errors=None):
    """Theoretical P&L of every instrument at every scenario, with the volatility used.

    Returns a long pandas DataFrame: instrument, underlying, group, scenario_set, scenario
    (label), market_move (``m``), move (``L x m``, the class's own move), vol_shift, vol,
    vol_source, value0 (model value today, per unit), pnl (per contract or share:
    ``multiplier x (V_i - V_0)``).
    """
    run = prepare(book, rules, n_threads, errors)
    rules, nt, inputs, vol, groups = run.rules, run.n_threads, run.inputs, run.vol, run.groups
    ins = book.instruments
    ids = _np(ins.column("instrument")).astype(str)
    und = inputs["und_code"]
    underlying = _np(ins.column("underlying")).astype(str)
    g = groups.of_underlying[und] if und.size else und
    name = groups.names[g]
    frames = []
    value0 = None
    for ss in rules.scenario_sets:
        moves, market = class_moves(groups, book, ss)
        pnl, value0 = risk_array(book, rules, inputs, vol.vol, moves, ss, skip=vol.bad,
                                 n_threads=nt, value0=value0)
        n_sc = ss.n_scenarios
        n_vols = len(ss.vol_shifts)
        move_idx = np.arange(n_sc) // n_vols
        labels = scenario_labels(market, ss)
        frames.append(pd.DataFrame({
            "instrument": np.repeat(ids, n_sc),
            "underlying": np.repeat(underlying, n_sc),
            "group": np.repeat(name, n_sc),
            "scenario_set": ss.name,
            "scenario": labels[g].ravel() if len(g) else [],
            "market_move": market[g][:, move_idx].ravel() if len(g) else [],
            "move": moves[und][:, move_idx].ravel() if len(g) else [],
            "vol_shift": np.tile(np.tile(ss.vol_shifts, ss.n_moves), len(ids)),
            "vol": np.repeat(vol.vol, n_sc),
            "vol_source": np.repeat(vol.source, n_sc),
            "value0": np.repeat(value0, n_sc),
            "pnl": pnl.ravel()}))
    return pd.concat(frames, ignore_index=True)

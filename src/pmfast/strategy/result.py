"""Result tables of :func:`pmfast.strategy_margin`: per-account figures (computed at once) and
the strategy rows (built on first access: at overnight scale they are tens of millions)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.finite import reject_non_finite
from pmfast.strategy.engine import STRATEGY_NAMES, run_core
from pmfast.strategy.legs import KIND_CALL, KIND_OTHER, KIND_PUT, KIND_STOCK

BASIS_NAMES = ("initial", "maintenance")


def _per_account(codes, weights, n_accounts):
    return np.bincount(codes, weights=weights, minlength=n_accounts).astype(np.float64)


# the per-account figures the safety net checks (the pairing gaps are NaN under greedy)
FIGURES = ("initial", "maintenance", "gross_initial", "gross_maintenance",
           "short_option_proceeds", "long_option_value", "long_stock_value", "short_stock_value",
           "minimum_equity", "pairing_gap_initial", "pairing_gap_maintenance")
NAN_ALLOWED = ("pairing_gap_initial", "pairing_gap_maintenance")


def account_table(legs, grouped, core, rules, method="optimal"):
    """One row per account in ``legs.account_ids`` (accounts with nothing get zeros)."""
    n = len(legs.account_ids)
    ga = grouped.group_account
    gross_i = _per_account(ga, core["gross_initial"], n)
    gross_m = _per_account(ga, core["gross_maintenance"], n)
    q, kind, acc = legs.quantity, legs.kind, legs.account
    value = q * legs.price * legs.multiplier
    is_opt = (kind == KIND_CALL) | (kind == KIND_PUT)
    proceeds = _per_account(acc, np.where(is_opt & (q < 0), -value, 0.0), n)
    long_opt = _per_account(acc, np.where(is_opt & (q > 0), value, 0.0), n)
    is_stock = kind == KIND_STOCK
    long_stock = _per_account(acc, np.where(is_stock & (q > 0), value, 0.0), n)
    short_stock = _per_account(acc, np.where(is_stock & (q < 0), -value, 0.0), n)
    unmargined = np.bincount(acc[(kind == KIND_OTHER) & (q != 0)], minlength=n)
    margined = np.bincount(ga, minlength=n) > 0
    # proven optimal: never under greedy (not even an account with nothing to pair: greedy
    # proves nothing), otherwise unless a group's search stopped on its budget
    proven = np.full(n, method != "greedy")
    not_proven = core["proven"] != 3
    proven[ga[not_proven]] = False
    # how far above the optimum the reported requirement can be (0 when proven; NaN under
    # greedy, which computes no bound)
    gap_i = _per_account(ga, core["gap_initial"], n)
    gap_m = _per_account(ga, core["gap_maintenance"], n)
    return pd.DataFrame({
        "account": legs.account_ids.astype(str),
        "initial": gross_i - proceeds,
        "maintenance": gross_m - proceeds,
        "gross_initial": gross_i,
        "gross_maintenance": gross_m,
        "short_option_proceeds": proceeds,
        "long_option_value": long_opt,
        "long_stock_value": long_stock,
        "short_stock_value": short_stock,
        "minimum_equity": np.where(margined, rules.account.minimum_equity, 0.0),
        "unmargined_positions": unmargined.astype(np.int64),
        "pairing_optimal": proven,
        "pairing_gap_initial": gap_i,
        "pairing_gap_maintenance": gap_m,
    })


def _mark_rejected(table, rejected):
    """``status`` per account; an account the Book rejected has no positions left to pair, so
    its figures are NaN (never a valid-looking $0)."""
    bad = np.zeros(len(table), dtype=bool) if rejected is None else np.asarray(rejected, bool)
    table.insert(1, "status", np.where(bad, "rejected", "ok").astype(object))
    money = [c for c in table.columns if table[c].dtype.kind == "f"]
    table.loc[bad, money] = np.nan
    table.loc[bad, "pairing_optimal"] = False     # nothing was paired, nothing proven
    return table


def _legs_text(legs, leg_rows, ratio):
    """'+1 IBM C100, -1 IBM C105' per row (pyarrow string kernels, no Python loop per row)."""
    names = pa.array(legs.instrument_ids, pa.string())
    text = None
    for k in range(leg_rows.shape[1]):
        idx = np.where(leg_rows[:, k] >= 0, legs.instrument[np.maximum(leg_rows[:, k], 0)], -1)
        ids = pc.take(names, pa.array(idx, mask=idx < 0))
        size = np.abs(ratio[:, k])
        whole = np.all(size == np.round(size))
        num = pc.cast(pa.array(size.astype(np.int64) if whole else size), pa.string())
        sign = pa.array(np.where(ratio[:, k] > 0, "+", "-"))
        part = pc.binary_join_element_wise(sign, num, " ", ids, "")
        text = part if text is None else pc.binary_join_element_wise(
            text, part, ", ", null_handling="skip")
    return text.to_numpy(zero_copy_only=False)


def strategy_table(legs, grouped, core):
    basis = core["row_basis"]
    # basis 2 rows hold for both bases: list them once under each
    take_i = np.flatnonzero(basis != 1)
    take_m = np.flatnonzero(basis != 0)
    rows = np.r_[take_i, take_m]
    row_basis = np.r_[np.zeros(len(take_i), np.int8), np.ones(len(take_m), np.int8)]
    group = core["row_group"][rows]
    order = np.lexsort((rows, row_basis, group))
    rows, row_basis, group = rows[order], row_basis[order], group[order]
    leg_rows = core["row_legs"][rows]
    ratio = core["row_ratio"][rows]
    units = core["row_units"][rows]
    global_leg = np.where(leg_rows >= 0, grouped.index[np.where(leg_rows >= 0, leg_rows, 0)], -1)
    short_value = np.zeros(len(rows))
    for k in range(4):
        li = np.where(global_leg[:, k] >= 0, global_leg[:, k], 0)
        is_opt = (legs.kind[li] == KIND_CALL) | (legs.kind[li] == KIND_PUT)
        short = (global_leg[:, k] >= 0) & is_opt & (ratio[:, k] < 0)
        short_value += np.where(short, -ratio[:, k] * units * legs.price[li] * legs.multiplier[li],
                                0.0)
    requirement = core["row_requirement"][rows]
    names = np.array(STRATEGY_NAMES, dtype=object)
    return pd.DataFrame({
        "account": legs.account_ids[grouped.group_account[group]].astype(str),
        "underlying": legs.underlying_ids[grouped.group_underlying[group]].astype(str),
        "basis": np.array(BASIS_NAMES, dtype=object)[row_basis],
        "strategy": names[core["row_strategy"][rows]],
        "legs": _legs_text(legs, global_leg, ratio)
        if len(rows) else np.array([], dtype=object),
        "units": units,
        "requirement": requirement,
        "short_proceeds": short_value,
        "net_requirement": requirement - short_value,
    })


class StrategyResult:
    """What :func:`pmfast.strategy_margin` returns.

    Attributes
    ----------
    accounts : pandas.DataFrame
        One row per account: ``account``, ``status`` (``ok``, or ``rejected`` by the Book under
        ``errors="collect"``: its figures are NaN), ``initial`` and ``maintenance`` (net of short option
        proceeds), ``gross_initial``/``gross_maintenance`` (before proceeds),
        ``short_option_proceeds``, ``long_option_value``, ``long_stock_value``,
        ``short_stock_value``, ``minimum_equity`` (the $2,000 to carry margin positions, reported
        not added), ``unmargined_positions`` (futures and future options, outside Reg T) and
        ``pairing_optimal`` (True when the pairing is proven optimal; False under
        ``method="greedy"``, for a rejected account, or when the rule set's pairing budget ran out), and
        ``pairing_gap_initial`` / ``pairing_gap_maintenance`` (the most the gross requirement
        can exceed the optimum: 0 when proven, NaN under greedy).
    strategies : pandas.DataFrame
        The decomposition chosen, one row per (basis, strategy, legs): ``account``,
        ``underlying``, ``basis`` (initial|maintenance), ``strategy``, ``legs`` (signed ratio
        per unit and instrument), ``units``, ``requirement`` (before proceeds),
        ``short_proceeds``, ``net_requirement``. Built on first access; for a few accounts
        use :meth:`strategies_for`.
    errors : pandas.DataFrame or None
        The rejected accounts and reasons (``account, table, column, reason``): the Book's, the
        market's, a fraction of an option contract, and any account whose figures came out
        inf/NaN (``table = "accounts"``, see docs/result-safety.md).
    """

    def __init__(self, legs, grouped, core, rules, method, n_threads, rejected=None,
                 errors=None, mode="collect"):
        self.rules = rules
        self.method = method
        self._legs, self._grouped, self._n_threads = legs, grouped, n_threads
        with np.errstate(over="ignore", invalid="ignore"):   # overflow: caught just below
            table = account_table(legs, grouped, core, rules, method)
        # the safety net (pmfast.finite): inf/NaN figures reject their account, never "ok"
        rejected, errors = reject_non_finite(table, FIGURES, rejected, errors, mode, "Reg T",
                                             nan_allowed=NAN_ALLOWED)
        self.accounts = _mark_rejected(table, rejected)
        self.errors = errors
        self._strategies = None

    @property
    def strategies(self):
        if self._strategies is None:
            # the totals ran without rows (no memory for them); the pairing is deterministic,
            # so this run reproduces the same decomposition with its rows
            core = run_core(self._grouped, self.rules, self.method, self._n_threads)
            self._strategies = strategy_table(self._legs, self._grouped, core)
        return self._strategies

    def strategies_for(self, accounts):
        """The ``strategies`` table of the given accounts only, row for row as in
        ``strategies``: pairs only those accounts' groups, so it is cheap for a few accounts of
        a large book (a report, a what-if). Ids not in the book (or without positions) give no
        rows.

        Parameters
        ----------
        accounts : str or sequence of str
            Account ids.

        Returns
        -------
        pandas.DataFrame
            The columns of ``strategies``.
        """
        wanted = np.isin(self._legs.account_ids.astype(str), np.asarray(accounts, dtype=str))
        grouped = self._grouped.for_groups(np.flatnonzero(wanted[self._grouped.group_account]))
        core = run_core(grouped, self.rules, self.method, self._n_threads)
        return strategy_table(self._legs, grouped, core)

    def __repr__(self):
        return (f"StrategyResult(rules={self.rules.name!r}, method={self.method!r}, "
                f"accounts={len(self.accounts)})")

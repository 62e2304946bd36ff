"""Strategy-based (Regulation T) margin with provably optimal strategy pairing.

Positions of one account on one underlying are decomposed into recognised strategies (spreads,
straddles, covered writes, butterflies, condors, boxes, collars, conversions, ...); the
decomposition with the smallest total requirement is found exactly by the C++ core. Rules come
from ``pmfast/rules/regt.toml``. See ``docs/strategy-margin.md``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.stages import stage, staged
from pmfast.strategy.engine import GroupedLegs, run_core
from pmfast.strategy.legs import KIND_CALL, KIND_PUT, LegColumns, legs_from_frame
from pmfast.strategy.result import StrategyResult
from pmfast.strategy.rules import RegtRules, load_regt_rules

__all__ = ["strategy_margin", "flat_margin", "StrategyResult", "RegtRules", "load_regt_rules"]


def _is_book(book):
    return hasattr(book, "positions") and hasattr(book, "instruments")


def _to_legs(book, as_of):
    if isinstance(book, LegColumns):
        return book
    if hasattr(book, "positions") and hasattr(book, "instruments"):
        from pmfast.strategy.book_adapter import legs_from_book
        return legs_from_book(book)
    if as_of is None:
        raise InputError("strategy_margin: pass a pmfast.Book, or a flat legs table with as_of")
    return legs_from_frame(book, as_of)


def _reject_fractional_contracts(legs, rejected, errors):
    """Under errors="collect": accounts holding a fraction of an option contract are rejected
    (their legs zeroed, a reason row added) instead of failing the whole batch."""
    is_option = (legs.kind == KIND_CALL) | (legs.kind == KIND_PUT)
    bad = is_option & (legs.quantity != np.round(legs.quantity))
    if not bad.any():
        return legs, rejected, errors
    import pandas as pd
    rows = np.flatnonzero(bad)
    rejected = (np.zeros(len(legs.account_ids), dtype=bool) if rejected is None
                else np.array(rejected, dtype=bool, copy=True))
    rejected[legs.account[rows]] = True
    reasons = pd.DataFrame({
        "account": legs.account_ids[legs.account[rows]].astype(str).astype(object),
        "table": "positions", "column": "quantity",
        "reason": [f"an option position must be a whole number of contracts for Reg T "
                   f"(instrument {legs.instrument_ids[legs.instrument[i]]!r} holds "
                   f"{legs.quantity[i]:g})" for i in rows]})
    errors = reasons if errors is None or not len(errors) else \
        pd.concat([errors, reasons], ignore_index=True)
    quantity = np.where(rejected[legs.account], 0.0, legs.quantity)
    return dataclasses.replace(legs, quantity=quantity), rejected, errors


def strategy_margin(book, rules="regt", n_threads=None, method="optimal", as_of=None,
                    market=None, errors=None):
    """Regulation T strategy-based margin of every account, with optimal pairing.

    Parameters
    ----------
    book : pmfast.Book or table
        A ``pmfast.Book``; or a flat per-position table (see
        :func:`pmfast.strategy.legs.legs_from_frame`) together with ``as_of``.
    rules : str, path or RegtRules
        ``"regt"`` (the regulatory minimums), a TOML file, or a loaded rule set.
    n_threads : int, optional
        Threads for the pairing (default: the CPUs this process may use). Results are
        identical for any value.
    method : {"optimal", "greedy"}
        ``"optimal"`` finds the minimum total requirement over all decompositions;
        ``"greedy"`` pairs by largest saving first, as brokers do (a baseline).
    as_of : date, optional
        Valuation date for a flat table (decides which long options are LEAPS).
    market : pmfast.market.MarketSnapshot, optional
        With a Book: the run's market snapshot (marks, and which instruments cannot be
        valued); default: resolved under the ``finra-cpm`` rule set's model.
    errors : {"raise", "collect"}, optional
        With a Book: as :func:`pmfast.portfolio_margin` (default: the Book's mode). Under
        ``"collect"`` the accounts holding an option the market cannot value, or a fraction of
        an option contract, are rejected.

    Returns
    -------
    StrategyResult
        ``.accounts`` (``account``, ``initial``, ``maintenance``, ``gross_initial``, ...) and
        ``.strategies``.

    Examples
    --------
    >>> import pmfast
    >>> legs = [dict(account="A", instrument="IBM", underlying="IBM", kind="equity",
    ...              quantity=10_000, price=97.73, underlying_price=97.73),
    ...         dict(account="A", instrument="IBM C100", underlying="IBM", kind="option",
    ...              right="C", strike=100, expiry="2027-04-16", quantity=-100, price=1.68,
    ...              underlying_price=97.73)]
    >>> r = pmfast.strategy_margin(legs, as_of="2027-03-01")
    >>> round(float(r.accounts.initial[0]), 2)   # covered call: $488,650 - $16,800 proceeds
    471850.0
    """
    rules = load_regt_rules(rules)
    n_threads = resolve_n_threads(n_threads)
    rejected, book_errors = getattr(book, "rejected", None), getattr(book, "errors", None)
    with stage("regt_legs"):
        if _is_book(book):   # market rejections too, as portfolio margin (pmfast.market)
            from pmfast.strategy.book_adapter import book_legs
            from pmfast.portfolio import error_mode
            legs, rejected, book_errors = book_legs(book, market, errors, n_threads)
            mode = error_mode(book, errors)
        else:
            legs = _to_legs(book, as_of)
            if errors not in (None, "raise", "collect"):
                raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
            mode = errors or "raise"
        if mode == "collect":   # a fraction of a contract costs its account, not the batch
            legs, rejected, book_errors = _reject_fractional_contracts(legs, rejected,
                                                                       book_errors)
    grouped = staged("regt_group", GroupedLegs, legs, rules, n_threads)
    core = staged("regt_core", run_core, grouped, rules, method, n_threads, emit_rows=False)
    return staged("regt_results", StrategyResult, legs, grouped, core, rules, method,
                  n_threads, rejected=rejected, errors=book_errors, mode=mode)


def flat_margin(contract_value, risk_factor, margin_rate):
    """Flat stand-alone initial margin ``contract value x risk factor / (1 - margin rate)``.

    Not a regulatory method (it grosses a flat notional charge up for a collateral haircut);
    offered for comparisons. Arrays broadcast; a scalar in gives a float out.

    Examples
    --------
    >>> import pmfast
    >>> round(pmfast.flat_margin(50_000, 0.05, 0.02), 2)
    2551.02
    """
    args = {"contract_value": contract_value, "risk_factor": risk_factor,
            "margin_rate": margin_rate}
    arrays = {}
    for name, value in args.items():
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"flat_margin: {name} must be numeric, got {value!r}") from None
        bad = ~np.isfinite(arr)
        if name == "margin_rate":
            bad |= (arr < 0) | (arr >= 1)
        else:
            bad |= arr < 0
        if bad.any():
            where = np.argwhere(np.atleast_1d(bad))[0].tolist()
            need = "in [0, 1)" if name == "margin_rate" else "finite and >= 0"
            raise InputError(f"flat_margin: {name} must be {need}; first offending index "
                             f"{where}: {np.atleast_1d(arr)[tuple(where)]!r}")
        arrays[name] = arr
    out = arrays["contract_value"] * arrays["risk_factor"] / (1.0 - arrays["margin_rate"])
    return float(out) if out.ndim == 0 else out

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
from pmfast.strategy.engine import GroupedLegs, run_core
from pmfast.strategy.legs import KIND_CALL, KIND_PUT, LegColumns, legs_from_frame
from pmfast.strategy.result import StrategyResult
from pmfast.strategy.rules import RegtRules, load_regt_rules

__all__ = ["strategy_margin", "flat_margin", "StrategyResult", "RegtRules", "load_regt_rules"]


def _to_legs(book, as_of):
    if isinstance(book, LegColumns):
        return book
    if hasattr(book, "positions") and hasattr(book, "instruments"):
        from pmfast.strategy.book_adapter import legs_from_book
        return legs_from_book(book)
    if as_of is None:
        raise InputError("strategy_margin: pass a pmfast.Book, or a flat legs table with as_of")
    return legs_from_frame(book, as_of)


def _error_mode(book, errors):
    """``errors`` if given; else the Book's mode when it records one, else "collect" when the
    Book collected anything (as portfolio_margin does), else "raise"."""
    if errors is not None:
        if errors not in ("raise", "collect"):
            raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
        return errors
    mode = getattr(book, "error_mode", None)
    if mode in ("raise", "collect"):
        return mode
    frame = getattr(book, "errors", None)
    return "collect" if frame is not None and len(frame) else "raise"


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
                    errors=None):
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
    errors : {"raise", "collect"}, optional
        What a position Reg T cannot margin (a fraction of an option contract) does: raise
        ``InputError``, or reject only its account (NaN figures, status ``rejected``, the
        reason in ``errors``). Default: the Book's mode (collect if the Book collected).

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
    mode = _error_mode(book, errors)
    legs = _to_legs(book, as_of)
    rejected, found = getattr(book, "rejected", None), getattr(book, "errors", None)
    if mode == "collect":
        legs, rejected, found = _reject_fractional_contracts(legs, rejected, found)
    n_threads = resolve_n_threads(n_threads)
    grouped = GroupedLegs(legs, rules, n_threads)
    core = run_core(grouped, rules, method, n_threads, emit_rows=False)
    return StrategyResult(legs, grouped, core, rules, method, n_threads, rejected=rejected,
                          errors=found)


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

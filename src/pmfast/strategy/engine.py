"""From :class:`~pmfast.strategy.legs.LegColumns` to per-group Reg T requirements: sort legs into
(account, underlying) groups, turn the rule set into per-group rates, one C++ call."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pmfast import _core
from pmfast.book import _EPOCH, _MIN_ROWS_PER_THREAD
from pmfast.errors import InputError
from pmfast.strategy.legs import KIND_CALL, KIND_OTHER, KIND_PUT, add_months

STRATEGY_NAMES = tuple(_core.regt_strategy_names())
METHODS = {"optimal": 0, "greedy": 1}


def _check_whole_contracts(legs):
    is_option = (legs.kind == KIND_CALL) | (legs.kind == KIND_PUT)
    bad = is_option & (legs.quantity != np.round(legs.quantity))
    if bad.any():
        idx = np.flatnonzero(bad)[:5]
        ids = ", ".join(f"{legs.account_ids[legs.account[i]]}/"
                        f"{legs.instrument_ids[legs.instrument[i]]}"
                        f" ({legs.quantity[i]:g})" for i in idx)
        raise InputError("positions: column 'quantity' must be a whole number of contracts for "
                         f"options; first offending (account/instrument): {ids}")


def group_rates(legs, rules, group_underlying, n_threads=1):
    """Per-group rates of the rule set, scaled by each underlying's leverage: computed once per
    underlying, then gathered per group (the same operations on the same numbers, so the same
    bits as computing per group; the gathers, each a fresh multi-million-row array, run on
    ``n_threads`` threads)."""
    # comparing millions of per-group group-type strings cost a second at overnight scale
    gt_und = np.asarray(legs.group_type, dtype=object)
    und_rate = np.full(len(gt_und), np.nan)
    und_min = np.full(len(gt_und), np.nan)
    for name, rates in rules.naked.items():
        sel = gt_und == name
        und_rate[sel] = rates.rate
        und_min[sel] = rates.minimum
    lev = np.abs(legs.leverage)
    if rules.options.leverage_scales_naked:
        und_rate *= lev
        und_min *= lev
    s = rules.stock
    cap = s.maintenance_rate_cap
    scale_m = lev if s.leverage_scales_maintenance else np.ones_like(lev)
    scale_i = lev if s.leverage_scales_initial else np.ones_like(lev)
    per_underlying = {
        "underlying_price": legs.underlying_price.astype(np.float64),
        "naked_rate": und_rate,
        "naked_minimum": und_min,
        "long_initial": np.minimum(s.long_initial * scale_i, 1.0),
        "long_maintenance": np.minimum(s.long_maintenance * scale_m, cap),
        "short_initial": s.short_initial * scale_i,
        "short_maintenance": np.minimum(s.short_maintenance * scale_m, cap),
        "short_low_maintenance": np.maximum(np.minimum(s.short_low_price_maintenance * scale_m,
                                                       cap), s.short_low_price_maintenance),
    }
    per_underlying = {k: np.asarray(v, dtype=np.float64) for k, v in per_underlying.items()}
    return _gather_all(per_underlying, group_underlying, n_threads)


def core_params(rules, method):
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    enabled = 0
    for name in rules.pairing.strategies:
        enabled |= 1 << STRATEGY_NAMES.index(name)
    h, s = rules.hedges, rules.stock
    return {
        "short_price_threshold": s.low_price_threshold,
        "short_floor_per_share": s.short_floor_per_share,
        "short_low_floor_per_share": s.short_low_price_floor_per_share,
        "naked_floor_per_share": rules.options.naked_floor_per_share,
        "protective_put_strike_rate": h.protective_put_strike_rate,
        "protective_call_strike_rate": h.protective_call_strike_rate,
        "collar_put_strike_rate": h.collar_put_strike_rate,
        "conversion_strike_rate": h.conversion_strike_rate,
        "reverse_conversion_strike_rate": h.reverse_conversion_strike_rate,
        "enabled": enabled,
        "max_nodes": rules.pairing.max_nodes,
        "max_work": rules.pairing.max_work,
        "max_templates": rules.pairing.max_templates,
        "method": METHODS[method],
    }


def _gather_all(columns, index, n_threads):
    """``{name: column[index]}`` for every column, the gathers spread over ``n_threads``
    threads (numpy releases the GIL while it gathers numbers); each result is the same array
    whichever thread made it."""
    if n_threads <= 1 or len(index) < _MIN_ROWS_PER_THREAD:
        return {name: col[index] for name, col in columns.items()}
    with ThreadPoolExecutor(n_threads) as pool:
        futures = {name: pool.submit(np.take, col, index) for name, col in columns.items()}
        return {name: f.result() for name, f in futures.items()}


class GroupedLegs:
    """Legs that Reg T margins (stock and listed options, non-zero), sorted by group."""

    def __init__(self, legs, rules, n_threads=1):
        _check_whole_contracts(legs)
        keep = (legs.quantity != 0) & (legs.kind != KIND_OTHER)
        idx = np.flatnonzero(keep) if not keep.all() else None
        acc_idx = legs.account if idx is None else legs.account[idx]
        und_idx = legs.underlying if idx is None else legs.underlying[idx]
        # group by (account, underlying) with one stable sort of a combined key; inside a group
        # legs keep the input order (the Book's: by instrument), so the output is deterministic.
        # Legs arrive sorted by account (Book and frame alike): numpy's stable sort (timsort)
        # rides those runs (0.1 s at ten million legs, faster than a radix sort here).
        n_und = max(len(legs.underlying_ids), 1)
        key = acc_idx * n_und + und_idx
        order = np.argsort(key, kind="stable")
        self.index = order if idx is None else idx[order]   # rows of `legs`, in core order
        key = key[order]   # sorted: one (account, underlying) group per run
        del acc_idx, und_idx, order, idx
        cols = _gather_all({"kind": legs.kind,
                            "strike": legs.strike, "expiry": legs.expiry,
                            "multiplier": legs.multiplier, "price": legs.price,
                            "quantity": legs.quantity}, self.index, n_threads)
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) \
            if len(key) else np.zeros(0, dtype=np.int64)
        self.offsets = np.r_[starts, len(key)].astype(np.int64, copy=False)
        group_key = key[starts]
        del key
        self.group_account = (group_key // n_und).astype(np.int64, copy=False)
        self.group_underlying = (group_key % n_und).astype(np.int64, copy=False)
        leaps_cutoff = (add_months(legs.as_of, rules.options.leaps_months) - _EPOCH).days
        k = cols["kind"]
        expiry = cols["expiry"]
        self.core_legs = {
            "kind": np.ascontiguousarray(k, dtype=np.int8),
            # stock legs keep their NaN strike: the core reads strikes of options only
            "strike": np.ascontiguousarray(cols["strike"], dtype=np.float64),
            "expiry": np.ascontiguousarray(expiry, dtype=np.int32),
            "multiplier": np.ascontiguousarray(cols["multiplier"], dtype=np.float64),
            "price": np.ascontiguousarray(cols["price"], dtype=np.float64),
            "quantity": np.ascontiguousarray(cols["quantity"], dtype=np.float64),
            "long_rate": np.where(expiry > leaps_cutoff, float(rules.options.leaps_requirement),
                                  float(rules.options.long_requirement)),
        }
        self.rates = group_rates(legs, rules, self.group_underlying, n_threads)
        self.rates["offsets"] = self.offsets

    def for_groups(self, groups):
        """The same grouping restricted to ``groups`` (increasing group numbers). The core pairs
        each group on its own, so a group pairs here exactly as in the whole batch."""
        sub = object.__new__(GroupedLegs)
        starts = self.offsets[groups]
        lengths = self.offsets[groups + 1] - starts
        ends = np.cumsum(lengths)
        rows = np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends)
                                                                        else 0)
        sub.index = self.index[rows]
        sub.offsets = np.r_[0, ends].astype(np.int64)
        sub.group_account = self.group_account[groups]
        sub.group_underlying = self.group_underlying[groups]
        sub.core_legs = {name: col[rows] for name, col in self.core_legs.items()}
        sub.rates = {name: col[groups] for name, col in self.rates.items() if name != "offsets"}
        sub.rates["offsets"] = sub.offsets
        return sub


def run_core(grouped, rules, method, n_threads, emit_rows=True):
    """Per-group gross requirements; with ``emit_rows`` also the strategy rows (the pairing is
    deterministic, so a second run for the rows reproduces the totals exactly)."""
    params = core_params(rules, method)
    params["emit_rows"] = int(emit_rows)
    return _core.regt_margin(grouped.core_legs, grouped.rates, params, n_threads)

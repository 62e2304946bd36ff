"""The neutral per-leg input of the Reg T engine: one row per net (account, instrument) position
with the instrument and underlying fields the rules need, as numpy columns.

Two ways in: :func:`legs_from_book` (a validated ``pmfast.Book``) and :func:`legs_from_frame`
(one flat table, validated here; used by tests and by callers without a Book).
"""
from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pandas as pd

from pmfast._arrays import _RIGHT_CODES
from pmfast.errors import InputError
from pmfast.kinds import LEG_CALL as KIND_CALL  # the C++ kLeg* codes, under their Reg T names
from pmfast.kinds import LEG_OTHER as KIND_OTHER
from pmfast.kinds import LEG_PUT as KIND_PUT
from pmfast.kinds import LEG_STOCK as KIND_STOCK
from pmfast.rules import GROUP_TYPES

FRAME_COLUMNS = ("account", "instrument", "underlying", "kind", "quantity", "price",
                 "underlying_price")
FRAME_DEFAULTS = {"right": None, "strike": np.nan, "expiry": None, "multiplier": None,
                  "group_type": "equity", "leverage": 1.0}


@dataclasses.dataclass
class LegColumns:
    """Columns of equal length, one row per net position (zero quantities allowed)."""
    account_ids: np.ndarray      # every account that must appear in the output (sorted ids)
    account: np.ndarray          # int64 code into account_ids
    instrument_ids: np.ndarray   # ids of the instruments (looked up only where printed)
    instrument: np.ndarray       # int64 code into instrument_ids
    underlying_ids: np.ndarray   # ids of the underlyings
    underlying: np.ndarray       # int64 code into underlying_ids
    kind: np.ndarray             # int8: KIND_STOCK / KIND_CALL / KIND_PUT / KIND_OTHER
    strike: np.ndarray           # float64 (NaN for stock)
    expiry: np.ndarray           # int32 days since 1970-01-01 (0 for stock)
    multiplier: np.ndarray       # float64
    price: np.ndarray            # float64 per share
    quantity: np.ndarray         # float64 signed
    underlying_price: np.ndarray  # float64 per underlying
    group_type: np.ndarray       # str per underlying
    leverage: np.ndarray         # float64 per underlying
    as_of: datetime.date


def add_months(day, months):
    """The same day of the month ``months`` later (clamped to the month's last day)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _first_ids(frame, mask, limit=5):
    rows = frame.loc[mask, ["account", "instrument"]].head(limit)
    return ", ".join(f"{a}/{i}" for a, i in zip(rows["account"], rows["instrument"]))


def _fail(table, column, frame, mask, reason):
    raise InputError(f"{table}: column {column!r} {reason}; first offending (account/instrument): "
                     f"{_first_ids(frame, mask)}")


def legs_from_frame(frame, as_of, table="legs"):
    """Validate a flat per-position table into :class:`LegColumns`.

    Columns: account, instrument, underlying, kind (equity|option|future|future_option),
    quantity, price (per share), underlying_price; optional right (C|P|CALL|PUT, any case, as
    the Book reads it), strike, expiry (date), multiplier (default 100 for options, 1
    otherwise), group_type (default equity), leverage (default 1). Rows of the same (account,
    instrument) are summed.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{table}: missing required column {missing[0]!r}")
    frame = frame.copy()
    for col, default in FRAME_DEFAULTS.items():
        if col not in frame.columns:
            frame[col] = default
    as_of = pd.Timestamp(as_of).date()
    frame["account"] = frame["account"].astype(str)
    frame["instrument"] = frame["instrument"].astype(str)
    frame["underlying"] = frame["underlying"].astype(str)
    kinds = {"equity": KIND_STOCK, "option": 0, "future": KIND_OTHER, "future_option": KIND_OTHER}
    bad = ~frame["kind"].isin(list(kinds))
    if bad.any():
        _fail(table, "kind", frame, bad, "must be equity, option, future or future_option")
    for col in ("quantity", "price", "underlying_price", "leverage"):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            _fail(table, col, frame, bad, "must be a finite number")
        frame[col] = values.astype(float)
    for col in ("price", "underlying_price"):
        bad = frame[col] < 0 if col == "price" else frame[col] <= 0
        if bad.any():
            _fail(table, col, frame, bad, "must be >= 0" if col == "price" else "must be > 0")
    bad = frame["leverage"] == 0
    if bad.any():
        _fail(table, "leverage", frame, bad, "must not be 0")
    bad = ~frame["group_type"].isin(GROUP_TYPES)
    if bad.any():
        _fail(table, "group_type", frame, bad, f"must be {', '.join(GROUP_TYPES)}")
    is_option = frame["kind"] == "option"
    kind = np.where(frame["kind"] == "equity", KIND_STOCK, KIND_OTHER).astype(np.int8)
    # the rights the Book accepts: C, P, CALL, PUT in any case, surrounding blanks ignored
    frame["right"] = frame["right"].where(frame["right"].isna(),
                                          frame["right"].astype(str).str.strip().str.upper())
    right = frame["right"].map(_RIGHT_CODES)
    bad = is_option & right.isna()
    if bad.any():
        _fail(table, "right", frame, bad, "must be C or P (or CALL or PUT) for options")
    kind[is_option.to_numpy()] = np.where(right[is_option] == 1, KIND_CALL, KIND_PUT)
    strike = pd.to_numeric(frame["strike"], errors="coerce").astype(float)
    bad = is_option & ~(strike > 0)
    if bad.any():
        _fail(table, "strike", frame, bad, "must be a number > 0 for options")
    expiry = pd.to_datetime(frame["expiry"], errors="coerce")
    bad = is_option & expiry.isna()
    if bad.any():
        _fail(table, "expiry", frame, bad, "must be a date for options")
    bad = is_option & (expiry < pd.Timestamp(as_of))
    if bad.any():
        _fail(table, "expiry", frame, bad, f"is before as_of {as_of}")
    multiplier = pd.to_numeric(frame["multiplier"], errors="coerce")
    multiplier = multiplier.fillna(pd.Series(np.where(is_option, 100.0, 1.0), index=frame.index))
    bad = ~(multiplier > 0)
    if bad.any():
        _fail(table, "multiplier", frame, bad, "must be > 0")

    days = np.zeros(len(frame), dtype=np.int32)
    opt = is_option.to_numpy()
    days[opt] = (expiry[is_option].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    for col in ("underlying", "kind", "right", "strike", "expiry", "multiplier", "price"):
        values = frame[col].where(frame[col].notna(), "")
        conflict = values.groupby(frame["instrument"]).transform("nunique") > 1
        if conflict.any():
            _fail(table, col, frame, conflict, "differs between rows of the same instrument")
    frame = frame.assign(_kind=kind, _strike=np.where(opt, strike, np.nan), _days=days,
                         _mult=multiplier.astype(float))
    # one net row per (account, instrument); the instrument's fields must agree across rows
    net = frame.groupby(["account", "instrument"], sort=True, as_index=False).agg(
        quantity=("quantity", "sum"), underlying=("underlying", "first"), kind=("_kind", "first"),
        strike=("_strike", "first"), expiry=("_days", "first"), multiplier=("_mult", "first"),
        price=("price", "first"))
    for col in ("underlying_price", "group_type", "leverage"):
        conflict = frame.groupby("underlying")[col].transform("nunique") > 1
        if conflict.any():
            _fail(table, col, frame, conflict, "differs between rows of the same underlying")
    und = frame.groupby("underlying", sort=True).agg(
        underlying_price=("underlying_price", "first"), group_type=("group_type", "first"),
        leverage=("leverage", "first"))
    account_ids = np.array(sorted(frame["account"].unique()), dtype=object)
    instrument_ids = np.unique(net["instrument"].to_numpy(dtype=object))
    underlying_ids = und.index.to_numpy(dtype=object)
    return LegColumns(
        account_ids=account_ids,
        account=np.searchsorted(account_ids, net["account"].to_numpy(dtype=object)),
        instrument_ids=instrument_ids,
        instrument=np.searchsorted(instrument_ids, net["instrument"].to_numpy(dtype=object)),
        underlying_ids=underlying_ids,
        underlying=np.searchsorted(underlying_ids, net["underlying"].to_numpy(dtype=object)),
        kind=net["kind"].to_numpy(dtype=np.int8),
        strike=net["strike"].to_numpy(dtype=float),
        expiry=net["expiry"].to_numpy(dtype=np.int32),
        multiplier=net["multiplier"].to_numpy(dtype=float),
        price=net["price"].to_numpy(dtype=float),
        quantity=net["quantity"].to_numpy(dtype=float),
        underlying_price=und["underlying_price"].to_numpy(dtype=float),
        group_type=und["group_type"].to_numpy(dtype=object),
        leverage=und["leverage"].to_numpy(dtype=float),
        as_of=as_of)

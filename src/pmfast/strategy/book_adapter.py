"""``pmfast.Book`` -> :class:`~pmfast.strategy.legs.LegColumns` (the Book is already
validated; this only gathers the columns the Reg T rules need, see "The Book's attributes" in
docs/portfolio-margin.md).

Reg T marks options at market. The interface lets an option come with ``implied_vol`` and no
``price``; such an option is marked at its model value today (BSM for European style,
Bjerksund-Stensland 2002 for American, on the underlying's price and dividend yield), with the
underlying's ``volatility`` when it has no ``implied_vol`` either. Only an option with neither
is an input error, named by instrument."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast import pricing
from pmfast.errors import InputError
from pmfast.schema import format_ids
from pmfast.strategy.legs import KIND_OTHER, KIND_STOCK, LegColumns


def _np(column, dtype):
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


def _option_marks(book, kind_i):
    """Instrument prices, with options that have no price marked at their model value."""
    ins, und = book.instruments, book.underlyings
    price = _np(ins.column("price"), np.float64).copy()
    missing = np.flatnonzero((kind_i == "option") & np.isnan(price))
    if not len(missing):
        return price
    u = _np(ins.column("underlying_code"), np.int64)[missing]
    vol = _np(ins.column("implied_vol"), np.float64)[missing]
    fallback = _np(und.column("volatility"), np.float64)[u]
    vol = np.where(np.isnan(vol), fallback, vol)
    if np.isnan(vol).any():
        ids = np.asarray(ins.column("instrument").to_numpy(zero_copy_only=False),
                         dtype=object)[missing[np.isnan(vol)]]
        raise InputError(f"instruments.price: missing, and no implied_vol or underlying "
                         f"volatility to value it, for option(s) {format_ids(ids)} (Reg T marks "
                         f"options at market)")
    args = (_np(ins.column("right_code"), np.int8)[missing], _np(und.column("price"),
            np.float64)[u], _np(ins.column("strike"), np.float64)[missing],
            _np(ins.column("T"), np.float64)[missing], book.rate,
            _np(und.column("dividend_yield"), np.float64)[u], vol)
    style = np.asarray(ins.column("style").to_numpy(zero_copy_only=False), dtype=object)[missing]
    american = style == "american"
    price[missing] = np.where(american, pricing.american(*args, model="bjs2002"),
                              pricing.bsm(*args))
    return price


def legs_from_book(book):
    pos, ins, und = book.positions, book.instruments, book.underlyings
    inst = _np(pos.column("instrument_code"), np.int64)
    kind_i = np.asarray(ins.column("kind").to_numpy(zero_copy_only=False), dtype=object)
    right = _np(ins.column("right_code"), np.int8)
    kind = np.where(kind_i == "equity", KIND_STOCK,
                    np.where(kind_i == "option", right, KIND_OTHER)).astype(np.int8)
    expiry = pc.cast(pc.fill_null(ins.column("expiry"), pa.scalar(0, pa.date32())), pa.int32())
    return LegColumns(
        account_ids=np.asarray(book.account_ids, dtype=object),
        account=_np(pos.column("account_code"), np.int64),
        instrument_ids=np.asarray(ins.column("instrument").to_numpy(zero_copy_only=False),
                                  dtype=object),
        instrument=inst,
        underlying_ids=np.asarray(und.column("underlying").to_numpy(zero_copy_only=False),
                                  dtype=object),
        underlying=_np(ins.column("underlying_code"), np.int64)[inst],
        kind=kind[inst],
        strike=_np(ins.column("strike"), np.float64)[inst],
        expiry=_np(expiry, np.int32)[inst],
        multiplier=_np(ins.column("multiplier"), np.float64)[inst],
        price=_option_marks(book, kind_i)[inst],
        quantity=_np(pos.column("quantity"), np.float64),
        underlying_price=_np(und.column("price"), np.float64),
        group_type=np.asarray(und.column("group_type").to_numpy(zero_copy_only=False),
                              dtype=object),
        leverage=_np(und.column("leverage"), np.float64),
        as_of=book.as_of)

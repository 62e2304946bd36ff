"""``pmfast.Book`` -> :class:`~pmfast.strategy.legs.LegColumns` (the Book is already
validated; this only gathers the columns the Reg T rules need, see BOOK-CONTRACT)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.strategy.legs import KIND_OTHER, KIND_STOCK, LegColumns


def _np(column, dtype):
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


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
        instrument=np.asarray(ins.column("instrument").to_numpy(zero_copy_only=False),
                              dtype=object)[inst],
        underlying_ids=np.asarray(und.column("underlying").to_numpy(zero_copy_only=False),
                                  dtype=object),
        underlying=_np(ins.column("underlying_code"), np.int64)[inst],
        kind=kind[inst],
        strike=_np(ins.column("strike"), np.float64)[inst],
        expiry=_np(expiry, np.int32)[inst],
        multiplier=_np(ins.column("multiplier"), np.float64)[inst],
        price=_np(ins.column("price"), np.float64)[inst],
        quantity=_np(pos.column("quantity"), np.float64),
        underlying_price=_np(und.column("price"), np.float64),
        group_type=np.asarray(und.column("group_type").to_numpy(zero_copy_only=False),
                              dtype=object),
        leverage=_np(und.column("leverage"), np.float64),
        as_of=book.as_of)

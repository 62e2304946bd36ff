"""The market maker's account of issue 15 item 2: one account holding the first 200 SPY option
series of ``pmfast.generate(accounts=2000, seed=2)`` with quantities
``np.random.default_rng(0).integers(-50, 51)`` plus 1,000 shares, alone or added to that book."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import pmfast


def market_maker_tables(n_series=200, accounts=2000, seed=2, with_book=False, qty_seed=0):
    """Tables of the market maker account ``MM`` (and of the generated book if ``with_book``)."""
    t = pmfast.generate(accounts=accounts, seed=seed)
    ins = t["instruments"]
    spy = ins.filter(pc.and_(pc.equal(ins["underlying"], "SPY"),
                             pc.equal(ins["kind"], "option")))
    series = spy["instrument"].to_pylist()[:n_series]
    qty = np.random.default_rng(qty_seed).integers(-50, 51, size=len(series)).astype(np.float64)
    mm = pa.table({"account": ["MM"] * (len(series) + 1),
                   "instrument": series + ["SPY"],
                   "quantity": np.r_[qty, 1000.0]})
    pos = t["positions"]
    mm = mm.cast(pos.schema)
    t = dict(t)
    t["positions"] = pa.concat_tables([pos, mm]) if with_book else mm
    return t


def market_maker_book(**kw):
    t = market_maker_tables(**kw)
    return pmfast.Book(**t, as_of="2026-11-20")

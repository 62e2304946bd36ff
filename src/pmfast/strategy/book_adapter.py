"""``pmfast.Book`` -> :class:`~pmfast.strategy.legs.LegColumns` (the Book is already
validated; this only gathers the columns the Reg T rules need, see "The Book's attributes" in
docs/portfolio-margin.md).

Reg T marks options at market: at :meth:`pmfast.market.MarketSnapshot.marks`, the mark where
there is one, else the model value today under the portfolio-margin rule set's model (the
snapshot the whole run shares; ``finra-cpm``'s when Reg T runs alone), so an unmarked option
is valued the same way by both methods. An option the snapshot cannot value (no volatility
from any source, or an impossible mark) rejects the accounts holding a non-zero position in
it under ``errors="collect"``, exactly as portfolio margin does, and raises under
``"raise"``; an instrument nobody holds costs nothing."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.kinds import leg_kinds
from pmfast.strategy.legs import LegColumns

# the rule set whose model values unmarked options when Reg T runs without a shared snapshot
DEFAULT_MARKET_RULES = "finra-cpm"


def _np(column, dtype):
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


def book_market(book, market=None, n_threads=None):
    """The run's market snapshot, or one resolved under :data:`DEFAULT_MARKET_RULES`."""
    if market is not None:
        return market
    from pmfast.market import resolve_market
    from pmfast.rules import RuleSet
    return resolve_market(book, RuleSet.load(DEFAULT_MARKET_RULES), n_threads=n_threads)


def book_legs(book, market=None, errors=None, n_threads=None):
    """(legs, rejected accounts, errors table) of a Book under the shared market snapshot;
    ``errors`` as ``portfolio_margin`` (None: the Book's own mode)."""
    from pmfast.portfolio import check_book, error_mode
    check_book(book, "strategy_margin")
    market = book_market(book, market, n_threads)
    rejected, all_errors = market.rejections(book, error_mode(book, errors))
    return legs_from_book(book, market, n_threads), rejected, all_errors


def legs_from_book(book, market=None, n_threads=None):
    pos, ins, und = book.positions, book.instruments, book.underlyings
    market = book_market(book, market, n_threads)
    inst = _np(pos.column("instrument_code"), np.int64)
    kind = leg_kinds(_np(ins.column("kind_code"), np.int8), _np(ins.column("right_code"), np.int8))
    expiry = pc.cast(pc.fill_null(ins.column("expiry"), pa.scalar(0, pa.date32())), pa.int32())
    # options of a bad status: their accounts are rejected, the figure is never shown
    price = np.nan_to_num(market.marks(n_threads), nan=0.0)
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
        price=price[inst],
        quantity=_np(pos.column("quantity"), np.float64),
        underlying_price=_np(und.column("price"), np.float64),
        group_type=np.asarray(und.column("group_type").to_numpy(zero_copy_only=False),
                              dtype=object),
        leverage=_np(und.column("leverage"), np.float64),
        as_of=book.as_of)

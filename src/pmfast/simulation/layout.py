"""Positions of the accepted accounts as simulation margin aggregates them: sorted by (account,
underlying, instrument) with CSR offsets per (account, underlying) row and per account, and
each position pointing at a row of the risk matrix (one row per held instrument).

Positions are ordered by the *ids* of underlyings and instruments (the book's codes follow
table row order), so the order, and with it every floating-point sum, is the same for any row
order of the input tables.
"""
import numpy as np

from pmfast import _core
from pmfast.scenarios import _np


class SimLayout:
    """``series`` (int32 risk-matrix row per position), ``quantity``, ``class_start``,
    ``account_start``; ``instrument_of_series`` (book instrument code per risk-matrix row),
    ``underlying_of_class`` (book underlying code per class row), ``account_of_class``."""

    def __init__(self, book, und_code, rejected, n_threads):
        pos = book.positions
        acct = _np(pos.column("account_code")).astype(np.int32, copy=False)
        inst = _np(pos.column("instrument_code")).astype(np.int32, copy=False)
        qty = _np(pos.column("quantity")).astype(np.float64, copy=False)
        keep = ~rejected[acct] & (qty != 0)
        acct, inst, qty = acct[keep], inst[keep], qty[keep]
        n_ins = max(len(und_code), 1)
        und = und_code[inst].astype(np.int64) if inst.size else np.zeros(0, np.int64)
        und_rank = _id_rank(book.underlyings.column("underlying"))
        ins_rank = _id_rank(book.instruments.column("instrument"))
        key = und_rank[und] * n_ins + ins_rank[inst]
        if acct.size and (np.any(acct[1:] < acct[:-1]) or
                          np.any((acct[1:] == acct[:-1]) & (key[1:] < key[:-1]))):
            order = _core.book_segment_sort(acct, key, book.n_accounts, n_threads)
            acct, inst, qty, und = acct[order], inst[order], qty[order], und[order]
        held, series = np.unique(inst, return_inverse=True)
        self.instrument_of_series = held.astype(np.int64)
        self.series = np.ascontiguousarray(series.reshape(-1), dtype=np.int32)
        self.quantity = np.ascontiguousarray(qty)
        n = acct.size
        new_class = np.r_[True, (acct[1:] != acct[:-1]) | (und[1:] != und[:-1])] if n else \
            np.zeros(0, bool)
        rows = np.flatnonzero(new_class)
        self.class_start = np.r_[rows, n].astype(np.int64)
        self.underlying_of_class = und[rows]
        self.account_of_class = acct[rows].astype(np.int64)
        self.account_start = np.searchsorted(self.account_of_class,
                                             np.arange(book.n_accounts + 1)).astype(np.int64)
        self.positions_per_account = np.bincount(acct, minlength=book.n_accounts)
        self.position_account = acct

    def args(self):
        return self.series, self.quantity, self.class_start, self.account_start

    def subset(self, accounts):
        """Arguments of the layout restricted to account codes ``accounts`` (in that order)."""
        accounts = np.asarray(accounts, dtype=np.int64)
        lo, hi = self.account_start[accounts], self.account_start[accounts + 1]
        cls = _runs(lo, hi)
        account_start = np.r_[0, np.cumsum(hi - lo)].astype(np.int64)
        plo, phi = self.class_start[cls], self.class_start[cls + 1]
        pos = _runs(plo, phi)
        class_start = np.r_[0, np.cumsum(phi - plo)].astype(np.int64)
        return (np.ascontiguousarray(self.series[pos]), np.ascontiguousarray(self.quantity[pos]),
                class_start, account_start)


def _id_rank(column):
    """Rank of each row's id in sorted id order."""
    ids = _np(column).astype(str)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    return rank


def _runs(lo, hi):
    """Concatenation of ``arange(lo[i], hi[i])``."""
    lengths = hi - lo
    offsets = np.r_[0, np.cumsum(lengths)]
    return (np.arange(offsets[-1], dtype=np.int64) +
            np.repeat(lo - offsets[:-1], lengths)).astype(np.int64)

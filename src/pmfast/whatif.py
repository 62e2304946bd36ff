"""``pmfast.WhatIf``: pre-trade what-if portfolio margin of one account, in microseconds.

A session does the batch engine's expensive work once: it solves volatilities, prices every
series over every scenario set (and the concentration overlay's moves), computes V_0 and the
per-contract minimum per unit, and lays the book's positions out exactly as
``portfolio_margin`` does (sorted by account, group, class, with CSR offsets).

A what-if then touches one account only: the trade is merged into the account's netted
positions (a handful of small numpy arrays: an existing position changes its quantity, a new
one is inserted at its place in the (group, class, instrument) order), and the same compiled
aggregation the batch runs (``_core.margin_aggregate`` per scenario set,
``_core.margin_concentration``) is called on a one-account layout. The answer is therefore the
batch's answer for the book with the trade appended; no pandas, no Book, no pricing on the hot
path.
"""
from dataclasses import dataclass

import numpy as np

from pmfast import _core
from pmfast.crypto.dispatch import crypto_dispatch
from pmfast.crypto.whatif import CryptoWhatIf
from pmfast.errors import InputError
from pmfast.market import STATUS_REASONS, resolve_market
from pmfast.portfolio import (Layout, RunInputs, binding, binding_names, check_book,
                              concentration_label, prepare)
from pmfast.revaluation import revalue
from pmfast.scenarios import _np
from pmfast.schema import format_ids
from pmfast.trade_input import account_code, summed_trade
from pmfast.trade_result import BeforeAfter

# a position's sort key inside an account: class rank x stride + instrument code (codes are
# int32, so instruments added to a session never reorder the keys of cached accounts)
_KEY_STRIDE = 2 ** 31


@dataclass(frozen=True)
class AccountMargin:
    """Portfolio margin of one account (the fields of a ``portfolio_margin(...).accounts`` row).

    ``set_requirements`` maps each scenario set name (and ``"concentration"`` when the rule
    set has the overlay) to the account requirement under it; ``binding`` names the one that
    set ``requirement`` (first on ties)."""
    account: str
    requirement: float
    risk: float
    minimum: float
    worst_scenario: object      # str or None (no risk)
    worst_group: object         # str or None (no risk, or the concentration overlay binds)
    binding: str
    set_requirements: dict
    positions: int


@dataclass(frozen=True)
class WhatIfResult(BeforeAfter):
    """The account's margin before and after a trade; ``change = after - before``."""
    account: str
    trade: dict
    before: AccountMargin
    after: AccountMargin

    def __repr__(self):
        return (f"WhatIfResult({self.account!r}: requirement {self.before.requirement:,.2f} -> "
                f"{self.after.requirement:,.2f} (change {self.change:+,.2f}), worst "
                f"{self.after.worst_scenario} on {self.after.worst_group}, binding "
                f"{self.after.binding})")


class _Slice:
    """One account's netted positions in the batch layout's order, as a one-account layout."""
    __slots__ = ("instrument", "quantity", "key", "class_start", "class_rank", "group_start",
                 "group", "group_offset", "n_open")

    def __init__(self, instrument, quantity, key, class_start, class_rank, group_start, group,
                 group_offset, n_open):
        self.instrument = instrument        # int32 risk-array rows, sorted by key
        self.quantity = quantity            # float64 net quantities
        self.key = key                      # int64 class rank x _KEY_STRIDE (2**31) + instrument
        self.class_start = class_start      # int64 CSR into positions
        self.class_rank = class_rank        # int64 rank of each class row (ascending)
        self.group_start = group_start      # int64 CSR into class rows
        self.group = group                  # group index of each group row (ascending)
        self.group_offset = group_offset    # float64 offset of each group row
        self.n_open = n_open                # positions with a non-zero quantity (kept by
        #                                     _merge: no count on the hot path)

    @property
    def account_start(self):
        """CSR of the one account into the group rows: all of them."""
        return np.array([0, len(self.group)], dtype=np.int64)

    def replace(self, **changes):
        """A slice with some fields changed, the others shared (arrays are never written)."""
        out = _Slice.__new__(_Slice)
        for name in _Slice.__slots__:
            setattr(out, name, changes[name] if name in changes else getattr(self, name))
        return out


def _put(a, j, value):
    """A copy of ``a`` with ``value`` inserted before index ``j`` (same dtype)."""
    out = np.empty(len(a) + 1, dtype=a.dtype)
    out[:j] = a[:j]
    out[j] = value
    out[j + 1:] = a[j:]
    return out


def _grow_segment(start, i):
    """CSR offsets ``start`` with one more row in segment ``i``."""
    out = start.copy()
    out[i + 1:] += 1
    return out


def _open_segment(start, i):
    """CSR offsets ``start`` with a new one-row segment before segment ``i``."""
    out = np.empty(len(start) + 1, dtype=start.dtype)
    out[:i + 1] = start[:i + 1]
    out[i + 1:] = start[i:]
    out[i + 1:] += 1
    return out


def _status_text(status, ids):
    """'instruments.<column>: <reason> for instrument(s) ...' per bad market status."""
    texts = []
    for code, (column, reason) in STATUS_REASONS.items():
        which = np.asarray(ids)[np.asarray(status) == code]
        if which.size:
            texts.append(f"instruments.{column}: {reason} for instrument(s) {format_ids(which)}")
    return "; ".join(texts)


class WhatIf:
    """A pre-trade what-if session over a book: price once, then margin trades in microseconds.

    Parameters
    ----------
    book : pmfast.Book
    rules : str, path or pmfast.RuleSet
        As ``portfolio_margin`` (``"finra-cpm"``, ``"house"``, a TOML file, a RuleSet).
    n_threads : int, optional
        Threads for pricing while the session is built (default: every available CPU). The
        what-if calls run on the calling thread.
    errors : {"raise", "collect"}, optional
        As ``portfolio_margin``: an option whose volatility cannot be found raises, or rejects
        the accounts holding it (a what-if on them then raises ``InputError``).

    Examples
    --------
    Long 200 shares at $40 lose $1,200 at -15%; selling 150 of them leaves $300:

    >>> import pmfast
    >>> positions = {"account": ["ACCT1"], "instrument": ["XYZ"], "quantity": [200.0]}
    >>> session = pmfast.WhatIf(pmfast.Book(
    ...     positions, {"instrument": ["XYZ"], "kind": ["equity"], "underlying": ["XYZ"]},
    ...     {"underlying": ["XYZ"], "price": [40.0]}))
    >>> round(session.requirement("ACCT1"), 6)
    1200.0
    >>> r = session.what_if("ACCT1", {"XYZ": -150})
    >>> round(r.requirement_after, 6), round(r.change, 6)
    (300.0, -900.0)
    """

    def __new__(cls, book, rules="finra-cpm", n_threads=None, errors=None, market=None,
                revaluation=None):
        check_book(book, "WhatIf")
        crypto = crypto_dispatch(book, rules)   # method = "crypto": pmfast.crypto (docs/crypto.md)
        if crypto is not None:
            return CryptoWhatIf(book, crypto, n_threads, errors)
        return super().__new__(cls)

    def __init__(self, book, rules="finra-cpm", n_threads=None, errors=None, market=None,
                 revaluation=None):
        run = prepare(book, rules, n_threads, errors, market)
        self.book = book
        self.rules = rules = run.rules
        self.errors = run.errors
        self._rejected = run.rejected
        self._groups = run.groups
        self._layout = Layout(book, run.groups, run.rejected, run.n_threads)
        # classes ranked by (group, class), the layout's order (int64: keys are rank x 2**31)
        self._class_rank = self._layout.class_rank.astype(np.int64)
        if revaluation is None:
            revaluation = revalue(book, run)
        for name, value in self._priced(book, run.market, revaluation).items():
            setattr(self, name, value)
        self._labels = [r.labels for r in revaluation.sets]
        self._set_names = binding_names(rules)
        if rules.concentration is not None:
            self._concentration_label = concentration_label(rules)
        self._instrument_code = {name: k for k, name in enumerate(self._instrument_ids.tolist())}
        self._account_code = {name: k for k, name in enumerate(book.account_ids.tolist())}
        self._slices = {}
        self._before = {}

    @classmethod
    def from_result(cls, result, errors=None):
        """A session on a ``portfolio_margin`` result's Book, rule set, market snapshot and
        risk arrays: nothing is priced again (the same RiskArrays serve batch and what-if)."""
        return cls(result.book, result.rules, result._nt, errors, result.market,
                   result.revaluation)

    def _priced(self, book, market, reval):
        """Per instrument of ``book``: the risk array of every scenario set, V_0, the minimum
        per unit and long-option cap, the concentration risk array, the class rank and group,
        the market status."""
        und = market.inputs["und_code"]
        return {"_pnl": [r.pnl for r in reval.sets], "value0": reval.value0,
                "_per_unit": reval.minimum_per_unit, "_long_cap": reval.long_cap,
                "_concentration": reval.concentration,
                "_rank_of_instrument": self._class_rank[und],
                "_group_of_instrument": self._groups.of_underlying[und].astype(np.int64),
                "_vol_bad": market.bad, "_status": market.status,
                "_instrument_ids": _np(book.instruments.column("instrument")).astype(str)}

    # -- public ----------------------------------------------------------------------------------
    @property
    def accounts(self):
        """Ids of the book's accounts (numpy array of str)."""
        return self.book.account_ids

    def requirement(self, account):
        """The account's portfolio-margin requirement (as ``portfolio_margin(...).accounts``)."""
        return self.margin(account).requirement

    def margin(self, account):
        """The account's full margin row as an ``AccountMargin`` (cached per account)."""
        code = self._account(account)
        before = self._before.get(code)
        if before is None:
            before = self._margin(str(self.book.account_ids[code]), self._slice(code))
            self._before[code] = before
        return before

    def what_if(self, account, trade):
        """Margin of ``account`` before and after adding ``trade``.

        Parameters
        ----------
        account : str
            An account id of the book.
        trade : mapping of instrument id -> signed quantity, or iterable of (id, quantity)
            Quantities add to the account's net positions (shares for equities, contracts for
            options and futures); repeated ids are summed. A trade may close or reverse a
            position. Instruments must be in the book's ``instruments`` table (or added with
            ``add_instruments``).

        Returns
        -------
        WhatIfResult
            ``before`` and ``after`` (``AccountMargin``), ``change``, ``requirement_before``,
            ``requirement_after``.
        """
        return self._what_if(account, trade)[0]

    def apply(self, account, trade):
        """Book ``trade`` into the session (an intraday fill): from now on ``requirement``,
        ``margin`` and ``what_if`` of ``account`` include it. The Book is not changed.
        Returns the ``WhatIfResult`` of the trade."""
        result, merged = self._what_if(account, trade)
        code = self._account_code[result.account]
        self._slices[code] = merged
        self._before[code] = result.after
        return result

    def _what_if(self, account, trade):
        before = self.margin(account)
        codes, qtys, trade = self._trade(trade)
        sl = self._merge(self._slices[self._account_code[before.account]], codes, qtys)
        return WhatIfResult(before.account, trade, before, self._margin(before.account, sl)), sl

    def add_instruments(self, instruments):
        """Price instruments that are not in the book, so that trades can use them.

        Each row is validated as the Book validates ``instruments`` (same columns, same
        checks), on the book's underlyings, product groups, ``as_of`` and rate; a future
        option's ``future`` may name a future of the book. The rows are priced on the same
        scenario grid as their group (every scenario set, and the concentration overlay) and
        appended to the session: a what-if on them is then as fast as on any instrument, and
        equals the batch on a Book holding them. The book's accounts are unchanged.

        Parameters
        ----------
        instruments : table (pandas, polars, pyarrow, mapping of columns, or path)
            Rows in the ``instruments`` schema with ids the session does not know yet.

        Returns
        -------
        list of str
            The ids added.
        """
        import pandas as pd

        from pmfast.book import Book
        from pmfast.io import to_arrow
        table = to_arrow(instruments, "instruments").to_pandas()
        if "instrument" not in table:
            raise InputError("instruments: missing required column 'instrument'")
        ids = table["instrument"].astype(str).tolist()
        clash = [i for i in ids if i in self._instrument_code]
        if clash:
            raise InputError(f"instruments.instrument: already in the session for instrument(s) "
                             f"{format_ids(clash)}")
        futures = table["future"].dropna().astype(str).unique() if "future" in table else []
        known = [self._instrument_code[f] for f in futures if f in self._instrument_code]
        if known:     # the futures their options deliver: rows of the book
            cols = ["instrument", "kind", "underlying", "expiry", "multiplier", "price"]
            table = pd.concat([table, self.book.instruments.take(known).select(cols).to_pandas()],
                              ignore_index=True)
        # the Book's own instrument checks, on the session's underlyings and groups
        book = Book.of_instruments(table, self.book.underlyings, self.book.product_groups,
                                   as_of=self.book.as_of, rate=self.book.rate)
        if not book.underlyings.column("underlying").equals(
                self.book.underlyings.column("underlying")):
            raise RuntimeError("the underlyings were re-read in another order")  # never expected
        market = resolve_market(book, self.rules, n_threads=1)
        # priced on the session's groups (the same underlyings and product groups)
        run = RunInputs(self.rules, 1, market, None, None, self._groups)
        priced = self._priced(book, market, revalue(book, run))
        code = {name: k for k, name in enumerate(priced["_instrument_ids"].tolist())}
        rows = np.array([code[i] for i in ids], dtype=np.int64)
        if priced["_vol_bad"][rows].any():
            raise InputError(_status_text(market.status[rows], np.asarray(ids)))
        for name, value in priced.items():
            old = getattr(self, name)
            if name == "_pnl":
                value = [np.concatenate([a, b[rows]]) for a, b in zip(old, value)]
            elif value is not None:
                value = np.concatenate([old, value[rows]])
            setattr(self, name, value)
        n = len(self._instrument_code)
        self._instrument_code.update((i, n + k) for k, i in enumerate(ids))
        return ids

    def __repr__(self):
        return (f"WhatIf({len(self.book.account_ids)} accounts, {len(self._instrument_ids)} "
                f"instruments, rules {self.rules.name!r}, sets {list(self._set_names)})")

    # -- input -----------------------------------------------------------------------------------
    def _account(self, account):
        return account_code(self._account_code, self._rejected, self.errors, account)

    def _trade(self, trade):
        """(instrument codes, quantities, {id: quantity}) of a trade, checked."""
        summed = summed_trade(trade)
        codes = []
        unknown = []
        for name in summed:
            code = self._instrument_code.get(name)
            if code is None:
                unknown.append(str(name))
            else:
                codes.append(code)
        if unknown:
            raise InputError(f"trade.instrument: unknown instrument(s) {format_ids(unknown)} "
                             "(not in the book's instruments table; price new ones with "
                             "WhatIf.add_instruments)")
        if any(self._vol_bad[c] for c in codes):
            bad = [c for c in codes if self._vol_bad[c]]
            raise InputError("trade.instrument: " + _status_text(
                self._status[bad], self._instrument_ids[bad]))
        return codes, [summed[n] for n in summed], summed

    # -- layout ----------------------------------------------------------------------------------
    def _slice(self, code):
        """The account's one-account layout, cut from the batch layout (cached)."""
        sl = self._slices.get(code)
        if sl is None:
            lay = self._layout
            g0, g1 = lay.account_start[code], lay.account_start[code + 1]
            c0, c1 = lay.group_start[g0], lay.group_start[g1]
            p0, p1 = lay.class_start[c0], lay.class_start[c1]
            inst = lay.instrument[p0:p1].copy()
            class_start = lay.class_start[c0:c1 + 1] - p0
            rank = self._rank_of_instrument[inst]
            sl = _Slice(inst, lay.quantity[p0:p1].copy(), rank * _KEY_STRIDE + inst,
                        class_start, rank[class_start[:-1]], lay.group_start[g0:g1 + 1] - c0,
                        lay.group_of_row[g0:g1].astype(np.int64), lay.group_offset[g0:g1].copy(),
                        int(np.count_nonzero(lay.quantity[p0:p1])))
            self._slices[code] = sl
        return sl

    def _merge(self, sl, codes, qtys):
        """The slice with the trade added: quantities of held instruments change (on a copy);
        each instrument the account does not hold is inserted at its sorted place."""
        qty = sl.quantity.copy()
        new = []
        n_open = sl.n_open
        for code, q in zip(codes, qtys):
            key = int(self._rank_of_instrument[code]) * _KEY_STRIDE + code
            j = int(np.searchsorted(sl.key, key))
            if j < len(sl.key) and sl.key[j] == key:
                old = float(qty[j])     # Python floats: numpy scalars cost ~100 ns an op
                qty[j] = now = old + q
                n_open += (now != 0.0) - (old != 0.0)
            else:
                new.append((key, code, q))
                n_open += q != 0.0
        if not new:
            return sl.replace(quantity=qty, n_open=n_open)
        fields = {name: getattr(sl, name) for name in _Slice.__slots__}
        fields.update(quantity=qty, n_open=n_open)
        for key, code, q in new:
            self._insert(fields, key, code, q)
        return _Slice(**fields)

    def _insert(self, f, key, code, q):
        """Put a new position row in the slice's fields ``f`` at its (group, class,
        instrument) place, opening a class row and a group row when the account holds nothing
        of its class / group. Ranks order classes group-major, so a new class row starts where
        the next class starts, and a new group row where the next group starts. (Arrays are
        built with one allocation each: at what-if latencies a concatenate of a list costs.)"""
        j = int(np.searchsorted(f["key"], key))
        rank = key // _KEY_STRIDE
        ci = int(np.searchsorted(f["class_rank"], rank))
        f["key"] = _put(f["key"], j, key)
        f["instrument"] = _put(f["instrument"], j, code)
        f["quantity"] = _put(f["quantity"], j, q)
        if ci < len(f["class_rank"]) and f["class_rank"][ci] == rank:     # class already held
            f["class_start"] = _grow_segment(f["class_start"], ci)
            return
        f["class_start"] = _open_segment(f["class_start"], ci)
        f["class_rank"] = _put(f["class_rank"], ci, rank)
        group = int(self._group_of_instrument[code])
        gi = int(np.searchsorted(f["group"], group))
        if gi < len(f["group"]) and f["group"][gi] == group:               # group already held
            f["group_start"] = _grow_segment(f["group_start"], gi)
            return
        f["group_start"] = _open_segment(f["group_start"], gi)
        f["group"] = _put(f["group"], gi, group)
        f["group_offset"] = _put(f["group_offset"], gi, self._groups.offset[group])

    # -- aggregation -----------------------------------------------------------------------------
    def _margin(self, account, sl):
        """Run the batch's compiled aggregation on a one-account layout, then pick the binding
        scenario set as ``PortfolioMargin.accounts`` does (largest requirement, first on ties;
        the concentration overlay after the sets; when it binds, its amount is the risk and the
        first set's minimum is reported)."""
        lay = (sl.instrument, sl.quantity, sl.class_start, sl.group_start, sl.account_start,
               sl.group_offset)
        results = [_core.margin_aggregate(*lay, pnl, self._per_unit, self._long_cap, False,
                                          False, 1) for pnl in self._pnl]
        reqs = [float(res["account_requirement"][0]) for res in results]
        if self._concentration is not None:
            reqs.append(float(_core.margin_concentration(
                *lay, self._concentration, self.rules.concentration.largest, 1)[0]))
        # binding()'s rule (largest, first on ties) in plain Python: numpy's argmax of a list
        # costs more than the rest of this function; NaN keeps numpy's answer
        top = max(reqs)
        k = reqs.index(top) if top == top and all(r == r for r in reqs) else int(binding(reqs))
        by_set = dict(zip(self._set_names, reqs))
        if k == len(results):
            return AccountMargin(account, reqs[k], reqs[k],
                                 float(results[0]["account_minimum"][0]),
                                 self._concentration_label, None, "concentration", by_set,
                                 sl.n_open)
        res = results[k]
        g = int(res["account_worst_group"][0])
        worst = group = None
        if g >= 0:
            grp = sl.group[g]
            worst = self._labels[k][grp, res["group_worst"][g]]
            group = self._groups.names[grp]
        return AccountMargin(account, reqs[k], float(res["account_risk"][0]),
                             float(res["account_minimum"][0]), worst, group, self._set_names[k],
                             by_set, sl.n_open)

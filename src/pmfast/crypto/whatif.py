"""``pmfast.WhatIf(book, rules="deribit")``: pre-trade crypto margin of one account.

The session prices the book once (``CryptoEngine``: risk vectors, deltas, add-on weights) and
cuts each account's positions from the batch layout. A what-if merges the trade into the
account's positions (sorted by pair, then instrument, as the batch sorts them) and runs the
batch's own arithmetic (``margin_of``, ``currency_rows``) on that one account: the answer is
the batch's answer on the book with the trade appended.
"""
import math
from dataclasses import dataclass

import numpy as np

from pmfast.crypto.margin import CryptoLayout, position_key, prepare
from pmfast.scenarios import _np
from pmfast.errors import InputError
from pmfast.schema import format_ids
from pmfast.trade_input import account_code, summed_trade
from pmfast.trade_result import BeforeAfter


@dataclass(frozen=True)
class CurrencyMargin:
    """One (account, settlement currency) row of ``CryptoMargin.accounts``."""
    currency: str
    requirement: float
    maintenance: float
    worst_case: float
    worst_scenario: object
    roll_shock: float
    delta_shock: float
    correlation_contingency: float
    option_contingency: float


@dataclass(frozen=True)
class CryptoAccountMargin:
    """An account's crypto margin: ``currencies`` maps each settlement currency to its
    ``CurrencyMargin``; ``requirement`` / ``maintenance`` are those of the only currency
    (0 for an empty account; NaN when the account has several: read ``currencies``)."""
    account: str
    currencies: dict
    positions: int

    def _single(self, name):
        if not self.currencies:
            return 0.0
        if len(self.currencies) > 1:
            return math.nan
        return getattr(next(iter(self.currencies.values())), name)

    @property
    def requirement(self):
        return self._single("requirement")

    @property
    def maintenance(self):
        return self._single("maintenance")

    @property
    def worst_scenario(self):
        return None if len(self.currencies) != 1 else self._single("worst_scenario")


@dataclass(frozen=True)
class CryptoWhatIfResult(BeforeAfter):
    account: str
    trade: dict
    before: CryptoAccountMargin
    after: CryptoAccountMargin


class CryptoWhatIf:
    """What-if session for a crypto rule set (built by ``pmfast.WhatIf``; same methods:
    ``requirement``, ``margin``, ``what_if``, ``apply``).

    Examples
    --------
    >>> import pmfast
    >>> book = pmfast.Book(
    ...     {"account": ["A"], "instrument": ["BTC-PERPETUAL"], "quantity": [1.0]},
    ...     {"instrument": ["BTC-PERPETUAL"], "kind": ["perpetual"], "underlying": ["BTC"],
    ...      "price": [50000.0]},
    ...     {"underlying": ["BTC"], "price": [50000.0], "group_type": ["crypto"]},
    ...     as_of="2024-06-17")
    >>> session = pmfast.WhatIf(book, rules="deribit")
    >>> round(session.what_if("A", {"BTC-PERPETUAL": -1.0}).requirement_after, 12)
    0.0
    """

    def __init__(self, book, rules, n_threads=None, errors=None):
        engine, rejected, all_errors, nt = prepare(book, rules, n_threads, errors)
        self.book = book
        self.rules = rules
        self.errors = all_errors
        self._engine = engine
        self._rejected = rejected
        self._layout = CryptoLayout(book, engine, rejected, nt)
        engine.n_threads = 1            # what-ifs run on the calling thread
        self._instrument_code = {name: k for k, name in enumerate(engine.ci.ids.tolist())}
        self._account_code = {name: k for k, name in enumerate(book.account_ids.tolist())}
        self._slices = {}
        self._before = {}

    @property
    def accounts(self):
        return self.book.account_ids

    def requirement(self, account, currency=None):
        """The account's risk-matrix initial margin (of ``currency`` when it has several)."""
        m = self.margin(account)
        if currency is None:
            if len(m.currencies) > 1:
                raise InputError(f"account {format_ids([account])} has margin in "
                                 f"{', '.join(m.currencies)}: pass currency=")
            return m.requirement
        return m.currencies[str(currency).upper()].requirement if \
            str(currency).upper() in m.currencies else 0.0

    def margin(self, account):
        code = self._account(account)
        before = self._before.get(code)
        if before is None:
            before = self._margin(code, *self._slice(code))
            self._before[code] = before
        return before

    def what_if(self, account, trade):
        """Margin of ``account`` before and after adding ``trade`` (instrument id -> signed
        quantity in coin units, or (id, quantity) pairs)."""
        return self._what_if(account, trade)[0]

    def apply(self, account, trade):
        """Book ``trade`` into the session; returns its ``CryptoWhatIfResult``."""
        result, merged = self._what_if(account, trade)
        code = self._account_code[result.account]
        self._slices[code] = merged
        self._before[code] = result.after
        return result

    def add_instruments(self, instruments):
        """Add instruments the book does not list, so that trades can use them.

        The rows are validated as the Book validates ``instruments``, on the book's underlyings,
        ``as_of`` and rate, and the session is re-priced on the book's instruments plus these
        (a few thousand series: milliseconds). A new future also becomes the forward of its
        expiry's options, exactly as in a Book holding it, so cached margins are recomputed.
        A what-if then equals the batch on a Book holding the new rows.

        ``instruments``: rows in the ``instruments`` schema (any table kind the Book reads)
        with ids the session does not know yet. Returns the ids added (list of str).
        """
        import pandas as pd

        from pmfast.book import Book
        from pmfast.crypto.engine import CryptoEngine
        from pmfast.io import to_arrow
        table = to_arrow(instruments, "instruments")
        if "instrument" not in table.column_names:
            raise InputError("instruments: missing required column 'instrument'")
        ids = [str(i) for i in table.column("instrument").to_pylist()]
        known = [i for i in ids if i in self._instrument_code]
        if known:
            raise InputError(f"instruments.instrument: already in the session for instrument(s) "
                             f"{format_ids(known)}")
        table = table.to_pandas()
        combined = pd.concat([_raw_instruments(self._engine.book.instruments), table],
                             ignore_index=True)
        old = self._engine
        book = Book({"account": [], "instrument": [], "quantity": []}, combined,
                    old.book.underlyings, as_of=old.book.as_of, rate=old.book.rate)
        engine = CryptoEngine(book, self.rules, 1)
        not_crypto = [i for i in ids if engine.ci.kind[len(old.ci.ids) + ids.index(i)] < 0]
        if not_crypto:
            raise InputError(f"instruments.kind: not a crypto instrument: "
                             f"{format_ids(not_crypto)}")
        self._engine = engine
        self._instrument_code.update((i, len(old.ci.ids) + k) for k, i in enumerate(ids))
        self._before.clear()
        return ids

    def __repr__(self):
        return (f"CryptoWhatIf({len(self.book.account_ids)} accounts, rules "
                f"{self.rules.name!r})")

    # -- internals -------------------------------------------------------------------------
    def _what_if(self, account, trade):
        before = self.margin(account)
        code = self._account_code[before.account]
        inst, qty = self._slice(code)
        items, summed = self._trade(trade)
        merged = self._merge(inst, qty, items)
        return CryptoWhatIfResult(before.account, summed, before,
                                  self._margin(code, *merged)), merged

    def _account(self, account):
        return account_code(self._account_code, self._rejected, self.errors, account)

    def _trade(self, trade):
        summed = summed_trade(trade)
        unknown = [str(n) for n in summed if n not in self._instrument_code]
        if unknown:
            raise InputError(f"trade.instrument: unknown instrument(s) {format_ids(unknown)}")
        codes = [self._instrument_code[n] for n in summed]
        not_crypto = [n for n, c in zip(summed, codes) if self._engine.ci.kind[c] < 0]
        if not_crypto:
            raise InputError(f"trade.instrument: not a crypto instrument: "
                             f"{format_ids(not_crypto)}")
        return list(zip(codes, summed.values())), summed

    def _slice(self, code):
        """(instrument codes, quantities) of the account, in the batch layout's order."""
        sl = self._slices.get(code)
        if sl is None:
            lay = self._layout
            g0, g1 = lay.account_start[code], lay.account_start[code + 1]
            p0, p1 = lay.group_start[g0], lay.group_start[g1]
            sl = (lay.instrument[p0:p1].copy(), lay.quantity[p0:p1].copy())
            self._slices[code] = sl
        return sl

    def _merge(self, inst, qty, trade):
        ci = self._engine.ci
        key = position_key(ci, inst)
        qty = qty.copy()
        new_i, new_q = [], []
        for c, q in trade:
            k = int(position_key(ci, np.array([c]))[0])
            j = int(np.searchsorted(key, k))
            if j < len(key) and key[j] == k:
                qty[j] += q
            else:
                new_i.append(c)
                new_q.append(q)
        if new_i:
            inst = np.concatenate([inst, np.array(new_i, dtype=np.int32)])
            qty = np.concatenate([qty, np.array(new_q)])
            order = np.argsort(position_key(ci, inst), kind="stable")
            inst, qty = inst[order], qty[order]
        return np.ascontiguousarray(inst, dtype=np.int32), np.ascontiguousarray(qty)

    def _margin(self, code, inst, qty):
        eng = self._engine
        pair = eng.ci.pair[inst].astype(np.int64)
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else \
            np.zeros(0, np.int64)
        group_start = np.r_[starts, len(pair)].astype(np.int64)
        group_pair = pair[starts]
        n_groups = len(starts)
        g = eng.margin_of(inst, qty, group_start, group_pair,
                          np.array([0, n_groups], dtype=np.int64))
        rows = eng.currency_rows(np.zeros(n_groups, np.int64), group_pair, g)
        currencies = {}
        for r in range(len(rows["account"])):
            best = rows["best_group"][r]
            idx = rows["joint_index"][r] if rows["joint_index"][r] >= -1 else \
                g["worst_index"][best]
            label = eng.labels[group_pair[best], idx] if idx >= 0 else None
            req = (rows["worst_case"][r] + rows["roll_shock"][r] + rows["delta_shock"][r]
                   + rows["correlation_contingency"][r] + rows["option_contingency"][r])
            currencies[str(rows["currency"][r])] = CurrencyMargin(
                str(rows["currency"][r]), float(req), float(self.rules.mm_factor * req),
                float(rows["worst_case"][r]), label, float(rows["roll_shock"][r]),
                float(rows["delta_shock"][r]), float(rows["correlation_contingency"][r]),
                float(rows["option_contingency"][r]))
        return CryptoAccountMargin(str(self.book.account_ids[code]), currencies, len(inst))


def _raw_instruments(ins):
    """A Book's ``instruments`` table back in the input schema (the rows it kept, in order)."""
    import pandas as pd
    right = _np(ins.column("right_code"))
    fut = _np(ins.column("future_code"))
    ids = _np(ins.column("instrument")).astype(object)
    return pd.DataFrame({
        "instrument": ids, "kind": _np(ins.column("kind")).astype(object),
        "underlying": _np(ins.column("underlying")).astype(object),
        "right": np.where(right > 0, "C", np.where(right < 0, "P", None)),
        "strike": _np(ins.column("strike")), "expiry": ins.column("expiry").to_pandas(),
        "style": _np(ins.column("style")).astype(object),
        "multiplier": _np(ins.column("multiplier")), "price": _np(ins.column("price")),
        "implied_vol": _np(ins.column("implied_vol")),
        "future": np.where(fut >= 0, ids[np.maximum(fut, 0)], None),
        "settlement": _np(ins.column("settlement")).astype(object)})

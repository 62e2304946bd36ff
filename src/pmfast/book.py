"""``pmfast.Book``: a validated, dictionary-encoded book of positions across many accounts.

Inputs are converted to Arrow once (``pmfast.io``), checked column-wise (``pmfast.schema``) and
string keys are encoded to int32 codes for the core. The attributes are a contract
shared by portfolio margin, the Reg T engine, the what-if session and the CLI: see "The Book's
attributes" in docs/portfolio-margin.md.
"""
import dataclasses
import datetime
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pmfast import _core
from pmfast._arrays import arrow_chunks, nullable_float
from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.kinds import KINDS, kind_codes
from pmfast.rules import GROUP_TYPES
from pmfast.schema import TableChecker, format_ids
from pmfast.stages import stage

# crypto (issue 12): perpetuals, the crypto group type and the settlement column, see
# pmfast/crypto/book_checks.py
from pmfast.crypto.book_checks import CRYPTO, check_crypto_instruments, crypto_rows

STYLES = ("american", "european")
ERROR_MODES = ("raise", "collect")
MAX_PROBLEMS_SHOWN = 5
_EPOCH = datetime.date(1970, 1, 1)
_MIN_ROWS_PER_THREAD = 1 << 16   # below this a thread costs more than it saves
# Largest |quantity| of a position row: above any real holding, and small enough that no sum
# of rows, and no quantity x price x multiplier of a sane price, overflows to inf.
MAX_QUANTITY = 1e15
# What may follow the date in an expiry text: nothing, or a midnight time.
_MIDNIGHT_RE = r"^\s*([T ]00:00(:00(\.0+)?)?)?\s*$"


def parse_as_of(as_of):
    """``as_of`` (date, datetime, pandas/numpy timestamp, ISO text, or an 8-digit YYYYMMDD
    integer as clearing feeds write it) -> datetime.date. Other numbers and NaT are rejected:
    read as nanoseconds since 1970 they would silently value the book in 1970."""
    if as_of is None:
        return datetime.date.today()
    if isinstance(as_of, datetime.datetime):
        if pd.isna(as_of):
            raise InputError("as_of: NaT is not a date")
        return as_of.date()
    if isinstance(as_of, datetime.date):
        return as_of
    if isinstance(as_of, (bool, np.bool_)):
        raise InputError(f"as_of: cannot read {as_of!r} as a date (use YYYY-MM-DD)")
    if isinstance(as_of, (int, np.integer)):
        if 10_000_101 <= as_of <= 99_991_231:
            try:
                return datetime.datetime.strptime(str(int(as_of)), "%Y%m%d").date()
            except ValueError:
                pass
        raise InputError(f"as_of: the number {as_of!r} is not a YYYYMMDD date")
    if isinstance(as_of, (float, np.floating)):
        raise InputError(f"as_of: the number {as_of!r} is not a date (use YYYY-MM-DD or an "
                         "8-digit YYYYMMDD integer)")
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"as_of: cannot read {as_of!r} as a date (use YYYY-MM-DD)") from None
    if pd.isna(stamp):
        raise InputError(f"as_of: {as_of!r} is not a date")
    return stamp.date()


def _parse_rate(rate):
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise InputError(f"rate: must be a number, got {rate!r}") from None
    if not np.isfinite(value):
        raise InputError(f"rate: must be finite, got {rate!r}")
    return value


class _Blame:
    """Per row of a table: the index of the first problem that makes it unusable (-1: none)
    and the id of the row that problem was found on (which may be in another table)."""

    def __init__(self, n):
        self.problem = np.full(n, -1, dtype=np.int32)
        self.origin = np.empty(n, dtype=object)

    def own(self, problems, start, ids):
        for k in range(start, len(problems)):
            rows = problems[k].rows
            rows = rows[self.problem[rows] < 0]
            self.problem[rows] = k
            self.origin[rows] = ids[rows]

    def inherit(self, parent, parent_row):
        """Rows not yet blamed take the blame of their parent row (``parent_row`` -1: none)."""
        inherited = (parent_row >= 0) & (self.problem < 0)
        rows = parent_row[inherited]
        inherited[inherited] = parent.problem[rows] >= 0
        rows = parent_row[inherited]
        self.problem[inherited] = parent.problem[rows]
        self.origin[inherited] = parent.origin[rows]

    @property
    def bad(self):
        return self.problem >= 0


def _flag_unknown(checker, column, keys, unknown, target):
    """Flag rows whose key is not in the ``target`` table, naming the missing keys as well as
    the rows' own ids (``unknown instrument 'X9' (not in instruments) for account(s) 'A1'``)."""
    if unknown.any():
        missing = pc.filter(keys, pa.array(unknown)).to_pylist()
        checker.flag(column, f"unknown {column} {format_ids(missing)} (not in {target})", unknown)


@dataclasses.dataclass(frozen=True)
class BookReference:
    """A Book's reference tables validated and keyed once (``Book.reference``): what
    ``Book.of_reference`` checks and encodes positions against. ``problems``: the reference
    tables' problems (empty in raise mode), in the order a Book lists them."""
    product_groups: dict
    underlyings: dict
    instruments: dict
    problems: tuple
    as_of: datetime.date
    rate: float


class Book:
    """Positions, instruments, underlyings and product groups, validated and encoded.

    Parameters
    ----------
    positions, instruments, underlyings : DataFrame, pyarrow.Table or path
        The tables of ``interface.md`` (pandas, polars, pyarrow, or a .parquet/.csv/.arrow/
        .feather path).
    product_groups : optional, same kinds
        Product-group offsets and range overrides.
    as_of : date or str
        Valuation date (default: today). Time to expiry is ACT/365 from it.
    rate : float
        Continuously compounded risk-free rate (default 0).
    errors : {"raise", "collect"}
        ``"raise"``: any bad input raises ``pmfast.InputError`` naming table, column and ids.
        ``"collect"``: accounts touched by bad input are rejected (their ids stay in
        ``account_ids``; reasons in ``errors``) and the rest of the book is kept.
    n_threads : int, optional
        Threads for the key lookups and sorts (default: all CPUs). The Book is the same for
        any value.

    Examples
    --------
    >>> import pmfast
    >>> book = pmfast.Book(
    ...     {"account": ["A"], "instrument": ["ACME"], "quantity": [100.0]},
    ...     {"instrument": ["ACME"], "kind": ["equity"], "underlying": ["ACME"]},
    ...     {"underlying": ["ACME"], "price": [500.0]}, as_of="2026-11-20")
    >>> book.account_ids.tolist(), book.positions.num_rows
    (['A'], 1)
    """

    def __init__(self, positions, instruments, underlyings, product_groups=None, as_of=None,
                 rate=0.0, errors="raise", n_threads=None):
        self._start(as_of, rate, errors, n_threads)
        with stage("validate"):
            ref = self._read_reference(instruments, underlyings, product_groups)
            pos = self._read_positions(to_arrow(positions, "positions"), ref.instruments)
        self._end(ref, pos)

    def _start(self, as_of, rate, errors, n_threads):
        if errors not in ERROR_MODES:
            raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
        self.error_mode = errors   # what portfolio_margin(errors=None) follows
        self.as_of = parse_as_of(as_of)
        self.rate = _parse_rate(rate)
        self._as_of_days = (self.as_of - _EPOCH).days
        self._n_threads = resolve_n_threads(n_threads)
        self._problems = []

    def _read_reference(self, instruments, underlyings, product_groups):
        pg = self._read_product_groups(product_groups)
        und = self._read_underlyings(to_arrow(underlyings, "underlyings"), pg)
        ins = self._read_instruments(to_arrow(instruments, "instruments"), und)
        return BookReference(pg, und, ins, tuple(self._problems), self.as_of, self.rate)

    def _end(self, ref, pos):
        if self.error_mode == "raise" and self._problems:
            raise InputError(self._problem_text())
        with stage("encode"):
            self._finish(ref.product_groups, ref.underlyings, ref.instruments, pos)

    @classmethod
    def reference(cls, instruments, underlyings, product_groups=None, as_of=None, rate=0.0,
                  errors="raise", n_threads=None):
        """The reference tables (instruments, underlyings, product groups), as_of and rate,
        validated once as a Book validates them, for many Books of other positions
        (``Book.of_reference``; a distributed run's shards). ``errors="raise"``: a bad row
        raises here, held or not, as the Book of any positions would; ``"collect"``: it is
        kept, and rejects the accounts that hold it.

        Returns
        -------
        BookReference
        """
        book = cls.__new__(cls)
        book._start(as_of, rate, errors, n_threads)
        with stage("validate"):
            ref = book._read_reference(instruments, underlyings, product_groups)
        if errors == "raise" and book._problems:
            raise InputError(book._problem_text())
        return ref

    @classmethod
    def of_reference(cls, positions, reference, errors="raise", n_threads=None):
        """The Book of ``positions`` on reference tables validated already
        (``Book.reference``): only the positions are validated here, and the result is the
        Book ``Book(positions, instruments, underlyings, product_groups, as_of, rate, errors)``
        would give, attribute for attribute."""
        book = cls.__new__(cls)
        book._start(reference.as_of, reference.rate, errors, n_threads)
        book._problems = list(reference.problems)
        with stage("validate"):
            pos = book._read_positions(to_arrow(positions, "positions"), reference.instruments)
        book._end(reference, pos)
        return book

    @classmethod
    def of_instruments(cls, instruments, underlyings, product_groups=None, as_of=None,
                       rate=0.0):
        """A Book of instruments and no positions (no accounts): the ``instruments`` rows
        checked exactly as a Book checks them (same columns, same rules, same messages), on
        ``underlyings`` and ``product_groups``, with ``errors="raise"``. What
        ``WhatIf.add_instruments`` validates new rows with; ``pmfast.market.resolve_market``
        and ``pmfast.revaluation.revalue`` take it like any Book.

        Raises
        ------
        pmfast.InputError
            Naming table, column and ids of the first problems, as ``Book`` does.
        """
        return cls(_no_positions(), instruments, underlyings, product_groups, as_of=as_of,
                   rate=rate, errors="raise", n_threads=1)

    # ------------------------------------------------------------------------------------------
    def _problem_text(self):
        texts = [p.message() for p in self._problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self._problems) - MAX_PROBLEMS_SHOWN
        if more > 0:
            texts.append(f"(and {more} more problem(s))")
        return "; ".join(texts)

    def _absorb(self, checker, blame):
        start = len(self._problems)
        self._problems.extend(checker.problems)
        blame.own(self._problems, start, checker.ids)

    # -- product_groups ------------------------------------------------------------------------
    def _read_product_groups(self, data):
        if data is None:
            table = pa.table({"product_group": pa.array([], pa.string())})
        else:
            table = to_arrow(data, "product_groups")
        c = TableChecker(table, "product_groups", "product group")
        ids = c.id_column("product_group")  # arrow column: the value set of index_in
        c.duplicates("product_group")
        offset = c.number("offset")
        down = c.number("down")
        up = c.number("up")
        c.flag("offset", "must be in [0, 1]", ~np.isnan(offset) & ~((offset >= 0) & (offset <= 1)))
        c.flag("down", "must be in [-1, 0)", ~np.isnan(down) & ~((down >= -1) & (down < 0)))
        c.flag("up", "must be > 0", ~np.isnan(up) & ~(up > 0))
        blame = _Blame(c.n)
        self._absorb(c, blame)
        return {"ids": ids, "offset": offset, "down": down, "up": up, "blame": blame}

    # -- underlyings ---------------------------------------------------------------------------
    def _read_underlyings(self, table, pg):
        c = TableChecker(table, "underlyings", "underlying")
        c.require("underlying", "price")
        ids_col = c.id_column("underlying")
        ids = c.ids
        c.duplicates("underlying")
        price = c.number("price")
        c.flag_missing("price", price)
        c.flag("price", "must be > 0", np.isfinite(price) & (price <= 0))
        group_type = c.choice("group_type", GROUP_TYPES + (CRYPTO,), c.string("group_type", False),
                              default="equity")
        product_group = c.string("product_group", required=False)
        leverage = c.number("leverage", default=1.0)
        c.flag_missing("leverage", leverage)
        c.flag("leverage", "must be non-zero", leverage == 0)
        dividend_yield = c.number("dividend_yield", default=0.0)
        c.flag_missing("dividend_yield", dividend_yield)
        volatility = c.number("volatility")
        c.flag("volatility", "must be > 0", ~np.isnan(volatility) & ~(volatility > 0))
        pg_row = _index_in(product_group, pg["ids"], self._n_threads)
        self._check_common_group_type(c, product_group, group_type, pg, pg_row)
        blame = _Blame(c.n)
        self._absorb(c, blame)
        blame.inherit(pg["blame"], pg_row)
        return {"ids": ids, "ids_col": ids_col, "price": price, "group_type": group_type,
                "product_group": product_group, "leverage": leverage,
                "dividend_yield": dividend_yield, "volatility": volatility, "blame": blame,
                "pg_row": pg_row}

    @staticmethod
    def _check_common_group_type(c, product_group, group_type, pg, pg_row):
        """Classes of one product group with different group types need a down/up override."""
        if product_group.null_count == c.n:
            return
        frame = pd.DataFrame({"pg": product_group.to_numpy(zero_copy_only=False),
                              "gt": group_type.to_numpy(zero_copy_only=False)})
        frame = frame[frame["pg"].notna() & frame["gt"].isin(GROUP_TYPES)]
        n_types = frame.groupby("pg")["gt"].nunique()
        mixed = n_types[n_types > 1].index
        if len(mixed) == 0:
            return
        has_override = np.zeros(c.n, dtype=bool)
        linked = pg_row >= 0
        has_override[linked] = (~np.isnan(pg["down"][pg_row[linked]])
                                & ~np.isnan(pg["up"][pg_row[linked]]))
        pg_np = product_group.to_numpy(zero_copy_only=False)
        in_mixed = pd.Series(pg_np).isin(mixed).to_numpy()
        c.flag("group_type", "product group mixes group types and product_groups gives no "
               "down/up range for it", in_mixed & ~has_override)

    # -- instruments ---------------------------------------------------------------------------
    def _read_instruments(self, table, und):
        c = TableChecker(table, "instruments", "instrument")
        c.require("instrument", "kind", "underlying")
        ids_col = c.id_column("instrument")
        ids = c.ids
        c.duplicates("instrument")
        kind = c.choice("kind", KINDS, c.string("kind"))
        kind_np = np.asarray(kind.to_numpy(zero_copy_only=False), dtype=object)
        is_equity = kind_np == "equity"
        is_future = kind_np == "future"
        is_fop = kind_np == "future_option"
        is_opt = (kind_np == "option") | is_fop
        underlying = c.string("underlying")
        # an equity's underlying is itself
        underlying = pc.if_else(pc.and_(pc.is_null(underlying), pa.array(is_equity)), ids_col,
                                underlying)
        und_row = _index_in(underlying, und["ids_col"], self._n_threads)
        und_null = underlying.is_null().to_numpy(zero_copy_only=False).astype(bool)
        c.flag("underlying", "missing", und_null)
        _flag_unknown(c, "underlying", underlying, ~und_null & (und_row < 0), "underlyings")
        is_crypto = crypto_rows(und, und_row)   # crypto: multiplier defaults to 1 coin

        right_text = c.string("right", required=False)
        right_up = pc.utf8_upper(pc.utf8_trim_whitespace(right_text))
        right_code = np.zeros(c.n, dtype=np.int8)
        right_np = right_up.to_numpy(zero_copy_only=False)
        right_code[np.isin(right_np, ["C", "CALL"])] = 1
        right_code[np.isin(right_np, ["P", "PUT"])] = -1
        right_code[~is_opt] = 0
        c.flag("right", "must be C or P", is_opt & (right_code == 0))

        strike = c.number("strike")
        c.flag_missing("strike", strike, is_opt)
        c.flag("strike", "negative or zero", is_opt & np.isfinite(strike) & (strike <= 0))
        strike = np.where(is_opt, strike, np.nan)

        expiry = c.date("expiry")
        _flag_date_tail(c, "expiry")
        dated = is_opt | is_future
        exp_days = np.asarray(pc.fill_null(expiry.cast(pa.int32()), -(2**31) + 1).to_numpy(
            zero_copy_only=False), dtype=np.int64)
        exp_null = expiry.is_null().to_numpy(zero_copy_only=False).astype(bool)
        c.flag("expiry", "missing", dated & exp_null)
        c.flag("expiry", f"expired before as_of {self.as_of.isoformat()}",
               dated & ~exp_null & (exp_days < self._as_of_days))
        T = np.where(dated & ~exp_null, (exp_days - self._as_of_days) / 365.0, 0.0)
        T = np.maximum(T, 0.0)
        expiry = pc.if_else(pa.array(dated), expiry, pa.scalar(None, pa.date32()))

        style = c.string("style", required=False)
        style = pc.if_else(pa.array(is_opt), pc.fill_null(pc.utf8_lower(style), "american"),
                           pa.scalar(None, pa.string()))
        style = c.choice("style", STYLES, style, mask=is_opt)
        style = pc.if_else(pa.array(is_opt), style, pa.scalar(None, pa.string()))

        multiplier = c.number("multiplier")
        needs_mult = (is_future | is_fop) & ~is_crypto
        c.flag("multiplier", "required for futures and future options",
               needs_mult & np.isnan(multiplier))
        multiplier = np.where(np.isnan(multiplier) & ~needs_mult,
                              np.where((kind_np == "option") & ~is_crypto, 100.0, 1.0), multiplier)
        c.flag("multiplier", "must be > 0 (zero or negative)",
               ~np.isnan(multiplier) & ~(multiplier > 0))
        c.flag("multiplier", "not finite", np.isinf(multiplier))

        price = c.number("price")
        c.flag("price", "negative", price < 0)
        c.flag("price", "not finite", np.isinf(price))
        c.flag("price", "required for futures", is_future & np.isnan(price))
        linked = und_row >= 0
        und_price = np.full(c.n, np.nan)
        und_price[linked] = und["price"][und_row[linked]]
        price = np.where(is_equity & np.isnan(price), und_price, price)

        implied_vol = c.number("implied_vol")
        c.flag("implied_vol", "must be > 0", ~np.isnan(implied_vol) & ~(implied_vol > 0))
        c.flag("implied_vol", "not finite", np.isinf(implied_vol))
        implied_vol = np.where(is_opt, implied_vol, np.nan)

        future = c.string("future", required=False)
        future_row = _index_in(future, ids_col, self._n_threads)
        future_row = np.where(is_fop, future_row, -1)
        fut_ok = np.zeros(c.n, dtype=bool)
        fut_ok[future_row >= 0] = is_future[future_row[future_row >= 0]]
        c.flag("future", "future option whose future is missing (not a future in instruments)",
               is_fop & ~fut_ok)
        same_class = np.ones(c.n, dtype=bool)
        has_fut = future_row >= 0
        same_class[has_fut] = und_row[future_row[has_fut]] == und_row[has_fut]
        c.flag("future", "future option's future has a different underlying", is_fop & fut_ok
               & ~same_class)

        settlement = check_crypto_instruments(c, kind_np, is_crypto, und, und_row, exp_null,
                                              price, implied_vol)

        blame = _Blame(c.n)
        self._absorb(c, blame)
        blame.inherit(und["blame"], und_row)
        blame.inherit(blame, future_row)  # a future option dies with its future
        return {"ids": ids, "ids_col": ids_col, "kind": kind, "underlying": underlying,
                "und_row": und_row, "right_code": right_code, "strike": strike,
                "expiry": expiry, "T": T, "style": style, "multiplier": multiplier,
                "price": price, "implied_vol": implied_vol, "future_row": future_row,
                "settlement": settlement, "blame": blame}

    # -- positions -----------------------------------------------------------------------------
    def _read_positions(self, table, ins):
        c = TableChecker(table, "positions", "account")
        c.require("account", "instrument", "quantity")
        accounts = c.id_column("account", lazy=True)
        instrument = c.string("instrument", chunked=True)
        inst_row = _index_in(instrument, ins["ids_col"], self._n_threads)
        inst_null = instrument.is_null().to_numpy(zero_copy_only=False).astype(bool)
        c.flag("instrument", "missing instrument id", inst_null)
        _flag_unknown(c, "instrument", instrument, ~inst_null & (inst_row < 0), "instruments")
        quantity = c.number("quantity")
        c.flag_missing("quantity", quantity)
        c.flag("quantity", f"not finite or larger than {MAX_QUANTITY:g} in absolute value",
               ~np.isnan(quantity) & ~(np.abs(quantity) <= MAX_QUANTITY))
        start = len(self._problems)
        self._problems.extend(c.problems)
        blame = np.full(c.n, -1, dtype=np.int32)
        for k in range(start, len(self._problems)):
            rows = self._problems[k].rows
            blame[rows[blame[rows] < 0]] = k
        if ins["blame"].bad.any():   # positions inherit their instrument's problem
            has = inst_row >= 0
            inherited = has & (blame < 0)
            inherited[inherited] = ins["blame"].problem[inst_row[inherited]] >= 0
            blame[inherited] = ins["blame"].problem[inst_row[inherited]]
            _forgive_flat(blame, inherited, accounts, inst_row, quantity)
        return {"accounts": accounts, "instrument": instrument, "inst_row": inst_row,
                "quantity": quantity, "blame": blame, "own_start": start}

    # -- encoding ------------------------------------------------------------------------------
    def _finish(self, pg, und, ins, pos):
        self.account_ids, acct = _encode_accounts(pos["accounts"], self._n_threads)

        rejected = np.zeros(len(self.account_ids), dtype=bool)
        bad_rows = np.flatnonzero(pos["blame"] >= 0)
        rejected[acct[bad_rows]] = True
        self.errors = self._error_frame(acct[bad_rows], pos, ins, bad_rows)

        keep_pg = ~pg["blame"].bad
        keep_und = ~und["blame"].bad
        keep_ins = ~ins["blame"].bad
        new_und = np.cumsum(keep_und) - 1
        new_ins = np.cumsum(keep_ins) - 1

        self.product_groups = pa.table({
            "product_group": pg["ids"].filter(pa.array(keep_pg)),
            "offset": nullable_float(pg["offset"][keep_pg]),
            "down": nullable_float(pg["down"][keep_pg]),
            "up": nullable_float(pg["up"][keep_pg]),
        })
        ku = pa.array(keep_und)
        self.underlyings = pa.table({
            "underlying": pa.array(und["ids"][keep_und].astype(str), pa.string()),
            "price": und["price"][keep_und],
            "group_type": und["group_type"].filter(ku),
            "product_group": und["product_group"].filter(ku),
            "leverage": und["leverage"][keep_und],
            "dividend_yield": und["dividend_yield"][keep_und],
            "volatility": nullable_float(und["volatility"][keep_und]),
        })
        ki = pa.array(keep_ins)
        fut = ins["future_row"][keep_ins]
        self.instruments = pa.table({
            "instrument": pa.array(ins["ids"][keep_ins].astype(str), pa.string()),
            "kind": ins["kind"].filter(ki),
            "underlying": ins["underlying"].filter(ki),
            "underlying_code": new_und[ins["und_row"][keep_ins]].astype(np.int32),
            "right_code": ins["right_code"][keep_ins],
            "strike": ins["strike"][keep_ins],
            "expiry": ins["expiry"].filter(ki),
            "T": ins["T"][keep_ins],
            "style": ins["style"].filter(ki),
            "multiplier": ins["multiplier"][keep_ins],
            "price": nullable_float(ins["price"][keep_ins]),
            "implied_vol": nullable_float(ins["implied_vol"][keep_ins]),
            "future_code": np.where(fut >= 0, new_ins[np.maximum(fut, 0)], -1).astype(np.int32),
            # after the contract's first 13 columns: pmfast.kinds.KINDS index, encoded once
            "kind_code": pa.array(kind_codes(np.asarray(
                ins["kind"].filter(ki).to_numpy(zero_copy_only=False), dtype=object)), pa.int8()),
            "settlement": ins["settlement"].filter(ki),     # crypto only (else null)
        })
        inst = pos["inst_row"] if keep_ins.all() else new_ins[pos["inst_row"]]
        qty = pos["quantity"]
        # rows of a dropped instrument left unblamed net to zero (see _forgive_flat): dropped
        flat = (~keep_ins[pos["inst_row"]] & (pos["inst_row"] >= 0)) if not keep_ins.all() \
            else None
        if rejected.any() or (flat is not None and flat.any()):
            keep_pos = ~rejected[acct]
            if flat is not None:
                keep_pos &= ~flat
            acct, inst, qty = acct[keep_pos], inst[keep_pos], qty[keep_pos]
        self.positions = _net_positions(acct, inst, qty, len(self.account_ids), self._n_threads)
        self.rejected = rejected

    def _error_frame(self, acct_rows, pos, ins, bad_rows):
        columns = ["account", "table", "column", "reason"]
        if bad_rows.size == 0:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        problem = pos["blame"][bad_rows]
        inst_row = pos["inst_row"][bad_rows]
        instrument = np.asarray(pos["instrument"].take(pa.array(bad_rows)).to_numpy(
            zero_copy_only=False), dtype=object)
        own = problem >= pos["own_start"]
        origin = np.where(own, instrument, None).astype(object)
        inherited = ~own
        origin[inherited] = ins["blame"].origin[inst_row[inherited]]
        frame = pd.DataFrame({"account": self.account_ids[acct_rows], "problem": problem,
                              "origin": origin}).drop_duplicates()
        probs = self._problems
        frame["table"] = [probs[k].table for k in frame["problem"]]
        frame["column"] = [probs[k].column for k in frame["problem"]]
        frame["reason"] = [f"{probs[k].table}.{probs[k].column}: {probs[k].reason} "
                           f"({_origin_text(probs[k], o, a)})" for k, o, a in zip(
                               frame["problem"], frame["origin"], frame["account"])]
        return frame[columns].sort_values(["account", "table", "column"]).reset_index(drop=True)

    # -- conveniences --------------------------------------------------------------------------
    @property
    def n_accounts(self):
        return len(self.account_ids)

    def __repr__(self):
        return (f"Book({self.n_accounts} accounts, {self.positions.num_rows} net positions, "
                f"{self.instruments.num_rows} instruments, {self.underlyings.num_rows} "
                f"underlyings, as_of={self.as_of.isoformat()}, rate={self.rate})")


def _no_positions():
    """An empty ``positions`` table (the Book of ``Book.of_instruments``)."""
    return pa.table({"account": pa.array([], pa.string()),
                     "instrument": pa.array([], pa.string()),
                     "quantity": pa.array([], pa.float64())})


def _origin_text(problem, origin, account):
    """Who a reason names: the instrument of a position row (the account when the row has no
    instrument id at all), else the row of the table the problem was found in."""
    if problem.table != "positions":
        return f"{problem.noun} {format_ids([origin])}"
    if origin is None:
        return f"account {format_ids([account])}"
    return f"instrument {format_ids([origin])}"


def _flag_date_tail(checker, column):
    """Flag date texts with anything but a midnight time after the YYYY-MM-DD
    (``"2027-01-15 junk"``): the date parser reads only the first ten characters."""
    if not checker.has(column):
        return
    col = checker.table.column(column).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return
    tail = pc.utf8_slice_codeunits(col, 10)
    bad = pc.fill_null(pc.invert(pc.match_substring_regex(tail, _MIDNIGHT_RE)), False)
    checker.flag(column, "not a date (YYYY-MM-DD)",
                 bad.to_numpy(zero_copy_only=False).astype(bool))


def _forgive_flat(blame, inherited, accounts, inst_row, quantity):
    """Un-blame the rows that inherited an instrument's problem where the account's rows of
    that instrument net to exactly zero: a flat position contributes nothing to any method,
    so it must not cost the account (its rows are dropped from the Book instead)."""
    rows = np.flatnonzero(inherited)
    if rows.size == 0:
        return
    frame = pd.DataFrame({"a": np.asarray(accounts.take(pa.array(rows)).to_numpy(
        zero_copy_only=False), dtype=object), "i": inst_row[rows], "q": quantity[rows]})
    net = frame.groupby(["a", "i"], sort=False)["q"].transform("sum").to_numpy()
    blame[rows[net == 0]] = -1


def _encode_accounts(column, n_threads=1):
    """(sorted distinct ids as numpy str, int32 code per row: the id's index there)."""
    keys = _fixed_width_keys(column)
    if keys is not None:
        codes, first = _core.book_encode_sorted(keys, n_threads)
        ids = _fixed_width_ids(keys[first], len(column[0].as_buffer()))
        if ids is not None:
            return ids, codes
    else:
        # ids of mixed lengths: hash-partitioned and threaded in C++ (1.5x Arrow's
        # dictionary_encode + sort on one thread at ten million ids, 2.9x on two); the codes
        # come in sorted id order
        codes, first = _core.book_encode_strings(column, "positions.account", n_threads)
    ids = column.take(pa.array(first))
    return np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object).astype(str), codes


def _fixed_width_ids(keys, width):
    """numpy str ids of :func:`_fixed_width_keys`'s integers (the bytes back from big-endian),
    or None unless every byte is ASCII: ~10x the object-array route for a million ids."""
    raw = keys.astype(">u8").view(np.uint8).reshape(-1, 8)
    # widths 1, 2, 4, 8 were read as >u{width} (low bytes), the others zero-padded on the right
    raw = raw[:, 8 - width:] if width in (1, 2, 4, 8) else raw[:, :width]
    if raw.size and raw.max() >= 128:
        return None
    return np.ascontiguousarray(raw).view(f"S{width}").ravel().astype(f"U{width}")


def _index_in(values, value_set, n_threads):
    """Row of each value in ``value_set`` (int64, -1 where absent or null). Arrow's lookup is
    single-threaded: the values are cut into one slice per thread, each slice looked up by its
    own ``index_in`` call (Arrow releases the GIL), and the rows joined in order."""
    n = len(values)
    pieces = max(1, min(int(n_threads), n // _MIN_ROWS_PER_THREAD))
    out = np.empty(n, dtype=np.int64)

    def lookup(k):
        lo, hi = n * k // pieces, n * (k + 1) // pieces
        rows = pc.index_in(values.slice(lo, hi - lo), value_set=value_set)
        out[lo:hi] = pc.fill_null(rows, -1).to_numpy(zero_copy_only=False)

    if pieces == 1:
        lookup(0)
    else:
        with ThreadPoolExecutor(pieces) as pool:
            list(pool.map(lookup, range(pieces)))
    return out


def _fixed_width_keys(column):
    """Each id as a big-endian unsigned integer when every id has the same byte length, 1 to 8
    (account numbers usually do), else None. Equal-length byte strings read as big-endian
    integers compare as the strings do, so a radix sort of the integers both encodes and sorts
    the ids (about 3x pyarrow's hash encoding of ten million ids into a million-entry table).
    Widths 1, 2, 4 and 8 are read straight from Arrow's data buffer (one byte-swapping copy)."""
    chunks = arrow_chunks(column)
    width = None
    pieces = []
    for chunk in chunks:
        n = len(chunk)
        if n == 0:
            continue
        if chunk.null_count or not pa.types.is_string(chunk.type):
            return None
        _, offsets, data = chunk.buffers()
        offs = np.frombuffer(offsets, dtype=np.int32)[chunk.offset:chunk.offset + n + 1]
        w = int(offs[1] - offs[0])
        width = w if width is None else width
        if w != width or not 1 <= w <= 8 or np.any(np.diff(offs) != w):
            return None
        pieces.append(np.frombuffer(data, dtype=np.uint8)[offs[0]:offs[-1]])
    if width is None:
        return None
    out = np.empty(sum(len(p) for p in pieces) // width, dtype=np.uint64)
    lo = 0
    for raw in pieces:
        n = len(raw) // width
        if width in (1, 2, 4, 8):
            out[lo:lo + n] = raw.view(f">u{width}")
        else:
            padded = np.zeros((n, 8), dtype=np.uint8)
            padded[:, :width] = raw.reshape(n, width)
            out[lo:lo + n] = padded.view(">u8").ravel()
        lo += n
    return out


def _net_positions(acct, inst, qty, n_accounts, n_threads):
    """Sum rows of the same (account, instrument), in input order; sorted by (account,
    instrument). A counting sort by account and small per-account sorts in C++: a general
    argsort of ten million 64-bit keys costs seconds."""
    account, instrument, quantity = _core.book_net_positions(
        np.ascontiguousarray(acct, dtype=np.int32), np.ascontiguousarray(inst, dtype=np.int32),
        np.ascontiguousarray(qty, dtype=np.float64), n_accounts, n_threads)
    return pa.table({"account_code": account, "instrument_code": instrument,
                     "quantity": quantity})

"""Reading a price history (``date, underlying, price[, vol]``) and a rate history
(``date, rate``) into dense, forward-filled date x underlying matrices: the one place the
historical, filtered historical and Monte Carlo sets get their data from.

Conventions (docs/simulation-scenarios.md):
- dates are the union of the dates in the table, sorted; underlyings are sorted by id, so the
  result never depends on the table's row order;
- a missing price (no row, or a null / NaN price) is a gap: the underlying keeps its last price
  (forward fill); a price that is infinite or <= 0 is an input error naming it;
- the same for ``vol`` (an implied-volatility level); an underlying with no vol at all has no
  volatility shift;
- the sets use the *common* history: the dates from the first date on which every underlying
  has a price. An underlying with fewer than ``need`` prices is an input error naming it.
"""
from dataclasses import dataclass

import numpy as np
from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.schema import TableChecker, format_ids

HISTORY = "history"
RATES = "rates"
# Bounds on what a history may cost (every loop over dates or underlyings is linear in these).
MAX_DATES = 50_000          # 200 years of trading days
MAX_UNDERLYINGS = 100_000
MAX_CELLS = 250_000_000     # dates or scenarios x underlyings: 2 GB per float64 matrix


@dataclass(frozen=True)
class History:
    """A forward-filled history. ``price`` / ``vol`` are [n_dates, n_underlyings] (NaN before an
    underlying's first observation); ``rate`` is [n_dates] or None."""
    dates: np.ndarray          # datetime64[D], increasing
    underlyings: tuple
    price: np.ndarray
    vol: np.ndarray = None
    rate: np.ndarray = None
    observed: np.ndarray = None  # [n_dates, n_underlyings] bool: a price was given that date

    def labels(self, rows):
        """ISO dates of the given rows."""
        return tuple(str(d) for d in self.dates[rows])


def _raise_first(checker):
    if checker.problems:
        raise InputError(checker.problems[0].message())


def _checked_dates(checker):
    days = checker.date("date")
    _raise_first(checker)
    if days.null_count:
        rows = np.flatnonzero(days.is_null().to_numpy(zero_copy_only=False))
        raise InputError(f"{checker.name}.date: missing date for {checker.noun}(s) "
                         f"{format_ids(checker.ids[rows])}")
    return days.cast("int32").to_numpy(zero_copy_only=False).astype(np.int64)


def _forward_fill(a):
    """Each NaN takes the last non-NaN value above it in its column (NaN before the first)."""
    valid = ~np.isnan(a)
    idx = np.where(valid, np.arange(a.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return a[idx, np.arange(a.shape[1])[None, :]]


def _level(checker, column):
    """A positive level column (price, vol): null/NaN is a gap; inf or <= 0 is an error."""
    values = checker.number(column)
    _raise_first(checker)
    bad = np.isinf(values) | (values <= 0)
    if bad.any():
        raise InputError(f"{checker.name}.{column}: must be a positive finite number "
                         f"(underlying/date {_cells(checker, np.flatnonzero(bad))})")
    return values


def _cells(checker, rows):
    """``'X/2025-01-02', ...`` for the given rows of the history."""
    dates = checker.table.column("date").combine_chunks().take(rows.astype(np.int64))
    return format_ids(f"{u}/{d}" for u, d in zip(checker.ids[rows], dates.to_pylist()))


def _date_codes(days):
    """Sorted distinct days and each row's index into them (a lookup table over the span when
    it is small, else a sort)."""
    if days.size == 0:
        return days, days
    lo, hi = int(days.min()), int(days.max())
    if hi - lo > 10 * MAX_DATES:
        return np.unique(days, return_inverse=True)
    seen = np.zeros(hi - lo + 1, dtype=bool)
    seen[days - lo] = True
    uniq = np.flatnonzero(seen)
    lookup = np.cumsum(seen) - 1
    return uniq + lo, lookup[days - lo]


def _underlying_codes(col):
    """Sorted distinct underlyings and each row's index into them, via Arrow's dictionary
    encoding (no Python string per row)."""
    enc = col.dictionary_encode()
    values = np.asarray(enc.dictionary.to_pylist(), dtype=object).astype(str)
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return values[order], rank[enc.indices.to_numpy(zero_copy_only=False)]


def read_history(history, underlyings=None):
    """Read ``history`` (any table form or a path) into a :class:`History`.

    ``underlyings``: keep only these (each must be present), in this order.
    """
    table = to_arrow(history, HISTORY)
    checker = TableChecker(table, HISTORY, "underlying")
    checker.require("date", "underlying", "price")
    col = checker.id_column("underlying", lazy=True).combine_chunks()
    days = _checked_dates(checker)
    price = _level(checker, "price")
    vol = _level(checker, "vol") if checker.has("vol") else None
    uniq_days, di = _date_codes(days)
    names, ui = _underlying_codes(col)
    n_all = len(names)
    if len(uniq_days) > MAX_DATES or n_all > MAX_UNDERLYINGS or \
            len(uniq_days) * n_all > MAX_CELLS:
        raise InputError(f"{HISTORY}: {len(uniq_days)} dates x {n_all} underlyings exceed "
                         f"the bound of {MAX_DATES} dates, {MAX_UNDERLYINGS} underlyings and "
                         f"{MAX_CELLS:,} cells")
    key = di * n_all + ui
    counts = np.bincount(key, minlength=len(uniq_days) * n_all)
    if (counts > 1).any():
        rows = np.flatnonzero(counts[key] > 1)
        raise InputError(f"{HISTORY}: more than one row for underlying/date "
                         f"{_cells(checker, rows)}")
    if underlyings is not None:
        wanted = [str(u) for u in underlyings]
        where = {u: j for j, u in enumerate(names)}
        absent = [u for u in wanted if u not in where]
        if absent:
            raise InputError(f"{HISTORY}.underlying: no history for {format_ids(absent)}")
        cols = np.array([where[u] for u in wanted], dtype=np.int64)
        names = np.array(wanted, dtype=object)
    else:
        cols = np.arange(n_all)

    def raw(values):
        m = np.full(len(uniq_days) * n_all, np.nan)
        m[key] = values
        return m.reshape(len(uniq_days), n_all)[:, cols]
    vol_m = None
    if vol is not None:
        vol_m = _forward_fill(raw(vol))
        if np.isnan(vol_m).all():
            vol_m = None
    dates = uniq_days.astype("datetime64[D]")
    raw_price = raw(price)
    return History(dates, tuple(str(u) for u in names), _forward_fill(raw_price), vol_m,
                   observed=~np.isnan(raw_price))


def read_rates(rates, dates):
    """The rate on each of ``dates``: the last rate on or before it (an as-of join)."""
    table = to_arrow(rates, RATES)
    checker = TableChecker(table, RATES, "date")
    checker.require("date", "rate")
    checker.ids = np.asarray([str(x) for x in table.column("date").to_pylist()], dtype=object)
    days = _checked_dates(checker)
    rate = checker.number("rate")
    _raise_first(checker)
    bad = ~np.isfinite(rate)
    if bad.any():
        raise InputError(f"{RATES}.rate: must be a finite number on date(s) "
                         f"{format_ids(checker.ids[bad])}")
    order = np.argsort(days, kind="stable")
    days, rate = days[order], rate[order]
    dup = np.flatnonzero(np.diff(days) == 0)
    if dup.size:
        raise InputError(f"{RATES}.date: more than one rate on "
                         f"{format_ids(str(np.datetime64(int(d), 'D')) for d in days[dup])}")
    want = dates.astype("datetime64[D]").astype(np.int64)
    pos = np.searchsorted(days, want, side="right") - 1
    if (pos < 0).any():
        raise InputError(f"{RATES}.date: no rate on or before {dates[pos < 0][0]} (the first "
                         "history date used)")
    return rate[pos]


def common_window(hist, need, window=None, what="the horizon"):
    """The last ``window`` dates of ``hist`` from the first date on which every underlying has a
    price; an underlying with fewer than ``need`` prices there is an InputError naming it."""
    n = len(hist.dates)
    if window is not None:
        if isinstance(window, bool) or int(window) != window or window < 1:
            raise InputError(f"window must be a positive integer number of dates, got {window!r}")
        start = max(n - int(window), 0)
    else:
        start = 0
    price = hist.price[start:]
    # prices given in the window, plus the one carried into its first date
    have = hist.observed[start + 1:].sum(axis=0) + ~np.isnan(price[0])
    short = have < need
    if short.any():
        raise InputError(f"{HISTORY}.price: fewer than {need} prices (needed for {what}) in the "
                         f"window for underlying(s) "
                         f"{format_ids(np.asarray(hist.underlyings)[short])}")
    # every underlying has >= need prices from its first one on, so the common part (from the
    # latest first price) has >= need dates too
    first = int(np.argmax(~np.isnan(price), axis=0).max()) if price.shape[1] else 0
    s = start + first
    return History(hist.dates[s:], hist.underlyings, hist.price[s:],
                   None if hist.vol is None else hist.vol[s:],
                   None if hist.rate is None else hist.rate[s:], hist.observed[s:])


def load(history, rates=None, underlyings=None, window=None, need=2, what="the horizon"):
    """read_history + read_rates + common_window in one call."""
    hist = read_history(history, underlyings)
    if rates is not None:
        hist = History(hist.dates, hist.underlyings, hist.price, hist.vol,
                       read_rates(rates, hist.dates), hist.observed)
    return common_window(hist, need, window, what)


def horizon_steps(horizon_days):
    """The horizon as a whole number of trading days >= 1 (historical windows)."""
    try:
        h = float(horizon_days)
    except (TypeError, ValueError):
        h = float("nan")
    if not np.isfinite(h) or h < 1 or h != int(h):
        raise InputError(f"horizon_days must be a whole number of days >= 1 for a history-based "
                         f"set, got {horizon_days!r}")
    return int(h)


def vol_shifts(hist, h):
    """``vol[t+h] / vol[t] - 1`` per overlapping window; 0 where no vol is known."""
    if hist.vol is None:
        return None
    v = hist.vol
    with np.errstate(invalid="ignore"):
        shift = v[h:] / v[:-h] - 1.0
    return np.where(np.isnan(shift), 0.0, shift)


def rate_shifts(hist, h):
    """``rate[t+h] - rate[t]`` per overlapping window, or None without rates."""
    return None if hist.rate is None else hist.rate[h:] - hist.rate[:-h]

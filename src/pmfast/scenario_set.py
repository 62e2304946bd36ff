"""``ScenarioSet``: explicit joint scenarios, the one scenario abstraction every method revalues.

A set holds, per scenario ``k`` and underlying ``u``, the underlying's simple return over the
horizon (``S' = S × (1 + return)``) and a relative volatility shift (``vol' = vol × (1 + shift)``,
floored by the pricer), per scenario an absolute shift of the continuous rate, a label, and the
horizon in calendar days by which time moves forward. Simulation margin's sets (given,
historical, filtered historical, Monte Carlo, stress) are instances; the TIMS grid is its compact
special case (an outer product of moves and vol shifts per class), SPAN's exchange arrays are given
losses rather than factors, and crypto grids add per-series vol shocks on top.

Sets are immutable; ``a + b`` appends b's scenarios to a's (stress rows appended to any set).
"""
from dataclasses import dataclass

import numpy as np

from pmfast.errors import InputError
from pmfast.schema import format_ids

TABLE = "scenarios"


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """Joint scenarios over named underlyings.

    Parameters
    ----------
    underlyings : sequence of str
        Column names of ``returns`` / ``vol_shifts``; unique.
    returns : array [n_scenarios, n_underlyings]
        Simple returns over the horizon, finite and > -1.
    vol_shifts : array [n_scenarios, n_underlyings] or None
        Relative volatility shifts, finite (None: no shift).
    rate_shifts : array [n_scenarios] or None
        Absolute shifts of the continuous rate, finite (None: no shift).
    labels : sequence of str
        One unique label per scenario (dates for historical sets, names for stress rows).
    horizon_days : float
        Calendar days by which time to expiry shrinks, >= 0.
    source : str
        How the set was made ("given", "historical", "filtered_historical", "monte_carlo",
        "stress", or "a + b"), for reports.

    Examples
    --------
    >>> s = ScenarioSet(["SPY", "QQQ"], [[-0.05, -0.06], [0.02, 0.03]], labels=["down", "up"],
    ...                 horizon_days=2)
    >>> (s + s.relabel(["down2", "up2"])).n_scenarios
    4
    """
    underlyings: tuple
    returns: np.ndarray
    vol_shifts: np.ndarray = None
    rate_shifts: np.ndarray = None
    labels: tuple = None
    horizon_days: float = 0.0
    source: str = "given"

    def __post_init__(self):
        set_ = object.__setattr__
        underlyings = tuple(str(u) for u in self.underlyings)
        returns = _matrix(self.returns, "return")
        n, m = returns.shape
        if len(underlyings) != m:
            raise InputError(f"{TABLE}: {m} return columns for {len(underlyings)} underlyings")
        _unique(underlyings, "underlying")
        labels = tuple(str(k) for k in range(n)) if self.labels is None else \
            tuple(str(k) for k in self.labels)
        if len(labels) != n:
            raise InputError(f"{TABLE}: {len(labels)} labels for {n} scenarios")
        _unique(labels, "scenario")
        _check_finite(returns, "return", labels, underlyings)
        bad = returns <= -1.0
        if bad.any():
            _raise_cells(bad, "return", "must be > -1 (a price cannot fall to zero or below)",
                         labels, underlyings)
        vol_shifts = None
        if self.vol_shifts is not None:
            vol_shifts = _matrix(self.vol_shifts, "vol_shift")
            if vol_shifts.shape != returns.shape:
                raise InputError(f"{TABLE}.vol_shift: shape {vol_shifts.shape}, expected "
                                 f"{returns.shape}")
            _check_finite(vol_shifts, "vol_shift", labels, underlyings)
        rate_shifts = None
        if self.rate_shifts is not None:
            rate_shifts = np.array(self.rate_shifts, dtype=np.float64).reshape(-1)
            if rate_shifts.shape != (n,):
                raise InputError(f"{TABLE}.rate_shift: {rate_shifts.size} values for {n} "
                                 "scenarios")
            bad = ~np.isfinite(rate_shifts)
            if bad.any():
                raise InputError(f"{TABLE}.rate_shift: not a finite number in scenarios "
                                 f"{format_ids(np.asarray(labels)[bad])}")
        horizon = float(self.horizon_days)
        if not np.isfinite(horizon) or horizon < 0:
            raise InputError(f"{TABLE}: horizon_days = {self.horizon_days!r} must be >= 0")
        for name, value in (("underlyings", underlyings), ("returns", returns),
                            ("vol_shifts", vol_shifts), ("rate_shifts", rate_shifts),
                            ("labels", labels), ("horizon_days", horizon)):
            set_(self, name, value)
        for a in (returns, vol_shifts, rate_shifts):
            if a is not None:
                a.flags.writeable = False

    @property
    def n_scenarios(self):
        return self.returns.shape[0]

    @property
    def n_underlyings(self):
        return self.returns.shape[1]

    def vol_shifts_or_zero(self):
        """``vol_shifts``, or zeros of the returns' shape when the set has none."""
        return np.zeros_like(self.returns) if self.vol_shifts is None else self.vol_shifts

    def rate_shifts_or_zero(self):
        """``rate_shifts``, or zeros (one per scenario) when the set has none."""
        return np.zeros(self.n_scenarios) if self.rate_shifts is None else self.rate_shifts

    def relabel(self, labels):
        """The same scenarios under new labels."""
        return ScenarioSet(self.underlyings, self.returns, self.vol_shifts, self.rate_shifts,
                           labels, self.horizon_days, self.source)

    def select(self, underlyings, missing="raise"):
        """The set restricted and ordered to ``underlyings`` (a book's classes).

        ``missing="raise"``: an underlying absent from the set is an InputError naming it;
        ``missing="zero"``: it is held unchanged in every scenario (the returned set's
        ``source`` notes it, and :func:`missing_underlyings` lists them).
        """
        if missing not in ("raise", "zero"):
            raise InputError(f"missing must be 'raise' or 'zero', not {missing!r}")
        wanted = [str(u) for u in underlyings]
        where = {u: j for j, u in enumerate(self.underlyings)}
        absent = [u for u in wanted if u not in where]
        if absent and missing == "raise":
            raise InputError(f"{TABLE}.underlying: the book's underlyings "
                             f"{format_ids(absent)} are missing from the scenario set "
                             "(pass missing='zero' to hold them unchanged)")
        cols = np.array([where.get(u, -1) for u in wanted], dtype=np.int64)
        def take(a):
            if a is None:
                return None
            out = np.zeros((a.shape[0], len(wanted)))
            out[:, cols >= 0] = a[:, cols[cols >= 0]]
            return out
        source = self.source if not absent else \
            f"{self.source}; held unchanged: {format_ids(absent)}"
        return ScenarioSet(wanted, take(self.returns), take(self.vol_shifts), self.rate_shifts,
                           self.labels, self.horizon_days, source)

    def __add__(self, other):
        """Append ``other``'s scenarios (same underlyings in any order, same horizon)."""
        if not isinstance(other, ScenarioSet):
            return NotImplemented
        if set(other.underlyings) != set(self.underlyings):
            only_a = sorted(set(self.underlyings) - set(other.underlyings))
            only_b = sorted(set(other.underlyings) - set(self.underlyings))
            raise InputError(f"{TABLE}: cannot append scenario sets over different underlyings "
                             f"(only in the first: {format_ids(only_a) or '-'}; only in the "
                             f"second: {format_ids(only_b) or '-'})")
        if other.horizon_days != self.horizon_days:
            raise InputError(f"{TABLE}: cannot append a {other.horizon_days}-day set to a "
                             f"{self.horizon_days}-day set")
        b = other.select(self.underlyings)
        def both(x, y, zeros):
            if x is None and y is None:
                return None
            return np.concatenate([zeros(self) if x is None else x, zeros(b) if y is None else y])
        return ScenarioSet(
            self.underlyings, np.concatenate([self.returns, b.returns]),
            both(self.vol_shifts, b.vol_shifts, ScenarioSet.vol_shifts_or_zero),
            both(self.rate_shifts, b.rate_shifts, ScenarioSet.rate_shifts_or_zero),
            self.labels + b.labels, self.horizon_days, f"{self.source} + {b.source}")

    def __repr__(self):
        return (f"ScenarioSet({self.n_scenarios} scenarios x {self.n_underlyings} underlyings, "
                f"horizon {self.horizon_days:g} days, {self.source})")


def concat(*sets):
    """``sets[0] + sets[1] + ...``."""
    if not sets:
        raise InputError("concat needs at least one scenario set")
    out = sets[0]
    for s in sets[1:]:
        out = out + s
    return out


def _matrix(values, column):
    try:
        a = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{TABLE}.{column}: not numeric ({exc})") from None
    if a.ndim != 2:
        raise InputError(f"{TABLE}.{column}: expected a [scenarios x underlyings] matrix, got "
                         f"{a.ndim} dimensions")
    return a


def _unique(names, column):
    seen, dup = set(), []
    for x in names:
        if x in seen:
            dup.append(x)
        seen.add(x)
    if dup:
        raise InputError(f"{TABLE}.{column}: duplicated {format_ids(dup)}")


def _check_finite(a, column, labels, underlyings):
    bad = ~np.isfinite(a)
    if bad.any():
        _raise_cells(bad, column, "must be a finite number", labels, underlyings)


def _raise_cells(bad, column, reason, labels, underlyings):
    k, u = np.nonzero(bad)
    cells = [f"{labels[i]}/{underlyings[j]}" for i, j in zip(k[:5], u[:5])]
    raise InputError(f"{TABLE}.{column}: {reason} (scenario/underlying {format_ids(cells)}"
                     f"{'' if k.size <= 5 else f' and {k.size - 5} more'})")

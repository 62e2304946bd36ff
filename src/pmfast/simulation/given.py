"""Given scenarios: a long table ``scenario, underlying, return[, vol_shift]`` (and optionally
``scenario, rate_shift``), e.g. a clearing house's published set or named stress scenarios."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.scenario_set import TABLE, ScenarioSet
from pmfast.schema import TableChecker, format_ids
from pmfast.simulation._history import MAX_CELLS

RATES = "scenario_rates"


def _codes(col):
    """First-appearance order of the distinct values of a string column, and each row's code."""
    uniq = pc.unique(col)
    codes = pc.index_in(col, value_set=uniq).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.asarray(uniq.to_pylist(), dtype=object), codes


def _ids_checker(table, name, *required):
    checker = TableChecker(table, name, "scenario")
    checker.require("scenario", *required)
    col = checker.id_column("scenario")
    return checker, col


def _numbers(checker, column, row_names=None):
    """A numeric column, finite in every row; ``row_names(rows)`` names bad rows (default:
    their scenario)."""
    values = checker.number(column)
    if checker.problems:
        raise InputError(checker.problems[0].message())
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        what = row_names(rows) if row_names else f"scenario(s) {format_ids(checker.ids[rows])}"
        raise InputError(f"{checker.name}.{column}: must be a finite number (missing or NaN) for "
                         f"{what}")
    return values


def _rate_shifts(rates, labels):
    table = to_arrow(rates, RATES)
    checker, col = _ids_checker(table, RATES, "rate_shift")
    shift = _numbers(checker, "rate_shift")
    names, codes = _codes(col)
    if len(names) != len(codes):
        dup = names[np.bincount(codes) > 1]
        raise InputError(f"{RATES}.scenario: more than one rate_shift for {format_ids(dup)}")
    where = {s: k for k, s in enumerate(names)}
    unknown = [s for s in names if s not in set(labels)]
    absent = [s for s in labels if s not in where]
    if unknown or absent:
        raise InputError(f"{RATES}.scenario: the rate table and the scenario table disagree "
                         f"(only in the rates: {format_ids(unknown) or '-'}; without a rate "
                         f"shift: {format_ids(absent) or '-'})")
    return shift[[where[s] for s in labels]]


def given(table, rates=None, horizon_days=2, missing="raise", source="given"):
    """A scenario set from a long table.

    Parameters
    ----------
    table : table or path
        ``scenario, underlying, return[, vol_shift]``, one row per scenario and underlying
        (pandas, polars, pyarrow or a path). Scenarios keep the order in which they first appear.
    rates : table or path, optional
        ``scenario, rate_shift`` (absolute shift of the continuous rate), one row per scenario.
    horizon_days : float
        Calendar days by which time to expiry shrinks in every scenario.
    missing : {"raise", "zero"}
        An underlying of the table absent from one of its scenarios is an InputError naming the
        pairs (``"raise"``), or is held unchanged there (``"zero"``, noted in ``source``).
    source : str
        How the set is described in reports (e.g. ``"stress"``).

    Returns
    -------
    ScenarioSet

    Examples
    --------
    >>> from pmfast import simulation
    >>> s = simulation.given({"scenario": ["crash", "crash"], "underlying": ["SPX", "NDX"],
    ...                       "return": [-0.20, -0.25], "vol_shift": [1.0, 1.0]},
    ...                      rates={"scenario": ["crash"], "rate_shift": [-0.01]})
    >>> s.labels, s.rate_shifts.tolist()
    (('crash',), [-0.01])
    """
    if missing not in ("raise", "zero"):
        raise InputError(f"missing must be 'raise' or 'zero', not {missing!r}")
    t = to_arrow(table, TABLE)
    checker, scol = _ids_checker(t, TABLE, "underlying", "return")
    ucol = checker.string("underlying")
    if ucol.null_count:
        rows = np.flatnonzero(ucol.is_null().to_numpy(zero_copy_only=False))
        raise InputError(f"{TABLE}.underlying: missing (null) underlying for scenario(s) "
                         f"{format_ids(checker.ids[rows])}")
    def cells(rows):
        unds = ucol.take(pa.array(rows)).to_pylist()
        return "scenario/underlying " + format_ids(f"{s}/{u}" for s, u in
                                                   zip(checker.ids[rows], unds))
    ret = _numbers(checker, "return", cells)
    vol = _numbers(checker, "vol_shift", cells) if checker.has("vol_shift") else None
    labels, k = _codes(scol)
    unds, u = _codes(ucol)
    n, m = len(labels), len(unds)
    if n * m > MAX_CELLS:
        raise InputError(f"{TABLE}: {n} scenarios x {m} underlyings exceed the bound of "
                         f"{MAX_CELLS:,} cells")
    cell = k * m + u
    counts = np.bincount(cell, minlength=n * m)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        raise InputError(f"{TABLE}: more than one row for scenario/underlying "
                         f"{format_ids(f'{labels[c // m]}/{unds[c % m]}' for c in dup)}")
    absent = np.flatnonzero(counts == 0)
    note = source
    if absent.size:
        pairs = [f"{labels[c // m]}/{unds[c % m]}" for c in absent]
        if missing == "raise":
            raise InputError(f"{TABLE}.underlying: missing from their scenarios "
                             f"(scenario/underlying {format_ids(pairs)}); every underlying must "
                             "appear in every scenario (or pass missing='zero')")
        note = f"{source}; held unchanged: {format_ids(pairs)}"

    def dense(values):
        out = np.zeros(n * m)
        out[cell] = values
        return out.reshape(n, m)
    shifts = None if rates is None else _rate_shifts(rates, labels)
    return ScenarioSet(unds, dense(ret), None if vol is None else dense(vol), shifts,
                       labels, horizon_days, note)

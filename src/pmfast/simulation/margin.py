"""``pmfast.simulation_margin``: thousands of joint scenarios, VaR and expected shortfall for a
whole book (shared/spec/simulation-margin.md, docs/simulation-margin.md).

Every held series is revalued once per scenario in the compiled core (risk matrix
[series x scenarios]); the core then streams each account's positions through one per-thread
scenario buffer into its tail measures and Euler components. Nothing of size
positions x scenarios or accounts x scenarios is ever built.
"""
import math

import numpy as np
import pandas as pd

from pmfast import _core
from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.scenario_set import ScenarioSet
from pmfast.schema import format_ids
from pmfast.scenarios import _np
from pmfast.simulation.layout import SimLayout
from pmfast.portfolio import error_mode
from pmfast.simulation.market import book_market
from pmfast.simulation.revalue import GRID_POINTS, revaluation_key, revalue_series

MEASURES = ("es", "var", "worst")
REVALUATIONS = ("full", "grid")
MAX_PNL_CELLS = 20_000_000   # sim.pnl(accounts): 160 MB of float64 at most per call
_TAIL_EPS = 1e-9             # (1 - alpha) n within this of an integer counts as that integer


def tail_count(confidence, n_scenarios):
    """``m = ceil((1 - confidence) n)``, at least 1. ``(1 - 0.99) * 1000`` is
    10.000000000000009 in floating point: a product within 1e-9 of an integer is taken as that
    integer, so 99% of 1,000 scenarios is a tail of 10, as written."""
    x = (1.0 - confidence) * n_scenarios
    m = math.ceil(x - _TAIL_EPS) if abs(x - round(x)) > _TAIL_EPS else int(round(x))
    return int(min(max(m, 1), n_scenarios))


def as_scenario_set(scenarios, horizon_days=None, rates=None):
    """A ScenarioSet from a ScenarioSet, or from a long table (pandas, polars, pyarrow, path)
    read by ``pmfast.simulation.given``."""
    if isinstance(scenarios, ScenarioSet):
        if horizon_days is not None and float(horizon_days) != scenarios.horizon_days:
            raise InputError(f"horizon_days={horizon_days!r} given with a {scenarios.horizon_days:g}"
                             "-day ScenarioSet (the set carries its own horizon)")
        if rates is not None:
            raise InputError("rates= applies to a long scenario table, not to a ScenarioSet")
        return scenarios
    if horizon_days is None:
        raise InputError("simulation_margin: a scenario table needs horizon_days= (calendar days "
                         "of the horizon)")
    from pmfast.simulation.given import given
    return given(scenarios, rates=rates, horizon_days=horizon_days)


class SimulationMargin:
    """Result of :func:`simulation_margin`.

    Attributes
    ----------
    accounts : pandas.DataFrame
        One row per account of the book: account, requirement, es, var, worst_loss,
        worst_scenario, n_scenarios, minimum, status, positions.
    components : pandas.DataFrame
        One row per (account, underlying) held: the underlying's contribution to the account's
        expected shortfall (Euler allocation: the mean of that underlying's P&L over the
        account's tail scenarios, negated; an account's contributions sum to its ``es``).
        Rejected accounts have one row with status "rejected" and no figures.
    errors : pandas.DataFrame
        account, table, column, reason of every rejected account.
    scenarios : ScenarioSet
        The set as revalued (restricted to the book's underlyings).
    """

    def __init__(self, book, scen, layout, res, risk, measure, confidence, m, minimum,
                 rejected, errors, n_threads):
        self.book = book
        self.scenarios = scen
        self.measure = measure
        self.confidence = confidence
        self.tail_count = m
        self.errors = errors
        self._layout = layout
        self._risk = risk
        self._rejected = rejected
        self._nt = n_threads
        self.accounts = self._accounts_frame(res, minimum)
        self.components = self._components_frame(res)

    def _accounts_frame(self, res, minimum):
        ok = ~self._rejected
        figure = res[self.measure]
        requirement = np.maximum(np.maximum(figure, 0.0), minimum)
        labels = np.asarray(self.scenarios.labels, dtype=object)
        worst = np.full(len(ok), None, dtype=object)
        loses = ok & (res["worst"] > 0)
        worst[loses] = labels[res["worst_scenario"][loses]]
        frame = pd.DataFrame({
            "account": self.book.account_ids, "requirement": requirement, "es": res["es"],
            "var": res["var"], "worst_loss": res["worst"], "worst_scenario": worst,
            "n_scenarios": np.where(ok, self.scenarios.n_scenarios, 0),
            "minimum": minimum,
            "status": np.where(ok, "ok", "rejected").astype(object),
            "positions": self._layout.positions_per_account})
        numeric = ["requirement", "es", "var", "worst_loss", "minimum"]
        frame.loc[~ok, numeric] = np.nan
        return frame

    def _components_frame(self, res):
        lay = self._layout
        und_ids = _np(self.book.underlyings.column("underlying")).astype(str)
        held = pd.DataFrame({
            "account": self.book.account_ids[lay.account_of_class],
            "underlying": und_ids[lay.underlying_of_class].astype(object),
            "contribution": res["component"], "status": "ok"})
        bad = np.flatnonzero(self._rejected)
        rejected = pd.DataFrame({"account": self.book.account_ids[bad], "underlying": None,
                                 "contribution": np.nan, "status": "rejected"})
        if not len(rejected):
            return held
        return pd.concat([held, rejected], ignore_index=True)

    def pnl(self, accounts):
        """Scenario P&L vectors of chosen accounts (charts, audits).

        Parameters
        ----------
        accounts : str or sequence of str
            Account ids of the book. The call is bounded: at most ``MAX_PNL_CELLS`` accounts x
            scenarios per call (never the whole book at once).

        Returns
        -------
        pandas.DataFrame
            Index ``scenario`` (labels), one column per account (NaN for a rejected account).
        """
        wanted = [accounts] if isinstance(accounts, str) else [str(a) for a in accounts]
        ids = self.book.account_ids
        where = {a: i for i, a in enumerate(ids)} if len(wanted) > 64 else None
        codes = []
        for a in wanted:
            hit = where.get(a, -1) if where is not None else \
                (int(np.flatnonzero(ids == a)[0]) if (ids == a).any() else -1)
            if hit < 0:
                raise InputError(f"pnl: account {format_ids([a])} is not in the book")
            codes.append(hit)
        n_sc = self.scenarios.n_scenarios
        if len(codes) * n_sc > MAX_PNL_CELLS:
            raise InputError(f"pnl: {len(codes)} accounts x {n_sc} scenarios is more than "
                             f"{MAX_PNL_CELLS:,} values; ask for fewer accounts per call")
        codes = np.asarray(codes, dtype=np.int64)
        values = _core.sim_account_pnl(*self._layout.subset(codes), self._risk, self._nt)
        values[self._rejected[codes]] = np.nan
        frame = pd.DataFrame(values.T, columns=wanted,
                             index=pd.Index(self.scenarios.labels, name="scenario"))
        return frame

    def __repr__(self):
        ok = int((self.accounts["status"] == "ok").sum())
        return (f"SimulationMargin({len(self.accounts)} accounts, {ok} margined, "
                f"{self.measure} {self.confidence:g} over {self.scenarios.n_scenarios} scenarios,"
                f" total requirement {np.nansum(self.accounts['requirement']):,.2f})")


def simulation_margin(book, scenarios, measure="es", confidence=0.99, n_threads=None, *,
                      horizon_days=None, rates=None, rules="finra-cpm", errors=None,
                      missing="raise", minimum=None, revaluation="grid", grid_points=GRID_POINTS,
                      market=None, revalued=None):
    """Simulation margin of every account: a tail measure of its loss over joint scenarios.

    Parameters
    ----------
    book : pmfast.Book
    scenarios : pmfast.ScenarioSet, or a long table ``scenario, underlying, return[, vol_shift]``
        (pandas, polars, pyarrow or a path; then ``horizon_days`` is required).
    measure : {"es", "var", "worst"}
        Expected shortfall (mean of the ``m`` largest losses), value at risk (the ``m``-th
        largest loss) or the largest loss; ``m = ceil((1 - confidence) n)``, at least 1.
    confidence : float
        In (0, 1); default 0.99.
    n_threads : int, optional
        Threads for pricing and aggregation (default: every available CPU). Results are
        bit-identical for any value and any row order.
    horizon_days, rates
        For a long table: the horizon in calendar days and an optional ``scenario,
        rate_shift`` table.
    rules : str, path or RuleSet
        Where the American model, tree steps and the per-contract minimum come from
        (the same volatility and model as portfolio margin: ``V_0`` is portfolio margin's).
    errors : {"raise", "collect"}, optional
        Bad input (an option whose volatility cannot be found; an underlying missing from the
        scenario set when ``missing="raise"``): raise ``InputError``, or reject the accounts
        holding it (``.errors``). Default: the Book's own mode, as portfolio margin.
    missing : {"raise", "zero"}
        An underlying of the book absent from the set: an input error naming it, or held
        unchanged in every scenario (noted in ``.scenarios.source``).
    minimum : None, str, path or RuleSet
        A floor per account: the rule set's per-contract minimum (portfolio-margin.md step 5)
        summed over the account, e.g. ``minimum="finra-cpm"``. ``requirement = max(0, measure,
        minimum)``.
    revaluation : {"grid", "full"}
        ``"full"``: every series priced in every scenario. ``"grid"`` (default): American
        series valued
        as the closed-form European value plus an early-exercise premium interpolated from
        tables shared by the series of one underlying, right, expiry and yield (error against
        full revaluation measured in docs/simulation-margin.md; a set with no volatility and
        no rate shifts is always revalued in full, one boundary per series serving all its
        scenarios: on a generated 10,000-account
        book x 1,000 scenarios no account's ES was off by more than 0.1% + $1); other series
        (European, Black-76, linear) always in full. The grid mode stores the risk matrix
        in float32 (half the memory and half the bytes the aggregation reads; its rounding,
        ~6e-8 relative per value, is far below the grid's error); sums are in float64.
    grid_points : (int, int)
        Grid mode: moneyness and volatility nodes of each premium table (each >= 4).
    market : pmfast.market.MarketSnapshot, optional
        A snapshot of this book resolved already under the same American model (a batch
        shares portfolio margin's); by default resolved here.

    Returns
    -------
    SimulationMargin
        ``.accounts``, ``.components``, ``.pnl(accounts)``, ``.errors``.

    Examples
    --------
    >>> import pmfast
    >>> from pmfast.scenario_set import ScenarioSet
    >>> book = pmfast.Book(
    ...     {"account": ["A"], "instrument": ["ACME"], "quantity": [100.0]},
    ...     {"instrument": ["ACME"], "kind": ["equity"], "underlying": ["ACME"]},
    ...     {"underlying": ["ACME"], "price": [50.0]}, as_of="2026-11-20")
    >>> scen = ScenarioSet(["ACME"], [[-0.10], [0.05], [-0.02]], horizon_days=2)
    >>> sim = pmfast.simulation_margin(book, scen, measure="worst")
    >>> float(sim.accounts["requirement"][0]), sim.accounts["worst_scenario"][0]
    (500.0, '0')
    """
    if measure not in MEASURES:
        raise InputError(f"measure must be one of {MEASURES}, not {measure!r}")
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        raise InputError(f"confidence must be a number in (0, 1), not {confidence!r}") from None
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), not {confidence!r}")
    if revaluation not in REVALUATIONS:
        raise InputError(f"revaluation must be one of {REVALUATIONS}, not {revaluation!r}")
    if missing not in ("raise", "zero"):
        raise InputError(f"missing must be 'raise' or 'zero', not {missing!r}")
    errors = error_mode(book, errors)
    nt = resolve_n_threads(n_threads)
    scen = as_scenario_set(scenarios, horizon_days, rates)
    market = book_market(book, rules, errors, nt, snapshot=market)
    rejected, error_frame = market.rejected, market.errors
    und_code = market.inputs["und_code"]
    rejected, error_frame = _reject_missing(book, scen, und_code, rejected, error_frame, errors,
                                            missing)
    layout = SimLayout(book, und_code, rejected, nt)
    held = layout.instrument_of_series
    und_ids = _np(book.underlyings.column("underlying")).astype(str)
    needed = np.unique(und_code[held])
    if revalued is None:
        risk, value0 = revalue_series(book, market, scen, held, revaluation, grid_points, nt)
    else:
        risk, value0 = revalued.rows(held, revaluation_key(scen, market, revaluation))
    scen = scen.select(und_ids[needed], missing="zero")   # missing ones were rejected or allowed
    m = tail_count(confidence, scen.n_scenarios)
    res = _core.sim_aggregate(*layout.args(), risk, m, nt)
    floor = _minimum(book, layout, market, held, value0, minimum)
    return SimulationMargin(book, scen, layout, res, risk, measure, confidence, m, floor,
                            rejected, error_frame, nt)


def _reject_missing(book, scen, und_code, rejected, error_frame, errors, missing):
    """Accounts holding an underlying the set lacks: an error (errors="raise"), rejected
    (errors="collect"), or nothing (missing="zero")."""
    if missing == "zero":
        return rejected, error_frame
    und_ids = _np(book.underlyings.column("underlying")).astype(str)
    absent = ~np.isin(und_ids, np.asarray(scen.underlyings, dtype=str))
    if not absent.any():
        return rejected, error_frame
    acct = _np(book.positions.column("account_code"))
    inst = _np(book.positions.column("instrument_code"))
    hit = absent[und_code[inst]] & ~rejected[acct]
    if not hit.any():
        return rejected, error_frame
    names = und_ids[np.unique(und_code[inst[hit]])]
    if errors == "raise":
        raise InputError(f"scenarios.underlying: the book's underlyings {format_ids(names)} are "
                         "missing from the scenario set (pass missing='zero' to hold them "
                         "unchanged, or errors='collect' to reject the accounts holding them)")
    acct, und = acct[hit], und_code[inst[hit]]
    frame = pd.DataFrame({"account": book.account_ids[acct], "table": "scenarios",
                          "column": "underlying",
                          "reason": [f"scenarios.underlying: underlying {format_ids([u])} is "
                                     "missing from the scenario set" for u in und_ids[und]]})
    rejected = rejected.copy()
    rejected[acct] = True
    return rejected, pd.concat([error_frame, frame.drop_duplicates()], ignore_index=True)


def _minimum(book, layout, market, held, value0, minimum):
    """Per account: the rule set's per-contract minimum summed over its positions (0 when
    ``minimum`` is None)."""
    floor = np.zeros(book.n_accounts)
    if minimum is None:
        return floor
    v0 = np.full(len(market.inputs["model"]), np.nan)
    v0[held] = value0
    per_unit, cap = market.minimum(minimum, v0)
    inst = held[layout.series]
    qty = layout.quantity
    each = np.abs(qty) * per_unit[inst]
    capped = (qty > 0) & ~np.isnan(cap[inst])
    each[capped] = np.minimum(each[capped], qty[capped] * cap[inst][capped])
    acct = layout.position_account
    return np.bincount(acct, weights=each, minlength=book.n_accounts)

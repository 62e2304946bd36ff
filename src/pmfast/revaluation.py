"""Revaluation: every instrument priced once per scenario, into :class:`RiskArrays`.

``revalue(book, run)`` turns the run's market snapshot and groups (``portfolio.prepare``) into
one :class:`Revaluation`: a ``RiskArrays`` per scenario set of the rule set (P&L per unit of
every instrument at every scenario, the model value today ``V_0``, scenario labels and the
groups' market moves), the concentration overlay's risk array, and the per-unit minimum and
long-option cap. It is produced once per run; the batch (``portfolio_margin``), the what-if
session (``WhatIf``) and a distributed run all consume the same object, and aggregate it over
their own layout.

Scenario sets today are the TIMS grids of the rule set (``rules.ScenarioSet``: an outer
product of valuation points and volatility shifts per group), revalued by ``reprice_grid`` per
distinct class move vector. :func:`grid_as_explicit` writes such a grid as the explicit
joint scenarios of ``pmfast.scenario_set.ScenarioSet`` (returns, relative vol shifts per
scenario and underlying), the form simulation margin revalues; see docs/architecture.md for
how the two meet.
"""
from dataclasses import dataclass

import numpy as np

from pmfast.stages import stage


@dataclass(frozen=True)
class RiskArrays:
    """One scenario set's revaluation of every instrument of a Book.

    ``pnl`` is ``[n_instruments, n_scenarios]``, per unit (multiplier included), rows of
    instruments of a bad market status zeroed (no margined account holds them); ``value0``
    the model value today per unit; ``labels`` ``[n_groups, n_scenarios]`` and
    ``market_moves`` ``[n_groups, n_moves]`` (a grid's valuation points per group)."""
    scenario_set: object
    pnl: np.ndarray
    value0: np.ndarray
    labels: np.ndarray
    market_moves: np.ndarray

    @property
    def n_scenarios(self):
        return self.pnl.shape[1]


@dataclass(frozen=True)
class Revaluation:
    """Everything a portfolio-margin aggregation needs per instrument, for one run."""
    sets: tuple                 # RiskArrays per scenario set, in the rule set's order
    concentration: object       # [n_instruments, 4] P&L per unit of the overlay, or None
    value0: np.ndarray
    minimum_per_unit: np.ndarray
    long_cap: np.ndarray

    @property
    def minimum(self):
        return self.minimum_per_unit, self.long_cap


def revalue(book, run):
    """The :class:`Revaluation` of ``book`` for ``run`` (a ``portfolio.RunInputs``)."""
    from pmfast.portfolio import _minimum_rule, concentration_risk_array, set_risk_array
    from pmfast.scenarios import scenario_labels
    rules, nt, inputs, vol = run.rules, run.n_threads, run.inputs, run.vol
    sets = []
    value0 = None       # V_0 is the same under every set: priced with the first only
    with stage("price_glue"):
        for ss in rules.scenario_sets:
            pnl, value0, market = set_risk_array(book, rules, inputs, vol, run.groups, ss, nt,
                                                 value0)
            sets.append(RiskArrays(ss, pnl, value0, scenario_labels(market, ss), market))
        per_unit, long_cap = _minimum_rule(rules, inputs, value0)
        concentration = (None if rules.concentration is None else
                         concentration_risk_array(book, rules, inputs, vol, nt, value0))
    return Revaluation(tuple(sets), concentration, value0, per_unit, long_cap)


def grid_as_explicit(book, groups, grid):
    """A TIMS grid (``rules.ScenarioSet``) over ``book``'s underlyings written as explicit
    joint scenarios (``pmfast.scenario_set.ScenarioSet``): scenario ``k = i x n_vols + j`` is
    valuation point ``i`` with volatility shift ``j`` (the risk arrays' order), each class
    moving by its own ``L x m_i`` (floored just above -100%: an explicit return must be > -1)
    and its volatility shifted by ``vol_shifts[j]`` (relative grids only: an explicit set's
    vol shifts are relative). Labels name the point and shift (``"p3 vol+25%"``); the
    per-group labels of the grid stay in ``RiskArrays.labels``."""
    from pmfast.errors import InputError
    from pmfast.scenario_set import ScenarioSet
    from pmfast.scenarios import class_moves
    shifts = np.asarray(grid.vol_shifts, dtype=np.float64)
    if grid.vol_shift_kind != "relative" and np.any(shifts != 0):
        raise InputError(f"scenario set {grid.name!r}: absolute vol shifts have no explicit "
                         "(relative) form")
    moves, _ = class_moves(groups, book, grid)               # [n_underlyings, n_moves]
    returns = np.repeat(moves.T, len(shifts), axis=0)        # [n_scenarios, n_underlyings]
    returns = np.maximum(returns, np.nextafter(-1.0, 0.0))
    vol = np.repeat(shifts[None, :], grid.n_moves, axis=0).reshape(-1, 1)
    labels = [f"p{i}" + (f" vol{s * 100:+.4g}%" if s else "")
              for i in range(grid.n_moves) for s in shifts]
    underlyings = np.asarray(book.underlyings.column("underlying").to_pylist(), dtype=object)
    return ScenarioSet(underlyings, returns, np.repeat(vol, len(underlyings), axis=1),
                       labels=labels, horizon_days=grid.horizon_days, source="tims grid")

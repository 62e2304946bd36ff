"""Today's market for simulation margin, through one adapter.

Everything simulation margin reads from the book's market (model code, spot or future price,
yield, strike, expiry, multiplier and the volatility of every instrument, and which accounts
are rejected for a volatility that cannot be found) comes through :func:`book_market`, so the
switch to the engine's market-snapshot layer is a change in this file only. The values are
portfolio margin's own (``pmfast.scenarios``): the same volatility and model, hence the same
``V_0``.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.market import resolve_market
from pmfast.portfolio import _minimum_rule
from pmfast.rules import RuleSet

# pmfast.pricing's model codes (pricing/options.hpp ``Model``) of the American engines
AMERICAN_MODEL_CODES = {"bjs1993": 2, "bjs2002": 3, "crr": 4, "fixed_point": 5}


@dataclass
class Market:
    """Per instrument of the book: pricing inputs (``inputs``, see
    ``pmfast.scenarios.instrument_inputs``), ``vol`` (NaN for shares, futures and options
    without a usable volatility), the accounts rejected so far with their reasons, and
    ``bad`` (the instruments the market cannot value: a status other than OK)."""
    rules: RuleSet
    inputs: dict
    vol: np.ndarray
    rejected: np.ndarray
    errors: pd.DataFrame
    bad: np.ndarray

    @property
    def american_model(self):
        return AMERICAN_MODEL_CODES[self.rules.american_model]

    def spot(self):
        """Price each instrument moves from: the spot (or future) for options, its own price
        for shares and futures."""
        lin = self.inputs["model"] == 3
        return np.where(lin, self.inputs["linear_spot"], self.inputs["spot"])

    def minimum(self, rules, value0):
        """Per instrument under ``rules``: per-contract minimum per unit of |quantity| and the
        long-option cap (portfolio-margin.md step 5)."""
        return _minimum_rule(RuleSet.load(rules), self.inputs, value0)


def book_market(book, rules, errors, n_threads, snapshot=None):
    """The :class:`Market` of ``book`` under ``rules``, from the engine's market snapshot
    (``pmfast.market.resolve_market``; ``snapshot``: one resolved already, e.g. by portfolio
    margin in the same batch). Instruments with a bad status (no volatility, an impossible
    mark) reject the accounts holding them, or raise with ``errors="raise"``, exactly as for
    portfolio margin."""
    rules = RuleSet.load(rules)
    if snapshot is None:
        snapshot = resolve_market(book, rules, n_threads=n_threads)
    elif (snapshot.american_model, snapshot.crr_steps) != (rules.american_model,
                                                           rules.crr_steps):
        raise InputError(f"market: resolved under american_model {snapshot.american_model!r}; "
                         f"the rule set {rules.name!r} takes {rules.american_model!r}")
    rejected, frame = snapshot.rejections(book, errors)
    return Market(rules, snapshot.inputs, snapshot.vol, rejected, frame, snapshot.bad)

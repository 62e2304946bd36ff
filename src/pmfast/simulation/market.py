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
from pmfast.portfolio import ERROR_COLUMNS, VOL_REASON, _minimum_rule, _vol_errors
from pmfast.rules import RuleSet
from pmfast.schema import format_ids
from pmfast.scenarios import _np, instrument_inputs, solve_volatility

# pmfast.pricing's model codes (pricing/options.hpp ``Model``) of the American engines
AMERICAN_MODEL_CODES = {"bjs1993": 2, "bjs2002": 3, "crr": 4, "fixed_point": 5}


@dataclass
class Market:
    """Per instrument of the book: pricing inputs (``inputs``, see
    ``pmfast.scenarios.instrument_inputs``), ``vol`` (NaN for shares and futures), and the
    accounts rejected so far with their reasons."""
    rules: RuleSet
    inputs: dict
    vol: np.ndarray
    rejected: np.ndarray
    errors: pd.DataFrame

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


def book_market(book, rules, errors, n_threads):
    """The :class:`Market` of ``book`` under ``rules`` (``errors``: "raise" or "collect" for an
    option whose volatility cannot be found)."""
    rules = RuleSet.load(rules)
    inputs = instrument_inputs(book, rules)
    vol = solve_volatility(book, rules, inputs, n_threads=n_threads)
    rejected = book.rejected.copy()
    ids = (_np(book.instruments.column("instrument")).astype(str) if vol.bad.any() else
           np.zeros(0, dtype=str))
    if errors == "raise" and vol.bad.any():
        raise InputError(f"instruments.implied_vol: {VOL_REASON} for instrument(s) "
                         f"{format_ids(ids[vol.bad])}")
    vol_errors, vol_rejected = _vol_errors(book, vol, rejected, ids)
    rejected |= vol_rejected
    frame = pd.concat([book.errors, vol_errors], ignore_index=True)[ERROR_COLUMNS]
    return Market(rules, inputs, vol.vol, rejected, frame)

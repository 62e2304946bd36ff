"""SPAN risk parameters as loaded from an exchange file (SPAN XML or CME pa2).

One ``SpanParams`` holds everything the engine needs, as flat arrays (one row per contract) and
small per-combined-commodity tables. Both loaders fill the same structure, so the engine, the
numpy twin and variation margin never look at the file format.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

N_SCEN = 16
KINDS = ("future", "option", "physical")


@dataclass
class SpreadLeg:
    """One leg of a spread: a combined commodity's tier (XML ``tLeg``) or period (``pLeg``,
    then ``period`` is set and ``tier`` unused), its side (A/B) and delta per spread."""
    cc: str
    tier: int
    side: str          # "A" or "B"
    ratio: float       # delta per spread (> 0)
    period: str | None = None


@dataclass
class Spread:
    """An intra- or inter-commodity spread definition, walked in ``priority`` order.

    ``rate`` is money per spread for intra spreads (``charge_meth`` ``F``) and a credit
    fraction (0.6 = 60 %) for inter spreads (``W``: weighted futures price risk)."""
    priority: int
    rate: float
    legs: list
    charge_meth: str = "F"


@dataclass
class Tier:
    """A tier of a combined commodity: tier number and the inclusive period range it covers
    (``None`` = every period). For SOM tiers ``rate`` is the short option minimum per option."""
    tn: int
    start: str | None = None
    end: str | None = None
    rate: float = 0.0

    def covers(self, period):
        """True when ``period`` (e.g. ``201605S0`` or ``201903``) falls in the tier."""
        if self.start is None and self.end is None:
            return True
        n = len(self.start or self.end)
        key = period[:n]
        return (self.start is None or key >= self.start) and (self.end is None or key <= self.end)


@dataclass
class SpotRate:
    """A delivery (spot) month charge: per delta consumed by spreads and per outright delta."""
    period: str
    spread_rate: float
    outright_rate: float


@dataclass
class CombinedCommodity:
    """One combined commodity (the SPAN margining unit) with its spread and minimum parameters."""
    code: str
    currency: str
    maintenance_ratio: float = 1.0   # maintenance = ratio x risk (Takasbank adjRate 0.75)
    cap_anov: bool = False
    som_method: str = "GROSS"
    wfpr_method: str = "NORMAL"
    intra_tiers: list = field(default_factory=list)
    inter_tiers: list = field(default_factory=list)
    scan_tiers: list = field(default_factory=list)
    som_tiers: list = field(default_factory=list)
    intra_spreads: list = field(default_factory=list)
    spot_rates: list = field(default_factory=list)


@dataclass
class SpanParams:
    """A loaded SPAN risk-parameter file.

    Attributes
    ----------
    contracts : pandas.DataFrame
        One row per contract: ``exchange, product, kind, period, strike, right, cc, price, cvf,
        delta, premium_style, psr``; ``strike`` is NaN and ``right`` empty for non-options.
    risk_arrays : numpy.ndarray
        ``(n_contracts, 16)`` loss of one long contract per scenario, in the CC's currency.
    ccs : list of CombinedCommodity
        In file order; ``contracts.cc`` indexes it.
    inter_spreads : list of Spread
        Inter-commodity spreads in priority order.
    fx : dict
        ``(from, to) -> factor`` currency conversions from the file.
    base_currency : str
        The currency every amount of a result is converted to.
    paired : numpy.ndarray
        ``paired[j]`` = the 0-based paired scenario of scenario ``j`` (itself when unpaired).
    """
    source: str
    file_format: str
    business_date: str
    clearing_org: str
    contracts: pd.DataFrame
    risk_arrays: np.ndarray
    ccs: list
    inter_spreads: list
    fx: dict
    base_currency: str
    paired: np.ndarray = field(default_factory=lambda: default_paired())

    def cc_index(self):
        """``{cc code: position in ccs}``."""
        return {cc.code: i for i, cc in enumerate(self.ccs)}

    def fx_to_base(self, currency):
        """Factor converting an amount in ``currency`` into the base currency."""
        if currency == self.base_currency:
            return 1.0
        if (currency, self.base_currency) in self.fx:
            return self.fx[(currency, self.base_currency)]
        if (self.base_currency, currency) in self.fx:
            return 1.0 / self.fx[(self.base_currency, currency)]
        raise KeyError(currency)

    def __repr__(self):
        return (f"SpanParams({self.clearing_org} {self.business_date}, {self.file_format}, "
                f"{len(self.contracts)} contracts, {len(self.ccs)} combined commodities, "
                f"{len(self.inter_spreads)} inter-commodity spreads)")


def default_paired():
    """The standard pairing: (1,2), (3,4) ... (13,14); 15 and 16 unpaired (0-based)."""
    paired = np.arange(N_SCEN)
    for j in range(0, 14, 2):
        paired[j], paired[j + 1] = j + 1, j
    return paired

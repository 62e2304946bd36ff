"""From a risk matrix's results to its margin: the parameters per group, the tie order of the
worst case, and the add-ons computed from per-group totals (delta shock, option contingency,
correlation contingency). The per-position work (P&L offset, extended-table dampener, worst
case, roll shock, net delta, short option units) is the compiled
``pmfast_core/crypto/crypto_groups.cpp``. Everything is elementwise over risk matrices
("groups": one per account, index and settlement), so one account in a what-if and a hundred
thousand in a batch go through the same arithmetic and get the same bits.

Which formulas are the venue's and which are ours: docs/crypto.md.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupParams:
    """Per risk matrix (group) parameters, in its settlement currency."""
    offset: np.ndarray        # pnl_offset: fraction of a scenario gain kept
    offset_cap: np.ndarray    # max_offsetable_pnl in the settlement currency
    dampener: np.ndarray      # extended_dampener in the settlement currency
    ext_factor: np.ndarray    # extended_table_factor
    index: np.ndarray         # index price
    inverse: np.ndarray       # bool
    max_delta_shock: np.ndarray
    delta_threshold: np.ndarray   # delta_total_liq_shock_threshold in USD
    option_contingency: np.ndarray


def tie_order(n_std, n_scenarios):
    """Entries in the order ties are broken [ours]: the standard table before the extended
    one; inside the standard table every unchanged-vol entry (by price point), then every
    vol-up entry, then every vol-down entry (the venue reports the middle, unchanged-vol entry
    of a bucket whose three entries tie); the extended table by position."""
    vol_rank = np.array([1, 0, 2])
    std = np.arange(n_std)
    std = std[np.lexsort((std, vol_rank[std % 3]))]
    return np.r_[std, np.arange(n_std, n_scenarios)].astype(np.int64)


def delta_shock(net_delta, p):
    """``max_delta_shock`` x the part of the net delta's USD value above
    ``delta_total_liq_shock_threshold``, in the settlement currency [ours]."""
    excess_usd = np.maximum(np.abs(net_delta) * p.index - p.delta_threshold, 0.0)
    charge_usd = p.max_delta_shock * excess_usd
    return np.where(p.inverse, charge_usd / p.index, charge_usd)


def option_contingency(short_units, p):
    """``option_contingency`` coins per coin of net short option series [the 2019 model's
    "0.01 BTC per net short option"; ours: per series], in the settlement currency."""
    coins = p.option_contingency * short_units
    return np.where(p.inverse, coins, coins * p.index)


def correlation_contingency(separate_worst, joint_worst, factor):
    """Where a settlement currency's ``correlation_set`` lets its pairs offset scenario by
    scenario, the fraction ``correlation_factor`` of that offset is charged back [ours]."""
    return factor * np.maximum(separate_worst - joint_worst, 0.0)

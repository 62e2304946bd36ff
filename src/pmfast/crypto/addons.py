"""From a risk matrix's aggregated vector to its margin: P&L offset, the extended-table
dampener, the worst case and its scenario, and the add-ons (roll shock, delta shock, option
contingency, correlation contingency). Every function is elementwise over risk matrices
("groups": one per account, index and settlement), so one account in a what-if and a
hundred thousand in a batch go through the same arithmetic and get the same bits.

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


def adjust(raw, n_std, p):
    """The vector the worst case is taken on: a scenario gain counts ``pnl_offset`` of itself
    (at most ``max_offsetable_pnl``) [venue: offset; ours: the cap]; an extended entry is
    ``extended_table_factor`` x P&L and a loss there is reduced by ``extended_dampener``, not
    below zero [ours]."""
    out = np.array(raw, dtype=np.float64, copy=True)
    ext = out[:, n_std:]
    ext *= p.ext_factor[:, None]
    gain = out > 0
    capped = np.minimum(out * p.offset[:, None], p.offset_cap[:, None])
    out = np.where(gain, capped, out)
    ext = out[:, n_std:]
    out[:, n_std:] = np.where(ext < 0, np.minimum(ext + p.dampener[:, None], 0.0), ext)
    return out


def tie_order(n_std, n_scenarios):
    """Entries in the order ties are broken: standard before extended; inside the standard
    table the unchanged-vol entry of a price point before vol up, then vol down (the venue
    reports the middle entry of a tied bucket); then by position."""
    vol_rank = np.array([1, 0, 2])
    std = np.arange(n_std)
    std = std[np.lexsort((std, vol_rank[std % 3]))]
    return np.r_[std, np.arange(n_std, n_scenarios)].astype(np.int64)


def worst(adjusted, order):
    """(worst_case = max(0, -min entry), index of that entry or -1 when nothing loses);
    ``order``: ``tie_order`` of the vector."""
    n = adjusted.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    k = np.argmin(adjusted[:, order], axis=1)
    idx = order[k]
    low = adjusted[np.arange(n), idx]
    return np.maximum(-low, 0.0), np.where(low < 0, idx, -1)


def roll_shock(exposure, rate):
    """Sum over expiries of |net delta exposure of the expiry| x its annualised move
    (``max(min_annualised_move, annualised_move_risk x T)``) [venue's example: the minimum x
    sum |size|; ours: netting per expiry, options through their delta, the T term].
    ``exposure``, ``rate``: [n_groups, n_expiry_codes]."""
    out = np.zeros(exposure.shape[0])
    for c in range(exposure.shape[1]):
        out += np.abs(exposure[:, c]) * rate[:, c]
    return out


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

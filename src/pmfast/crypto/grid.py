"""The crypto scenario grid and the risk vectors of every instrument.

Per currency pair (index): ``2 x buckets_count + 1`` price moves evenly spaced over
``±price_range``, each under three volatility scenarios in the order (up, unchanged, down): the
standard table, entry ``3 x point + vol``. Then the extended table: ``extended_table.moves``,
vol up only. A vector entry is the P&L per unit (per contract of ``multiplier`` coins) in the
settlement currency, gain positive: the venue's ``initial_risk_vectors`` divided by the size.

* Perpetual / future, inverse: ``1 - 1/(1 + m)`` coins per coin of size; linear:
  ``mark x m`` quote currency. Not revalued in the extended table: a down move takes the
  ``-price_range`` entry, an up move the ``+price_range`` one (as the venue's example shows).
* Option: Black-76 on ``F x (1 + m)`` with the shocked volatility
  ``vol x (1 ± range x (30 / days)^power)`` (power short-term under 30 days, long-term
  beyond; days floored at ``general.min_days``); the up shock is computed on at least
  ``min_volatility_for_shock_up`` and the down scenario floored at ``general.min_volatility``.
  Inverse options are valued in coins, ``value_usd / F``. P&L against the model value today.
"""
import numpy as np
import pandas as pd

from pmfast import pricing
from pmfast.crypto.instruments import OPTION
from pmfast.scenario_set import ScenarioSet

VOL_LABELS = ("vol up", "vol unchanged", "vol down")
DELTA_STEP = 1e-4       # relative forward step of the central-difference delta


def pair_table(rules, pairs):
    """Per pair: parameters as arrays (name -> float64[n_pairs])."""
    out = {}
    for key in ("price_range", "volatility_range_up", "volatility_range_down",
                "short_term_vega_power", "long_term_vega_power", "min_volatility_for_shock_up",
                "extended_table_factor", "max_delta_shock", "delta_total_liq_shock_threshold"):
        out[key] = np.array([rules.pair(u)[key] for u in pairs["underlying"]], dtype=np.float64)
    return out


def n_scenarios(rules):
    return 3 * (2 * rules.buckets_count + 1) + len(rules.extended_moves)


def scenario_moves(rules, price_range):
    """[n_pairs, n_scenarios] price move and vol scenario (0 up, 1 unchanged, 2 down) of
    each entry."""
    frac = np.repeat(np.array(rules.standard_moves), 3)
    ext = np.array(rules.extended_moves, dtype=np.float64)
    move = np.concatenate([price_range[:, None] * frac[None, :],
                           np.broadcast_to(ext, (len(price_range), len(ext)))], axis=1)
    vol = np.r_[np.tile([0, 1, 2], 2 * rules.buckets_count + 1), np.zeros(len(ext), int)]
    return move, vol


def scenario_labels(rules, price_range):
    """[n_pairs, n_scenarios] labels such as ``-16% vol unchanged``, ``extended +500% vol up``."""
    move, vol = scenario_moves(rules, price_range)
    n_std = 3 * (2 * rules.buckets_count + 1)
    labels = np.empty(move.shape, dtype=object)
    for p in range(move.shape[0]):
        for s in range(move.shape[1]):
            text = f"{move[p, s] * 100:+.4g}% {VOL_LABELS[vol[s]]}"
            labels[p, s] = text if s < n_std else f"extended {text}"
    return labels


def shocked_vols(rules, params, pair, vol, T):
    """(vol up, vol down) per option: the time-scaled shocks of the module docstring."""
    days = np.maximum(T * 365.0, rules.min_days)
    power = np.where(days < 30.0, params["short_term_vega_power"][pair],
                     params["long_term_vega_power"][pair])
    scale = (30.0 / days) ** power
    up = vol + np.maximum(vol, params["min_volatility_for_shock_up"][pair]) \
        * params["volatility_range_up"][pair] * scale
    down = np.maximum(vol * (1.0 - params["volatility_range_down"][pair] * scale),
                      rules.min_volatility)
    return up, np.minimum(down, vol)


def risk_vectors(rules, ci, params, rate, n_threads=None):
    """(pnl [n_instruments, n_scenarios], delta [n_instruments]) per unit in the settlement
    currency; non-crypto rows are zero. ``delta``: forward delta in coins (1 per coin of a
    perpetual or future)."""
    n = len(ci.kind)
    S = n_scenarios(rules)
    pnl = np.zeros((n, S))
    delta = np.zeros(n)
    move, vol_sc = scenario_moves(rules, params["price_range"])
    n_std = 3 * (2 * rules.buckets_count + 1)
    crypto = ci.kind >= 0
    one = np.flatnonzero(crypto & (ci.kind != OPTION))
    if one.size:
        m = move[ci.pair[one]].copy()
        # extended table: delta-one positions keep the edge of the standard table
        rng = params["price_range"][ci.pair[one]][:, None]
        m[:, n_std:] = np.where(m[:, n_std:] < 0, -rng, rng)
        inv = ci.inverse[one][:, None]
        pnl[one] = ci.multiplier[one][:, None] * np.where(
            inv, 1.0 - 1.0 / (1.0 + m), ci.mark[one][:, None] * m)
        delta[one] = ci.multiplier[one]
    opt = np.flatnonzero(crypto & (ci.kind == OPTION))
    if opt.size:
        p = ci.pair[opt]
        F, K, T, vol = ci.forward[opt], ci.strike[opt], ci.T[opt], ci.vol[opt]
        up, down = shocked_vols(rules, params, p, vol, T)
        vols = np.stack([up, vol, down], axis=1)[:, vol_sc]        # [n_opt, S]
        Fs = F[:, None] * (1.0 + move[p])
        right = ci.right[opt][:, None]
        h = DELTA_STEP
        # one pricing call: scenarios, value today, and the two delta points
        Fall = np.concatenate([Fs, F[:, None], F[:, None] * (1 + h), F[:, None] * (1 - h)], 1)
        vall = np.concatenate([vols, vol[:, None], vol[:, None], vol[:, None]], axis=1)
        value = pricing.black76(np.broadcast_to(right, Fall.shape), Fall, K[:, None],
                                T[:, None], rate, vall, n_threads=n_threads)
        v_s, v0 = value[:, :S], value[:, S]
        inv = ci.inverse[opt][:, None]
        mult = ci.multiplier[opt][:, None]
        pnl[opt] = mult * np.where(inv, v_s / Fs - (v0 / F)[:, None], v_s - v0[:, None])
        delta[opt] = ci.multiplier[opt] * (value[:, S + 1] - value[:, S + 2]) / (2 * h * F)
    return pnl, delta


def scenario_set(rules, underlyings):
    """The grid of ``underlyings`` (coin index ids) as a ``pmfast.scenario_set.ScenarioSet``:
    per scenario each index's price move (its own ``price_range``; the standard table, then
    the extended one) and its volatility shift at 30 days to expiry (``+volatility_range_up``,
    0, ``-volatility_range_down``). Per series the shift is then time-scaled and floored as
    ``shocked_vols`` says: the per-series vol shocks a crypto grid adds on top of a set.
    Labels: ``-4/4 vol up`` (price point over buckets_count), ``extended -66% vol up``."""
    params = pair_table(rules, pd.DataFrame({"underlying": list(underlyings)}))
    move, vol = scenario_moves(rules, params["price_range"])
    shift = np.stack([params["volatility_range_up"], np.zeros(len(move)),
                      -params["volatility_range_down"]], axis=1)[:, vol]
    B = rules.buckets_count
    n_std = 3 * (2 * B + 1)
    labels = [f"{k // 3 - B:+d}/{B} {VOL_LABELS[vol[k]]}" for k in range(n_std)]
    labels += [f"extended {m * 100:+g}% {VOL_LABELS[0]}" for m in rules.extended_moves]
    return ScenarioSet(list(underlyings), move.T, vol_shifts=shift.T, labels=labels,
                       source="crypto grid")

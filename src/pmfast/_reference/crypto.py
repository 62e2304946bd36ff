"""Reference twin of pmfast.crypto: the stated formulas of docs/crypto.md written the plain
way, one account and one position at a time, on the raw input tables (pandas), with options
valued by the closed-form Black-76 in numpy (not pmfast.pricing) and deltas by N(d1).

Used by the tests only; slow by design.
"""
import datetime
import math

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pmfast.crypto.rules import CryptoRules


def black76(right, F, K, T, r, vol):
    """Closed-form Black-76 (intrinsic value at T = 0 or vol = 0), ``right`` +1 / -1."""
    disc = math.exp(-r * T)
    sd = vol * math.sqrt(T)
    if sd <= 0:
        return disc * max(right * (F - K), 0.0)
    d1 = (math.log(F / K) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    return disc * right * (F * ndtr(right * d1) - K * ndtr(right * d2))


def black76_delta(right, F, K, T, r, vol):
    """dV/dF: e^{-rT} N(d1) for a call, e^{-rT} (N(d1) - 1) for a put."""
    disc = math.exp(-r * T)
    sd = vol * math.sqrt(T)
    if sd <= 0:
        return disc * (float(right * (F - K) > 0) * right)
    d1 = (math.log(F / K) + 0.5 * sd * sd) / sd
    return disc * (ndtr(d1) - (right < 0))


def _rules(rules):
    return rules if isinstance(rules, CryptoRules) else CryptoRules.preset(rules)


def position_vector(row, q, index, forward, rules, as_of, rate):
    """The venue's risk vector of one position (size ``q``), standard then extended, and its
    delta in coins."""
    pair = rules.pair(row["underlying"])
    B = rules.buckets_count
    rng = pair["price_range"]
    moves = [rng * k / B for k in range(-B, B + 1)]
    mult = row.get("multiplier", 1.0)
    mult = 1.0 if mult is None or (isinstance(mult, float) and math.isnan(mult)) else mult
    inverse = row.get("settlement", "inverse") in (None, "inverse") or (
        isinstance(row.get("settlement"), float))
    out = []
    if row["kind"] in ("perpetual", "future"):
        mark = row["price"]

        def pnl(m):
            return q * mult * ((1 - 1 / (1 + m)) if inverse else mark * m)
        for m in moves:
            out += [pnl(m)] * 3
        for m in rules.extended_moves:
            out.append(pnl(-rng if m < 0 else rng))
        return np.array(out), q * mult
    T = (pd.Timestamp(row["expiry"]).date() - as_of).days / 365.0
    right = 1 if str(row["right"]).upper().startswith("C") else -1
    K, vol = row["strike"], row["implied_vol"]
    days = max(T * 365, rules.min_days)
    power = pair["short_term_vega_power"] if days < 30 else pair["long_term_vega_power"]
    scale = (30 / days) ** power
    v_up = vol + max(vol, pair["min_volatility_for_shock_up"]) * pair["volatility_range_up"] * scale
    v_dn = min(vol, max(vol * (1 - pair["volatility_range_down"] * scale), rules.min_volatility))

    def value(F, v):
        usd = black76(right, F, K, T, rate, v)
        return usd / F if inverse else usd
    v0 = value(forward, vol)
    for m in moves:
        for v in (v_up, vol, v_dn):
            out.append(q * mult * (value(forward * (1 + m), v) - v0))
    for m in rules.extended_moves:
        out.append(q * mult * (value(forward * (1 + m), v_up) - v0))
    return np.array(out), q * mult * black76_delta(right, forward, K, T, rate, vol)


def portfolio_margin(positions, instruments, underlyings, as_of, rate=0.0, rules="deribit"):
    """{(account, currency): dict of worst_case, worst_index, roll_shock, delta_shock,
    option_contingency, requirement, maintenance, vector (adjusted)} for single-pair
    currencies (no correlation set)."""
    rules = _rules(rules)
    as_of = pd.Timestamp(as_of).date() if not isinstance(as_of, datetime.date) else as_of
    pos = pd.DataFrame(positions)
    ins = pd.DataFrame(instruments).set_index("instrument")
    und = pd.DataFrame(underlyings).set_index("underlying")
    n_std = 3 * (2 * rules.buckets_count + 1)
    out = {}
    for (account, ), frame in pos.groupby(["account"]):
        net = frame.groupby("instrument")["quantity"].sum()
        per_pair = {}
        for inst, q in net.items():
            row = ins.loc[inst].to_dict()
            row["instrument"] = inst
            settlement = row.get("settlement", "inverse")
            settlement = "inverse" if not isinstance(settlement, str) else settlement
            index = und.loc[row["underlying"], "price"]
            forward = row.get("price")
            expiry = row.get("expiry")
            if row["kind"] == "option":
                same = ins[(ins["kind"] == "future") & (ins["underlying"] == row["underlying"])
                           & (ins["expiry"].astype(str) == str(expiry))].sort_index()
                T = (pd.Timestamp(expiry).date() - as_of).days / 365.0
                forward = same["price"].iloc[0] if len(same) else index * math.exp(rate * T)
            vec, delta = position_vector(row, q, index, forward, rules, as_of, rate)
            key = (row["underlying"], settlement)
            acc = per_pair.setdefault(key, {"vec": 0.0, "expiries": {}, "delta": 0.0,
                                            "short": 0.0, "index": index})
            acc["vec"] = acc["vec"] + vec
            acc["delta"] += delta
            T = 0.0 if row["kind"] == "perpetual" else \
                (pd.Timestamp(expiry).date() - as_of).days / 365.0
            ex = acc["expiries"].setdefault("perp" if row["kind"] == "perpetual" else str(expiry),
                                            [0.0, T])
            ex[0] += delta * (1.0 if settlement == "inverse" else forward)
            if row["kind"] == "option":
                mult = row.get("multiplier", 1.0)
                mult = 1.0 if mult is None or mult != mult else mult
                acc["short"] += max(-q, 0.0) * mult
        for (underlying, settlement), acc in per_pair.items():
            inverse = settlement == "inverse"
            coin = str(underlying).split("_")[0].upper()
            currency = coin if inverse else rules.linear_currency.upper()
            cp = rules.currency(currency)
            pair = rules.pair(underlying)
            index = acc["index"]
            conv = 1 / index if inverse else 1.0
            vec = np.array(acc["vec"], dtype=float)
            vec[n_std:] *= pair["extended_table_factor"]
            adj = []
            for k, x in enumerate(vec):
                if x > 0:
                    x = min(x * cp["pnl_offset"], cp["max_offsetable_pnl"] * conv)
                elif k >= n_std and x < 0:
                    x = min(x + cp["extended_dampener"] * conv, 0.0)
                adj.append(x)
            adj = np.array(adj)
            low = adj.min()
            worst = max(-low, 0.0)
            roll = sum(abs(e) * max(cp["min_annualised_move"], cp["annualised_move_risk"] * T)
                       for e, T in acc["expiries"].values())
            excess = max(abs(acc["delta"]) * index - pair["delta_total_liq_shock_threshold"], 0)
            dshock = pair["max_delta_shock"] * excess * conv
            oc = cp["option_contingency"] * acc["short"] * (1.0 if inverse else index)
            req = worst + roll + dshock + oc
            out[(account, currency)] = {
                "worst_case": worst, "worst_index": int(np.argmin(adj)) if low < 0 else -1,
                "roll_shock": roll, "delta_shock": dshock, "option_contingency": oc,
                "requirement": req, "maintenance": rules.mm_factor * req, "vector": adj,
                "raw": np.array(acc["vec"], dtype=float)}
    return out

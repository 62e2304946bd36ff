"""A book priced once for a crypto rule set, and the margin of any set of its risk matrices.

``CryptoEngine`` holds per instrument the risk vector (P&L per unit at each scenario), the
delta and the add-on weights, and per pair (index, settlement) its parameters. ``margin_of``
turns positions laid out by (account, pair) into per-group and per-(account, currency)
results; the batch (``portfolio_margin``) and the what-if call it with the same arithmetic.
"""
import numpy as np

from pmfast import _core
from pmfast.crypto.addons import (GroupParams, correlation_contingency, delta_shock,
                                  option_contingency, tie_order)
from pmfast.crypto.grid import n_scenarios, pair_table, risk_vectors, scenario_labels
from pmfast.crypto.instruments import OPTION, crypto_instruments


class CryptoEngine:
    """Risk vectors and add-on weights of every instrument of ``book`` under ``rules``."""

    def __init__(self, book, rules, n_threads):
        self.book = book
        self.rules = rules
        self.n_threads = n_threads
        ci = self.ci = crypto_instruments(book, rules)
        params = self.params = pair_table(rules, ci.pairs)
        self.n_std = 3 * (2 * rules.buckets_count + 1)
        self.n_scenarios = n_scenarios(rules)
        self.pnl, self.delta = risk_vectors(rules, ci, params, book.rate, n_threads)
        # roll exposure per unit, in the settlement currency: delta coins (x forward if linear)
        fwd = np.where(ci.inverse, 1.0, np.nan_to_num(ci.forward))
        self.roll_weight = self.delta * fwd
        self.short_weight = np.where(ci.kind == OPTION, ci.multiplier, 0.0)
        self.labels = scenario_labels(rules, params["price_range"])
        self.tie_order = tie_order(self.n_std, self.n_scenarios)
        self._pair_setup()

    def _pair_setup(self):
        rules, ci, pairs = self.rules, self.ci, self.ci.pairs
        inverse = pairs["inverse"].to_numpy(bool)
        index = pairs["index"].to_numpy(np.float64)
        ccy = [rules.currency(c) for c in pairs["currency"]]

        def col(key):
            return np.array([c[key] for c in ccy], dtype=np.float64)

        to_ccy = np.where(inverse, 1.0 / index, 1.0) if len(index) else index  # USD -> ccy
        self.pair_params = GroupParams(
            offset=col("pnl_offset"), offset_cap=col("max_offsetable_pnl") * to_ccy,
            dampener=col("extended_dampener") * to_ccy,
            ext_factor=self.params["extended_table_factor"], index=index, inverse=inverse,
            max_delta_shock=self.params["max_delta_shock"],
            delta_threshold=self.params["delta_total_liq_shock_threshold"],
            option_contingency=col("option_contingency"))
        self.ccy_names, self.ccy_of_pair = np.unique(pairs["currency"].to_numpy(str),
                                                     return_inverse=True)
        self.correlation_set = np.array([c["correlation_set"] for c in ccy], dtype=bool)
        self.correlation_factor = col("correlation_factor")
        # annualised move of each (pair, expiry): max(min_annualised_move, risk x T)
        code_T = np.zeros(ci.n_expiry_codes)
        crypto = ci.kind >= 0
        code_T[ci.expiry_code[crypto]] = ci.T[crypto]
        self.rate = np.maximum(col("min_annualised_move")[:, None],
                               col("annualised_move_risk")[:, None] * code_T[None, :])

    # -- aggregation -------------------------------------------------------------------------
    def group_vectors(self, instrument, quantity, group_start, account_start):
        """Raw aggregated vectors [n_groups, n_scenarios]: sum of quantity x risk vector over
        each group's positions, by the compiled aggregation (one class per group)."""
        n_groups = len(group_start) - 1
        n_ins = self.pnl.shape[0]
        res = _core.margin_aggregate(
            instrument, quantity, group_start, np.arange(n_groups + 1, dtype=np.int64),
            account_start, np.ones(n_groups), self.pnl, np.zeros(n_ins), np.full(n_ins, np.nan),
            True, False, self.n_threads)
        return res["class_pnl"]

    def margin_of(self, instrument, quantity, group_start, group_pair, account_start):
        """Per group: raw vector, adjusted vector, worst case and index, roll shock, delta
        shock, option contingency, net delta. Positions sorted by (account, pair), one group
        per (account, pair), CSR ``group_start`` into positions."""
        raw = self.group_vectors(instrument, quantity, group_start, account_start)
        res = self.reduce(raw, group_pair, group_start, instrument, quantity, self.pair_params,
                          self.rate)
        p = _take(self.pair_params, group_pair)
        return {"raw": raw, "adjusted": res["adjusted"], "worst_case": res["worst_case"],
                "worst_index": res["worst_index"], "roll_shock": res["roll_shock"],
                "delta_shock": delta_shock(res["net_delta"], p),
                "option_contingency": option_contingency(res["short_units"], p),
                "net_delta": res["net_delta"]}

    def reduce(self, raw, group_pair, group_start, instrument, quantity, params, rate):
        """The compiled per-group step (crypto_groups.hpp): offset, dampener, worst case, roll
        shock, net delta, short option units."""
        ci = self.ci
        return _core.crypto_group_margin(
            raw, self.n_std, group_pair, group_start, instrument, quantity, self.tie_order,
            ci.expiry_code, self.roll_weight, self.delta, self.short_weight, params.offset,
            params.offset_cap, params.dampener, params.ext_factor, rate, self.n_threads)

    def currency_rows(self, group_account, group_pair, g):
        """Per (account, settlement currency): the groups' margins summed, with a correlation
        contingency where the currency has ``correlation_set``. Returns the row keys and
        columns; group rows arrive sorted by (account, pair)."""
        ccy_names, ccy_of_pair = self.ccy_names, self.ccy_of_pair
        gc = ccy_of_pair[group_pair] if len(group_pair) else np.zeros(0, np.int64)
        key = group_account * max(len(ccy_names), 1) + gc
        order = np.lexsort((group_pair, key))
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) \
            if len(key) else np.zeros(0, np.int64)
        rows = {name: np.add.reduceat(g[name][order], starts) if len(starts) else np.zeros(0)
                for name in ("worst_case", "roll_shock", "delta_shock", "option_contingency")}
        n_rows = len(starts)
        sizes = np.diff(np.r_[starts, len(key)])
        first = order[starts]
        # worst scenario of a row: the group with the largest worst case (first pair on ties)
        best = first
        if np.any(sizes > 1):
            by_worst = np.lexsort((group_pair, -g["worst_case"], key))
            best = by_worst[starts]
        corr = np.zeros(n_rows)
        joint_index = np.full(n_rows, -2, dtype=np.int64)   # -2: not joint
        for r in np.flatnonzero((sizes > 1) & self.correlation_set[group_pair[first]]):
            members = order[starts[r]:starts[r] + sizes[r]]
            joint_raw = g["raw"][members].sum(axis=0)[None, :]
            # each pair's extended factor applies to its own vector before the sum
            ext = (g["raw"][members, self.n_std:]
                   * self.pair_params.ext_factor[group_pair[members]][:, None]).sum(axis=0)
            joint_raw[0, self.n_std:] = ext
            pm = _take(self.pair_params, group_pair[members[:1]])
            pm = GroupParams(**{**pm.__dict__, "ext_factor": np.ones(1)})
            joint = self.reduce(np.ascontiguousarray(joint_raw), np.zeros(1, np.int64),
                                np.zeros(2, np.int64), np.zeros(0, np.int32), np.zeros(0), pm,
                                np.zeros((1, self.rate.shape[1])))
            jw, ji = joint["worst_case"], joint["worst_index"]
            corr[r] = correlation_contingency(rows["worst_case"][r], jw[0],
                                              self.correlation_factor[group_pair[first[r]]])
            rows["worst_case"][r] = jw[0]
            joint_index[r] = ji[0]
        return {"account": group_account[first], "currency": ccy_names[gc[first]]
                if n_rows else np.zeros(0, str), "best_group": best, "joint_index": joint_index,
                "correlation_contingency": corr, **rows}


def _take(params, rows):
    return GroupParams(**{k: v[rows] for k, v in params.__dict__.items()})

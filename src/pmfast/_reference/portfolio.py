"""numpy/pandas twin of portfolio margin, written straight from portfolio-margin.md: one row per
position and scenario, pandas group-bys for the class and product groups. Slow and obvious; the
oracle the compiled engine is tested against. It shares only the Book (validated inputs), the
RuleSet (data) and the pricing kernels with the engine: European values come from the pricing
twin, American values from ``pmfast.pricing.american`` (tested on its own against a converged
tree), and volatilities from ``pmfast.pricing.implied_vol``.
"""
import numpy as np
import pandas as pd

from pmfast import pricing
from pmfast._reference.pricing import black76_value, bsm_value
from pmfast.rules import RuleSet


def _frames(book):
    ins = book.instruments.to_pandas()
    und = book.underlyings.to_pandas()
    pg = book.product_groups.to_pandas()
    pos = book.positions.to_pandas()
    pos["account"] = book.account_ids[pos["account_code"].to_numpy()]
    pos = pos.join(ins.add_prefix("i_"), on="instrument_code")
    pos = pos.merge(und.add_prefix("u_"), left_on="i_underlying", right_on="u_underlying")
    return pos, ins, und, pg


def _group_table(und, pg, rules):
    """Range and offset per group, straight from the spec's words."""
    und = und.copy()
    und["group"] = np.where(und["product_group"].notna(), "P:" + und["product_group"].astype(str),
                            "C:" + und["underlying"])
    rows = []
    for group, members in und.groupby("group"):
        types = sorted(set(members["group_type"]))
        down = min(rules.ranges[t].down for t in types)
        up = max(rules.ranges[t].up for t in types)
        offset = min(rules.offsets[t] for t in types)
        if group.startswith("P:"):
            row = pg[pg["product_group"] == group[2:]]
            if len(row):
                if pd.notna(row["offset"].iloc[0]):
                    offset = row["offset"].iloc[0]
                if pd.notna(row["down"].iloc[0]):
                    down = row["down"].iloc[0]
                if pd.notna(row["up"].iloc[0]):
                    up = row["up"].iloc[0]
        for u in members["underlying"]:
            if u in rules.overrides:
                o = rules.overrides[u]  # an override widens, never narrows
                down, up = min(down, o.down), max(up, o.up)
        rows.append({"group": group, "down": down, "up": up, "offset": offset})
    groups = pd.DataFrame(rows).set_index("group")
    return und.set_index("underlying")["group"], groups


def _vol(pos, book, rules):
    vol = pos["i_implied_vol"].to_numpy(dtype=float).copy()
    kind = pos["i_kind"].to_numpy()
    is_opt = (kind == "option") | (kind == "future_option")
    for i in np.flatnonzero(is_opt & np.isnan(vol)):
        row = pos.iloc[i]
        if row["i_T"] == 0:
            vol[i] = 0.0
            continue
        solved = np.nan
        if pd.notna(row["i_price"]):
            if kind[i] == "future_option":
                spot, q, style, model = row["fut_price"], 0.0, "european", "black76"
            elif row["i_style"] == "american":
                spot, q, style, model = row["u_price"], row["u_dividend_yield"], "american", \
                    rules.american_model
            else:
                spot, q, style, model = row["u_price"], row["u_dividend_yield"], "european", "bsm"
            solved = float(np.asarray(pricing.implied_vol(
                row["i_price"], int(row["i_right_code"]), spot, row["i_strike"], row["i_T"],
                book.rate, q, style=style, model=model, steps=rules.crr_steps)))
        if np.isfinite(solved) and solved >= 0:
            vol[i] = solved
        elif pd.notna(row["u_volatility"]):
            vol[i] = row["u_volatility"]
        else:
            raise ValueError(f"no volatility for {row['i_instrument']}")
    return vol


def _value(row, spot, vol, T, book, rules):
    kind = row["i_kind"]
    if kind in ("equity", "future"):
        return spot
    right = int(row["i_right_code"])
    K = row["i_strike"]
    if kind == "future_option":
        return float(black76_value(right, spot, K, T, book.rate, vol))
    if row["i_style"] == "european":
        return float(bsm_value(right, spot, K, T, book.rate, row["u_dividend_yield"], vol))
    return float(pricing.american(right, spot, K, T, book.rate, row["u_dividend_yield"], vol,
                                  model=rules.american_model, steps=rules.crr_steps,
                                  n_threads=1))


def scenario_pnl(book, rules, scenario_set):
    """Per position: P&L at each scenario (columns 0..S-1), with account/group/class keys."""
    pos, ins, und, pg = _frames(book)
    group_of, groups = _group_table(und, pg, rules)
    pos["group"] = pos["i_underlying"].map(group_of)
    fut_price = ins["price"].to_numpy()
    pos["fut_price"] = np.where(pos["i_future_code"] >= 0,
                                fut_price[np.maximum(pos["i_future_code"], 0)], np.nan)
    vols = _vol(pos, book, rules)
    n_sc = scenario_set.n_scenarios
    out = np.zeros((len(pos), n_sc))
    value0 = np.zeros(len(pos))
    for i in range(len(pos)):
        row = pos.iloc[i]
        g = groups.loc[row["group"]]
        moves = scenario_set.moves(g["down"], g["up"])
        base = row["fut_price"] if row["i_kind"] == "future_option" else (
            row["i_price"] if row["i_kind"] in ("equity", "future") else row["u_price"])
        T = row["i_T"]
        T_h = max(T - scenario_set.horizon_days / 365.0, 0.0)
        v0 = _value(row, base, vols[i], T, book, rules)
        value0[i] = v0
        k = 0
        for m in moves:
            spot = base * max(1.0 + row["u_leverage"] * m, 0.0)
            for shift in scenario_set.vol_shifts:
                if scenario_set.vol_shift_kind == "relative":
                    v = vols[i] * (1.0 + shift)
                else:
                    v = vols[i] + shift
                v = max(v, 1e-4)
                if row["i_kind"] in ("equity", "future"):
                    vi = spot
                else:
                    vi = _value(row, spot, v, T_h, book, rules)
                out[i, k] = row["quantity"] * row["i_multiplier"] * (vi - v0)
                k += 1
    frame = pd.DataFrame(out)
    keys = pos[["account", "group", "i_underlying", "quantity", "i_kind", "i_multiplier",
                "i_price"]].reset_index(drop=True)
    keys["value0"] = value0
    return pd.concat([keys, frame], axis=1), groups


def portfolio_margin(book, rules="finra-cpm"):
    """Account requirement, risk and minimum for every account, one scenario set at a time,
    then the max over scenario sets (and the concentration overlay)."""
    rules = RuleSet.load(rules)
    results = []
    for ss in rules.scenario_sets:
        pnl, groups = scenario_pnl(book, rules, ss)
        cols = list(range(ss.n_scenarios))
        # step 2: class groups net 100%
        cls = pnl.groupby(["account", "group", "i_underlying"])[cols].sum()
        # step 3: a fraction alpha of each class group's gain offsets other class groups' losses
        alpha = groups.loc[cls.index.get_level_values("group"), "offset"].to_numpy()[:, None]
        haircut = np.where(cls.to_numpy() < 0, cls.to_numpy(), alpha * cls.to_numpy())
        net = pd.DataFrame(haircut, index=cls.index).groupby(level=["account", "group"]).sum()
        # step 4: group risk
        risk = np.maximum(0.0, (-net).max(axis=1))
        # step 5: minimums
        is_contract = pnl["i_kind"] != "equity"
        per = rules.minimum_per_contract * pnl["i_multiplier"] * pnl["quantity"].abs()
        market = pnl["i_price"].fillna(pnl["value0"])
        capped = np.minimum(per, pnl["quantity"] * pnl["i_multiplier"] * market)
        is_long_option = (pnl["quantity"] > 0) & pnl["i_kind"].isin(["option", "future_option"])
        if rules.cap_long_at_market_value:
            per = np.where(is_long_option, capped, per)
        pnl["minimum"] = np.where(is_contract, per, 0.0)
        minimum = pnl.groupby(["account", "group"])["minimum"].sum().reindex(risk.index)
        # step 6
        req = np.maximum(risk, minimum)
        acc = pd.DataFrame({"requirement": req, "risk": risk, "minimum": minimum}).groupby(
            level="account").sum()
        results.append(acc)
    # requirement = max over scenario sets (and the overlay); risk and minimum are those of the
    # set that binds (the first one on ties); an overlay that binds is the risk itself
    index = pd.Index(book.account_ids, name="account")
    per_set = [acc.reindex(index).fillna(0.0) for acc in results]
    table = pd.DataFrame(index=index)
    table["requirement"] = per_set[0]["requirement"]
    table["risk"] = per_set[0]["risk"]
    table["minimum"] = per_set[0]["minimum"]
    for acc in per_set[1:]:
        wins = acc["requirement"] > table["requirement"]
        table.loc[wins, ["requirement", "risk", "minimum"]] = acc.loc[
            wins, ["requirement", "risk", "minimum"]]
    if rules.concentration is not None:
        overlay = concentration(book, rules).reindex(index).fillna(0.0)
        wins = overlay > table["requirement"]
        table.loc[wins, "requirement"] = overlay[wins]
        table.loc[wins, "risk"] = overlay[wins]
        table.loc[wins, "minimum"] = per_set[0].loc[wins, "minimum"]
    table.loc[book.rejected, ["requirement", "risk", "minimum"]] = np.nan
    return table.reset_index()


def concentration(book, rules):
    """The overlay: per account, the `largest` class groups by loss at +-large, others at
    +-other, no offsets."""
    c = rules.concentration
    # a 2-point scenario set with range +-large, and one with +-other; groups do not matter
    out = {}
    for name, move in (("large", c.large_move), ("other", c.other_move)):
        flat = rules.replace(ranges={g: (-move, move) for g in rules.ranges}, overrides={})
        flat = flat.replace(scenario_sets=(flat.scenario_sets[0].__class__(points=2),))
        pnl, _ = scenario_pnl(_Ungrouped(book), flat, flat.scenario_sets[0])
        cls = pnl.groupby(["account", "i_underlying"])[[0, 1]].sum()
        out[name] = np.maximum(0.0, -cls.min(axis=1))
    frame = pd.DataFrame(out)
    frame["rank"] = frame.groupby(level="account")["large"].rank(method="first", ascending=False)
    frame["charge"] = np.where(frame["rank"] <= c.largest, frame["large"], frame["other"])
    return frame.groupby(level="account")["charge"].sum()


class _Ungrouped:
    """A view of a book with every class stand-alone and no product-group overrides."""

    def __init__(self, book):
        import pyarrow as pa
        self._book = book
        und = book.underlyings
        idx = und.column_names.index("product_group")
        self.underlyings = und.set_column(idx, "product_group",
                                          pa.nulls(und.num_rows, pa.string()))
        self.product_groups = book.product_groups.slice(0, 0)

    def __getattr__(self, name):
        return getattr(self._book, name)


def segment_sums(instrument, quantity, start, pnl):
    """Twin of the compiled ``segment_sums``: ``[n_segments, n_scenarios]`` sums of
    ``quantity x pnl[instrument]`` over each segment ``start[g]:start[g + 1]`` (empty: 0)."""
    n_seg = len(start) - 1
    out = np.zeros((n_seg, pnl.shape[1]))
    if len(instrument) == 0:
        return out
    rows = quantity[:, None] * pnl[instrument]
    filled = np.diff(start) > 0
    out[filled] = np.add.reduceat(rows, np.asarray(start[:-1])[filled], axis=0)
    return out


def segment_worst_loss(pnl):
    """Twin of the compiled ``segment_worst_loss``: per row ``max(0, -min)`` and the first
    column of the minimum."""
    worst = np.argmin(pnl, axis=1).astype(np.int32) if pnl.shape[0] else np.zeros(0, np.int32)
    low = pnl[np.arange(pnl.shape[0]), worst] if pnl.shape[0] else np.zeros(0)
    return np.maximum(0.0, -low), worst


def margin_aggregate(instrument, quantity, class_start, group_start, account_start, group_offset,
                     pnl, min_per_unit, min_long_cap):
    """Vectorised numpy twin of the compiled aggregation kernel (same CSR layout): gather of
    risk-array rows, segmented sums with ``np.add.reduceat``, offsets, risk and minimums.
    Returns account requirement, risk and minimum. The baseline of the benchmarks."""
    n_acc = len(account_start) - 1
    if len(instrument) == 0:
        return np.zeros(n_acc), np.zeros(n_acc), np.zeros(n_acc)
    rows = quantity[:, None] * pnl[instrument]                       # [positions, S]
    cls = np.add.reduceat(rows, class_start[:-1], axis=0)            # [class rows, S]
    class_group = np.repeat(np.arange(len(group_start) - 1), np.diff(group_start))
    alpha = group_offset[class_group][:, None]
    haircut = np.where(cls < 0, cls, alpha * cls)
    net = np.add.reduceat(haircut, group_start[:-1], axis=0)
    risk = np.maximum(0.0, (-net).max(axis=1))
    charge = min_per_unit[instrument] * np.abs(quantity)
    cap = quantity * min_long_cap[instrument]
    capped = (quantity > 0) & ~np.isnan(min_long_cap[instrument])
    charge = np.where(capped, np.minimum(charge, cap), charge)
    pos_group = np.repeat(class_group, np.diff(class_start))
    minimum = np.bincount(pos_group, weights=charge, minlength=len(group_start) - 1)
    req = np.maximum(risk, minimum)
    group_account = np.repeat(np.arange(n_acc), np.diff(account_start))
    return (np.bincount(group_account, weights=req, minlength=n_acc),
            np.bincount(group_account, weights=risk, minlength=n_acc),
            np.bincount(group_account, weights=minimum, minlength=n_acc))


aggregate_numpy = margin_aggregate    # its former name (benchmarks and older tests)

"""Variation margin: the daily settlement-to-settlement mark of futures and futures-style
options, ``quantity x contract value factor x (settlement - previous settlement)``; a gain is
positive (paid to the account). Premium-style options and physicals settle none: their value is
in the account's equity (and in SPAN's net option value)."""
import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.span.params import SpanParams

_KEY = ["product", "kind", "period", "strike", "right"]
ERROR_MODES = ("raise", "collect")


def _prices(source, name):
    """Normalise ``source`` (SpanParams or table) to ``key + price, cvf, marked, fx``."""
    if isinstance(source, SpanParams):
        c = source.contracts
        fx = np.array([source.fx_to_base(cc.currency) for cc in source.ccs])[c["cc"].to_numpy()]
        frame = pd.DataFrame({"product": c["product"], "kind": c["kind"],
                              "period": c["period"].astype(str), "strike": c["strike"],
                              "right": c["right"], "price": c["price"], "cvf": c["cvf"],
                              "marked": (c["kind"] == "future") |
                                        ((c["kind"] == "option") & ~c["premium_style"]),
                              "fx": fx})
        return frame, source.base_currency
    tbl = to_arrow(source, name).to_pandas()
    missing = [k for k in ("product", "kind", "period", "price") if k not in tbl.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}")
    frame = pd.DataFrame({"product": tbl["product"].astype(str), "kind": tbl["kind"].astype(str),
                          "period": tbl["period"].astype(str),
                          "strike": pd.to_numeric(tbl.get("strike", np.nan), errors="coerce"),
                          "right": tbl.get("right", "").fillna("").astype(str)
                          if "right" in tbl else "",
                          "price": pd.to_numeric(tbl["price"], errors="coerce"),
                          "cvf": pd.to_numeric(tbl["cvf"], errors="coerce")
                          if "cvf" in tbl else 1.0})
    style = tbl["futures_style"].astype(bool) if "futures_style" in tbl else False
    frame["marked"] = (frame["kind"] == "future") | ((frame["kind"] == "option") & style)
    frame["fx"] = 1.0
    bad = ~np.isfinite(frame["price"].to_numpy(float)) | ~np.isfinite(frame["cvf"].to_numpy(float))
    if bad.any():
        r = frame[bad].iloc[0]
        raise InputError(f"{name}: {r['product']} {r['kind']} {r['period']}: price or cvf is "
                         "not a finite number")
    return frame, None


def _keyed(frame):
    out = frame.copy()
    out["strike"] = np.where(out["kind"] == "option", out["strike"].astype(float), -1.0)
    out["right"] = np.where(out["kind"] == "option", out["right"].fillna("").astype(str)
                            .str.upper(), "")
    return out


class VariationResult:
    """``accounts``: ``account, variation_margin, currency, status`` (one row per account of
    the positions); ``contracts``: the per-position detail; ``errors`` as in span_margin."""

    def __init__(self, accounts, contracts, errors):
        self.accounts = accounts
        self.contracts = contracts
        self.errors = errors

    def __repr__(self):
        return f"VariationResult({len(self.accounts)} accounts, {len(self.contracts)} positions)"


def variation_margin(positions, today, previous, *, errors="raise"):
    """Daily variation margin of futures and futures-style options, per account.

    Parameters
    ----------
    positions : table or path
        ``account, product, kind, period, quantity`` (+ ``strike, right`` for options); an
        optional ``trade_price`` is used for a position with no previous settlement (opened
        today).
    today, previous : SpanParams or table
        Today's and the previous settlement: loaded SPAN files, or tables ``product, kind,
        period, strike, right, price[, cvf][, futures_style]`` (cvf defaults to 1; options in
        a table are premium-style unless ``futures_style`` is true).
    errors : {"raise", "collect"}
        As in ``span_margin``.

    Returns
    -------
    VariationResult
        ``.accounts`` (``account, variation_margin, currency, status``) and ``.contracts``
        (per position: prices, cvf and its variation margin; gains positive).

    Raises
    ------
    pmfast.InputError
        A position with no settlement today, or with neither a previous settlement nor a
        trade price, naming the account and the contract.
    """
    if errors not in ERROR_MODES:
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    pos = to_arrow(positions, "positions").to_pandas()
    missing = [k for k in ("account", "product", "kind", "period", "quantity")
               if k not in pos.columns]
    if missing:
        raise InputError(f"positions: missing required column(s) {', '.join(missing)}")
    pos = pos.assign(period=pos["period"].astype(str),
                     strike=pd.to_numeric(pos["strike"], errors="coerce")
                     if "strike" in pos else np.nan,
                     right=pos["right"] if "right" in pos else "")
    tday, currency = _prices(today, "today")
    prev, _ = _prices(previous, "previous")
    pk = _keyed(pos).reset_index(names="_row")
    merged = pk.merge(_keyed(tday)[_KEY + ["price", "cvf", "marked", "fx"]], on=_KEY, how="left")
    merged = merged.merge(_keyed(prev)[_KEY + ["price"]].rename(columns={"price": "previous"}),
                          on=_KEY, how="left").sort_values("_row")
    q = pd.to_numeric(merged["quantity"], errors="coerce").to_numpy(float)
    trade = pd.to_numeric(merged["trade_price"], errors="coerce").to_numpy(float) \
        if "trade_price" in merged else np.full(len(merged), np.nan)
    start = np.where(np.isfinite(merged["previous"].to_numpy(float)),
                     merged["previous"].to_numpy(float), trade)
    marked = merged["marked"].fillna(False).to_numpy(bool)
    bad_q = ~np.isfinite(q)
    unknown = ~bad_q & merged["price"].isna().to_numpy()
    no_start = ~bad_q & ~unknown & marked & ~np.isfinite(start)
    problems = []
    for i in np.flatnonzero(bad_q | unknown | no_start):     # labels for bad rows only
        r = merged.iloc[i]
        label = f"{r['product']} {r['kind']} {r['period']}" + (
            f" {r['right']} {r['strike']:g}" if r["kind"] == "option" else "")
        column, why = (("quantity", "quantity is not a finite number") if bad_q[i] else
                       ("product", "no settlement price today (unknown contract)") if unknown[i]
                       else ("trade_price", "no previous settlement and no trade_price "
                                            "(opened today?)"))
        problems.append((r["account"], column, f"account {r['account']}: {label}: {why}"))
    if problems and errors == "raise":
        raise InputError(f"positions: {problems[0][2]}" + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    vm = np.where(marked, q * merged["cvf"].to_numpy(float) *
                  (merged["price"].to_numpy(float) - start) * merged["fx"].to_numpy(float), 0.0)
    bad_accounts = {a for a, _, _ in problems}
    merged["variation_margin"] = vm
    contracts = merged.drop(columns=["_row"]).rename(columns={"price": "settlement"})
    contracts["start_price"] = np.where(marked, start, np.nan)
    accounts = np.sort(pos["account"].unique())
    ok = ~contracts["account"].isin(bad_accounts).to_numpy()
    sums = contracts[ok].groupby("account", sort=True)["variation_margin"].sum()
    out = pd.DataFrame({"account": accounts})
    out["variation_margin"] = out["account"].map(sums).fillna(0.0).astype(float)
    out["currency"] = currency
    out["status"] = np.where(out["account"].isin(bad_accounts), "rejected", "ok")
    out.loc[out["status"] == "rejected", "variation_margin"] = np.nan
    err = pd.DataFrame([(a, "positions", c, w) for a, c, w in problems],
                       columns=["account", "table", "column", "reason"])
    return VariationResult(out, contracts.reset_index(drop=True), err)

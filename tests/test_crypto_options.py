"""Options, futures and perpetuals on a coin against independent computations: the reference
twin (closed-form Black-76 per scenario in numpy, one position at a time), inverse vs linear
settlement, a long option's loss bounded by its premium, a hedged book charging less than its
legs apart."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast._reference.crypto import black76, portfolio_margin as twin
from crypto_books import AS_OF, INDEX, book, chain

TOL = 1e-9


@pytest.mark.parametrize("settlement,rate,rules", [("inverse", 0.0, "deribit"),
                                                   ("linear", 0.0, "deribit"),
                                                   ("inverse", 0.05, "deribit"),
                                                   ("inverse", 0.0, "deribit-2019")])
def test_batch_matches_the_twin(settlement, rate, rules):
    tables = chain(settlement, seed=3, rate=rate)
    pm = pmfast.portfolio_margin(book(*tables, rate=rate), rules=rules)
    ref = twin(*tables, as_of=AS_OF, rate=rate, rules=rules)
    acc = pm.accounts.set_index(["account", "currency"])
    assert len(acc) == len(ref)
    scale = INDEX if settlement == "linear" else 1.0
    for key, want in ref.items():
        got = acc.loc[key]
        for col in ("worst_case", "roll_shock", "delta_shock", "option_contingency",
                    "requirement", "maintenance"):
            # the engine's delta is a central difference (1e-4 step) of the shared kernel
            tol = 1e-6 * scale if col in ("roll_shock", "requirement", "maintenance") else \
                TOL * scale
            assert abs(got[col] - want[col]) <= tol, (key, col, got[col], want[col])
        rv = pm.risk_vectors(key[0])
        np.testing.assert_allclose(rv["pnl"], want["raw"], rtol=0, atol=TOL * scale)
        np.testing.assert_allclose(rv["adjusted"], want["vector"], rtol=0, atol=TOL * scale)
        if want["worst_index"] >= 0:   # the twin breaks ties by position: compare the value
            assert rv["adjusted"].iloc[got["worst_index"]] == pytest.approx(
                want["vector"][want["worst_index"]], abs=TOL * scale)


def _one(kind, right=None, strike=np.nan, expiry="2024-09-27", settlement="inverse", q=1.0,
         vol=0.6, extra=()):
    ins = [{"instrument": "X", "kind": kind, "underlying": "BTC", "right": right,
            "strike": strike, "expiry": expiry, "implied_vol": vol if kind == "option"
            else np.nan, "price": INDEX if kind != "option" else np.nan,
            "settlement": settlement}, *extra]
    pos = [{"account": "A", "instrument": "X", "quantity": q}]
    pos += [{"account": "A", "instrument": e["instrument"], "quantity": e.pop("q")}
            for e in extra]
    und = {"underlying": ["BTC"], "price": [INDEX], "group_type": ["crypto"]}
    return pmfast.portfolio_margin(book(pd.DataFrame(pos), pd.DataFrame(ins), und),
                                   rules="deribit")


@pytest.mark.parametrize("right,strike", [("C", 70000.0), ("P", 60000.0), ("C", 30000.0)])
def test_inverse_and_linear_options_are_the_same_dollars(right, strike):
    inv = _one("option", right, strike).risk_vectors("A")
    lin = _one("option", right, strike, settlement="linear").risk_vectors("A")
    F = INDEX                      # no future of that expiry, rate 0: the index
    T = (pd.Timestamp("2024-09-27") - pd.Timestamp(AS_OF)).days / 365
    v0 = black76(1 if right == "C" else -1, F, strike, T, 0.0, 0.6)
    Fs = F * (1 + lin["move"].to_numpy())
    # linear P&L (USD) = value' - v0; inverse P&L (coins) = value'/F' - v0/F
    value = lin["pnl"].to_numpy() + v0
    np.testing.assert_allclose(inv["pnl"], value / Fs - v0 / F, rtol=0, atol=1e-12)


def test_inverse_and_linear_futures():
    inv = _one("future", settlement="inverse", q=2.0).risk_vectors("A")
    lin = _one("future", settlement="linear", q=2.0).risk_vectors("A")
    m = np.clip(inv["move"].to_numpy(), -0.16, 0.16)   # the extended table keeps the edges
    np.testing.assert_allclose(inv["pnl"], 2.0 * (1 - 1 / (1 + m)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(lin["pnl"], 2.0 * INDEX * m, rtol=0, atol=1e-9)


@pytest.mark.parametrize("settlement", ["inverse", "linear"])
@pytest.mark.parametrize("right,strike,vol", [("C", 65000.0, 0.5), ("P", 70000.0, 1.5),
                                              ("C", 200000.0, 0.2), ("P", 20000.0, 0.9)])
def test_long_option_loses_at_most_its_premium(settlement, right, strike, vol):
    pm = _one("option", right, strike, expiry="2024-06-21", settlement=settlement, q=3.0,
              vol=vol)
    T = 4 / 365
    v0 = 3.0 * black76(1 if right == "C" else -1, INDEX, strike, T, 0.0, vol)
    premium = v0 / INDEX if settlement == "inverse" else v0
    rv = pm.risk_vectors("A")
    assert rv["pnl"].min() >= -premium * (1 + 1e-12)
    assert pm.accounts["worst_case"].iloc[0] <= premium * (1 + 1e-12)


def test_hedged_book_charges_less_than_its_legs():
    call = {"instrument": "C", "kind": "option", "underlying": "BTC", "right": "C",
            "strike": 66000.0, "expiry": "2024-09-27", "implied_vol": 0.55, "price": np.nan,
            "settlement": "inverse"}
    T = (pd.Timestamp("2024-09-27") - pd.Timestamp(AS_OF)).days / 365
    from pmfast._reference.crypto import black76_delta
    hedge = black76_delta(1, INDEX, 66000.0, T, 0.0, 0.55)
    legs = {}
    for name, pos in {"short_call": [("C", -1.0)], "perp": [("X", hedge)],
                      "both": [("C", -1.0), ("X", hedge)]}.items():
        ins = pd.DataFrame([call, {"instrument": "X", "kind": "perpetual", "underlying": "BTC",
                                   "price": INDEX, "settlement": "inverse"}])
        positions = pd.DataFrame([{"account": "A", "instrument": i, "quantity": q}
                                  for i, q in pos])
        und = {"underlying": ["BTC"], "price": [INDEX], "group_type": ["crypto"]}
        legs[name] = pmfast.portfolio_margin(book(positions, ins, und), rules="deribit"
                                             ).accounts["requirement"].iloc[0]
    assert legs["both"] < 0.5 * (legs["short_call"] + legs["perp"])
    assert legs["both"] < legs["short_call"]


def test_forward_is_the_future_of_the_expiry_else_the_carried_index():
    # a call on an expiry with a future is valued on that future's mark
    fut = {"instrument": "F", "kind": "future", "underlying": "BTC", "price": 70000.0,
           "expiry": "2024-09-27", "settlement": "inverse", "q": 0.0}
    with_future = _one("option", "C", 70000.0, extra=(fut,)).risk_vectors("A")
    T = (pd.Timestamp("2024-09-27") - pd.Timestamp(AS_OF)).days / 365
    v0 = black76(1, 70000.0, 70000.0, T, 0.0, 0.6)
    unchanged = with_future["scenario"] == "+16% vol unchanged"
    want = black76(1, 70000.0 * 1.16, 70000.0, T, 0.0, 0.6) / (70000.0 * 1.16) - v0 / 70000.0
    assert with_future.loc[unchanged, "pnl"].iloc[0] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_requirement_is_homogeneous_without_dampener_or_delta_shock(k):
    # deribit-2019 has no extended table, no delta shock, no offset: every term is
    # positively homogeneous of degree 1 in the positions (an independent check of the sums)
    pos, ins, und = chain("inverse", seed=9)
    base = pmfast.portfolio_margin(book(pos, ins, und), rules="deribit-2019").accounts
    scaled = pos.assign(quantity=pos["quantity"] * k)
    big = pmfast.portfolio_margin(book(scaled, ins, und), rules="deribit-2019").accounts
    np.testing.assert_allclose(big["requirement"], k * base["requirement"], rtol=1e-12)
    assert (big["worst_index"] == base["worst_index"]).all()

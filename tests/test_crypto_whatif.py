"""pmfast.WhatIf(book, rules="deribit"): the margin of an account after a trade equals the
batch on the book with the trade appended, bit for bit."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.errors import InputError
from crypto_books import book, chain


@pytest.fixture(scope="module")
def tables():
    pos, ins, und = chain("inverse", seed=5, n_accounts=8)
    lin = ins.copy()
    lin["instrument"] = "L-" + lin["instrument"]
    lin["settlement"] = "linear"
    return pos, pd.concat([ins, lin], ignore_index=True), und


def _batch_row(pos, ins, und, account, currency):
    acc = pmfast.portfolio_margin(book(pos, ins, und), rules="deribit").accounts
    row = acc[(acc["account"] == account) & (acc["currency"] == currency)]
    return row.iloc[0] if len(row) else None


@pytest.mark.parametrize("trade", [
    {"BTC-PERP": 0.7},                                      # held or new
    {"BTC-2024-09-27-70000-C": -3.0, "BTC-2024-06-28": 1.0},
    {"L-BTC-2024-06-18-65000-P": 2.0},                      # a second currency (USD)
])
def test_what_if_equals_the_batch(tables, trade):
    pos, ins, und = tables
    session = pmfast.WhatIf(book(pos, ins, und), rules="deribit")
    result = session.what_if("A3", trade)
    after = pd.concat([pos, pd.DataFrame({"account": "A3", "instrument": list(trade),
                                          "quantity": list(trade.values())})],
                      ignore_index=True)
    for currency, m in result.after.currencies.items():
        row = _batch_row(after, ins, und, "A3", currency)
        for col in ("requirement", "maintenance", "worst_case", "roll_shock", "delta_shock",
                    "correlation_contingency", "worst_scenario"):
            assert getattr(m, col) == row[col], (currency, col)
    before = _batch_row(pos, ins, und, "A3", "BTC")
    assert result.before.currencies["BTC"].requirement == before["requirement"]


def test_apply_and_closing_a_position(tables):
    pos, ins, und = tables
    session = pmfast.WhatIf(book(pos, ins, und), rules="deribit")
    held = pos[pos["account"] == "A0"].groupby("instrument")["quantity"].sum()
    session.apply("A0", {k: -v for k, v in held.items()})
    m = session.margin("A0")
    assert all(c.requirement == 0 for c in m.currencies.values())
    assert session.requirement("A0") == 0


def test_errors(tables):
    pos, ins, und = tables
    session = pmfast.WhatIf(book(pos, ins, und), rules="deribit")
    with pytest.raises(InputError, match="'NOPE'"):
        session.what_if("A1", {"NOPE": 1})
    with pytest.raises(InputError, match="'ZZ'"):
        session.margin("ZZ")
    session.apply("A1", {"L-BTC-PERP": 1.0})
    with pytest.raises(InputError, match="pass currency="):
        session.requirement("A1")
    assert session.requirement("A1", currency="usd") > 0
    assert np.isnan(session.margin("A1").requirement)


def test_trade_echo(tables):
    pos, ins, und = tables
    session = pmfast.WhatIf(book(pos, ins, und), rules="deribit")
    r = session.what_if("A2", [("BTC-PERP", 1), ("BTC-PERP", 0.5)])
    assert r.trade == {"BTC-PERP": 1.5}


def test_add_instruments_equals_a_book_holding_them(tables):
    pos, ins, und = tables
    session = pmfast.WhatIf(book(pos, ins, und), rules="deribit")
    session.margin("A4")
    new = pd.DataFrame([
        # a future for an expiry that had none: the forward of that expiry's options changes
        {"instrument": "BTC-2024-06-18", "kind": "future", "underlying": "BTC",
         "price": 66000.0, "expiry": "2024-06-18", "settlement": "inverse"},
        {"instrument": "BTC-2024-06-28-75000-C", "kind": "option", "underlying": "BTC",
         "right": "C", "strike": 75000.0, "expiry": "2024-06-28", "implied_vol": 0.7,
         "settlement": "linear"}])
    assert session.add_instruments(new) == list(new["instrument"])
    trade = {"BTC-2024-06-28-75000-C": -2.0, "BTC-2024-06-18": 0.3}
    result = session.what_if("A4", trade)
    all_ins = pd.concat([ins, new], ignore_index=True)
    after = pd.concat([pos, pd.DataFrame({"account": "A4", "instrument": list(trade),
                                          "quantity": list(trade.values())})],
                      ignore_index=True)
    for currency, m in result.after.currencies.items():
        row = _batch_row(after, all_ins, und, "A4", currency)
        assert m.requirement == row["requirement"], currency
    assert result.before.requirement == _batch_row(pos, all_ins, und, "A4", "BTC")[
        "requirement"]
    with pytest.raises(InputError, match="already in the session"):
        session.add_instruments(new.head(1))
    with pytest.raises(InputError, match="'BAD'"):
        session.add_instruments(pd.DataFrame([{"instrument": "BAD", "kind": "perpetual",
                                               "underlying": "BTC", "price": 1.0,
                                               "expiry": "2024-09-27"}]))

"""Variation margin: settlement to settlement, by hand on small tables and on the real file."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import InputError
from span_helpers import TAKAS, need, raw_contract

TODAY = pd.DataFrame({"product": ["F", "F", "O", "O"], "kind": ["future", "future", "option",
                                                                 "option"],
                      "period": ["202503", "202506", "202503", "202503"],
                      "strike": [np.nan, np.nan, 100.0, 100.0], "right": [None, None, "C", "P"],
                      "price": [101.5, 102.0, 4.0, 2.5], "cvf": [50.0, 50.0, 50.0, 50.0],
                      "futures_style": [False, False, True, False]})
PREV = TODAY.assign(price=[100.0, 103.0, 3.0, 3.0])


def test_hand_computed_marks():
    pos = pd.DataFrame({"account": ["A", "A", "A", "B"], "product": ["F", "F", "O", "O"],
                        "kind": ["future", "future", "option", "option"],
                        "period": ["202503", "202506", "202503", "202503"],
                        "strike": [np.nan, np.nan, 100.0, 100.0], "right": [None, None, "C", "P"],
                        "quantity": [2, -1, 3, 5]})
    res = pmfast.variation_margin(pos, TODAY, PREV)
    acc = res.accounts.set_index("account")["variation_margin"]
    # A: 2 x 50 x 1.5 + (-1) x 50 x (-1) + 3 x 50 x 1 (futures-style call) = 150 + 50 + 150
    assert acc["A"] == 350.0
    # B: premium-style put settles nothing
    assert acc["B"] == 0.0
    assert res.contracts["variation_margin"].tolist() == [150.0, 50.0, 150.0, 0.0]


def test_opened_today_uses_trade_price_else_error():
    pos = pd.DataFrame({"account": ["A"], "product": ["F"], "kind": ["future"],
                        "period": ["202509"], "quantity": [1]})
    today = pd.concat([TODAY, pd.DataFrame({"product": ["F"], "kind": ["future"],
                                            "period": ["202509"], "price": [110.0],
                                            "cvf": [50.0]})])
    with pytest.raises(InputError, match="account A: F future 202509: no previous settlement"):
        pmfast.variation_margin(pos, today, PREV)
    res = pmfast.variation_margin(pos.assign(trade_price=[108.0]), today, PREV)
    assert res.accounts["variation_margin"].iloc[0] == 100.0    # 1 x 50 x (110 - 108)
    col = pmfast.variation_margin(pos, today, PREV, errors="collect")
    assert col.accounts["status"].iloc[0] == "rejected"


def test_unknown_contract_today():
    pos = pd.DataFrame({"account": ["A"], "product": ["G"], "kind": ["future"],
                        "period": ["202503"], "quantity": [1]})
    with pytest.raises(InputError, match="account A: G future 202503: no settlement price"):
        pmfast.variation_margin(pos, TODAY, PREV)


def test_on_the_takasbank_file():
    """Against itself the file gives 0; against a previous table, q x 100 x (7.58 - prev)."""
    p = pmfast.span.load(need(TAKAS))
    price, _, _ = raw_contract(10651)            # AKBNKE 201605S0 future, 7.58
    pos = pd.DataFrame({"account": ["A", "A"], "product": ["AKBNKE", "AKBNKE"],
                        "kind": ["future", "option"], "period": ["201605S0", "201605S0"],
                        "strike": [np.nan, 7.0], "right": [None, "C"], "quantity": [3, -2]})
    assert pmfast.variation_margin(pos, p, p).accounts["variation_margin"].iloc[0] == 0.0
    prev = pd.DataFrame({"product": ["AKBNKE", "AKBNKE"], "kind": ["future", "option"],
                         "period": ["201605S0", "201605S0"], "strike": [np.nan, 7.0],
                         "right": [None, "C"], "price": [7.50, 0.70]})
    res = pmfast.variation_margin(pos, p, prev)
    assert res.accounts["variation_margin"].iloc[0] == pytest.approx(3 * 100 * (price - 7.50))
    assert res.accounts["currency"].iloc[0] == "TRY"

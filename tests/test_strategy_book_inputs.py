"""Reg T on a Book: rejected accounts and options that come without a market price."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import pricing

AS_OF = "2026-11-20"


def _book(option_row, errors="collect", volatility=None):
    positions = pd.DataFrame({"account": ["A", "A", "B", "C"],
                              "instrument": ["X", "X.C110", "X", "NO_SUCH"],
                              "quantity": [100.0, -1.0, 50.0, 1.0]})
    instruments = pd.DataFrame([dict(instrument="X", kind="equity", underlying="X"),
                                dict(instrument="X.C110", kind="option", underlying="X", right="C",
                                     strike=110.0, expiry="2027-05-21", **option_row)])
    underlyings = pd.DataFrame({"underlying": ["X"], "price": [100.0],
                                "volatility": [volatility]})
    return pmfast.Book(positions, instruments, underlyings, as_of=AS_OF, errors=errors)


def test_rejected_account_has_status_and_no_figures():
    book = _book({"price": 2.5}, errors="collect")
    regt = pmfast.strategy_margin(book)
    acc = regt.accounts.set_index("account")
    assert list(acc["status"]) == ["ok", "ok", "rejected"]
    assert acc.loc["C", ["initial", "maintenance", "gross_initial"]].isna().all()
    # B: long 50 shares at $100, 50% initial
    assert acc.loc["B", "initial"] == pytest.approx(2_500.0)
    assert set(regt.errors["account"]) == {"C"}


def test_option_without_price_is_marked_at_its_model_value():
    book = _book({"implied_vol": 0.3, "style": "european"})
    mark = float(pricing.bsm("C", 100.0, 110.0, book.instruments.column("T")[1].as_py(), 0.0, 0.0,
                             0.3))
    acc = pmfast.strategy_margin(book).accounts.set_index("account")
    # A is a covered call: the stock's 50% less the call's proceeds at its model value
    assert acc.loc["A", "initial"] == pytest.approx(0.5 * 100 * 100.0 - 100 * mark, rel=1e-12)
    assert acc.loc["A", "short_option_proceeds"] == pytest.approx(100 * mark, rel=1e-12)


def test_option_without_price_uses_the_underlyings_volatility():
    with_iv = pmfast.strategy_margin(_book({"implied_vol": 0.25})).accounts
    from_underlying = pmfast.strategy_margin(_book({}, volatility=0.25)).accounts
    np.testing.assert_array_equal(with_iv["initial"], from_underlying["initial"])


def test_option_with_no_price_and_no_volatility_rejects_its_account():
    """As portfolio margin (pmfast.market): the Book collects, so the account holding the
    unvaluable option is rejected, not the whole batch (issue 15 item 1); asked to raise,
    strategy_margin raises naming it."""
    regt = pmfast.strategy_margin(_book({}))
    assert list(regt.accounts["status"]) == ["rejected", "ok", "rejected"]
    assert "'X.C110'" in " ".join(regt.errors.loc[regt.errors["account"] == "A", "reason"])
    with pytest.raises(pmfast.InputError, match=r"instruments\.implied_vol.*'X\.C110'"):
        pmfast.strategy_margin(_book({}), errors="raise")

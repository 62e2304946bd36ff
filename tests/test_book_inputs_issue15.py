"""Book-side defects of issue 15 (items 5 and 9): each test fails on the main before the fix."""
import datetime

import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.errors import InputError

AS_OF = "2026-11-20"


def tables(quantity=(100.0, -1.0)):
    positions = pd.DataFrame({"account": ["A1", "A2"], "instrument": ["ACME", "ACME.C60"],
                              "quantity": list(quantity)})
    instruments = pd.DataFrame({"instrument": ["ACME", "ACME.C60"], "kind": ["equity", "option"],
                                "underlying": ["ACME", "ACME"], "right": [None, "C"],
                                "strike": [None, 60.0], "expiry": [None, "2027-01-15"],
                                "price": [None, 1.25]})
    underlyings = pd.DataFrame({"underlying": ["ACME"], "price": [50.0]})
    return positions, instruments, underlyings


@pytest.mark.parametrize("as_of, expected", [(20261120, datetime.date(2026, 11, 20)),
                                             (np.int64(20270115), datetime.date(2027, 1, 15))])
def test_as_of_yyyymmdd_integer_is_a_date(as_of, expected):
    book = pmfast.Book(*tables(), as_of=as_of)
    assert book.as_of == expected
    # the same figures as the ISO date
    iso = pmfast.Book(*tables(), as_of=expected.isoformat())
    a = pmfast.portfolio_margin(book).accounts["requirement"].to_numpy()
    b = pmfast.portfolio_margin(iso).accounts["requirement"].to_numpy()
    assert np.array_equal(a, b)


@pytest.mark.parametrize("as_of", [1, 20261320, 2026112, 20261120.0, True, pd.NaT,
                                   float("nan")])
def test_as_of_other_numbers_and_nat_are_rejected(as_of):
    with pytest.raises(InputError, match="as_of"):
        pmfast.Book(*tables(), as_of=as_of)


def test_expiry_with_trailing_text_is_rejected():
    p, i, u = tables()
    i.loc[1, "expiry"] = "2027-01-15 junk"
    with pytest.raises(InputError, match="expiry"):
        pmfast.Book(p, i, u, as_of=AS_OF)
    for fine in ("2027-01-15", "2027-01-15T00:00:00", "2027-01-15 00:00"):
        i.loc[1, "expiry"] = fine
        assert pmfast.Book(p, i, u, as_of=AS_OF).instruments.column("expiry")[1].as_py() == \
            datetime.date(2027, 1, 15)


def test_zero_net_position_in_a_bad_instrument_keeps_its_account():
    """A2 bought and sold the same bad option (strike missing): flat, so nothing to margin
    and nothing to reject; A3 holds it and is rejected."""
    p, i, u = tables()
    p = pd.DataFrame({"account": ["A1", "A2", "A2", "A2", "A3"],
                      "instrument": ["ACME", "ACME", "ACME.C60", "ACME.C60", "ACME.C60"],
                      "quantity": [100.0, 10.0, 2.0, -2.0, 1.0]})
    i.loc[1, "strike"] = None
    book = pmfast.Book(p, i, u, as_of=AS_OF, errors="collect")
    assert book.rejected.tolist() == [False, False, True]
    assert set(book.errors["account"]) == {"A3"}
    acc = pmfast.portfolio_margin(book).accounts.set_index("account")
    assert acc.loc["A2", "status"] == "ok" and acc.loc["A2", "positions"] == 1
    # A2's figure is the figure of its shares alone (15% of 10 x $50)
    assert acc.loc["A2", "requirement"] == pytest.approx(75.0, abs=1e-9)


def test_positions_count_excludes_zero_net_rows():
    p = pd.DataFrame({"account": ["A1", "A1", "A1"], "instrument": ["ACME", "ACME.C60",
                                                                     "ACME.C60"],
                      "quantity": [100.0, 1.0, -1.0]})
    _, i, u = tables()
    acc = pmfast.portfolio_margin(pmfast.Book(p, i, u, as_of=AS_OF)).accounts
    assert acc["positions"].tolist() == [1]


def test_missing_instrument_reason_names_the_account():
    p, i, u = tables()
    p.loc[1, "instrument"] = None
    book = pmfast.Book(p, i, u, as_of=AS_OF, errors="collect")
    reason = book.errors.loc[book.errors["account"] == "A2", "reason"].iloc[0]
    assert "None" not in reason and "account 'A2'" in reason


def test_errors_none_follows_the_books_mode():
    """A Book built with errors="collect" collects in portfolio_margin even when the Book
    itself found nothing wrong (on main it raised unless some other row was bad)."""
    p, i, u = tables()
    i.loc[1, "price"] = None          # no price, no implied_vol, no volatility: not valuable
    book = pmfast.Book(p, i, u, as_of=AS_OF, errors="collect")
    assert len(book.errors) == 0
    acc = pmfast.portfolio_margin(book).accounts
    assert acc["status"].tolist() == ["ok", "rejected"]


@pytest.mark.parametrize("quantity", [1e308, float("inf"), -1e16])
def test_overflowing_quantities_are_rejected(quantity):
    p, i, u = tables((100.0, 1.0))
    p = pd.concat([p, pd.DataFrame({"account": ["A3", "A3"], "instrument": ["ACME", "ACME"],
                                    "quantity": [quantity, quantity]})], ignore_index=True)
    book = pmfast.Book(p, i, u, as_of=AS_OF, errors="collect")
    acc = pmfast.portfolio_margin(book).accounts.set_index("account")
    assert acc.loc["A3", "status"] == "rejected"
    assert acc.loc[["A1", "A2"], "status"].tolist() == ["ok", "ok"]
    assert np.isfinite(acc.loc[["A1", "A2"], "requirement"]).all()


@pytest.mark.parametrize("book", [None, {"positions": None}, "positions.csv"])
def test_portfolio_margin_of_something_else_is_an_input_error(book):
    with pytest.raises(InputError, match="Book"):
        pmfast.portfolio_margin(book)

"""pmfast.compare: portfolio margin against the Reg T baseline, one row per account."""
import numpy as np
import pytest

import pmfast


@pytest.fixture(scope="module")
def book():
    return pmfast.generate(accounts=200, seed=3, as_book=True)


def test_compare_joins_both_methods_per_account(book):
    both = pmfast.compare(book, n_threads=1)
    pm = pmfast.portfolio_margin(book, n_threads=1).accounts.set_index("account")
    regt = pmfast.strategy_margin(book, n_threads=1).accounts.set_index("account")
    assert both["account"].tolist() == sorted(book.account_ids)
    b = both.set_index("account")
    np.testing.assert_array_equal(b["pm_requirement"], pm.loc[b.index, "requirement"])
    np.testing.assert_array_equal(b["regt_initial"], regt.loc[b.index, "initial"])
    np.testing.assert_array_equal(b["regt_maintenance"], regt.loc[b.index, "maintenance"])
    # accounts holding futures (outside Reg T) get no saving; every other account does
    futures = regt.loc[b.index, "unmargined_positions"].to_numpy() > 0
    assert 0 < futures.sum() < len(b)
    assert b["savings"][futures].isna().all() and b["savings_maintenance"][futures].isna().all()
    ok = ~futures
    np.testing.assert_allclose(b["savings"][ok], (b["regt_initial"] - b["pm_requirement"])[ok])
    np.testing.assert_allclose(b["savings_maintenance"][ok],
                               (b["regt_maintenance"] - b["pm_requirement"])[ok])
    # the point of portfolio margin: in aggregate it needs less than Reg T
    assert b["savings"].sum() > 0


def test_compare_on_a_hedged_account_saves():
    import pandas as pd
    positions = pd.DataFrame({"account": ["A", "A"], "instrument": ["IBM", "IBM P95"],
                              "quantity": [10_000, 100]})
    instruments = pd.DataFrame({"instrument": ["IBM", "IBM P95"], "kind": ["equity", "option"],
                                "underlying": ["IBM", "IBM"], "right": [None, "P"],
                                "strike": [None, 95.0], "expiry": [None, "2027-04-16"],
                                "price": [None, 2.0], "implied_vol": [None, 0.25]})
    underlyings = pd.DataFrame({"underlying": ["IBM"], "price": [97.73]})
    b = pmfast.Book(positions, instruments, underlyings, as_of="2027-03-01")
    row = pmfast.compare(b).iloc[0]
    # Reg T initial: 50% of the stock + the put paid in full
    assert row["regt_initial"] == pytest.approx(0.5 * 977_300 + 20_000)
    # a protective put caps the PM stress loss far below Reg T's 50%
    assert 0 < row["pm_requirement"] < row["regt_initial"]
    assert row["savings"] == pytest.approx(row["regt_initial"] - row["pm_requirement"])

"""Bad crypto input: InputError naming the ids; with errors="collect" every account present
with a status. Also: results the same for any n_threads and any row order."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.errors import InputError
from crypto_books import INDEX, book, chain

UND = {"underlying": ["BTC"], "price": [INDEX], "group_type": ["crypto"]}


def _tables(bad):
    ins = pd.DataFrame([
        {"instrument": "PERP", "kind": "perpetual", "underlying": "BTC", "price": INDEX,
         "expiry": None, "settlement": "inverse"},
        {"instrument": "OPT", "kind": "option", "underlying": "BTC", "right": "C",
         "strike": 70000.0, "expiry": "2024-09-27", "implied_vol": 0.6,
         "settlement": "inverse"},
        bad])
    pos = pd.DataFrame({"account": ["GOOD", "BAD", "BAD"],
                        "instrument": ["PERP", "PERP", bad["instrument"]],
                        "quantity": [1.0, 1.0, -1.0]})
    return pos, ins


BAD = {
    "option without volatility": ({"instrument": "NOVOL", "kind": "option",
                                   "underlying": "BTC", "right": "P", "strike": 60000.0,
                                   "expiry": "2024-09-27", "settlement": "inverse"},
                                  "instruments.implied_vol"),
    "perpetual with an expiry": ({"instrument": "PERP2", "kind": "perpetual",
                                  "underlying": "BTC", "price": INDEX,
                                  "expiry": "2024-09-27", "settlement": "inverse"},
                                 "instruments.expiry: a perpetual has no expiry"),
    "settlement other than inverse/linear": ({"instrument": "QUANTO", "kind": "perpetual",
                                              "underlying": "BTC", "price": INDEX,
                                              "settlement": "quanto"},
                                             "instruments.settlement"),
    "coin index missing": ({"instrument": "SOL-PERP", "kind": "perpetual",
                            "underlying": "SOL", "price": 150.0, "settlement": "inverse"},
                           "unknown underlying 'SOL'"),
    "perpetual without a mark": ({"instrument": "NOMARK", "kind": "perpetual",
                                  "underlying": "BTC", "settlement": "inverse"},
                                 "instruments.price"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_naming_ids(case):
    bad, message = BAD[case]
    pos, ins = _tables(bad)
    with pytest.raises(InputError) as err:
        book(pos, ins, UND)
    assert message in str(err.value) and repr(bad["instrument"]) in str(err.value)


@pytest.mark.parametrize("case", list(BAD))
def test_collect_keeps_every_account(case):
    pos, ins = _tables(BAD[case][0])
    pm = pmfast.portfolio_margin(book(pos, ins, UND, errors="collect"), rules="deribit")
    acc = pm.accounts.set_index("account")
    assert set(acc.index) == {"GOOD", "BAD"}
    assert acc.loc["GOOD", "status"] == "ok" and acc.loc["BAD", "status"] == "rejected"
    assert np.isnan(acc.loc["BAD", "requirement"])
    assert acc.loc["GOOD", "requirement"] > 0
    assert list(pm.errors["account"].unique()) == ["BAD"]


def test_non_crypto_instrument_under_a_crypto_rule_set():
    ins = pd.DataFrame([{"instrument": "PERP", "kind": "perpetual", "underlying": "BTC",
                         "price": INDEX},
                        {"instrument": "ACME", "kind": "equity", "underlying": "ACME"}])
    und = {"underlying": ["BTC", "ACME"], "price": [INDEX, 50.0],
           "group_type": ["crypto", "equity"]}
    pos = pd.DataFrame({"account": ["A", "B"], "instrument": ["PERP", "ACME"],
                        "quantity": [1.0, 100.0]})
    b = book(pos, ins, und)
    with pytest.raises(InputError, match="'ACME'"):
        pmfast.portfolio_margin(b, rules="deribit")
    pm = pmfast.portfolio_margin(b, rules="deribit", errors="collect")
    assert list(pm.accounts["status"]) == ["ok", "rejected"]
    # and a crypto index under the US rule set is refused, naming it
    with pytest.raises(InputError, match="'BTC'"):
        pmfast.portfolio_margin(b, rules="finra-cpm")


def test_empty_account_is_present():
    ins = pd.DataFrame([{"instrument": "PERP", "kind": "perpetual", "underlying": "BTC",
                         "price": INDEX}])
    pos = pd.DataFrame({"account": ["A", "A", "Z"], "instrument": ["PERP"] * 3,
                        "quantity": [1.0, -1.0, 0.0]})
    acc = pmfast.portfolio_margin(book(pos, ins, UND), rules="deribit").accounts
    assert list(acc["account"]) == ["A", "Z"]
    assert (acc["requirement"] == 0).all() and (acc["status"] == "ok").all()


def test_bit_identical_for_any_threads_and_row_order():
    pos, ins, und = chain("inverse", seed=11, n_accounts=40)
    base = pmfast.portfolio_margin(book(pos, ins, und), rules="deribit", n_threads=1).accounts
    two = pmfast.portfolio_margin(book(pos, ins, und), rules="deribit", n_threads=2).accounts
    pd.testing.assert_frame_equal(base, two, check_exact=True)
    rng = np.random.default_rng(0)
    shuffled = pos.iloc[rng.permutation(len(pos))].reset_index(drop=True)
    again = pmfast.portfolio_margin(book(shuffled, ins, und), rules="deribit").accounts
    pd.testing.assert_frame_equal(base, again, check_exact=True)
    # instruments and underlyings in another order too (sums run in instrument-id order)
    ins2 = ins.iloc[rng.permutation(len(ins))].reset_index(drop=True)
    eth = pd.DataFrame({"underlying": ["ETH"], "price": [3500.0], "group_type": ["crypto"]})
    und2 = pd.concat([eth, und], ignore_index=True)
    other = pmfast.portfolio_margin(book(shuffled, ins2, und2), rules="deribit").accounts
    pd.testing.assert_frame_equal(base, other, check_exact=True)

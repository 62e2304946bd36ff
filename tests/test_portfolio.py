"""Portfolio margin: the seed examples and TV-PM vectors, the numpy twin, invariants, errors."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast._reference import portfolio as twin

AS_OF = "2026-11-20"


def book_of(positions, instruments, underlyings, product_groups=None, **kw):
    return pmfast.Book(pd.DataFrame(positions), pd.DataFrame(instruments),
                       pd.DataFrame(underlyings),
                       None if product_groups is None else pd.DataFrame(product_groups),
                       as_of=kw.pop("as_of", AS_OF), rate=kw.pop("rate", 0.0), **kw)


def requirement(book, **kw):
    return pmfast.portfolio_margin(book, **kw).accounts.set_index("account")["requirement"]


# -- seed examples (portfolio-margin.md) and TV-PM vectors (rules-us.md Part 3.B) ----------------
def test_tv_pm1_long_stock():
    book = book_of({"account": ["A"], "instrument": ["XYZ"], "quantity": [100.0]},
                   {"instrument": ["XYZ"], "kind": ["equity"], "underlying": ["XYZ"]},
                   {"underlying": ["XYZ"], "price": [50.0]})
    acc = pmfast.portfolio_margin(book).accounts
    assert acc["requirement"][0] == pytest.approx(750.0, rel=1e-12)
    assert acc["worst_scenario"][0] == "-15%" and acc["minimum"][0] == 0


def spy_ivv(spy=10_000.0, ivv=-10_000.0, offset=0.9):
    return book_of({"account": ["A", "A"], "instrument": ["SPY", "IVV"], "quantity": [spy, ivv]},
                   {"instrument": ["SPY", "IVV"], "kind": ["equity", "equity"],
                    "underlying": ["SPY", "IVV"]},
                   {"underlying": ["SPY", "IVV"], "price": [500.0, 500.0],
                    "group_type": ["high_cap_index"] * 2, "product_group": ["SP500"] * 2},
                   {"product_group": ["SP500"], "offset": [offset]})


def test_tv_pm6_cross_class_offset_per_point():
    pm = pmfast.portfolio_margin(spy_ivv())
    assert pm.accounts["requirement"][0] == pytest.approx(40_000.0, rel=1e-12)
    sc = pm.scenarios.set_index("scenario")["pnl"]
    expected = {"-8%": 40_000, "-6.4%": 32_000, "-4.8%": 24_000, "-3.2%": 16_000,
                "-1.6%": 8_000, "+1.2%": 6_000, "+2.4%": 12_000, "+3.6%": 18_000,
                "+4.8%": 24_000, "+6%": 30_000}
    for label, loss in expected.items():
        assert -sc[label] == pytest.approx(loss, rel=1e-12), label
    assert pm.accounts["worst_scenario"][0] == "-8%"
    assert pm.groups["group_kind"].tolist() == ["product_group"]


def test_cross_class_default_offset_and_hedge_lowers():
    # no offset in product_groups: 0.90 default for high_cap_index classes
    book = book_of({"account": ["A", "A"], "instrument": ["SPY", "IVV"],
                    "quantity": [10_000.0, -10_000.0]},
                   {"instrument": ["SPY", "IVV"], "kind": ["equity"] * 2,
                    "underlying": ["SPY", "IVV"]},
                   {"underlying": ["SPY", "IVV"], "price": [500.0, 500.0],
                    "group_type": ["high_cap_index"] * 2, "product_group": ["SP500"] * 2})
    assert requirement(book)["A"] == pytest.approx(40_000.0, rel=1e-12)
    unhedged = requirement(spy_ivv(ivv=0.0))["A"]
    assert unhedged == pytest.approx(400_000.0, rel=1e-12)     # SPY alone at -8%
    assert requirement(spy_ivv())["A"] < unhedged


def test_tv_pm7_leveraged_and_inverse_etf():
    book = book_of({"account": ["L", "I"], "instrument": ["UPRO", "SDS"],
                    "quantity": [1000.0, 1000.0]},
                   {"instrument": ["UPRO", "SDS"], "kind": ["equity"] * 2,
                    "underlying": ["UPRO", "SDS"]},
                   {"underlying": ["UPRO", "SDS"], "price": [40.0, 40.0], "leverage": [3.0, -2.0]})
    pm = pmfast.portfolio_margin(book).accounts.set_index("account")
    assert pm.loc["L", "requirement"] == pytest.approx(18_000.0, rel=1e-12)
    assert pm.loc["I", "requirement"] == pytest.approx(12_000.0, rel=1e-12)  # 2 x 15% x 40k
    assert pm.loc["I", "worst_scenario"] == "+15%"                         # inverse loses up


def straddle(n=100, price=5.0, vol=0.2):
    return book_of({"account": ["A", "A"], "instrument": ["C", "P"], "quantity": [n, n]},
                   {"instrument": ["C", "P"], "kind": ["option"] * 2, "underlying": ["IBM"] * 2,
                    "right": ["C", "P"], "strike": [100.0, 100.0],
                    "expiry": ["2027-02-19"] * 2, "style": ["european"] * 2,
                    "price": [price, price], "implied_vol": [vol, vol]},
                   {"underlying": ["IBM"], "price": [100.0]})


def test_tv_pm2_long_straddle_minimum_binds():
    acc = pmfast.portfolio_margin(straddle()).accounts
    assert acc["minimum"][0] == pytest.approx(7_500.0, rel=1e-12)
    assert acc["risk"][0] < 7_500.0
    assert acc["requirement"][0] == pytest.approx(7_500.0, rel=1e-12)


def test_long_option_minimum_capped_at_market_value():
    acc = pmfast.portfolio_margin(straddle(n=10, price=0.05, vol=0.01)).accounts
    # each long option worth $0.05 x 100: the $37.50 minimum is capped at $5 per contract
    assert acc["minimum"][0] == pytest.approx(20 * 5.0, rel=1e-12)


def test_tv_pm3_butterfly_minimum():
    K = [90.0, 100.0, 110.0]
    book = book_of({"account": ["A"] * 3, "instrument": ["L90", "S100", "L110"],
                    "quantity": [5000.0, -10000.0, 5000.0]},
                   {"instrument": ["L90", "S100", "L110"], "kind": ["option"] * 3,
                    "underlying": ["AMZN"] * 3, "right": ["C"] * 3, "strike": K,
                    "expiry": ["2027-05-21"] * 3, "style": ["european"] * 3,
                    "price": [12.0, 5.0, 2.0], "implied_vol": [0.3] * 3},
                   {"underlying": ["AMZN"], "price": [100.0]})
    acc = pmfast.portfolio_margin(book).accounts
    assert acc["minimum"][0] == pytest.approx(20_000 * 37.5, rel=1e-12)
    assert acc["requirement"][0] == pytest.approx(750_000.0, rel=1e-12)


def test_tv_pm5_short_put_at_intrinsic():
    book = book_of({"account": ["A"], "instrument": ["P90"], "quantity": [-1.0]},
                   {"instrument": ["P90"], "kind": ["option"], "underlying": ["X"],
                    "right": ["P"], "strike": [90.0], "expiry": [AS_OF], "price": [0.0],
                    "style": ["european"]},
                   {"underlying": ["X"], "price": [100.0]})
    acc = pmfast.portfolio_margin(book).accounts
    assert acc["risk"][0] == pytest.approx(500.0, rel=1e-12)
    assert acc["requirement"][0] == pytest.approx(500.0, rel=1e-12)


def test_future_option_uses_its_future():
    book = book_of({"account": ["A", "A"], "instrument": ["ES", "ESP"], "quantity": [1.0, -2.0]},
                   {"instrument": ["ES", "ESP"], "kind": ["future", "future_option"],
                    "underlying": ["SPX", "SPX"], "right": [None, "P"],
                    "strike": [np.nan, 5000.0], "expiry": ["2026-12-18"] * 2,
                    "multiplier": [50.0, 50.0], "price": [5000.0, 60.0],
                    "implied_vol": [np.nan, 0.2], "future": [None, "ES"]},
                   {"underlying": ["SPX"], "price": [4990.0], "group_type": ["high_cap_index"]})
    arrays = pmfast.risk_arrays(book).set_index(["instrument", "scenario"])
    T = 28 / 365
    F = 5000.0 * 0.92
    v0 = pmfast.pricing.black76("P", 5000.0, 5000.0, T, 0.0, 0.2)
    v8 = pmfast.pricing.black76("P", F, 5000.0, T, 0.0, 0.2)
    assert arrays.loc[("ESP", "-8%"), "pnl"] == pytest.approx(50 * (v8 - v0), rel=1e-12)
    assert arrays.loc[("ES", "-8%"), "pnl"] == pytest.approx(-50 * 400.0, rel=1e-12)
    acc = pmfast.portfolio_margin(book).accounts
    moves = np.array([-8, -6.4, -4.8, -3.2, -1.6, 1.2, 2.4, 3.6, 4.8, 6]) / 100
    pnl = 50 * 5000.0 * moves - 2 * 50 * (
        pmfast.pricing.black76("P", 5000.0 * (1 + moves), 5000.0, T, 0.0, 0.2) - v0)
    assert acc["risk"][0] == pytest.approx(max(0.0, -pnl.min()), rel=1e-9)
    assert acc["risk"][0] > 0


def covered_call(rate=0.0, calls=-1.0):
    return book_of({"account": ["A", "A"], "instrument": ["ACME", "ACME 510C"],
                    "quantity": [100.0, calls]},
                   {"instrument": ["ACME", "ACME 510C"], "kind": ["equity", "option"],
                    "underlying": ["ACME", "ACME"], "right": [None, "C"],
                    "strike": [np.nan, 510.0], "expiry": [None, "2026-12-20"],
                    "price": [np.nan, 5.0]},
                   {"underlying": ["ACME"], "price": [500.0]}, rate=rate)


@pytest.mark.parametrize("rate", [0.0, 0.045])
def test_seed_covered_call(rate):
    from scipy.optimize import brentq
    from pmfast._reference.pricing import bsm_value
    T = 30 / 365
    # an American call on a non-dividend stock is the European call: solve its vol with scipy
    vol = brentq(lambda v: float(bsm_value(1, 500.0, 510.0, T, rate, 0.0, v)) - 5.0, 1e-4, 3.0,
                 xtol=1e-14)
    call_at_425 = float(bsm_value(1, 425.0, 510.0, T, rate, 0.0, vol))
    expected = 100 * 75.0 - 100 * (5.0 - call_at_425)       # shares lose, the short call gains
    pm = pmfast.portfolio_margin(covered_call(rate))
    acc = pm.accounts.iloc[0]
    assert acc["requirement"] == pytest.approx(expected, rel=1e-7)
    assert acc["requirement"] == pytest.approx(7_000.0, abs=1.0)   # "approximately $7,000"
    assert acc["worst_scenario"] == "-15%"
    arrays = pmfast.risk_arrays(covered_call(rate))
    row = arrays[arrays["instrument"] == "ACME 510C"].iloc[0]
    assert row["vol_source"] == "solved" and row["vol"] == pytest.approx(vol, rel=1e-7)
    assert row["value0"] == pytest.approx(5.0, rel=1e-9)      # V_0 is the model value


def test_covered_call_hedge_lowers_requirement():
    stock_only = requirement(covered_call(calls=0.0))["A"]
    assert stock_only == pytest.approx(7_500.0, rel=1e-12)
    assert requirement(covered_call())["A"] < stock_only


def test_solved_vol_matches_twin_with_default_american_model():
    book = covered_call(rate=0.03)
    got = pmfast.portfolio_margin(book).accounts["requirement"][0]
    want = twin.portfolio_margin(book)["requirement"][0]
    assert got == pytest.approx(want, rel=1e-9)


def test_scenarios_for_is_the_full_table_filtered():
    book = pmfast.generate(accounts=60, seed=9, as_book=True)
    for rules in ("finra-cpm", "house"):
        pm = pmfast.portfolio_margin(book, rules=rules)
        chosen = list(book.account_ids[[3, 17, 40]])
        full = pm.scenarios[pm.scenarios["account"].isin(chosen)].reset_index(drop=True)
        pd.testing.assert_frame_equal(pm.scenarios_for(chosen), full)


@pytest.mark.parametrize("override, expected", [
    ((-0.30, 0.25), 100 * 100 * 0.30),  # wider: the stock is stressed at -30%
    ((-0.05, 0.05), 100 * 100 * 0.15),  # narrower than the regulatory +-15%: ignored
    ((-0.05, 0.40), 100 * 100 * 0.15),  # each side widens on its own
])
def test_symbol_override_only_widens_a_stand_alone_class(override, expected):
    book = book_of({"account": ["A"], "instrument": ["X"], "quantity": [100.0]},
                   {"instrument": ["X"], "kind": ["equity"], "underlying": ["X"]},
                   {"underlying": ["X"], "price": [100.0]})
    rules = pmfast.RuleSet(overrides={"X": override})
    assert requirement(book, rules=rules)["A"] == pytest.approx(expected, rel=1e-12)
    assert twin.portfolio_margin(book, rules)["requirement"].iloc[0] == pytest.approx(expected)


def test_scenario_pnl_agrees_with_group_risk_and_worst_scenario():
    """The long table's P&L is recomputed on demand (the batch keeps only the per-group
    results): each group's worst scenario there is the batch's risk and worst label."""
    book = pmfast.generate(accounts=60, seed=9, as_book=True)
    for rules in ("finra-cpm", "house"):
        pm = pmfast.portfolio_margin(book, rules=rules)
        keys = ["account", "group"] + (["scenario_set"] if "scenario_set" in pm.groups else [])
        for sc in (pm.scenarios, pm.scenarios_for(list(book.account_ids[[3, 17, 40]]))):
            worst = sc.loc[sc.groupby(keys, sort=False)["pnl"].idxmin()]
            merged = worst.merge(pm.groups, on=keys, validate="one_to_one")
            assert len(merged) == len(worst) > 0
            hit = merged["risk"] > 0
            assert hit.sum() > 3
            np.testing.assert_array_equal(-merged.loc[hit, "pnl"], merged.loc[hit, "risk"])
            assert (merged.loc[hit, "scenario"] == merged.loc[hit, "worst_scenario"]).all()


def test_value0_passed_on_gives_the_same_risk_array():
    """V_0 is priced once (first scenario set) and passed on: every later set's risk array
    and V_0 equal those of a call that reprices today's values itself."""
    from pmfast.rules import RuleSet
    from pmfast.scenarios import (build_groups, class_moves, instrument_inputs, risk_array,
                                  solve_volatility)
    book = pmfast.generate(accounts=40, seed=4, as_book=True)
    rules = RuleSet.load("house")
    inputs = instrument_inputs(book, rules)
    vol = solve_volatility(book, rules, inputs)
    groups = build_groups(book, rules)
    first = None
    for ss in rules.scenario_sets:
        moves, _ = class_moves(groups, book, ss)
        own = risk_array(book, rules, inputs, vol.vol, moves, ss, skip=vol.bad)
        if first is None:
            first = own[1]
            assert np.isfinite(first).sum() > 10 and (inputs["model"] == 0).any()
        passed = risk_array(book, rules, inputs, vol.vol, moves, ss, skip=vol.bad, value0=first)
        np.testing.assert_array_equal(passed[0], own[0])
        np.testing.assert_array_equal(passed[1], own[1])

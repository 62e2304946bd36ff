"""Compiled engine vs the numpy twin on random books, and the invariants of the method."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import pmfast
from pmfast._reference import portfolio as twin

AS_OF = "2026-11-20"
# American options through a short CRR tree keep the twin fast; the pricing kernels have their
# own accuracy tests.
CRR = pmfast.RuleSet(american_model="crr", crr_steps=25)


def random_tables(seed, n_accounts=4, n_positions=14):
    rng = np.random.default_rng(seed)
    unds = pd.DataFrame({
        "underlying": ["AAA", "BBB", "SPX", "SPY", "LEV", "INV"],
        "price": np.round(rng.uniform(20, 200, 6), 2),
        "group_type": ["equity", "narrow_index", "high_cap_index", "high_cap_index", "equity",
                       "equity"],
        "product_group": [None, None, "SP", "SP", None, None],
        "leverage": [1.0, 1.0, 1.0, 1.0, 3.0, -2.0],
        "dividend_yield": np.round(rng.uniform(0, 0.03, 6), 4),
    })
    rows = []
    for u, (price, gt) in zip(unds["underlying"], zip(unds["price"], unds["group_type"])):
        rows.append({"instrument": u, "kind": "equity", "underlying": u})
        for k in range(3):
            right = "C" if rng.random() < 0.5 else "P"
            strike = float(np.round(price * rng.uniform(0.8, 1.2), 1))
            # a possible mark (pmfast.market rejects one under the option's intrinsic value)
            intrinsic = max(price - strike if right == "C" else strike - price, 0.0)
            rows.append({"instrument": f"{u}-O{k}", "kind": "option", "underlying": u,
                         "right": right, "strike": strike,
                         "expiry": str(np.datetime64(AS_OF) + int(rng.integers(0, 400))),
                         "style": "european" if gt == "high_cap_index" or rng.random() < 0.3
                         else "american",
                         "price": float(np.round(intrinsic + rng.uniform(0.01, 10), 2)),
                         "implied_vol": float(rng.uniform(0.1, 0.6))})
    rows.append({"instrument": "ES", "kind": "future", "underlying": "SPX", "multiplier": 50.0,
                 "expiry": "2026-12-18", "price": float(unds["price"][2] * 1.01)})
    rows.append({"instrument": "ES-P", "kind": "future_option", "underlying": "SPX",
                 "multiplier": 50.0, "right": "P", "strike": float(unds["price"][2]),
                 "expiry": "2026-12-18", "price": 3.0, "implied_vol": 0.2, "future": "ES"})
    ins = pd.DataFrame(rows)
    pos = pd.DataFrame({
        "account": rng.choice([f"ACC{k}" for k in range(n_accounts)], n_positions),
        "instrument": rng.choice(ins["instrument"], n_positions),
        "quantity": np.round(rng.normal(0, 20, n_positions)),
    })
    pgs = pd.DataFrame({"product_group": ["SP"], "offset": [float(rng.choice([0.9, 0.5, 1.0]))]})
    return pos, ins, unds, pgs


def make_book(tables, **kw):
    return pmfast.Book(*tables, as_of=AS_OF, rate=0.03, **kw)


def compare(book, rules):
    got = pmfast.portfolio_margin(book, rules=rules).accounts.set_index("account")
    want = twin.portfolio_margin(book, rules=rules).set_index("account")
    for col in ("requirement", "risk", "minimum"):
        np.testing.assert_allclose(got[col].to_numpy(), want.loc[got.index, col].to_numpy(),
                                   rtol=1e-9, atol=1e-9, err_msg=col)
    return got


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_compiled_matches_twin(seed):
    compare(make_book(random_tables(seed)), CRR)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_compiled_matches_twin_house(seed):
    house = pmfast.RuleSet.load("house").replace(american_model="crr", crr_steps=25)
    got = compare(make_book(random_tables(seed)), house)
    assert set(got["binding"].dropna()) <= {"regulatory", "vol_scan", "concentration"}


def test_overrides_and_zero_point_match_twin():
    rules = CRR.replace(overrides={"AAA": (-0.3, 0.2), "SPY": (-0.12, 0.1)},
                        scenario_sets=(pmfast.rules.ScenarioSet(points=6, include_zero=True,
                                                                vol_shifts=(0.0, 0.05),
                                                                vol_shift_kind="absolute",
                                                                horizon_days=1),))
    compare(make_book(random_tables(7, n_positions=30)), rules)


# -- invariants ---------------------------------------------------------------------------------
def result(tables, **kw):
    return pmfast.portfolio_margin(make_book(tables), rules=CRR, **kw).accounts.set_index(
        "account")


def test_position_order_and_row_splitting():
    tables = random_tables(11, n_positions=40)
    base = result(tables)["requirement"]
    pos = tables[0].sample(frac=1.0, random_state=3)
    shuffled = result((pos,) + tables[1:])["requirement"]
    np.testing.assert_allclose(shuffled[base.index], base, rtol=1e-12)
    split = pd.concat([pos.assign(quantity=pos["quantity"] * 0.25),
                       pos.assign(quantity=pos["quantity"] * 0.75)]).sample(frac=1.0,
                                                                            random_state=4)
    np.testing.assert_allclose(result((split,) + tables[1:])["requirement"][base.index], base,
                               rtol=1e-12)


def test_scaling_quantities_scales_requirement():
    tables = random_tables(12, n_positions=40)
    base = result(tables)
    scaled_pos = tables[0].assign(quantity=tables[0]["quantity"] * 2.5)
    scaled = result((scaled_pos,) + tables[1:])
    for col in ("requirement", "risk", "minimum"):
        np.testing.assert_allclose(scaled[col], 2.5 * base[col], rtol=1e-12)


def test_n_threads_does_not_change_a_bit():
    tables = random_tables(13, n_accounts=300, n_positions=3000)
    one = result(tables, n_threads=1)
    two = result(tables, n_threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    pm1 = pmfast.portfolio_margin(make_book(tables), rules=CRR, n_threads=1)
    pm2 = pmfast.portfolio_margin(make_book(tables), rules=CRR, n_threads=2)
    pd.testing.assert_frame_equal(pm1.scenarios, pm2.scenarios, check_exact=True)


def test_every_account_in_every_output():
    pos, ins, und, pg = random_tables(14, n_accounts=6, n_positions=30)
    pos = pd.concat([pos, pd.DataFrame({"account": ["ZERO", "ZERO", "BAD"],
                                        "instrument": ["AAA", "AAA", "NOPE"],
                                        "quantity": [5.0, -5.0, 1.0]})])
    book = make_book((pos, ins, und, pg), errors="collect")
    pm = pmfast.portfolio_margin(book, rules=CRR)
    acc = pm.accounts.set_index("account")
    assert sorted(acc.index) == sorted(set(pos["account"]))
    assert acc.loc["ZERO", "requirement"] == 0 and acc.loc["ZERO", "status"] == "ok"
    assert np.isnan(acc.loc["BAD", "requirement"]) and acc.loc["BAD", "status"] == "rejected"
    assert pm.errors["account"].tolist() == ["BAD"]
    assert set(pm.groups["account"]) == set(acc.index[acc["status"] == "ok"])
    want = twin.portfolio_margin(book, rules=CRR).set_index("account")
    np.testing.assert_allclose(acc["requirement"], want.loc[acc.index, "requirement"],
                               rtol=1e-9)


def _no_vol_tables():
    pos, ins, und, pg = random_tables(15)
    ins.loc[ins["instrument"] == "AAA-O0", ["price", "implied_vol"]] = np.nan
    pos = pd.concat([pos, pd.DataFrame({"account": ["NOVOL"], "instrument": ["AAA-O0"],
                                        "quantity": [1.0]})])
    return pos, ins, und, pg


def test_option_without_volatility_raises():
    with pytest.raises(pmfast.InputError, match=r"instruments\.implied_vol: volatility cannot "
                                                 r"be implied .*'AAA-O0'"):
        pmfast.portfolio_margin(make_book(_no_vol_tables()), rules=CRR)


def test_option_without_volatility_collected():
    tables = _no_vol_tables()
    pm = pmfast.portfolio_margin(make_book(tables), rules=CRR, errors="collect")
    acc = pm.accounts.set_index("account")
    holders = set(tables[0].loc[tables[0]["instrument"] == "AAA-O0", "account"])
    assert set(pm.errors["account"]) == holders
    assert (acc.loc[sorted(holders), "status"] == "rejected").all()
    assert acc.loc[sorted(holders), "requirement"].isna().all()
    assert (acc.drop(index=sorted(holders))["status"] == "ok").all()


def test_volatility_fallback_to_underlying():
    pos, ins, und, pg = _no_vol_tables()
    und["volatility"] = 0.35
    arrays = pmfast.risk_arrays(make_book((pos, ins, und, pg)), rules=CRR)
    row = arrays[arrays["instrument"] == "AAA-O0"].iloc[0]
    assert row["vol"] == 0.35 and row["vol_source"] == "underlying"
    given = arrays[arrays["instrument"] == "AAA-O1"].iloc[0]
    assert given["vol_source"] == "implied_vol"


def test_concentration_overlay_by_hand():
    # three stand-alone stocks: two biggest at 30%, the third at 5%; no offsets
    book = pmfast.Book({"account": ["A"] * 3, "instrument": ["X", "Y", "Z"],
                        "quantity": [1000.0, -500.0, 100.0]},
                       {"instrument": ["X", "Y", "Z"], "kind": ["equity"] * 3,
                        "underlying": ["X", "Y", "Z"]},
                       {"underlying": ["X", "Y", "Z"], "price": [100.0, 100.0, 100.0]},
                       as_of=AS_OF)
    pm = pmfast.portfolio_margin(book, rules="house").accounts.iloc[0]
    assert pm["concentration"] == pytest.approx(0.3 * 100_000 + 0.3 * 50_000 + 0.05 * 10_000)
    base = 0.15 * (100_000 + 50_000 + 10_000)
    assert pm["regulatory_requirement"] == pytest.approx(base)
    assert pm["requirement"] == pytest.approx(45_500.0) and pm["binding"] == "concentration"


@pytest.mark.parametrize("bad,pattern", [
    ("instrument", r"instrument\[0\] = 99999"), ("class_start", r"class_start"),
    ("offset", r"group_offset\[0\] = 1.5")])
def test_kernel_rejects_bad_layout(bad, pattern):
    from pmfast import _core
    args = dict(instrument=np.array([0, 1], np.int32), quantity=np.array([1.0, 2.0]),
                class_start=np.array([0, 1, 2]), group_start=np.array([0, 2]),
                account_start=np.array([0, 1]), group_offset=np.array([0.5]))
    if bad == "instrument":
        args["instrument"] = np.array([99999, 1], np.int32)
    elif bad == "class_start":
        args["class_start"] = np.array([0, 2, 1])
    else:
        args["group_offset"] = np.array([1.5])
    with pytest.raises(pmfast.InputError, match=pattern):
        _core.margin_aggregate(*args.values(), np.zeros((2, 10)), np.zeros(2),
                               np.full(2, np.nan), False, False, 1)

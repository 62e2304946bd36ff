"""Reg T inputs and outputs: the rule set loader, bad input raising InputError that names the
table/argument, column and ids, every account present in every output, the Book path."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import InputError
from pmfast._reference.strategy import option_row, stock_row
from pmfast.strategy.book_adapter import legs_from_book
from pmfast.strategy.rules import load_regt_rules

AS_OF = "2027-01-04"
MAR = "2027-03-19"


def margin(rows, **kw):
    return pmfast.strategy_margin(pd.DataFrame(rows), as_of=AS_OF, **kw)


# ---- rule set --------------------------------------------------------------------------------

def test_preset_holds_the_spec_rates():
    r = load_regt_rules("regt")
    assert (r.naked["equity"].rate, r.naked["equity"].minimum) == (0.20, 0.10)
    assert (r.naked["broad_index"].rate, r.naked["high_cap_index"].rate) == (0.15, 0.15)
    assert (r.options.leaps_months, r.options.leaps_requirement) == (9, 0.75)
    assert (r.stock.short_floor_per_share, r.stock.short_low_price_floor_per_share) == (5.0, 2.5)


@pytest.mark.parametrize("edit, message", [
    (("rate = 0.20", "rate = 2.0"), "naked.equity.rate must be a number in [0.0, 1.0]"),
    (("leaps_months = 9", "leaps_months = 9.5"), "options.leaps_months must be an integer"),
    (("long_initial = 0.50", "long_initial = 0.50\nbogus = 1"), "unknown key stock.bogus"),
    (("[naked.high_cap_index]\nrate = 0.15\nminimum = 0.10\n", ""),
     "missing table [naked.high_cap_index]"),
    (('"box", ', '"boxes", '), "pairing.strategies must list names"),
    (("leverage_scales_naked = true", 'leverage_scales_naked = "yes"'),
     "options.leverage_scales_naked must be true or false"),
])
def test_rule_errors_name_the_key_path(tmp_path, edit, message):
    text = (pmfast.strategy.rules.PRESET_DIR / "regt.toml").read_text()
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_regt_rules(path)


def test_rules_load_with_tomli_when_tomllib_is_missing():
    # Python 3.10 has no tomllib; pyproject allows it with tomli. Simulate that in a fresh
    # interpreter: tomllib unimportable, "tomli" provided (by the stdlib parser it backports).
    code = ("import sys, tomllib; sys.modules['tomli'] = tomllib; sys.modules['tomllib'] = None; "
            "import pmfast.strategy; print(pmfast.strategy.load_regt_rules('regt').name)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "regt"


def test_rule_templates_are_the_cores_strategy_names():
    # the rule set validates pairing.strategies against TEMPLATES; the core maps names to codes
    # with its own list (a name missing there would be a bare ValueError in core_params)
    from pmfast.strategy.engine import STRATEGY_NAMES
    from pmfast.strategy.rules import TEMPLATES
    singles = ("long_stock", "short_stock", "long_option", "naked_call", "naked_put")
    assert STRATEGY_NAMES == singles + TEMPLATES


def test_unknown_preset_and_missing_file():
    with pytest.raises(InputError, match="unknown Reg T preset 'nope'"):
        load_regt_rules("nope")
    with pytest.raises(InputError, match="not found"):
        load_regt_rules("/nonexistent/regt.toml")


def test_disabling_a_strategy_changes_the_pairing():
    rows = [option_row("A", "X", "C", 55, MAR, 1, 0.5, U=50.0),
            option_row("A", "X", "C", 50, MAR, -1, 2.0, U=50.0)]
    on = margin(rows).accounts["gross_initial"][0]
    rules = load_regt_rules()
    off_rules = rules.replace(pairing__strategies=[s for s in rules.pairing.strategies
                                                   if s != "vertical"])
    off = margin(rows, rules=off_rules).accounts["gross_initial"][0]
    assert on == pytest.approx(50 + 500)                 # long + width 5 x 100
    assert off == pytest.approx(50 + (2.0 + 10) * 100)   # long + naked call


# ---- bad input -------------------------------------------------------------------------------

GOOD = [option_row("A", "X", "C", 50, MAR, -1, 2.0, U=50.0)]


@pytest.mark.parametrize("change, pattern", [
    ({"quantity": -1.5}, "column 'quantity' must be a whole number of contracts.*A/X"),
    ({"right": "Q"}, "column 'right' must be C or P.*A/X"),
    ({"right": "CALLS"}, "column 'right' must be C or P.*A/X"),
    ({"right": None}, "column 'right' must be C or P.*A/X"),
    ({"price": -1.0}, "column 'price' must be >= 0.*A/X"),
    ({"strike": 0.0}, "column 'strike' must be a number > 0.*A/X"),
    ({"expiry": "2026-12-01"}, "column 'expiry' is before as_of.*A/X"),
    ({"kind": "bond"}, "column 'kind' must be equity, option.*A/X"),
    ({"underlying_price": float("nan")}, "column 'underlying_price' must be a finite number"),
    ({"group_type": "crypto"}, "column 'group_type' must be equity"),
    ({"multiplier": 0.0}, "column 'multiplier' must be > 0"),
])
def test_bad_leg_values_name_column_and_ids(change, pattern):
    row = dict(GOOD[0], **change)
    with pytest.raises(InputError, match=pattern):
        margin([row])


@pytest.mark.parametrize("right", ["C", "c", " call ", "CALL", "Call"])
def test_rights_are_read_as_the_book_reads_them(right):
    # a short call and a short put on the same strike: a short straddle only if read right
    call = dict(GOOD[0], instrument="X.C", right=right)
    put = dict(GOOD[0], instrument="X.P", right=" p ", price=1.0)
    expected = margin([dict(call, right="C"), dict(put, right="P")])
    got = margin([call, put])
    pd.testing.assert_frame_equal(got.accounts, expected.accounts, check_exact=True)
    pd.testing.assert_frame_equal(got.strategies, expected.strategies, check_exact=True)
    assert got.strategies["strategy"].tolist() == ["short_straddle"] * 2


def test_missing_column_and_conflicting_fields():
    row = dict(GOOD[0])
    del row["underlying_price"]
    with pytest.raises(InputError, match="missing required column 'underlying_price'"):
        margin([row])
    other = dict(GOOD[0], account="B", underlying_price=51.0)
    with pytest.raises(InputError, match="'underlying_price' differs .* same underlying"):
        margin([GOOD[0], other])
    other = dict(GOOD[0], account="B", price=2.5)
    with pytest.raises(InputError, match="'price' differs .* same instrument"):
        margin([GOOD[0], other])


def test_bad_arguments():
    with pytest.raises(InputError, match="method must be one of optimal, greedy"):
        margin(GOOD, method="fast")
    with pytest.raises(InputError, match="n_threads must be a positive integer"):
        margin(GOOD, n_threads=0)
    with pytest.raises(InputError, match="flat legs table with as_of"):
        pmfast.strategy_margin(pd.DataFrame(GOOD))


def test_core_rejects_bad_arrays_by_index():
    from pmfast import _core
    legs = {"kind": np.array([1], np.int8), "strike": np.array([50.0]),
            "expiry": np.array([20000], np.int32), "multiplier": np.array([100.0]),
            "price": np.array([2.0]), "quantity": np.array([-0.5]),
            "long_rate": np.array([1.0])}
    groups = {"offsets": np.array([0, 1], np.int64), "underlying_price": np.array([50.0]),
              **{k: np.array([0.2]) for k in ("naked_rate", "naked_minimum", "long_initial",
                                              "long_maintenance", "short_initial",
                                              "short_maintenance", "short_low_maintenance")}}
    from pmfast.strategy.engine import core_params
    params = core_params(load_regt_rules(), "optimal")
    with pytest.raises(InputError, match=r"quantity\[0\] = -0.5: an option position must be"):
        _core.regt_margin(legs, groups, params, 1)
    groups["offsets"] = np.array([0, 2], np.int64)
    with pytest.raises(InputError, match="offsets must start at 0 and end at the number of legs"):
        _core.regt_margin(legs, groups, params, 1)


def test_core_ignores_the_strike_of_stock_legs():
    # stock legs reach the core with the NaN strike they carry: any value gives the same pairing
    from pmfast.strategy.book_adapter import legs_from_book
    from pmfast.strategy.engine import GroupedLegs, run_core
    rules = load_regt_rules()
    grouped = GroupedLegs(legs_from_book(pmfast.generate(accounts=80, seed=2, as_book=True)),
                          rules)
    stock = grouped.core_legs["kind"] == 0
    assert stock.any() and np.isnan(grouped.core_legs["strike"][stock]).all()
    nan_run = run_core(grouped, rules, "optimal", 1)
    grouped.core_legs["strike"][stock] = 1e300
    big_run = run_core(grouped, rules, "optimal", 1)
    assert nan_run.keys() == big_run.keys()
    for name in nan_run:
        np.testing.assert_array_equal(nan_run[name], big_run[name], err_msg=name)


# ---- every account appears -------------------------------------------------------------------

def test_every_account_appears_with_zero_rows_for_nothing():
    rows = GOOD + [
        stock_row("Z", "X", 0, 50.0, U=50.0),                      # nets to nothing
        dict(option_row("F", "ES", "C", 6000, MAR, 1, 10.0, U=6000.0), kind="future_option"),
        stock_row("N", "X", 100, 50.0, U=50.0), stock_row("N", "X", -100, 50.0, U=50.0)]
    r = margin(rows)
    acc = r.accounts.set_index("account")
    assert sorted(acc.index) == ["A", "F", "N", "Z"]
    for a in ("F", "N", "Z"):
        assert acc.loc[a, ["initial", "maintenance", "gross_initial"]].tolist() == [0, 0, 0]
        assert acc.loc[a, "minimum_equity"] == 0
    assert acc.loc["F", "unmargined_positions"] == 1
    assert acc.loc["A", "minimum_equity"] == 2000


def test_book_path_matches_flat_table_and_covers_every_account():
    book = pmfast.generate(accounts=300, seed=7, as_book=True)
    r = pmfast.strategy_margin(book, n_threads=1)
    assert r.accounts["account"].tolist() == list(book.account_ids)
    assert r.accounts["pairing_optimal"].all()
    # the same positions through the flat-table path (validated independently)
    legs = legs_from_book(book)
    frame = pd.DataFrame({
        "account": legs.account_ids[legs.account],
        "instrument": legs.instrument_ids[legs.instrument],
        "underlying": legs.underlying_ids[legs.underlying],
        "kind": np.where(legs.kind == 0, "equity", np.where(legs.kind == 2, "future", "option")),
        "right": np.where(legs.kind == 1, "C", "P"), "strike": legs.strike,
        "expiry": pd.to_datetime(legs.expiry, unit="D"), "multiplier": legs.multiplier,
        "price": legs.price, "quantity": legs.quantity,
        "underlying_price": legs.underlying_price[legs.underlying],
        "group_type": legs.group_type[legs.underlying],
        "leverage": legs.leverage[legs.underlying]})
    frame.loc[frame["kind"] != "option", "expiry"] = pd.NaT
    flat = pmfast.strategy_margin(frame, as_of=book.as_of, n_threads=1).accounts
    merged = r.accounts.merge(flat, on="account", suffixes=("", "_flat"))
    np.testing.assert_allclose(merged["initial"], merged["initial_flat"], rtol=1e-12)
    np.testing.assert_allclose(merged["maintenance"], merged["maintenance_flat"], rtol=1e-12)


# ---- flat_margin -----------------------------------------------------------------------------

def test_flat_margin_seed_example():
    # seed document: 50,000 x 0.05 / 0.98 and 25,000 x 0.05 / 0.98, 3,826.53 together
    assert pmfast.flat_margin(50_000, 0.05, 0.02) == pytest.approx(2551.02, abs=0.005)
    both = pmfast.flat_margin(np.array([50_000, 25_000]), 0.05, 0.02)
    assert both[1] == pytest.approx(1275.51, abs=0.005)
    assert both.sum() == pytest.approx(3826.53, abs=0.005)


@pytest.mark.parametrize("args, pattern", [
    ((1000, 0.05, 1.0), r"margin_rate must be in \[0, 1\); first offending index \[0\]"),
    (([1000, -5], 0.05, 0.02), r"contract_value must be finite and >= 0; first offending index \[1\]"),
    ((1000, "x", 0.02), "risk_factor must be numeric"),
])
def test_flat_margin_bad_input(args, pattern):
    with pytest.raises(InputError, match=pattern):
        pmfast.flat_margin(*args)

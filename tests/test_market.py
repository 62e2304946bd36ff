"""The market snapshot (pmfast.market): one status per instrument that every method honours,
one model for unmarked options, impossible marks flagged (issue 10 seam 2; issue 15 items 1
and 6). Each test fails on the main before the snapshot."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import pmfast
from pmfast import pricing
from pmfast.batch import run_book
from pmfast.cli import main
from pmfast.errors import InputError
from pmfast.market import STATUS_MARK_OUT_OF_BOUNDS, STATUS_OK, mark_bounds, resolve_market
from pmfast.rules import RuleSet

AS_OF = "2026-11-20"


def tables(option=None, und_vol=None):
    """A1 holds 100 shares of ACME, A2 is short one ACME 60 call (issue 15 item 1)."""
    positions = pd.DataFrame({"account": ["A1", "A2"], "instrument": ["ACME", "ACME.C60"],
                              "quantity": [100.0, -1.0]})
    row = {"instrument": "ACME.C60", "kind": "option", "underlying": "ACME", "right": "C",
           "strike": 60.0, "expiry": "2027-01-15", "price": None, "implied_vol": None}
    row.update(option or {})
    instruments = pd.DataFrame([{"instrument": "ACME", "kind": "equity", "underlying": "ACME"},
                                row])
    underlyings = pd.DataFrame({"underlying": ["ACME"], "price": [50.0],
                                "volatility": [und_vol]})
    return positions, instruments, underlyings


def book(errors="collect", **kw):
    return pmfast.Book(*tables(**kw), as_of=AS_OF, errors=errors)


@pytest.mark.parametrize("method", ["pm", "regt", "both"])
def test_unvaluable_option_rejects_its_account_whatever_the_method(method):
    run = run_book(book(), method=method, n_threads=1)
    acc = run.accounts.set_index("account")
    assert acc["status"].tolist() == ["ok", "rejected"]
    assert run.errors["account"].tolist() == ["A2"]
    assert "implied_vol" in run.errors["reason"].iloc[0]
    figure = "pm_requirement" if method != "regt" else "regt_initial"
    assert acc.loc["A1", figure] > 0 and np.isnan(acc.loc["A2", figure])


def test_strategy_margin_alone_collects_and_raises_like_portfolio_margin():
    r = pmfast.strategy_margin(book())
    assert r.accounts["status"].tolist() == ["ok", "rejected"]
    with pytest.raises(InputError, match="ACME.C60"):
        pmfast.strategy_margin(book(errors="raise"))
    with pytest.raises(InputError, match="ACME.C60"):
        pmfast.portfolio_margin(book(errors="raise"))


def test_cli_collect_margins_the_good_account(tmp_path):
    """The reproduction of issue 15 item 1: exit 3, A1 margined, A2 rejected."""
    paths = []
    for name, frame in zip(("pos", "ins", "und"), tables()):
        paths.append(str(tmp_path / f"{name}.csv"))
        frame.to_csv(paths[-1], index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["margin", *paths, "--as-of", AS_OF, "--out", str(out),
                                       "--errors", "collect"])
    assert result.exit_code == 3, result.output
    acc = pd.read_csv(out).set_index("account")
    assert acc.loc["A1", "status"] == "ok" and acc.loc["A2", "status"] == "rejected"


def test_unheld_or_flat_unvaluable_option_costs_nothing():
    p, i, u = tables()
    p.loc[1, "quantity"] = 0.0
    b = pmfast.Book(p, i, u, as_of=AS_OF, errors="raise")
    run = run_book(b, method="both", n_threads=1)
    assert run.accounts["status"].tolist() == ["ok", "ok"]


def test_option_expiring_today_is_marked_at_intrinsic_by_both_methods():
    b = book(option={"expiry": AS_OF, "strike": 45.0})
    run = run_book(b, method="both", n_threads=1)
    assert run.accounts["status"].tolist() == ["ok", "ok"]
    legs = run.regt.accounts.set_index("account")
    assert legs.loc["A2", "short_option_proceeds"] == pytest.approx(5.0 * 100, abs=1e-9)


def test_unmarked_american_option_uses_the_rule_sets_model_in_reg_t():
    """Reg T's proceeds of an unmarked short call are 100 x the rule set's model value (the
    V_0 of portfolio margin), not the Bjerksund-Stensland 2002 value of main."""
    b = book(option={"implied_vol": 0.45}, errors="raise")
    rules = RuleSet.load("finra-cpm")
    expected = pricing.american("C", 50.0, 60.0, 56 / 365, 0.0, 0.0, 0.45,
                                model=rules.american_model, steps=rules.crr_steps)
    other = pricing.american("C", 50.0, 60.0, 56 / 365, 0.0, 0.0, 0.45, model="bjs2002")
    assert rules.american_model != "bjs2002" and expected != other
    proceeds = pmfast.strategy_margin(b).accounts.set_index("account").loc[
        "A2", "short_option_proceeds"]
    assert proceeds == pytest.approx(100 * float(expected), rel=1e-12)
    value0 = pmfast.risk_arrays(b).set_index("instrument").loc["ACME.C60", "value0"].iloc[0]
    assert proceeds == 100 * value0     # the same number, not merely close


def test_call_marked_at_ten_times_spot_is_bad_data_for_every_method():
    """Issue 15 item 6: on main portfolio margin used the fallback vol silently and Reg T
    booked the impossible price as proceeds (initial 3,200 -> -46,500)."""
    b = book(option={"price": 500.0}, und_vol=0.3)
    m = resolve_market(b, RuleSet.load("finra-cpm"))
    assert m.status.tolist() == [STATUS_OK, STATUS_MARK_OUT_OF_BOUNDS]
    run = run_book(b, method="both", n_threads=1)
    assert run.accounts["status"].tolist() == ["ok", "rejected"]
    assert "price" in run.errors["reason"].iloc[0]
    with pytest.raises(InputError, match="no-arbitrage"):
        pmfast.portfolio_margin(book(option={"price": 500.0}, und_vol=0.3, errors="raise"))


@pytest.mark.parametrize("right, K, T, r, q", [(1, 90.0, 0.5, 0.05, 0.02),
                                               (-1, 110.0, 0.5, 0.05, 0.0),
                                               (-1, 130.0, 2.0, -0.01, 0.03),
                                               (1, 70.0, 1.0, 0.02, 0.06)])
def test_mark_bounds_are_the_zero_and_infinite_vol_values(monkeypatch, right, K, T, r, q):
    """With no rate slack the lower bound is BSM at vanishing volatility; the upper bound is
    the spot (call) or strike (put), undiscounted where discounting would lower it (American
    style may be worth that), so at least BSM at huge volatility."""
    import pmfast.market as market
    monkeypatch.setattr(market, "RATE_SLACK", 0.0)
    lower, upper = mark_bounds(np.array([1]), np.array([right]), np.array([100.0]),
                               np.array([K]), np.array([T]), r, np.array([q]))
    assert lower[0] == pytest.approx(float(pricing.bsm(right, 100.0, K, T, r, q, 1e-9)),
                                     abs=1e-9)
    # equal in exact arithmetic for a put when r < 0 (both are K e^{-rT}): allow the kernel's
    # last-bit rounding, which differs between its AVX-512/AVX2/baseline paths
    assert upper[0] >= float(pricing.bsm(right, 100.0, K, T, r, q, 50.0)) * (1 - 1e-14)
    assert upper[0] == (max(100.0, 100.0 * np.exp(-q * T)) if right > 0 else
                        max(K, K * np.exp(-r * T)))


def test_marks_of_generated_books_are_all_possible():
    """The slack for the rate keeps every mark of a generated book (marked at 4.5%) good when
    the run values at another rate."""
    t = pmfast.generate(accounts=200, seed=5)
    for rate in (0.0, 0.045, 0.09):
        b = pmfast.Book(t["positions"], t["instruments"], t["underlyings"],
                        t["product_groups"], as_of=AS_OF, rate=rate)
        assert not resolve_market(b, RuleSet.load("finra-cpm")).bad.any()

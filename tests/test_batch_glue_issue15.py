"""Issue 15 loose ends in the result tables: every method's rejections reach the batch's errors
table and joined table, Reg T's pairing columns are joined, a non-finite figure rejects its
account (never "ok"), and greedy pairing never claims optimality.

The book is five hand-made accounts whose fate is known by construction:
A1 long stock, A2 half a short call (portfolio margin values it, Reg T refuses a fraction of a
contract), A3 nothing (a zero-net row), A4 1e10 shares at 1e300 (every figure overflows),
A5 short stock."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.batch import run_book
from pmfast.finite import reject_non_finite


def make_book(accounts=("A1", "A2", "A3", "A4", "A5"), errors="collect"):
    pos = pd.DataFrame({"account": ["A1", "A2", "A3", "A4", "A5"],
                        "instrument": ["ACME", "ACME.C60", "ACME", "BIG", "ACME"],
                        "quantity": [100.0, -0.5, 0.0, 1e10, -100.0]})
    pos = pos[pos["account"].isin(accounts)].reset_index(drop=True)
    ins = pd.DataFrame({"instrument": ["ACME", "ACME.C60", "BIG"],
                        "kind": ["equity", "option", "equity"],
                        "underlying": ["ACME", "ACME", "BIGU"], "right": [None, "C", None],
                        "strike": [None, 60.0, None],
                        "expiry": [None, "2027-01-15", None]})
    und = pd.DataFrame({"underlying": ["ACME", "BIGU"], "price": [50.0, 1e300],
                        "volatility": [0.3, 0.3]})
    return pmfast.Book(pos, ins, und, as_of="2026-11-20", errors=errors)


@pytest.fixture(scope="module")
def book():
    return make_book()


def _row(table, account):
    return table.loc[table["account"] == account].iloc[0]


def _no_figures(row, table):
    floats = [c for c in table.columns if table[c].dtype.kind == "f"]
    return bool(row[floats].isna().all())


def test_portfolio_margin_accepts_the_fraction_reg_t_rejects(book):
    # the premise of the batch test below: the rejection is Reg T's own
    pm = pmfast.portfolio_margin(book, errors="collect")
    assert _row(pm.accounts, "A2")["status"] == "ok"
    assert "A2" not in set(pm.errors["account"])
    regt = pmfast.strategy_margin(book, errors="collect")
    assert _row(regt.accounts, "A2")["status"] == "rejected"
    assert "whole number of contracts" in " ".join(regt.errors.loc[
        regt.errors["account"] == "A2", "reason"])


@pytest.mark.parametrize("method", ["both", "all"])
def test_batch_lists_every_methods_rejections(book, method):
    sim = None
    if method == "all":
        from pmfast.simulation.run import demo_set
        sim = {"scenarios": demo_set(book, n=40)}
    run = run_book(book, method=method, errors="collect", n_threads=1, simulation=sim)
    reasons = run.errors.groupby("account")["reason"].apply(" | ".join)
    assert set(reasons.index) == {"A2", "A4"}
    assert "whole number of contracts" in reasons["A2"]           # Reg T's own
    assert "portfolio margin" in reasons["A4"] and "Reg T" in reasons["A4"]
    assert not run.errors.duplicated().any()
    for account in ("A2", "A4"):
        row = _row(run.accounts, account)
        assert row["status"] == "rejected"
        assert _no_figures(row, run.accounts)
        assert pd.isna(row["worst_scenario"]) and not row["regt_pairing_optimal"]
    assert run.n_rejected == 2
    # the other accounts: each method's own figures, untouched
    pm = pmfast.portfolio_margin(book, errors="collect")
    regt = pmfast.strategy_margin(book, errors="collect")
    for account in ("A1", "A3", "A5"):
        row = _row(run.accounts, account)
        assert row["status"] == "ok"
        assert row["pm_requirement"] == _row(pm.accounts, account)["requirement"]
        assert row["regt_initial"] == _row(regt.accounts, account)["initial"]
        if method == "all":
            assert np.isfinite(row["sim_requirement"])


def test_batch_errors_file_holds_reg_t_rejections(book, tmp_path):
    from pmfast.batch import errors_path, write_outputs
    run = run_book(book, method="both", errors="collect", n_threads=1)
    out = tmp_path / "accounts.parquet"
    write_outputs(run, out)
    written = pd.read_parquet(errors_path(out))
    assert {"A2", "A4"} == set(written["account"])


@pytest.mark.parametrize("pairing", ["optimal", "greedy"])
@pytest.mark.parametrize("method", ["both", "regt"])
def test_reg_t_pairing_columns_reach_the_batch(pairing, method):
    tables = pmfast.generate(accounts=60, seed=5)
    book = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                       tables["product_groups"], as_of="2026-11-20")
    run = run_book(book, method=method, n_threads=1, pairing=pairing)
    for c in ("pairing_optimal", "pairing_gap_initial", "pairing_gap_maintenance"):
        joined = run.accounts[f"regt_{c}"].to_numpy()
        own = run.regt.accounts[c].to_numpy()
        assert np.array_equal(joined, own, equal_nan=own.dtype.kind == "f")
    if pairing == "greedy":
        assert not run.accounts["regt_pairing_optimal"].any()
    else:
        assert run.accounts["regt_pairing_optimal"].all()      # small books: all proven


def test_greedy_never_claims_optimality(book):
    clean = make_book(("A1", "A3", "A5"), errors="raise")
    optimal = pmfast.strategy_margin(clean, method="optimal").accounts
    greedy = pmfast.strategy_margin(clean, method="greedy").accounts
    # A3 has nothing to pair, A1/A5 a lone stock leg: trivially optimal, but greedy proves
    # nothing and says so
    assert optimal["pairing_optimal"].all()
    assert not greedy["pairing_optimal"].any()
    assert np.array_equal(optimal["initial"], greedy["initial"])


@pytest.mark.parametrize("which", ["pm", "regt", "batch"])
def test_non_finite_figures_reject_their_account(book, which):
    clean = make_book(("A1", "A3", "A5"))
    if which == "pm":
        res, ref = (pmfast.portfolio_margin(b, errors="collect") for b in (book, clean))
        figure = "requirement"
    elif which == "regt":
        res, ref = (pmfast.strategy_margin(b, errors="collect") for b in (book, clean))
        res.accounts = res.accounts[res.accounts["account"] != "A2"]   # its own rejection
        figure = "initial"
    else:
        res, ref = (run_book(b, method="both", errors="collect", n_threads=1)
                    for b in (book, clean))
        figure = "pm_requirement"
    table = res.accounts.set_index("account")
    assert table.loc["A4", "status"] == "rejected"
    assert np.isnan(table.loc["A4", figure])
    reason = " ".join(res.errors.loc[res.errors["account"] == "A4", "reason"])
    assert "not finite" in reason
    ok = table[table["status"] == "ok"]
    assert len(ok) >= 3
    floats = [c for c in ok.columns if ok[c].dtype.kind == "f" and "gap" not in c]
    assert np.isfinite(ok[floats].to_numpy(float)).all()
    # every other account's figures are those of the book without A4, bit for bit
    expected = ref.accounts.set_index("account")
    for account in ("A1", "A3", "A5"):
        assert table.loc[account, figure] == expected.loc[account, figure]


@pytest.mark.parametrize("call", [
    lambda b: pmfast.portfolio_margin(b, errors="raise"),
    lambda b: pmfast.strategy_margin(b, errors="raise"),
    lambda b: run_book(b, method="pm", errors="raise", n_threads=1)])
def test_non_finite_figures_raise_under_raise(call):
    book = make_book(("A1", "A4"), errors="raise")
    with pytest.raises(pmfast.InputError, match="'A4'.*not finite"):
        call(book)


def test_safety_net_rules():
    frame = pd.DataFrame({"account": ["X", "Y", "Z", "W"],
                          "a": [1.0, np.inf, np.nan, 2.0],
                          "gap": [np.nan, 0.0, 0.0, -np.inf]})
    already = np.array([False, False, True, False])    # Z: rejected before, not re-examined
    rejected, errors = reject_non_finite(frame, ["a", "gap"], already, None, "collect",
                                         "test", nan_allowed=["gap"])
    assert rejected.tolist() == [False, True, True, True]
    assert errors["account"].tolist() == ["Y", "W"]
    assert errors["column"].tolist() == ["a", "gap"]
    assert not already[1]                              # the input is not modified
    same, none = reject_non_finite(frame.iloc[[0]], ["a", "gap"], None, None, "collect", "t",
                                   nan_allowed=["gap"])
    assert same is None and none is None

"""Simulation margin (shared/spec/simulation-margin.md) against the numpy twin (full
revaluation with the reference pricers, dense sums, full sort), portfolio margin, and its
invariants."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast._reference import simulation as twin
from pmfast.scenario_set import ScenarioSet
from pmfast.simulation.margin import tail_count

AS_OF = "2026-11-20"
# American options under Bjerksund-Stensland 2002 keep the twin fast and independent (the
# reference twin has its own textbook bjs2002); the fixed_point engine has its own tests.
BJS = pmfast.RuleSet(american_model="bjs2002")
UNDERLYINGS = ["AAA", "BBB", "SPX", "QQQ", "GLD"]


def tables(seed, european=True, n_accounts=6, n_positions=40):
    """Small random book: shares, American/European options, a future and future options."""
    rng = np.random.default_rng(seed)
    prices = np.round(rng.uniform(20, 400, len(UNDERLYINGS)), 2)
    unds = pd.DataFrame({"underlying": UNDERLYINGS, "price": prices,
                         "dividend_yield": np.round(rng.uniform(0, 0.03, len(UNDERLYINGS)), 4)})
    rows = []
    for u, p in zip(UNDERLYINGS, prices):
        rows.append({"instrument": u, "kind": "equity", "underlying": u})
        for k in range(4):
            rows.append({"instrument": f"{u}-O{k}", "kind": "option", "underlying": u,
                         "right": "C" if k % 2 else "P",
                         "strike": float(np.round(p * rng.uniform(0.8, 1.2), 1)),
                         "expiry": str(np.datetime64(AS_OF) + int(rng.integers(1, 400))),
                         "style": "european" if european or k < 2 else "american",
                         "implied_vol": float(rng.uniform(0.1, 0.6))})
    rows.append({"instrument": "SPXF", "kind": "future", "underlying": "SPX", "multiplier": 50.0,
                 "expiry": "2026-12-18", "price": float(prices[2] * 1.01)})
    for k, right in enumerate("CP"):
        rows.append({"instrument": f"SPXF-{right}", "kind": "future_option", "underlying": "SPX",
                     "future": "SPXF", "multiplier": 50.0, "right": right,
                     "strike": float(np.round(prices[2], 0)), "expiry": "2026-12-18",
                     "implied_vol": 0.2 + 0.05 * k})
    ins = pd.DataFrame(rows)
    pos = pd.DataFrame({
        "account": [f"ACC{a}" for a in rng.integers(0, n_accounts, n_positions)],
        "instrument": rng.choice(ins["instrument"], n_positions),
        "quantity": rng.integers(-20, 21, n_positions).astype(float)})
    pos = pd.concat([pos, pd.DataFrame({"account": [f"ACC{a}" for a in range(n_accounts)],
                                        "instrument": "AAA", "quantity": 1.0})])
    return pos, ins, unds


def book_of(pos, ins, unds, **kw):
    return pmfast.Book(pos, ins, unds, as_of=AS_OF, rate=0.04, **kw)


def scenario_set(n=200, seed=0, vol=True, rate=True, horizon=2, underlyings=UNDERLYINGS):
    rng = np.random.default_rng(seed)
    m = len(underlyings)
    ret = np.exp(rng.normal(0, 0.04, (n, m)) + rng.normal(0, 0.03, (n, 1))) - 1
    return ScenarioSet(underlyings, ret,
                       rng.normal(0, 0.15, (n, m)) if vol else None,
                       rng.normal(0, 0.003, n) if rate else None,
                       labels=[f"d{k:04d}" for k in range(n)], horizon_days=horizon)


def by_account(frame):
    return frame.set_index("account").sort_index()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("confidence", [0.99, 0.95, 0.9])
def test_european_book_matches_numpy_twin(seed, confidence):
    book = book_of(*tables(seed))
    scen = scenario_set(seed=seed)
    sim = pmfast.simulation_margin(book, scen, confidence=confidence, n_threads=2,
                                   revaluation="full")
    want, comps = twin.simulation_margin(book, scen, confidence)
    got, want = by_account(sim.accounts), by_account(want)
    scale = 1e-9 * np.abs(want[["es", "var", "worst_loss"]]).max().max()
    for col in ("es", "var", "worst_loss"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=scale, err_msg=col)
    assert (got["worst_scenario"].fillna("") == want["worst_scenario"].where(
        want["worst_loss"] > 0, "")).all()
    np.testing.assert_allclose(got["requirement"], np.maximum(want["es"], 0), rtol=1e-9,
                               atol=scale)
    for row in sim.components.itertuples():
        np.testing.assert_allclose(row.contribution, comps.get((row.account, row.underlying), 0),
                                   rtol=1e-9, atol=scale)


def test_american_book_matches_numpy_twin():
    book = book_of(*tables(5, european=False))
    scen = scenario_set(n=60, seed=5)
    sim = pmfast.simulation_margin(book, scen, rules=BJS, confidence=0.95, n_threads=2,
                                   revaluation="full")
    want, _ = twin.simulation_margin(book, scen, 0.95, rules=BJS)
    got, want = by_account(sim.accounts), by_account(want)
    for col in ("es", "var", "worst_loss"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, err_msg=col)


def test_pnl_vectors_match_twin_and_reproduce_the_measures():
    book = book_of(*tables(3))
    scen = scenario_set(seed=3)
    sim = pmfast.simulation_margin(book, scen, measure="var", confidence=0.95,
                                   revaluation="full")
    pnl, _ = twin.revalue(book, scen.select(UNDERLYINGS), "finra-cpm")
    P, _ = twin.account_pnl(book, pnl)
    chosen = list(book.account_ids[[2, 0]])
    got = sim.pnl(chosen)
    assert list(got.columns) == chosen and list(got.index) == list(scen.labels)
    np.testing.assert_allclose(got.to_numpy().T, P[[2, 0]], rtol=1e-9,
                               atol=1e-9 * np.abs(P).max())
    m = tail_count(0.95, scen.n_scenarios)
    losses = -np.sort(got.to_numpy(), axis=0)[::-1][::-1]   # ascending P&L
    acc = by_account(sim.accounts).loc[chosen]
    np.testing.assert_allclose(acc["var"], -np.sort(got.to_numpy(), axis=0)[m - 1], rtol=1e-12)
    np.testing.assert_allclose(acc["es"], -np.sort(got.to_numpy(), axis=0)[:m].mean(axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(acc["requirement"], np.maximum(acc["var"], 0))
    assert losses.shape == (scen.n_scenarios, 2)
    with pytest.raises(pmfast.InputError, match="NOPE"):
        sim.pnl(["NOPE"])


def test_components_sum_to_expected_shortfall():
    book = book_of(*tables(7, european=False, n_accounts=12, n_positions=120))
    sim = pmfast.simulation_margin(book, scenario_set(n=300, seed=7), rules=BJS)
    total = sim.components.groupby("account")["contribution"].sum()
    es = by_account(sim.accounts)["es"]
    np.testing.assert_allclose(total.sort_index(), es.loc[total.index].sort_index(), rtol=1e-9,
                               atol=1e-9 * es.abs().max())
    assert sim.components["underlying"].nunique() > 1


def test_reduction_to_portfolio_margin_single_class():
    """One stand-alone class, one scenario per TIMS valuation point, horizon 0:
    measure="worst" is portfolio margin's risk (TIMS risk of the class group)."""
    pos, ins, unds = tables(11, european=False, n_accounts=5, n_positions=30)
    aaa = ins["underlying"] == "AAA"
    ins = ins[aaa]
    pos = pos[pos["instrument"].isin(ins["instrument"])]
    unds = unds[unds["underlying"] == "AAA"].assign(group_type="equity")
    for rules in ("finra-cpm", BJS):
        book = book_of(pos, ins, unds)
        pm = by_account(pmfast.portfolio_margin(book, rules).accounts)
        points = np.r_[np.linspace(-0.15, 0, 6)[:-1], np.linspace(0, 0.15, 6)[1:]]
        scen = ScenarioSet(["AAA"], points[:, None], labels=[f"{p:+.3f}" for p in points],
                           horizon_days=0)
        # the default (grid) revalues such a set in full too: no volatility or rate moves
        sim = by_account(pmfast.simulation_margin(book, scen, measure="worst", rules=rules)
                         .accounts)
        np.testing.assert_allclose(np.maximum(sim["worst_loss"], 0), pm["risk"], rtol=1e-9,
                                   atol=1e-9)
        np.testing.assert_allclose(sim["requirement"], pm["risk"], rtol=1e-9, atol=1e-9)


def _permuted(pos, ins, unds, seed):
    rng = np.random.default_rng(seed)
    return (pos.iloc[rng.permutation(len(pos))], ins.iloc[rng.permutation(len(ins))],
            unds.iloc[rng.permutation(len(unds))])


def test_bit_identical_for_threads_and_row_order():
    pos, ins, unds = tables(13, european=False, n_accounts=40, n_positions=400)
    scen = scenario_set(n=257, seed=13)
    base = by_account(pmfast.simulation_margin(book_of(pos, ins, unds), scen, n_threads=1)
                      .accounts)
    two = by_account(pmfast.simulation_margin(book_of(pos, ins, unds), scen, n_threads=2)
                     .accounts)
    shuffled_sim = pmfast.simulation_margin(book_of(*_permuted(pos, ins, unds, 1)), scen,
                                            n_threads=2)
    shuffled = by_account(shuffled_sim.accounts)
    cols = ["requirement", "es", "var", "worst_loss", "worst_scenario"]
    pd.testing.assert_frame_equal(base[cols], two[cols], check_exact=True)
    pd.testing.assert_frame_equal(base[cols], shuffled[cols], check_exact=True)


def test_scenario_order_does_not_change_measures():
    book = book_of(*tables(17))
    scen = scenario_set(n=100, seed=17)
    # duplicate scenarios: ties in the tail
    dup = ScenarioSet(scen.underlyings, np.r_[scen.returns, scen.returns[:30]],
                      np.r_[scen.vol_shifts, scen.vol_shifts[:30]],
                      np.r_[scen.rate_shifts, scen.rate_shifts[:30]],
                      labels=list(scen.labels) + [f"x{k}" for k in range(30)], horizon_days=2)
    perm = np.random.default_rng(0).permutation(dup.n_scenarios)
    shuffled = ScenarioSet(dup.underlyings, dup.returns[perm], dup.vol_shifts[perm],
                           dup.rate_shifts[perm], np.asarray(dup.labels)[perm], horizon_days=2)
    a = by_account(pmfast.simulation_margin(book, dup, confidence=0.9).accounts)
    b = by_account(pmfast.simulation_margin(book, shuffled, confidence=0.9).accounts)
    for col in ("es", "var", "worst_loss"):
        np.testing.assert_array_equal(a[col], b[col])


def test_tail_count():
    assert tail_count(0.99, 1000) == 10
    assert tail_count(0.99, 1001) == 11
    assert tail_count(0.975, 1000) == 25
    assert tail_count(0.99, 50) == 1
    assert tail_count(0.5, 3) == 2


def test_measures_on_a_hand_checked_book():
    """100 shares at 50 and returns -10%, -4%, +5%, -4%, -2%: losses 500, 200, -250, 200, 100."""
    book = book_of({"account": ["A"], "instrument": ["X"], "quantity": [100.0]},
                   {"instrument": ["X"], "kind": ["equity"], "underlying": ["X"]},
                   {"underlying": ["X"], "price": [50.0]})
    scen = ScenarioSet(["X"], [[-0.10], [-0.04], [0.05], [-0.04], [-0.02]],
                       labels=list("abcde"), horizon_days=1)
    acc = pmfast.simulation_margin(book, scen, confidence=0.6).accounts.iloc[0]
    # m = ceil(0.4 * 5) = 2: ES = (500 + 200) / 2, VaR = 200, worst 500 in "a"
    assert acc["es"] == pytest.approx(350.0) and acc["var"] == pytest.approx(200.0)
    assert acc["worst_loss"] == pytest.approx(500.0) and acc["worst_scenario"] == "a"
    assert acc["n_scenarios"] == 5 and acc["status"] == "ok"
    short = pmfast.simulation_margin(book_of({"account": ["A"], "instrument": ["X"],
                                              "quantity": [-100.0]},
                                             {"instrument": ["X"], "kind": ["equity"],
                                              "underlying": ["X"]},
                                             {"underlying": ["X"], "price": [50.0]}),
                                     scen, measure="var", confidence=0.6).accounts.iloc[0]
    # short: losses -500, -200, 250, -200, -100 -> VaR = 2nd largest = -100, requirement 0
    assert short["var"] == pytest.approx(-100.0) and short["requirement"] == 0.0


def test_long_table_input_equals_scenario_set():
    book = book_of(*tables(19))
    scen = scenario_set(n=40, seed=19, rate=False)
    k, u = np.meshgrid(np.arange(40), np.arange(len(UNDERLYINGS)), indexing="ij")
    table = pd.DataFrame({"scenario": np.asarray(scen.labels)[k.ravel()],
                          "underlying": np.asarray(UNDERLYINGS)[u.ravel()],
                          "return": scen.returns.ravel(), "vol_shift": scen.vol_shifts.ravel()})
    a = by_account(pmfast.simulation_margin(book, scen).accounts)
    b = by_account(pmfast.simulation_margin(book, table.sample(frac=1, random_state=1),
                                            horizon_days=2).accounts)
    cols = ["es", "var", "worst_loss", "worst_scenario"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)
    with pytest.raises(pmfast.InputError, match="horizon_days"):
        pmfast.simulation_margin(book, table)


def test_missing_underlying():
    pos, ins, unds = tables(23)
    book = book_of(pos, ins, unds)
    scen = scenario_set(n=50, seed=23, underlyings=[u for u in UNDERLYINGS if u != "GLD"])
    with pytest.raises(pmfast.InputError, match="GLD"):
        pmfast.simulation_margin(book, scen)
    # missing="zero": GLD held unchanged = an explicit zero column
    zero = ScenarioSet(UNDERLYINGS, np.c_[scen.returns, np.zeros(50)],
                       np.c_[scen.vol_shifts, np.zeros(50)], scen.rate_shifts, scen.labels,
                       horizon_days=2)
    a = by_account(pmfast.simulation_margin(book, scen, missing="zero").accounts)
    b = by_account(pmfast.simulation_margin(book, zero).accounts)
    pd.testing.assert_frame_equal(a[["es", "var", "worst_loss"]], b[["es", "var", "worst_loss"]])
    # errors="collect": accounts holding GLD rejected, every account still listed
    sim = pmfast.simulation_margin(book, scen, errors="collect")
    gld = set(pos.loc[pos["instrument"].str.startswith("GLD"), "account"])
    acc = by_account(sim.accounts)
    assert set(acc.index) == set(book.account_ids)
    assert set(acc.index[acc["status"] == "rejected"]) == gld and gld
    assert acc.loc[sorted(gld), "es"].isna().all()
    assert set(sim.errors["account"]) == gld
    assert sim.errors["reason"].str.contains("GLD").all()
    assert set(sim.components["account"]) == set(book.account_ids)
    ok = acc.index[acc["status"] == "ok"]
    np.testing.assert_allclose(acc.loc[ok, "es"], b.loc[ok, "es"], rtol=1e-12)
    assert sim.pnl(sorted(gld)[:1]).isna().all().all()


def test_bad_volatility_collected_like_portfolio_margin():
    pos, ins, unds = tables(29)
    bad = sorted(set(pos["instrument"]) & set(ins.loc[ins["kind"] == "option", "instrument"]))[0]
    ins.loc[ins["instrument"] == bad, "implied_vol"] = np.nan
    book = book_of(pos, ins, unds)
    with pytest.raises(pmfast.InputError, match=bad):
        pmfast.simulation_margin(book, scenario_set(n=20))
    sim = pmfast.simulation_margin(book, scenario_set(n=20), errors="collect")
    holders = set(pos.loc[pos["instrument"] == bad, "account"])
    assert holders
    acc = by_account(sim.accounts)
    assert set(acc.index[acc["status"] == "rejected"]) == holders
    pm = by_account(pmfast.portfolio_margin(book, errors="collect").accounts)
    assert (acc["status"] == pm["status"]).all()


def test_argument_errors():
    book = book_of(*tables(31))
    scen = scenario_set(n=20)
    for kw, text in ((dict(measure="cvar"), "measure"), (dict(confidence=1.0), "confidence"),
                     (dict(revaluation="magic"), "revaluation"), (dict(missing="drop"), "missing"),
                     (dict(horizon_days=5), "horizon")):
        with pytest.raises(pmfast.InputError, match=text):
            pmfast.simulation_margin(book, scen, **kw)


def test_minimum_floor():
    book = book_of(*tables(37))
    scen = ScenarioSet(UNDERLYINGS, np.zeros((3, len(UNDERLYINGS))), horizon_days=0)
    sim = pmfast.simulation_margin(book, scen, minimum="finra-cpm")
    acc = by_account(sim.accounts)
    np.testing.assert_allclose(acc["es"], 0, atol=1e-9)
    pm = by_account(pmfast.portfolio_margin(book).accounts)
    # with no risk at all the floor is the account's summed per-contract minimum
    assert (acc["minimum"] > 0).any()
    np.testing.assert_allclose(acc["requirement"], acc["minimum"])
    assert (acc["minimum"] >= pm["minimum"] - 1e-9).all()


# -- grid revaluation ----------------------------------------------------------------------------
def test_grid_matches_full_within_tolerance():
    """The documented tolerance (0.1% + $1 of full revaluation per account) on an American book
    with volatility and rate shifts."""
    pos, ins, unds = tables(41, european=False, n_accounts=20, n_positions=200)
    book = book_of(pos, ins, unds)
    scen = scenario_set(n=300, seed=41)
    full = by_account(pmfast.simulation_margin(book, scen, revaluation="full").accounts)
    grid = by_account(pmfast.simulation_margin(book, scen, revaluation="grid").accounts)
    for col in ("es", "var", "worst_loss"):
        err = (grid[col] - full[col]).abs()
        assert (err <= 1e-3 * full[col].abs() + 1).all(), (col, err.max())
    # and it is an approximation, not the full engine under another name
    assert not np.array_equal(grid["es"], full["es"])


def test_grid_is_full_up_to_float32_where_nothing_is_american():
    """Without American options the grid mode prices like the full one; only its float32 risk
    matrix differs (~6e-8 relative per value)."""
    book = book_of(*tables(43))
    scen = scenario_set(n=100, seed=43)
    full = by_account(pmfast.simulation_margin(book, scen, revaluation="full").accounts)
    grid_sim = pmfast.simulation_margin(book, scen, revaluation="grid")
    grid = by_account(grid_sim.accounts)
    assert grid_sim._risk.dtype == np.float32
    scale = full["es"].abs().max()
    for col in ("es", "var", "worst_loss"):
        np.testing.assert_allclose(grid[col], full[col], rtol=1e-6, atol=1e-6 * scale)
        assert not np.array_equal(grid[col], full[col]) or col != "es"


def test_grid_bit_identical_for_threads_and_row_order():
    pos, ins, unds = tables(47, european=False, n_accounts=30, n_positions=300)
    scen = scenario_set(n=200, seed=47)
    runs = [by_account(pmfast.simulation_margin(book_of(*tabs), scen, n_threads=nt,
                                                revaluation="grid").accounts)
            for tabs, nt in (((pos, ins, unds), 1), ((pos, ins, unds), 2),
                             (_permuted(pos, ins, unds, 3), 2))]
    cols = ["es", "var", "worst_loss", "worst_scenario"]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0][cols], other[cols], check_exact=True)


def test_grid_points_validated():
    book = book_of(*tables(53, european=False))
    for bad in ((3, 8), (48,), "x"):
        with pytest.raises(pmfast.InputError, match="grid_points"):
            pmfast.simulation_margin(book, scenario_set(n=10), revaluation="grid",
                                     grid_points=bad)


def test_every_account_rejected_still_listed():
    pos, ins, unds = tables(59)
    book = book_of(pos, ins, unds)
    scen = scenario_set(n=20, underlyings=["SPX"])     # every account holds AAA, not in the set
    sim = pmfast.simulation_margin(book, scen, errors="collect")
    assert (sim.accounts["status"] == "rejected").all()
    assert set(sim.accounts["account"]) == set(book.account_ids)
    assert set(sim.components["account"]) == set(book.account_ids)
    assert sim.accounts["es"].isna().all()


def _one_chain():
    """American puts of one underlying and expiry at six strikes (one premium table), one
    account per strike."""
    strikes = [60.0, 80.0, 95.0, 100.0, 110.0, 140.0]
    ins = pd.DataFrame({"instrument": [f"P{k:g}" for k in strikes], "kind": "option",
                        "underlying": "XYZ", "right": "P", "strike": strikes,
                        "expiry": "2027-06-18", "style": "american",
                        "implied_vol": [0.45, 0.38, 0.33, 0.31, 0.30, 0.36]})
    unds = pd.DataFrame({"underlying": ["XYZ"], "price": [100.0], "dividend_yield": [0.01]})
    pos = pd.DataFrame({"account": [f"A{k}" for k in range(len(strikes))],
                        "instrument": ins["instrument"], "quantity": -3.0})
    return pos, ins, unds


def test_grid_figures_do_not_depend_on_the_other_accounts():
    """A premium table spans every series of the instruments table sharing its key, held or
    not: an account's grid figures are the same alone as in the whole book (the bytes a
    distributed run's shards need), and the same from rows priced once for the instruments
    table (``revalued=``)."""
    from pmfast.simulation.market import book_market
    from pmfast.simulation.revalue import revalue_instruments
    pos, ins, unds = _one_chain()
    scen = scenario_set(n=250, seed=53, underlyings=["XYZ"])
    whole = pmfast.simulation_margin(book_of(pos, ins, unds), scen)
    assert whole._risk.dtype == np.float32            # the grid ran
    cols = ["requirement", "es", "var", "worst_loss", "worst_scenario"]
    for k in (0, 3, 5):
        alone = pmfast.simulation_margin(book_of(pos.iloc[[k]], ins, unds), scen)
        pd.testing.assert_frame_equal(alone.accounts[cols],
                                      whole.accounts.iloc[[k]][cols].reset_index(drop=True),
                                      check_exact=True)
    book = book_of(pos, ins, unds)
    empty = book_of(pos.iloc[:0], ins, unds)
    rows = revalue_instruments(empty, book_market(empty, "finra-cpm", "raise", 1), scen)
    priced = pmfast.simulation_margin(book, scen, revalued=rows)
    pd.testing.assert_frame_equal(priced.accounts, whole.accounts, check_exact=True)
    # and the grid is the approximation it claims to be on this chain
    full = pmfast.simulation_margin(book, scen, revaluation="full").accounts
    err = (whole.accounts["es"] - full["es"]).abs()
    assert (err <= 1e-3 * full["es"].abs() + 1).all() and err.max() > 0


def test_revalued_rows_must_match_the_call():
    from pmfast.simulation.market import book_market
    from pmfast.simulation.revalue import revalue_instruments
    pos, ins, unds = _one_chain()
    book = book_of(pos, ins, unds)
    scen = scenario_set(n=50, seed=54, underlyings=["XYZ"])
    rows = revalue_instruments(book, book_market(book, "finra-cpm", "raise", 1), scen)
    with pytest.raises(pmfast.InputError, match="another scenario set"):
        pmfast.simulation_margin(book, scenario_set(n=60, seed=54, underlyings=["XYZ"]),
                                 revalued=rows)
    with pytest.raises(pmfast.InputError, match="another scenario set"):
        pmfast.simulation_margin(book, scen, revalued=rows, revaluation="full")

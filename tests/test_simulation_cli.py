"""`pmfast margin --method sim|all` and the demo's simulation margin, end to end."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import pmfast
from pmfast.cli import EXIT_BAD_INPUT, main

AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("simbook")
    result = CliRunner().invoke(main, ["generate", "--accounts", "60", "--seed", "5",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = pmfast.Book(*_paths(out), as_of=AS_OF, rate=0.045)
    und = book.underlyings.column("underlying").to_pylist()
    rng = np.random.default_rng(0)
    rows = []
    for k in range(120):
        m = rng.normal(0, 0.02)
        rows += [(f"s{k:03d}", u, float(np.expm1(m + rng.normal(0, 0.01))), -3 * m) for u in und]
    pd.DataFrame(rows, columns=["scenario", "underlying", "return", "vol_shift"]).to_csv(
        out / "scenarios.csv", index=False)
    return out


def _paths(folder):
    return [str(folder / f"{name}.parquet") for name in ("positions", "instruments",
                                                          "underlyings")]


def _margin(folder, out, *extra):
    return CliRunner().invoke(main, ["margin", *_paths(folder), "--as-of", AS_OF, "--rate",
                                     "0.045", "--out", str(out), *extra])


def test_method_sim_equals_python_api(book_dir, tmp_path):
    out = tmp_path / "sim.csv"
    result = _margin(book_dir, out, "--method", "sim", "--scenarios",
                     str(book_dir / "scenarios.csv"), "--horizon", "2", "--measure", "var",
                     "--confidence", "0.95")
    assert result.exit_code == 0, result.output
    assert "simulation margin (var 0.95, 120 scenarios)" in result.output
    written = pd.read_csv(out).set_index("account").sort_index()
    book = pmfast.Book(*_paths(book_dir), as_of=AS_OF, rate=0.045)
    want = pmfast.simulation_margin(book, str(book_dir / "scenarios.csv"), horizon_days=2,
                                    measure="var", confidence=0.95).accounts
    want = want.set_index("account").sort_index()
    np.testing.assert_allclose(written["sim_requirement"], want["requirement"], rtol=1e-12)
    np.testing.assert_allclose(written["sim_es"], want["es"], rtol=1e-12)
    assert "pm_requirement" not in written and "regt_initial" not in written


def test_method_all_side_by_side(book_dir, tmp_path):
    out = tmp_path / "all.parquet"
    result = _margin(book_dir, out, "--method", "all", "--scenarios",
                     str(book_dir / "scenarios.csv"), "--report", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    for col in ("pm_requirement", "regt_initial", "sim_requirement", "sim_es",
                "sim_worst_scenario", "status"):
        assert col in written, col
    assert len(written) == 60 and (written["status"] == "ok").all()
    html = (tmp_path / "r.html").read_text()
    assert "Simulation margin" in html and "Largest contributions to ES" in html
    assert ">VaR " in html and ">ES " in html     # the loss distribution marks both


def test_sim_without_scenarios_is_bad_input(book_dir, tmp_path):
    result = _margin(book_dir, tmp_path / "x.csv", "--method", "sim")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--scenarios" in result.output


def test_sim_missing_underlying_is_bad_input(book_dir, tmp_path):
    scen = pd.read_csv(book_dir / "scenarios.csv")
    dropped = scen["underlying"].iloc[0]
    scen[scen["underlying"] != dropped].to_csv(tmp_path / "s.csv", index=False)
    result = _margin(book_dir, tmp_path / "x.csv", "--method", "sim", "--scenarios",
                     str(tmp_path / "s.csv"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert dropped in result.output


def test_demo_includes_simulation_margin(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--accounts", "40", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "simulation margin (es 0.99, 503 scenarios)" in result.output
    acc = pd.read_parquet(tmp_path / "accounts.parquet")
    assert acc["sim_requirement"].notna().all() and (acc["sim_requirement"] >= 0).all()


@pytest.mark.parametrize("extra", [[], ["--filtered"], ["--monte-carlo", "300", "--seed", "4"]])
def test_sim_from_history(tmp_path, extra):
    folder = tmp_path / "book"
    result = CliRunner().invoke(main, ["generate", "--accounts", "40", "--seed", "3",
                                       "--history", "120", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "sim.csv"
    result = _margin(folder, out, "--method", "sim", "--history",
                     str(folder / "history.parquet"), "--rates", str(folder / "rates.parquet"),
                     *extra)
    assert result.exit_code == 0, result.output
    from pmfast import simulation
    history, rates = str(folder / "history.parquet"), str(folder / "rates.parquet")
    scen = (simulation.monte_carlo(history, n=300, horizon_days=2, seed=4, rates=rates)
            if "--monte-carlo" in extra else
            simulation.filtered_historical(history, horizon_days=2, rates=rates)
            if "--filtered" in extra else
            simulation.historical(history, horizon_days=2, rates=rates))
    book = pmfast.Book(*_paths(folder), as_of=AS_OF, rate=0.045)
    want = pmfast.simulation_margin(book, scen).accounts.set_index("account").sort_index()
    written = pd.read_csv(out).set_index("account").sort_index()
    np.testing.assert_allclose(written["sim_es"], want["es"], rtol=1e-12)
    assert f"{scen.n_scenarios:,} scenarios" in result.output

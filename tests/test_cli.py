"""The `pmfast` command line end to end, through click's runner, on a small generated book."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import pmfast
from pmfast.cli import EXIT_BAD_INPUT, EXIT_SOME_REJECTED, main

AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    result = CliRunner().invoke(main, ["generate", "--accounts", "300", "--seed", "11",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _paths(folder, ext="parquet"):
    return [str(folder / f"{name}.{ext}") for name in ("positions", "instruments", "underlyings")]


def _margin(folder, out, *extra, ext="parquet"):
    args = ["margin", *_paths(folder, ext), "--product-groups",
            str(folder / f"product_groups.{ext}"), "--as-of", AS_OF, "--rate", "0.045",
            "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


def test_generate_writes_all_tables(book_dir):
    for name in ("positions", "instruments", "underlyings", "product_groups"):
        assert (book_dir / f"{name}.parquet").stat().st_size > 0
    positions = pd.read_parquet(book_dir / "positions.parquet")
    assert positions["account"].nunique() == 300


def test_generate_csv(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--accounts", "20", "--seed", "2", "--out",
                                       str(tmp_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "positions.csv")) > 0


def test_margin_pm_equals_python_api(book_dir, tmp_path):
    out = tmp_path / "accounts.parquet"
    result = _margin(book_dir, out, "--method", "pm", "--threads", "1")
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    book = pmfast.Book(*_paths(book_dir), product_groups=str(book_dir / "product_groups.parquet"),
                       as_of=AS_OF, rate=0.045)
    expected = pmfast.portfolio_margin(book).accounts
    assert set(written["account"]) == set(book.account_ids)
    merged = written.merge(expected, on="account")
    assert len(merged) == len(book.account_ids)
    np.testing.assert_array_equal(merged["pm_requirement"], merged["requirement"])


def test_margin_both_csv_out_and_report(book_dir, tmp_path):
    out = tmp_path / "accounts.csv"
    report = tmp_path / "report.html"
    result = _margin(book_dir, out, "--method", "both", "--report", str(report))
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert {"pm_requirement", "regt_initial", "regt_maintenance", "savings"} <= set(written)
    assert written["account"].nunique() == 300
    # savings = Reg T initial - PM, except for accounts holding futures (outside Reg T)
    comparable = written["regt_unmargined_positions"] == 0
    assert comparable.sum() > 200 and (~comparable).sum() > 0
    np.testing.assert_allclose(written.loc[comparable, "savings"],
                               (written["regt_initial"] - written["pm_requirement"])[comparable])
    assert written.loc[~comparable, "savings"].isna().all()
    text = report.read_text()
    assert text.count("<svg") >= 2 and "<table" in text


def _bad_book(book_dir, tmp_path):
    """Copy the book, pointing two positions at an instrument that does not exist."""
    positions = pd.read_parquet(book_dir / "positions.parquet").astype({"instrument": str})
    bad_accounts = positions["account"].iloc[[0, 1]].tolist()
    positions.loc[positions.index[:2], "instrument"] = ["NO_SUCH_1", "NO_SUCH_2"]
    folder = tmp_path / "bad"
    folder.mkdir()
    positions.to_parquet(folder / "positions.parquet")
    for name in ("instruments", "underlyings", "product_groups"):
        (folder / f"{name}.parquet").write_bytes((book_dir / f"{name}.parquet").read_bytes())
    return folder, bad_accounts


def test_bad_input_exits_2_naming_ids(book_dir, tmp_path):
    folder, _ = _bad_book(book_dir, tmp_path)
    result = _margin(folder, tmp_path / "out.parquet", "--method", "pm")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "positions" in result.stderr and "instrument" in result.stderr
    assert "NO_SUCH_1" in result.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_errors_collect_writes_errors_and_margins_the_rest(book_dir, tmp_path):
    folder, bad_accounts = _bad_book(book_dir, tmp_path)
    out = tmp_path / "out.parquet"
    result = _margin(folder, out, "--method", "pm", "--errors", "collect")
    assert result.exit_code == EXIT_SOME_REJECTED, result.output
    written = pd.read_parquet(out)
    assert written["account"].nunique() == 300  # every account is still in the output
    errors = pd.read_parquet(tmp_path / "out.errors.parquet")
    assert set(errors["account"]) == set(bad_accounts)
    good = written[~written["account"].isin(bad_accounts)]
    assert good["pm_requirement"].notna().all()
    assert written.loc[written["account"].isin(bad_accounts), "pm_requirement"].isna().all()


@pytest.mark.parametrize("column, value, needle", [
    ("strike", -5.0, "strike"),
    ("multiplier", 0.0, "multiplier"),
])
def test_bad_instrument_values_exit_2(book_dir, tmp_path, column, value, needle):
    instruments = pd.read_parquet(book_dir / "instruments.parquet")
    row = instruments.index[instruments["kind"] == "option"][0]
    instruments.loc[row, column] = value
    folder = tmp_path / "bad"
    folder.mkdir()
    instruments.to_parquet(folder / "instruments.parquet")
    for name in ("positions", "underlyings", "product_groups"):
        (folder / f"{name}.parquet").write_bytes((book_dir / f"{name}.parquet").read_bytes())
    result = _margin(folder, tmp_path / "out.parquet", "--method", "pm")
    assert result.exit_code == EXIT_BAD_INPUT
    assert needle in result.stderr and instruments.loc[row, "instrument"] in result.stderr


def test_demo_prints_summary(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--accounts", "2000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "accounts: 2,000" in result.output
    assert "portfolio margin" in result.output and "Reg T initial" in result.output
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert len(accounts) == 2000
    assert (out / "report.html").stat().st_size > 10_000


def test_public_names_are_not_shadowed_by_modules():
    import importlib
    for module in ("pmfast.synthetic", "pmfast.comparison", "pmfast.batch", "pmfast.portfolio",
                   "pmfast.strategy", "pmfast.rules", "pmfast.book"):
        importlib.import_module(module)
    for name in ("generate", "compare", "portfolio_margin", "strategy_margin", "flat_margin",
                 "risk_arrays"):
        assert callable(getattr(pmfast, name)), name


def test_progress_callback_reports_every_stage(book_dir):
    from pmfast import batch
    calls = []
    run = batch.run_files(*_paths(book_dir), product_groups=str(book_dir / "product_groups.parquet"),
                          as_of=AS_OF, method="both", n_threads=1,
                          progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert [c[0] for c in calls] == ["load", "portfolio margin", "reg t", "join", "done"]
    assert [c[1] for c in calls] == [0, 1, 2, 3, 4] and {c[2] for c in calls} == {4}
    assert set(run.stage_times) == {"load", "portfolio margin", "reg t", "join"}


def _copy_book(book_dir, folder, **replace):
    folder.mkdir()
    for name in ("positions", "instruments", "underlyings", "product_groups"):
        table = replace.get(name)
        if table is None:
            (folder / f"{name}.parquet").write_bytes((book_dir / f"{name}.parquet").read_bytes())
        else:
            table.to_parquet(folder / f"{name}.parquet")
    return folder


def _instruments(book_dir):
    return pd.read_parquet(book_dir / "instruments.parquet").astype(
        {"instrument": str, "underlying": str})


def _first_option(instruments):
    return instruments.index[instruments["kind"] == "option"][0]


@pytest.mark.parametrize("case", ["duplicate instrument", "missing column", "expired option",
                                  "bad right", "nan quantity", "unknown underlying"])
def test_each_bad_input_exits_2_naming_the_ids(book_dir, tmp_path, case):
    instruments = _instruments(book_dir)
    row = _first_option(instruments)
    bad_id = instruments.loc[row, "instrument"]
    replace = {}
    if case == "duplicate instrument":
        replace["instruments"] = pd.concat([instruments, instruments.loc[[row]]])
        needles = ["instruments", "instrument", bad_id]
    elif case == "missing column":
        replace["instruments"] = instruments.drop(columns=["kind"])
        needles = ["instruments", "kind"]
    elif case == "expired option":
        instruments["expiry"] = pd.to_datetime(instruments["expiry"])
        instruments.loc[row, "expiry"] = pd.Timestamp("2020-01-17")
        replace["instruments"] = instruments
        needles = ["instruments", "expiry", bad_id]
    elif case == "bad right":
        instruments["right"] = instruments["right"].astype(object)
        instruments.loc[row, "right"] = "X"
        replace["instruments"] = instruments
        needles = ["instruments", "right", bad_id]
    elif case == "nan quantity":
        positions = pd.read_parquet(book_dir / "positions.parquet").astype({"account": str})
        positions.loc[positions.index[0], "quantity"] = np.nan
        replace["positions"] = positions
        needles = ["positions", "quantity", positions.loc[positions.index[0], "account"]]
    else:  # an instrument pointing at an underlying that is not in underlyings
        instruments.loc[row, "underlying"] = "NO_SUCH_UNDERLYING"
        replace["instruments"] = instruments
        needles = ["instruments", "underlying", "NO_SUCH_UNDERLYING"]
    folder = _copy_book(book_dir, tmp_path / "bad", **replace)
    result = _margin(folder, tmp_path / "out.parquet", "--method", "both")
    assert result.exit_code == EXIT_BAD_INPUT, (case, result.output)
    for needle in needles:
        assert needle in result.stderr, (case, needle, result.stderr)
    assert not (tmp_path / "out.parquet").exists()


def _book_with_unpriceable_option(folder):
    """Three accounts; C holds a call priced below intrinsic with no volatility anywhere, which
    only the engine finds (the Book itself is valid)."""
    folder.mkdir()
    pd.DataFrame({"account": ["A", "B", "C", "C"], "instrument": ["X", "X.C90", "X", "X.C80"],
                  "quantity": [100.0, -1.0, 100.0, -1.0]}).to_csv(folder / "positions.csv",
                                                                   index=False)
    pd.DataFrame({"instrument": ["X", "X.C90", "X.C80"], "kind": ["equity", "option", "option"],
                  "underlying": ["X", "X", "X"], "right": [None, "C", "C"],
                  "strike": [None, 90.0, 80.0], "expiry": [None, "2027-01-15", "2027-01-15"],
                  "price": [None, 12.0, 10.0], "implied_vol": [None, 0.3, None]}
                 ).to_csv(folder / "instruments.csv", index=False)
    pd.DataFrame({"underlying": ["X"], "price": [100.0]}).to_csv(folder / "underlyings.csv",
                                                                 index=False)
    return [str(folder / f"{n}.csv") for n in ("positions", "instruments", "underlyings")]


@pytest.mark.parametrize("method", ["pm", "both"])
def test_errors_collect_includes_accounts_the_engine_rejects(tmp_path, method):
    paths = _book_with_unpriceable_option(tmp_path / "book")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["margin", *paths, "--as-of", AS_OF, "--out", str(out),
                                       "--method", method, "--errors", "collect"])
    assert result.exit_code == EXIT_SOME_REJECTED, result.output
    errors = pd.read_csv(tmp_path / "out.errors.csv")
    assert set(errors["account"]) == {"C"} and "X.C80" in " ".join(errors["reason"])
    written = pd.read_csv(out).set_index("account")
    assert list(written["status"]) == ["ok", "ok", "rejected"]
    money = [c for c in written.columns if written[c].dtype.kind == "f"]
    assert "pm_requirement" in money and written.loc["C", money].isna().all()
    assert written.loc[["A", "B"], "pm_requirement"].notna().all()
    if method == "both":
        assert written.loc[["A", "B"], "regt_initial"].notna().all()


def test_errors_raise_stops_on_an_unpriceable_option(tmp_path):
    paths = _book_with_unpriceable_option(tmp_path / "book")
    result = CliRunner().invoke(main, ["margin", *paths, "--as-of", AS_OF, "--out",
                                       str(tmp_path / "out.csv"), "--method", "pm"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "implied_vol" in result.stderr and "X.C80" in result.stderr

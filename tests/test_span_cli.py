"""`pmfast span`, `pmfast generate --span` and the SPAN report."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import pmfast
from pmfast.cli import main
from span_helpers import TAKAS, need


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("spanbook")
    res = CliRunner().invoke(main, ["generate", "--accounts", "60", "--seed", "3", "--span",
                                    str(need(TAKAS)), "--out", str(out), "--format", "csv"])
    assert res.exit_code == 0, res.output
    return out / "positions.csv"


def test_generate_span_book_covers_the_strategies(book):
    pos = pd.read_csv(book)
    assert pos["account"].nunique() == 60
    assert set(pos["kind"]) == {"future", "option"}
    assert not pos.duplicated(["account", "product", "kind", "period", "strike", "right"]).any()


def test_span_command_matches_the_api(book, tmp_path):
    out = tmp_path / "out.parquet"
    report = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["span", str(book), str(TAKAS), "--out", str(out),
                                    "--report", str(report), "--previous", str(TAKAS),
                                    "--threads", "2"])
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out)
    api = pmfast.span_margin(book, TAKAS).accounts
    np.testing.assert_array_equal(got["requirement"], api["requirement"])
    assert (got["variation_margin"] == 0).all()          # same file as previous: no move
    comb = pd.read_parquet(tmp_path / "out.combined.parquet")
    assert len(comb) == len(pmfast.span_margin(book, TAKAS).combined)
    page = report.read_text()
    top = api.sort_values("requirement", ascending=False)["account"].iloc[0]
    assert "SPAN margin report" in page and top in page and page.count("<svg") >= 10


def test_span_command_bad_input_and_collect(tmp_path):
    pos = pd.DataFrame({"account": ["A", "B"], "product": ["AKBNKE", "NOPE"],
                        "kind": ["future", "future"], "period": ["201605S0", "201605S0"],
                        "quantity": [1, 1]})
    path = tmp_path / "p.csv"
    pos.to_csv(path, index=False)
    out = tmp_path / "o.csv"
    res = CliRunner().invoke(main, ["span", str(path), str(need(TAKAS)), "--out", str(out)])
    assert res.exit_code == 2 and "account B" in res.output
    res = CliRunner().invoke(main, ["span", str(path), str(TAKAS), "--out", str(out),
                                    "--errors", "collect"])
    assert res.exit_code == 3
    got = pd.read_csv(out)
    assert got["status"].tolist() == ["ok", "rejected"]
    assert "unknown product" in pd.read_csv(tmp_path / "o.errors.csv")["reason"].iloc[0]

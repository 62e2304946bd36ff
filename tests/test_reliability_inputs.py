"""Issue 15 items 3, 8 and 9 (the input side): every hostile input ends as pmfast.InputError
(exit 2 at the command line), or under ``--errors collect`` as the rejection of the one account
that holds it; never as a bare exception after minutes of work."""
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import pmfast
from pmfast.cli import EXIT_BAD_INPUT, main
from pmfast.rules import RuleSet

AS_OF = "2026-11-20"
INSTRUMENTS = pa.table({"instrument": ["ACME", "ACME.C60"], "kind": ["equity", "option"],
                        "underlying": ["ACME", "ACME"], "right": [None, "C"],
                        "strike": [None, 60.0], "expiry": [None, "2027-01-15"],
                        "price": [50.0, 1.5]})
UNDERLYINGS = pa.table({"underlying": ["ACME"], "price": [50.0], "volatility": [0.3]})


def _files(tmp_path, positions_csv):
    pos = tmp_path / "pos.csv"
    pos.write_text(positions_csv)
    ins, und = tmp_path / "ins.parquet", tmp_path / "und.parquet"
    pq.write_table(INSTRUMENTS, ins)
    pq.write_table(UNDERLYINGS, und)
    return [str(pos), str(ins), str(und)]


def _run(files, out, *extra):
    return CliRunner().invoke(main, ["margin", *files, "--as-of", AS_OF, "--out", str(out),
                                     *extra])


# -- item 3: padded numbers ----------------------------------------------------------------------

def _padded(quantity):
    return pa.table({"account": ["A1", "A2"], "instrument": ["ACME", "ACME.C60"],
                     "quantity": quantity})


def test_padded_numeric_text_is_read_as_the_number():
    """" 100" in a string column passed the number pattern, then the cast raised ArrowInvalid."""
    padded = pmfast.Book(_padded([" 100", "-1 "]), INSTRUMENTS, UNDERLYINGS, as_of=AS_OF)
    plain = pmfast.Book(_padded([100.0, -1.0]), INSTRUMENTS, UNDERLYINGS, as_of=AS_OF)
    a = pmfast.portfolio_margin(padded).accounts
    b = pmfast.portfolio_margin(plain).accounts
    pd.testing.assert_frame_equal(a, b)


def test_padded_parquet_column_under_collect_rejects_only_the_bad_account(tmp_path):
    pos = tmp_path / "pos.parquet"
    pq.write_table(pa.table({"account": ["A1", "A2", "A3"],
                             "instrument": ["ACME", "ACME.C60", "ACME"],
                             "quantity": [" 100", "-1", "1 00"]}), pos)
    book = pmfast.Book(str(pos), INSTRUMENTS, UNDERLYINGS, as_of=AS_OF, errors="collect")
    acc = pmfast.portfolio_margin(book).accounts.set_index("account")
    assert acc.loc["A1", "status"] == "ok" and acc.loc["A2", "status"] == "ok"
    assert acc.loc["A3", "status"] == "rejected"   # "1 00" is not a number


def test_uint64_quantities_do_not_crash_the_cast():
    """uint64 beyond 2**53 failed the float cast with a raw ArrowInvalid."""
    pos = pa.table({"account": ["A1", "A2"], "instrument": ["ACME", "ACME.C60"],
                    "quantity": pa.array([100, 2**64 - 1], pa.uint64())})
    book = pmfast.Book(pos, INSTRUMENTS, UNDERLYINGS, as_of=AS_OF, errors="collect")
    acc = pmfast.portfolio_margin(book).accounts.set_index("account")
    assert acc.loc["A1", "status"] == "ok"


# -- item 9: bare exceptions at the edges ----------------------------------------------------------

def test_duplicated_csv_header_is_bad_input(tmp_path):
    files = _files(tmp_path, "account,instrument,quantity,quantity\nA1,ACME,100,1\n")
    result = _run(files, tmp_path / "out.csv")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "positions.quantity" in result.output and "2 times" in result.output


def test_rules_pointing_at_a_folder_is_bad_input(tmp_path):
    files = _files(tmp_path, "account,instrument,quantity\nA1,ACME,100\n")
    result = _run(files, tmp_path / "out.csv", "--rules", str(tmp_path))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "is a folder" in result.output


@pytest.mark.parametrize("option", ["--out", "--report"])
def test_unwritable_output_fails_before_the_run(tmp_path, option, monkeypatch):
    files = _files(tmp_path, "account,instrument,quantity\nA1,ACME,100\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    bad = blocker / "out.csv" if option == "--out" else blocker / "r.html"
    ran = []
    from pmfast import batch
    real = batch.run_files
    monkeypatch.setattr(batch, "run_files", lambda *a, **k: ran.append(1) or real(*a, **k))
    extra = ["--report", str(bad)] if option == "--report" else []
    out = bad if option == "--out" else tmp_path / "out.csv"
    result = _run(files, out, *extra)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert option in result.output
    assert not ran   # checked before any work, not after


def test_lone_surrogate_text_is_bad_input():
    """A lone surrogate cannot be stored as UTF-8: an id in a flat legs table, a rule-set
    name; each raised a bare UnicodeEncodeError."""
    bad = "A\ud800"
    legs = [dict(account=bad, instrument="IBM", underlying="IBM", kind="equity", quantity=1,
                 price=1.0, underlying_price=1.0)]
    with pytest.raises(pmfast.InputError):
        pmfast.strategy_margin(legs, as_of=AS_OF)
    book = pmfast.Book({"account": ["A1"], "instrument": ["ACME"], "quantity": [1.0]},
                       INSTRUMENTS, UNDERLYINGS, as_of=AS_OF)
    with pytest.raises(pmfast.InputError):
        pmfast.portfolio_margin(book, rules=bad)
    with pytest.raises(pmfast.InputError):
        pmfast.strategy_margin(book, rules=bad)


def test_formula_ids_are_neutralised_in_csv_output(tmp_path):
    files = _files(tmp_path, "account,instrument,quantity\n=HYPERLINK(1),ACME,100\n"
                             "+A,ACME,1\n@B,ACME,1\n-C,ACME,1\nD,ACME,1\n")
    out = tmp_path / "out.csv"
    assert _run(files, out).exit_code == 0
    ids = pd.read_csv(out, dtype=str)["account"].tolist()
    assert sorted(ids) == sorted(["'=HYPERLINK(1)", "'+A", "'@B", "'-C", "D"])
    # Parquet output is typed: ids stay as given
    assert _run(files, tmp_path / "out.parquet").exit_code == 0
    assert "=HYPERLINK(1)" in pd.read_parquet(tmp_path / "out.parquet")["account"].tolist()


def test_cli_greedy_pairing_switch(tmp_path):
    files = _files(tmp_path, "account,instrument,quantity\nA1,ACME,100\nA1,ACME.C60,-1\n")
    greedy, optimal = tmp_path / "g.csv", tmp_path / "o.csv"
    assert _run(files, greedy, "--method", "regt", "--pairing", "greedy").exit_code == 0
    assert _run(files, optimal, "--method", "regt").exit_code == 0
    g, o = pd.read_csv(greedy), pd.read_csv(optimal)
    assert (o["regt_initial"] <= g["regt_initial"]).all()   # one covered call: equal here
    result = _run(files, greedy, "--pairing", "best")
    assert result.exit_code != 0


def test_tree_steps_beyond_a_c_int_are_bad_input():
    with pytest.raises(pmfast.InputError, match="steps"):
        pmfast.pricing.crr("C", 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, steps=2**40)
    with pytest.raises(pmfast.InputError, match="steps"):
        pmfast.pricing.crr("C", 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, steps=2**31 - 1)


# -- item 8: rule-file bounds and types ------------------------------------------------------------

@pytest.mark.parametrize("toml, path", [
    ("[[scenario_sets]]\npoints = 10000000", r"scenario_sets\[0\]\.points"),
    ("[[scenario_sets]]\npoints = 10\nvol_shifts = 5", r"scenario_sets\[0\]\.vol_shifts"),
    ("[[scenario_sets]]\npoints = 10\nvol_shifts = " + str([0.0] * 51),
     r"scenario_sets\[0\]\.vol_shifts"),
    ("[[scenario_sets]]\npoints = 10\nhorizon_days = 1e9", r"scenario_sets\[0\]\.horizon_days"),
    ("scenario_sets = 5", r"scenario_sets"),
    ("scenario_sets = [5]", r"scenario_sets\[0\]"),
    ("crr_steps = 100000", r"crr_steps"),
    ("crr_steps = 1099511627776", r"crr_steps"),
    ("crr_steps = 2147483647", r"crr_steps"),
    ("[concentration]\nlargest = 100000000000000000000", r"concentration\.largest"),
    ("concentration = 5", r"concentration"),
    ("offsets = 5", r"offsets"),
    ("overrides = 5", r"overrides"),
    ("american_model = [1]", r"american_model"),
    ("[ranges.equity]\ndown = -0.1\nup = 1e300", r"ranges\.equity\.up"),
])
def test_rule_file_bounds_name_the_key(tmp_path, toml, path):
    f = tmp_path / "r.toml"
    f.write_text(toml)
    with pytest.raises(pmfast.InputError, match=path):
        RuleSet.load(str(f))


def test_regt_preset_named_to_the_pm_loader_explains():
    """issue 10: RuleSet.load("regt") said the file does not exist although rules/regt.toml is
    there; it is the Reg T rule set, loaded by pmfast.strategy."""
    with pytest.raises(pmfast.InputError, match="Reg T"):
        RuleSet.load("regt")
    from pmfast.strategy.rules import load_regt_rules
    assert load_regt_rules("regt").name == "regt"


def test_bounds_are_large_enough_for_real_rule_sets():
    """The bounds must not reject what clearing firms use: 10 points x 3 vol shifts, 200-step
    trees, the house preset."""
    RuleSet.load("house")
    RuleSet(crr_steps=5000, scenario_sets=({"points": 1000, "vol_shifts": [0.0] * 50},))


def test_uint64_sized_counts_are_bad_input(tmp_path):
    """--threads 2**64 overflowed the core's C int (bare OverflowError); generate(2**64)
    asked numpy for 101 GiB."""
    files = _files(tmp_path, "account,instrument,quantity\nA1,ACME,100\n")
    result = _run(files, tmp_path / "out.csv", "--threads", str(2**64))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "n_threads" in result.output
    with pytest.raises(pmfast.InputError, match="accounts"):
        pmfast.generate(accounts=2**64)
    result = CliRunner().invoke(main, ["generate", "--accounts", str(2**64), "--out",
                                       str(tmp_path / "gen")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output

"""pmfast.distributed.margin(method="sim") on a LocalCluster of 2 worker processes: every
per-account figure bit-identical to ``pmfast.simulation_margin`` over the whole book (the
oracle: the single-machine call over the same rows), with more partitions than workers, with
rejected accounts (collect), and the grid mode refused where a shard's tables would differ."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.scenario_set import ScenarioSet
from pmfast.simulation import run as sim_run

from test_distributed import AS_OF, RATE, _ref, bad_book, book, client  # noqa: F401 (fixtures)


def _book(positions, ref, errors="raise"):
    return pmfast.Book(positions, **ref, errors=errors, n_threads=1)


def _scenarios(book_, n=60, moves=True):
    """The demo set (returns, vol and rate shifts); without ``moves``, returns only."""
    scen = sim_run.demo_set(book_, n=n, seed=5)
    if moves:
        return scen
    return ScenarioSet(scen.underlyings, scen.returns, None, None, scen.labels,
                       scen.horizon_days, "returns only")


@pytest.mark.parametrize("measure, moves, revaluation",
                         [("es", True, "full"), ("var", True, "full"), ("worst", False, "grid")])
def test_sim_is_bit_identical(client, book, measure, moves, revaluation):
    one = _book(book / "positions.parquet", _ref(book))
    scen = _scenarios(one, moves=moves)
    single = pmfast.simulation_margin(one, scen, measure=measure, confidence=0.95, n_threads=1,
                                      revaluation=revaluation, minimum="finra-cpm")
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="sim",
                                    scenarios=scen, measure=measure, confidence=0.95,
                                    revaluation=revaluation, minimum="finra-cpm", partitions=4)
    assert len(run.shards) == 4 and run.shards["pid"].nunique() == 2
    assert (single.accounts["requirement"] > 0).sum() > len(single.accounts) // 2   # real work
    pd.testing.assert_frame_equal(run.accounts, single.accounts, check_exact=True)
    pd.testing.assert_frame_equal(run.errors, single.errors, check_exact=True)


def test_sim_batch_table_matches_the_batch(client, book):
    one = _book(book / "positions.parquet", _ref(book))
    scen = _scenarios(one)
    run1 = pmfast.batch.run_book(one, method="sim", n_threads=1, errors="raise",
                                 simulation={"scenarios": scen, "revaluation": "full"})
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="sim",
                                    scenarios=scen, revaluation="full", table="batch",
                                    partitions=3)
    pd.testing.assert_frame_equal(run.accounts, run1.accounts, check_exact=True)


def test_sim_collect_rejects_the_same_accounts(client, bad_book):
    """Bad rows (unknown instruments, a negative strike, an option without volatility) and an
    underlying missing from the set: the same accounts rejected as on one machine."""
    folder, book_holders, vol_holders = bad_book
    ref = dict(_ref(folder), instruments=folder / "instruments_vol.parquet")
    one = _book(folder / "positions.parquet", ref, errors="collect")
    scen = _scenarios(one)
    dropped = scen.underlyings[0]
    scen = scen.select([u for u in scen.underlyings if u != dropped])
    single = pmfast.simulation_margin(one, scen, n_threads=1, errors="collect",
                                      revaluation="full")
    run = pmfast.distributed.margin(client, folder / "parts", **ref, method="sim",
                                    scenarios=scen, revaluation="full", errors="collect",
                                    partitions=4)
    pd.testing.assert_frame_equal(run.accounts, single.accounts, check_exact=True)
    # the same rows in the same order (a Book's reason lists the bad ids of its own rows, so
    # the text is a shard's); not the same dtypes: simulation_margin's error frame is "str"
    # or object depending on whether the Book's part of it is empty, which differs by shard
    cols = ["account", "table", "column"]
    pd.testing.assert_frame_equal(run.errors[cols], single.errors[cols], check_exact=True,
                                  check_dtype=False)
    # the independent check: the holders of the bad rows and of the dropped underlying
    positions = pd.read_parquet(folder / "positions.parquet")
    instruments = pd.read_parquet(folder / "instruments_vol.parquet")
    on_dropped = set(instruments.loc[instruments["underlying"] == dropped, "instrument"])
    expected = book_holders | vol_holders | set(
        positions.loc[positions["instrument"].isin(on_dropped), "account"])
    assert set(run.accounts.loc[run.accounts["status"] == "rejected", "account"]) == expected
    assert len(expected) > len(book_holders | vol_holders)


def test_sim_raise_gives_the_single_machine_message(client, book):
    one = _book(book / "positions.parquet", _ref(book))
    scen = _scenarios(one)
    scen = scen.select(scen.underlyings[2:])
    with pytest.raises(pmfast.InputError) as single:
        pmfast.simulation_margin(one, scen, n_threads=1, revaluation="full")
    with pytest.raises(pmfast.InputError) as many:
        pmfast.distributed.margin(client, book / "parts", **_ref(book), method="sim",
                                  scenarios=scen, revaluation="full", partitions=4)
    assert str(many.value) == str(single.value) and "missing from the scenario set" in \
        str(single.value)


@pytest.mark.parametrize("priced_once", [True, False])
def test_sim_grid_with_moves_is_bit_identical(client, book, priced_once):
    """The grid mode with volatility and rate moves (premium tables, float32 risk rows): the
    tables span the instruments table, not the positions, so shards priced once or each on
    its own give one machine's figures."""
    one = _book(book / "positions.parquet", _ref(book))
    scen = _scenarios(one)
    single = pmfast.simulation_margin(one, scen, n_threads=1, minimum="finra-cpm")
    assert single._risk.dtype == np.float32        # the grid mode did run
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="sim",
                                    scenarios=scen, minimum="finra-cpm", partitions=3,
                                    priced_once=priced_once)
    pd.testing.assert_frame_equal(run.accounts, single.accounts, check_exact=True)
    with pytest.raises(pmfast.InputError, match="needs scenarios"):
        pmfast.distributed.margin(client, book / "parts", **_ref(book), method="sim")


def test_all_priced_once_is_the_batch(client, book):
    """``method="all"``: portfolio margin, Reg T and simulation margin joined, every series
    priced once for the run, against the single-machine batch."""
    one = _book(book / "positions.parquet", _ref(book))
    scen = _scenarios(one)
    run1 = pmfast.batch.run_book(one, method="all", n_threads=1, errors="raise",
                                 simulation={"scenarios": scen})
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="all",
                                    scenarios=scen, partitions=3)
    pd.testing.assert_frame_equal(run.accounts, run1.accounts, check_exact=True)


@pytest.mark.parametrize("method", ["sim", "all"])
def test_cli_scheduler_writes_the_single_machine_table(client, book, tmp_path, method):
    """``pmfast margin --method sim|all --scheduler``: the one-machine table, the scenario
    file read once on the client."""
    from test_distributed import _cli
    scen = _scenarios(_book(book / "positions.parquet", _ref(book)), moves=False)
    n, k = scen.returns.shape
    pd.DataFrame({"scenario": np.repeat(np.asarray(scen.labels), k),
                  "underlying": np.tile(np.asarray(scen.underlyings), n),
                  "return": scen.returns.ravel()}).to_parquet(tmp_path / "scen.parquet")
    extra = ["--method", method, "--scenarios", str(tmp_path / "scen.parquet"),
             "--measure", "var", "--confidence", "0.95"]
    one = _cli(book, tmp_path / "one.parquet", *extra, "--threads", "1")
    assert one.exit_code == 0, one.output
    many = _cli(book, tmp_path / "many.parquet", *extra, "--partitions", "3",
                "--scheduler", client.scheduler.address)
    assert many.exit_code == 0, many.output
    got = pd.read_parquet(tmp_path / "many.parquet")
    want = pd.read_parquet(tmp_path / "one.parquet")
    assert "sim_requirement" in want.columns and want["sim_requirement"].gt(0).any()
    pd.testing.assert_frame_equal(got, want, check_exact=True)

"""pmfast.distributed.margin(method="span") on a LocalCluster of 2 worker processes: the
Takasbank SPAN file loaded once on the client and scattered, positions sharded by account;
every per-account figure bit-identical to ``pmfast.span_margin`` over the whole book, with
more partitions than workers, with bad accounts (collect), and the one-machine message (raise)."""
import pandas as pd
import pytest

import pmfast
from pmfast.span.generate import generate_span_positions

from span_helpers import TAKAS, need
from test_distributed import client  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def takas():
    return pmfast.span.load(need(TAKAS))


@pytest.fixture(scope="module")
def span_book(takas, tmp_path_factory):
    """The generated book (rows in random order) in one file, and partitioned into 5 files;
    ``bad``: the same with an unknown product in two accounts far apart and one contract
    held twice by a third."""
    folder = tmp_path_factory.mktemp("span")
    pos = generate_span_positions(takas, n_accounts=300, positions_per_account=8, seed=3)
    pos.to_parquet(folder / "positions.parquet", index=False)
    pmfast.distributed.partition_positions(folder / "positions.parquet", folder / "parts", 5)
    accounts = sorted(pos["account"].unique())
    unknown = pos[pos["account"].isin([accounts[2], accounts[-3]])].groupby("account").head(1)
    twice = pos[pos["account"] == accounts[150]].head(1)
    bad = pd.concat([pos, unknown.assign(product="NO_SUCH"), twice], ignore_index=True)
    bad.to_parquet(folder / "bad.parquet", index=False)
    pmfast.distributed.partition_positions(folder / "bad.parquet", folder / "bad_parts", 4)
    return folder, {accounts[2], accounts[-3], accounts[150]}


def test_span_is_bit_identical(client, takas, span_book):
    folder, _ = span_book
    single = pmfast.span_margin(folder / "positions.parquet", takas, n_threads=1)
    run = pmfast.distributed.margin(client, folder / "parts", None, None, method="span",
                                    span_params=TAKAS, partitions=4)
    assert len(run.shards) == 4 and run.shards["pid"].nunique() == 2
    assert (single.accounts["requirement"] > 0).sum() > len(single.accounts) // 2
    pd.testing.assert_frame_equal(run.accounts, single.accounts, check_exact=True)
    # an in-memory table, cut on the client; round_scan reaches the workers
    one = pmfast.span_margin(pd.read_parquet(folder / "positions.parquet"), takas,
                             round_scan=False, n_threads=1)
    run = pmfast.distributed.margin(client, pd.read_parquet(folder / "positions.parquet"),
                                    None, None, method="span", span_params=takas,
                                    round_scan=False, partitions=3)
    pd.testing.assert_frame_equal(run.accounts, one.accounts, check_exact=True)


def test_span_collect_rejects_the_same_accounts(client, takas, span_book):
    folder, bad_accounts = span_book
    single = pmfast.span_margin(folder / "bad.parquet", takas, errors="collect", n_threads=1)
    run = pmfast.distributed.margin(client, folder / "bad_parts", None, None, method="span",
                                    span_params=takas, errors="collect", partitions=4)
    pd.testing.assert_frame_equal(run.accounts, single.accounts, check_exact=True)
    cols = ["account", "table", "column"]
    pd.testing.assert_frame_equal(run.errors[cols].sort_values("account", ignore_index=True),
                                  single.errors[cols].sort_values("account", ignore_index=True),
                                  check_exact=True)
    # the independent check: exactly the accounts given a bad row
    assert set(run.accounts.loc[run.accounts["status"] == "rejected", "account"]) == bad_accounts


def test_span_raise_gives_the_single_machine_message(client, takas, span_book):
    folder, _ = span_book
    with pytest.raises(pmfast.InputError) as one:
        pmfast.span_margin(folder / "bad.parquet", takas)
    with pytest.raises(pmfast.InputError) as many:
        pmfast.distributed.margin(client, folder / "bad_parts", None, None, method="span",
                                  span_params=takas, partitions=4)
    assert str(many.value) == str(one.value) and "NO_SUCH" in str(one.value)
    with pytest.raises(pmfast.InputError, match="span_params"):
        pmfast.distributed.margin(client, folder / "parts", None, None, method="span")


def test_cli_span_scheduler_writes_the_single_machine_tables(client, span_book, tmp_path):
    """``pmfast span POSITIONS RISKFILE --scheduler``: the accounts, the combined-commodity
    breakdown and the errors of the one-machine command, bit for bit."""
    from click.testing import CliRunner
    from pmfast.cli import main
    folder, _ = span_book

    def run(out, *extra):
        return CliRunner().invoke(main, ["span", str(folder / "bad.parquet"), str(TAKAS),
                                         "--out", str(out), "--errors", "collect",
                                         "--no-round-scan", *extra])
    one = run(tmp_path / "one.parquet", "--threads", "1")
    many = run(tmp_path / "many.parquet", "--partitions", "3",
               "--scheduler", client.scheduler.address)
    assert one.exit_code == many.exit_code == 3, (one.output, many.output)
    for name in ("", ".combined", ".errors"):
        want = pd.read_parquet(tmp_path / f"one{name}.parquet")
        got = pd.read_parquet(tmp_path / f"many{name}.parquet")
        assert len(want) > 0
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    bad = run(tmp_path / "x.parquet", "--scheduler", client.scheduler.address, "--report",
              str(tmp_path / "r.html"))
    assert bad.exit_code == 2 and "single-machine" in bad.output


def test_span_results_written_by_the_workers(client, takas, span_book, tmp_path):
    """``output=`` with SPAN: the workers write the per-account table, the combined-commodity
    breakdown still comes back, and the files read back are one machine's table."""
    folder, _ = span_book
    single = pmfast.span_margin(folder / "positions.parquet", takas, n_threads=1)
    run = pmfast.distributed.margin(client, folder / "parts", None, None, method="span",
                                    span_params=takas, partitions=3, output=tmp_path / "out")
    assert run.accounts is None and run.n_accounts == len(single.accounts)
    single.accounts.to_parquet(tmp_path / "one.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out"),
                                  pd.read_parquet(tmp_path / "one.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(run.combined.reset_index(drop=True),
                                  single.combined.reset_index(drop=True), check_exact=True)

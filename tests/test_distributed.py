"""pmfast.distributed on a LocalCluster of 2 worker processes: every figure bit-identical to the
single-machine run (the oracle: pmfast.Book + portfolio_margin / strategy_margin / the batch's
joined table over the same rows), whatever the partitions; bad input as on one machine; a
worker killed mid-run retried with the same result."""
import os
import signal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pmfast
from pmfast import batch

distributed = pytest.importorskip("distributed")

AS_OF = "2026-11-20"
RATE = 0.045
ACCOUNTS = 400


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A generated book on disk: positions in one file (in generator order, accounts
    interleaved) and the same rows partitioned by account into 5 files."""
    folder = tmp_path_factory.mktemp("dbook")
    tables = pmfast.generate(accounts=ACCOUNTS, seed=23)
    for name, t in tables.items():
        pq.write_table(t, folder / f"{name}.parquet")
    pmfast.distributed.partition_positions(folder / "positions.parquet", folder / "parts", 5)
    return folder


def _ref(folder):
    return dict(instruments=folder / "instruments.parquet",
                underlyings=folder / "underlyings.parquet",
                product_groups=folder / "product_groups.parquet", as_of=AS_OF, rate=RATE)


def _single(positions, folder, method, errors="raise", **kw):
    """The one-machine result: the method's own table and the errors."""
    ref = _ref(folder)
    book = pmfast.Book(positions, ref["instruments"], ref["underlyings"],
                       product_groups=ref["product_groups"], as_of=AS_OF, rate=RATE,
                       errors=errors, n_threads=1)
    run = batch.run_book(book, method=method, n_threads=1, errors=errors, **kw)
    own = {"pm": run.pm.accounts if run.pm else None,
           "regt": run.regt.accounts if run.regt else None, "both": run.accounts}[method]
    return own, run


@pytest.mark.parametrize("method", ["pm", "regt", "both"])
def test_partitioned_dataset_is_bit_identical(client, book, method):
    single, run1 = _single(book / "positions.parquet", book, method)
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method=method,
                                    partitions=4)
    assert len(run.shards) == 4      # more shards than workers, never more than asked
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)
    pd.testing.assert_frame_equal(run.errors, run1.errors, check_exact=True)
    assert run.shards["rows"].sum() == pq.ParquetFile(book / "positions.parquet").metadata.num_rows


@pytest.mark.parametrize("method", ["pm", "both"])
def test_results_written_by_the_workers(client, book, tmp_path, method):
    """``output=``: each worker writes its shard's table; read back in file-name order it is
    one machine's table, and the totals are the table's to the rounding of a sum in pieces."""
    single, run1 = _single(book / "positions.parquet", book, method)
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method=method,
                                    partitions=3, output=tmp_path / "out")
    assert run.accounts is None and run.n_accounts == len(single)
    files = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert [f.name for f in files] == [f"part-{k:05d}.parquet" for k in range(3)]
    got = pd.read_parquet(tmp_path / "out")
    single.to_parquet(tmp_path / "one.parquet", index=False)    # the same Parquet round trip
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "one.parquet"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(run.errors, run1.errors, check_exact=True)
    want = {c: float(single[c].sum()) for c in single.columns if single[c].dtype.kind in "fi"}
    assert run.totals.keys() == want.keys()
    for c, v in want.items():
        assert run.totals[c] == pytest.approx(v, rel=1e-12, abs=1e-6)
    with pytest.raises(pmfast.InputError, match="already holds result files"):
        pmfast.distributed.margin(client, book / "parts", **_ref(book), method=method,
                                  partitions=3, output=tmp_path / "out")


def test_batch_table_matches_the_command_line_table(client, book):
    _, run1 = _single(book / "positions.parquet", book, "pm")
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="pm",
                                    table="batch", partitions=3)
    pd.testing.assert_frame_equal(run.accounts, run1.accounts, check_exact=True)


def test_sorted_file_is_cut_by_row_group(client, book, tmp_path):
    """One Parquet file sorted by account, small row groups: the workers read their own row
    groups, an account spanning two row groups stays whole."""
    positions = pq.read_table(book / "positions.parquet")
    order = np.argsort(np.asarray(positions.column("account").to_pylist()), kind="stable")
    pq.write_table(positions.take(pa.array(order)), tmp_path / "sorted.parquet",
                   row_group_size=333)
    shards = pmfast.distributed.plan_shards(str(tmp_path / "sorted.parquet"), 6)
    assert len(shards) == 6
    single, _ = _single(tmp_path / "sorted.parquet", book, "both")
    run = pmfast.distributed.margin(client, tmp_path / "sorted.parquet", **_ref(book),
                                    method="both", partitions=6)
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)


def test_in_memory_table_and_unsorted_file(client, book):
    """A table is cut on the client; a file of one row group in generator order is one
    shard: both give the one-machine figures."""
    positions = pd.read_parquet(book / "positions.parquet")
    single, _ = _single(positions, book, "pm")
    run = pmfast.distributed.margin(client, positions, **_ref(book), method="pm", partitions=5)
    assert len(run.shards) == 5
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)
    run = pmfast.distributed.margin(client, book / "positions.parquet", **_ref(book),
                                    method="pm", partitions=5)
    assert len(run.shards) == 1          # one row group of every account: one piece
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)


def test_n_threads_reaches_every_task(client, book):
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="pm",
                                    n_threads=2, partitions=2)
    assert (run.shards["n_threads"] == 2).all()
    run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="pm",
                                    partitions=2)
    # default: this machine's CPUs shared by the 2 task slots on it, not the nanny's 1
    cpus = len(os.sched_getaffinity(0))
    assert (run.shards["n_threads"] == max(1, cpus // 2)).all()


# -- bad input -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_book(book, tmp_path_factory):
    """The book with an unknown instrument in two accounts far apart and an option with a
    negative strike; ``instruments_vol.parquet`` adds an option no volatility can be found for
    (no price, no implied vol, underlying without volatility), held by other accounts."""
    folder = tmp_path_factory.mktemp("bad")
    positions = pd.read_parquet(book / "positions.parquet")
    instruments = pd.read_parquet(book / "instruments.parquet")
    underlyings = pd.read_parquet(book / "underlyings.parquet")
    accounts = np.sort(positions["account"].unique())
    held = positions["instrument"].astype(str).value_counts()   # no unheld categories
    opts = instruments[(instruments["kind"] == "option")
                       & instruments["instrument"].isin(held[held.between(1, 3)].index)]
    strike_bad = opts["instrument"].iloc[0]
    vol_bad = opts.loc[opts["underlying"] != opts["underlying"].iloc[0], "instrument"].iloc[0]
    instruments.loc[instruments["instrument"] == strike_bad, "strike"] = -5.0
    instruments.to_parquet(folder / "instruments.parquet", index=False)
    vb = instruments["instrument"] == vol_bad
    instruments.loc[vb, ["price", "implied_vol"]] = np.nan
    instruments.to_parquet(folder / "instruments_vol.parquet", index=False)
    underlyings.loc[underlyings["underlying"] == instruments.loc[vb, "underlying"].iloc[0],
                    "volatility"] = np.nan
    extra = pd.DataFrame({"account": [accounts[3], accounts[-4]],
                          "instrument": ["NO_SUCH_1", "NO_SUCH_2"], "quantity": [1.0, 2.0]})
    positions = pd.concat([positions, extra], ignore_index=True)
    positions.to_parquet(folder / "positions.parquet", index=False)
    underlyings.to_parquet(folder / "underlyings.parquet", index=False)
    (folder / "product_groups.parquet").write_bytes((book / "product_groups.parquet").read_bytes())
    pmfast.distributed.partition_positions(folder / "positions.parquet", folder / "parts", 4)

    def holders(*ids):
        return set(positions.loc[positions["instrument"].isin(ids), "account"])
    return folder, holders(strike_bad, "NO_SUCH_1", "NO_SUCH_2"), holders(vol_bad)


@pytest.mark.parametrize("method, vol", [("pm", True), ("pm", False), ("regt", True),
                                         ("regt", False), ("both", True)])
def test_collect_rejects_the_same_accounts(client, bad_book, method, vol):
    folder, book_holders, vol_holders = bad_book
    ref = _ref(folder)
    if vol:
        ref["instruments"] = folder / "instruments_vol.parquet"
    book = pmfast.Book(folder / "positions.parquet", **ref, errors="collect", n_threads=1)
    run1 = batch.run_book(book, method=method, n_threads=1, errors="collect")
    single = {"pm": run1.pm and run1.pm.accounts, "regt": run1.regt and run1.regt.accounts,
              "both": run1.accounts}[method]
    run = pmfast.distributed.margin(client, folder / "parts", **ref, method=method,
                                    errors="collect", partitions=4)
    assert len(run.shards) == 4
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)
    # the independent check: exactly the holders of the bad rows
    expected = book_holders | (vol_holders if vol else set())
    assert set(run.errors["account"]) == expected and len(expected) >= 3
    assert set(run.accounts.loc[run.accounts["status"] == "rejected", "account"]) == expected
    cols = ["account", "table", "column"]
    pd.testing.assert_frame_equal(run.errors[cols], run1.errors[cols], check_exact=True)


@pytest.mark.parametrize("method, errors, vol", [("pm", "raise", False), ("regt", "raise", False),
                                                 ("pm", "raise", True), ("regt", "raise", True)])
def test_raise_gives_the_single_machine_message(client, bad_book, method, errors, vol):
    """``raise`` fails as one machine does, with its message (which names bad rows of several
    shards, or an option held that the market cannot value)."""
    folder, _, _ = bad_book
    ref = _ref(folder)
    if vol:
        ref["instruments"] = folder / "instruments_vol.parquet"
    with pytest.raises(pmfast.InputError) as one:
        book = pmfast.Book(folder / "positions.parquet", **ref, errors=errors, n_threads=1)
        batch.run_book(book, method=method, n_threads=1, errors=errors)
    with pytest.raises(pmfast.InputError) as many:
        pmfast.distributed.margin(client, folder / "parts", **ref, method=method,
                                  errors=errors, partitions=4)
    assert str(many.value) == str(one.value)
    if not vol:
        assert "NO_SUCH_1" in str(one.value) and "NO_SUCH_2" in str(one.value)


def _unheld_bad(book, column, value):
    """The reference tables plus an option nobody holds, ``column`` set to ``value``, on an
    underlying without volatility."""
    instruments = pd.read_parquet(book / "instruments.parquet")
    held = set(pd.read_parquet(book / "positions.parquet")["instrument"].astype(str))
    free = instruments[(instruments["kind"] == "option") & ~instruments["instrument"].isin(held)]
    extra = instruments.loc[[free.index[0]]].assign(instrument="UNHELD.X", underlying="NOVOL",
                                                   **{column: value})
    underlyings = pd.read_parquet(book / "underlyings.parquet")
    novol = underlyings.iloc[[0]].assign(underlying="NOVOL", volatility=np.nan,
                                         product_group=None)
    return dict(_ref(book), instruments=pd.concat([instruments, extra], ignore_index=True),
                underlyings=pd.concat([underlyings, novol], ignore_index=True))


def test_raise_on_a_bad_row_nobody_holds(client, book):
    """One machine's Book fails on any bad reference row, held or not; no shard holds it,
    so the client's one check of the reference tables must find it."""
    ref = _unheld_bad(book, "strike", -1.0)
    with pytest.raises(pmfast.InputError) as one:
        pmfast.Book(book / "positions.parquet", **ref)
    with pytest.raises(pmfast.InputError) as many:
        pmfast.distributed.margin(client, book / "parts", **ref, method="pm", partitions=2)
    assert str(many.value) == str(one.value) and "UNHELD.X" in str(one.value)


def test_an_unpriceable_option_nobody_holds_is_no_error(client, book):
    """An option the market cannot value matters only where an account holds it: one
    machine margins the book, and so does the distributed run, identically."""
    ref = _unheld_bad(book, "implied_vol", np.nan)
    ref["instruments"].loc[ref["instruments"]["instrument"] == "UNHELD.X", "price"] = np.nan
    b = pmfast.Book(book / "positions.parquet", **ref)
    single = pmfast.portfolio_margin(b, errors="raise").accounts
    run = pmfast.distributed.margin(client, book / "parts", **ref, method="pm", partitions=2)
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)


# -- a worker killed mid-run ---------------------------------------------------------------------
class _KillOnFirstShard(distributed.WorkerPlugin):
    """SIGKILLs the worker process the first time any worker starts executing a shard (a file
    marks that it happened, so the restarted worker and the other one do not kill again)."""

    def __init__(self, marker):
        self.marker = marker

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "pmfast-shard" in str(key):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)


def test_killed_worker_is_retried_and_the_result_is_identical(client, book, tmp_path):
    single, _ = _single(book / "positions.parquet", book, "both")
    marker = tmp_path / "killed"
    client.register_plugin(_KillOnFirstShard(str(marker)), name="pmfast-kill-test")
    try:
        run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method="both",
                                        partitions=5)
    finally:
        client.unregister_worker_plugin("pmfast-kill-test")
    killed = int(marker.read_text())
    assert killed not in set(run.shards["pid"])          # its shard was redone elsewhere
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)
    client.wait_for_workers(2, timeout=60)


# -- command line --------------------------------------------------------------------------------
def _cli(book, out, *extra):
    from click.testing import CliRunner
    from pmfast.cli import main
    args = ["margin", str(book / "positions.parquet"), str(book / "instruments.parquet"),
            str(book / "underlyings.parquet"), "--product-groups",
            str(book / "product_groups.parquet"), "--as-of", AS_OF, "--rate", str(RATE),
            "--out", str(out), *extra]
    result = CliRunner().invoke(main, args)
    return result


@pytest.mark.parametrize("method", ["pm", "both"])
def test_cli_scheduler_writes_the_single_machine_table(client, book, tmp_path, method):
    one = _cli(book, tmp_path / "one.parquet", "--method", method, "--threads", "1")
    assert one.exit_code == 0, one.output
    many = _cli(book, tmp_path / "many.parquet", "--method", method, "--partitions", "3",
                "--scheduler", client.scheduler.address)
    assert many.exit_code == 0, many.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "many.parquet"),
                                  pd.read_parquet(tmp_path / "one.parquet"), check_exact=True)
    assert "portfolio margin" in many.output


def test_cli_folder_and_local_workers(book, tmp_path):
    """POSITIONS may be a folder of Parquet files; --workers starts (and stops) a local
    cluster; a report needs the single-machine run."""
    from click.testing import CliRunner
    from pmfast.cli import main
    one = _cli(book, tmp_path / "one.parquet", "--method", "regt")
    args = ["margin", str(book / "parts"), str(book / "instruments.parquet"),
            str(book / "underlyings.parquet"), "--product-groups",
            str(book / "product_groups.parquet"), "--as-of", AS_OF, "--rate", str(RATE),
            "--method", "regt", "--workers", "1", "--out", str(tmp_path / "many.parquet")]
    many = CliRunner().invoke(main, args)
    assert one.exit_code == 0 and many.exit_code == 0, many.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "many.parquet"),
                                  pd.read_parquet(tmp_path / "one.parquet"), check_exact=True)
    bad = CliRunner().invoke(main, args + ["--report", str(tmp_path / "r.html")])
    assert bad.exit_code == 2 and "--report" in bad.output


def test_empty_positions(client, book, tmp_path):
    empty = pa.table({"account": pa.array([], pa.string()),
                      "instrument": pa.array([], pa.string()),
                      "quantity": pa.array([], pa.float64())})
    pq.write_table(empty, tmp_path / "empty.parquet")
    single, _ = _single(tmp_path / "empty.parquet", book, "pm")
    run = pmfast.distributed.margin(client, tmp_path / "empty.parquet", **_ref(book))
    assert len(run.accounts) == 0 and len(run.shards) == 0
    pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)


# -- priced once (pm) ----------------------------------------------------------------------------
def test_price_once_gives_one_machines_risk_arrays(book):
    """The one pricing task (no positions, the whole instruments table) produces the risk
    arrays one machine's portfolio_margin produced for the whole book, bit for bit."""
    from pmfast.distributed.run import _read_reference
    from pmfast.distributed.shard import book_reference, price_once
    ref = _ref(book)
    reference = _read_reference(ref["instruments"], ref["underlyings"], ref["product_groups"],
                                AS_OF, RATE)
    priced = price_once(book_reference(reference, "raise", 1), "finra-cpm", "pm", 1)
    reval = priced.revaluation
    assert priced.sim is None
    one = pmfast.portfolio_margin(pmfast.Book(book / "positions.parquet", **ref, n_threads=1),
                                  n_threads=1).revaluation
    assert len(reval.sets) == len(one.sets) >= 1
    for mine, theirs in zip(reval.sets, one.sets):
        assert mine.pnl.shape == theirs.pnl.shape and mine.pnl.shape[0] > 1000
        np.testing.assert_array_equal(mine.pnl, theirs.pnl)
    np.testing.assert_array_equal(reval.value0, one.value0)


@pytest.mark.parametrize("method", ["pm", "regt", "both"])
def test_priced_in_each_shard_or_once_is_the_same(client, book, method):
    single, _ = _single(book / "positions.parquet", book, method)
    for priced_once in (True, False):
        run = pmfast.distributed.margin(client, book / "parts", **_ref(book), method=method,
                                        partitions=3, priced_once=priced_once)
        pd.testing.assert_frame_equal(run.accounts, single, check_exact=True)


def test_crypto_index_under_equity_rules_is_one_machines_error(client, book):
    """The pricing task meets a crypto index first: the run fails with the one-machine
    message (crypto needs a crypto rule set), not with an error of its own."""
    ref = _ref(book)
    und = pd.read_parquet(ref["underlyings"])
    und["group_type"] = und.get("group_type", pd.Series([None] * len(und))).astype(object)
    und.loc[0, "group_type"] = "crypto"
    ref["underlyings"] = und
    with pytest.raises(pmfast.InputError) as one:
        pmfast.portfolio_margin(pmfast.Book(book / "positions.parquet", **ref, n_threads=1))
    with pytest.raises(pmfast.InputError) as many:
        pmfast.distributed.margin(client, book / "parts", **ref, method="pm", partitions=2)
    assert str(many.value) == str(one.value) and "crypto" in str(one.value)

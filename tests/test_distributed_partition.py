"""Account shards without a cluster: plan_shards never splits an account and keeps the rows of
each account in source order; partition_positions writes disjoint account ranges; the core
install reaches pmfast.distributed without importing Dask."""
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pmfast
from pmfast.distributed.partition import read_shard


def _positions(n_rows, n_accounts, seed):
    rng = np.random.default_rng(seed)
    accounts = np.array([f"A{i:05d}" for i in rng.integers(0, n_accounts, n_rows)])
    return pa.table({"account": accounts, "instrument": rng.choice(["X", "Y", "Z"], n_rows),
                     "quantity": np.arange(n_rows, dtype=np.float64)})   # quantity = row id


def _check_shards(shards, source):
    """Brute force against the source: each account's rows are in exactly one shard, all of
    them, in source order (the quantity is the source row number); shards ascend by account."""
    by_shard = [read_shard(s.pieces).to_pandas() for s in shards]
    seen = {}
    last_max = None
    for k, frame in enumerate(by_shard):
        for account, rows in frame.groupby("account", sort=False)["quantity"]:
            assert account not in seen, f"account {account} in shards {seen[account]} and {k}"
            seen[account] = k
        if len(frame):
            assert last_max is None or frame["account"].min() > last_max
            last_max = frame["account"].max()
    src = source.to_pandas()
    assert sorted(seen) == sorted(src["account"].unique())
    for frame in by_shard:
        for account, q in frame.groupby("account")["quantity"]:
            expected = src.loc[src["account"] == account, "quantity"].to_numpy()
            np.testing.assert_array_equal(q.to_numpy(), expected)


def test_sorted_file_row_groups_straddling_accounts(tmp_path):
    table = _positions(5000, 300, 1)
    table = table.take(pa.array(np.argsort(table.column("account").to_numpy(
        zero_copy_only=False), kind="stable")))
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=117)   # cuts accounts
    shards = pmfast.distributed.plan_shards(tmp_path / "p.parquet", 7)
    assert len(shards) == 7
    _check_shards(shards, table)


def test_unsorted_files_stay_whole(tmp_path):
    """Files in arbitrary account order: every piece spans every range, so the plan keeps
    them in one shard rather than read every file once per shard."""
    table = _positions(3000, 100, 2)
    pq.write_table(table.slice(0, 1500), tmp_path / "a.parquet", row_group_size=500)
    pq.write_table(table.slice(1500), tmp_path / "b.parquet", row_group_size=500)
    with pytest.warns(UserWarning, match="partition_positions"):
        shards = pmfast.distributed.plan_shards(tmp_path, 4)
    assert len(shards) == 1
    _check_shards(shards, table)


def test_partition_positions_then_plan(tmp_path):
    table = _positions(4000, 250, 3)
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=700)
    files = pmfast.distributed.partition_positions(tmp_path / "p.parquet", tmp_path / "parts", 5)
    assert len(files) == 5
    ranges = [pq.read_table(f).column("account").to_numpy(zero_copy_only=False) for f in files]
    for lo, hi in zip(ranges[:-1], ranges[1:]):
        assert lo.max() < hi.min()                     # disjoint ascending account ranges
    sizes = [len(r) for r in ranges]
    assert max(sizes) < 2 * min(sizes)                  # near-equal rows (250 accounts)
    shards = pmfast.distributed.plan_shards(tmp_path / "parts", 5)
    assert len(shards) == 5 and all(len(s.pieces) == 1 for s in shards)
    _check_shards(shards, table)


def test_in_memory_table(tmp_path):
    table = _positions(2000, 80, 4)
    shards = pmfast.distributed.plan_shards(table.to_pandas(), 3)
    assert len(shards) == 3
    _check_shards(shards, table)


def test_bad_partitions():
    with pytest.raises(pmfast.InputError, match="partitions"):
        pmfast.distributed.plan_shards(_positions(10, 3, 0), 0)


def test_core_import_does_not_import_dask():
    code = ("import sys, pmfast; pmfast.Book; pmfast.portfolio_margin; "
            "import pmfast.batch, pmfast.cli; "
            "assert not any(m == 'dask' or m.startswith(('dask.', 'distributed')) "
            "for m in sys.modules), 'dask imported'; "
            "assert callable(pmfast.distributed.margin); "
            "assert callable(pmfast.distributed.partition_positions); "
            "assert 'distributed' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_pricing_a_shards_series_alone_gives_the_same_bytes(seed):
    """The premise of per-shard pricing: a series' risk array row does not depend on which
    other series are priced with it (vector lanes, tails, grouping by class move). A shard's
    cut of the instruments (held_instruments of a random, odd-sized set of positions) is
    priced alone and compared with the whole table's rows, exactly."""
    from pmfast.distributed.shard import held_instruments
    tables = pmfast.generate(accounts=60, seed=seed)
    empty = pa.table({"account": pa.array([], pa.string()),
                      "instrument": pa.array([], pa.string()),
                      "quantity": pa.array([], pa.float64())})

    def arrays(instruments):
        book = pmfast.Book(empty, instruments, tables["underlyings"],
                           product_groups=tables["product_groups"], as_of="2026-11-20",
                           rate=0.045)
        frame = pmfast.risk_arrays(book, n_threads=1)
        return frame.set_index(["instrument", "scenario_set", "scenario"])

    whole = arrays(tables["instruments"])
    rng = np.random.default_rng(seed)
    positions = tables["positions"].take(pa.array(rng.choice(
        tables["positions"].num_rows, 37, replace=False)))
    cut = held_instruments(positions, tables["instruments"])
    assert 0 < cut.num_rows < tables["instruments"].num_rows
    alone = arrays(cut)
    for column in ("pnl", "value0", "vol"):
        np.testing.assert_array_equal(alone[column].to_numpy(),
                                      whole.loc[alone.index, column].to_numpy())


def test_partitioned_files_cut_evenly_at_row_groups(tmp_path):
    """partition_positions sorts each file by account (an account's rows stay in source
    order, checked by _check_shards): row groups hold disjoint account ranges, so a plan of
    more shards than files cuts inside the files, into near-equal shards."""
    table = _positions(20_000, 400, 4)
    files = pmfast.distributed.partition_positions(table, tmp_path / "parts", 2,
                                                   row_group_size=250)
    for f in files:
        ids = pq.read_table(f).column("account").to_numpy(zero_copy_only=False)
        assert (ids[1:] >= ids[:-1]).all()
    shards = pmfast.distributed.plan_shards(tmp_path / "parts", 8)
    assert len(shards) == 8
    sizes = [read_shard(s.pieces).num_rows for s in shards]
    assert max(sizes) < 1.5 * min(sizes), sizes
    _check_shards(shards, table)

"""SPAN on the real Takasbank file: load time, and span_margin end to end on an in-memory table
of about 1M positions over the file's contracts (plain string columns, and dictionary-encoded
ones as a Parquet reader or pandas Categorical hands them over), 1 and 2 threads, against the
numpy twin on a slice in the same run. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_span.py -s --benchmark-columns=median

Machines here are shared: each benchmark also records CPU seconds of the calling process
(``time.process_time``), which for one thread is the per-thread cost whatever the load, and the
same-run ratio to the twin. Figures and how they were measured: README "SPAN".
"""
import pathlib
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import pmfast
from pmfast.span.generate import generate_span_positions

TAKAS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "spec" / "data" / "takas.spn"
N_ACCOUNTS = 118_000        # ~1.0M positions at 10 per account (8.5 after netting)
TWIN_ACCOUNTS = 1_000
RATES = {}


@pytest.fixture(scope="module")
def params():
    if not TAKAS.is_file():
        pytest.skip(f"{TAKAS} is absent")
    return pmfast.span.load(TAKAS)


@pytest.fixture(scope="module")
def tables(params):
    frame = generate_span_positions(params, n_accounts=N_ACCOUNTS, positions_per_account=10,
                                    seed=1)
    plain = pa.Table.from_pandas(frame, preserve_index=False)
    encoded = pa.table({c: (pc.dictionary_encode(plain[c]) if not
                            pa.types.is_floating(plain[c].type) else plain[c])
                        for c in plain.column_names})
    return {"strings": plain, "dictionary": encoded}


def _cpu(fn, rounds=3):
    best = np.inf
    for _ in range(rounds):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def test_load_takas(benchmark):
    if not TAKAS.is_file():
        pytest.skip(f"{TAKAS} is absent")
    benchmark.pedantic(pmfast.span.load, args=(TAKAS,), rounds=7, iterations=1)
    cpu = _cpu(lambda: pmfast.span.load(TAKAS), rounds=5)
    median = benchmark.stats.stats.median
    benchmark.extra_info["summary"] = (f"span.load(takas.spn): median {median:.3f} s wall, "
                                       f"best {cpu:.3f} s CPU")


@pytest.mark.parametrize("columns", ["strings", "dictionary"])
@pytest.mark.parametrize("threads", [1, 2])
def test_span_margin_end_to_end(benchmark, params, tables, columns, threads):
    table = tables[columns]
    run = lambda: pmfast.span_margin(table, params, n_threads=threads).accounts  # noqa: E731
    benchmark.pedantic(run, rounds=3, iterations=1)
    n = table.num_rows
    wall = n / benchmark.stats.stats.median / 1e6
    line = f"span_margin {columns:10s} {threads} thread(s): {n:,} positions, {wall:5.2f} M/s wall"
    if threads == 1:
        cpu = n / _cpu(run) / 1e6
        RATES[columns] = cpu
        line += f", {cpu:5.2f} M/s per CPU-second"
    benchmark.extra_info["summary"] = line


def test_core_only_and_twin(benchmark, params, tables):
    """The C++ account loop alone (positions already mapped), and the numpy twin on the first
    TWIN_ACCOUNTS accounts: the same-run ratio."""
    from pmfast import _core
    from pmfast._reference.span import span_twin
    from pmfast.span.layout import build_layout
    from pmfast.span.positions import map_positions
    m = map_positions(tables["dictionary"], params)
    lay = build_layout(params)
    n_acc = len(m.account_ids)
    core = lambda: _core.span_margin_core(lay, m.acct, m.contract, m.quantity, n_acc,  # noqa
                                          False, 1)
    benchmark.pedantic(core, rounds=3, iterations=1)
    core_rate = len(m.acct) / _cpu(core) / 1e6
    sel = m.acct < TWIN_ACCOUNTS
    t = time.process_time()
    twin = span_twin(lay, m.acct[sel], m.contract[sel], m.quantity[sel], TWIN_ACCOUNTS)
    twin_rate = sel.sum() / (time.process_time() - t) / 1e6
    mine = _core.span_margin_core(lay, m.acct[sel], m.contract[sel], m.quantity[sel],
                                  TWIN_ACCOUNTS, False, 1)
    assert np.array_equal(twin["risk"], mine["risk"])
    benchmark.extra_info["summary"] = (
        f"span core alone, 1 thread: {core_rate:5.2f} M positions/s per CPU-second; numpy twin "
        f"{twin_rate * 1e3:6.1f} k/s: core {core_rate / twin_rate:,.0f}x the twin; end to end "
        f"(strings) {RATES.get('strings', float('nan')) / twin_rate:,.0f}x the twin")


def test_load_calibration(benchmark):
    """How much the shared machine slows a known kernel down right now: the European grid
    (README: 204 M valuations/s on a quiet machine) timed the same way, per CPU-second and
    wall. Divide the SPAN figures above by these factors to estimate them on a quiet machine."""
    from pmfast import pricing
    from test_bench_pricing import MOVES, N_SERIES, _book
    book = _book(N_SERIES)
    run = lambda: pricing.reprice_grid(*book, MOVES, style="european", n_threads=1)  # noqa
    benchmark.pedantic(run, rounds=3, iterations=1)
    wall = N_SERIES * len(MOVES) / benchmark.stats.stats.median / 1e6
    cpu = N_SERIES * len(MOVES) / _cpu(run) / 1e6
    benchmark.extra_info["summary"] = (
        f"load calibration: European grid {cpu:.0f} M/s per CPU-second ({204 / cpu:.1f}x slower "
        f"than the README's quiet 204), {wall:.0f} M/s wall ({204 / wall:.1f}x)")

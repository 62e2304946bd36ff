"""The ``small`` and ``medium`` workloads as files: Parquet in -> Parquet out, the way the batch
runs overnight (``test_bench_portfolio.py`` and ``test_bench_strategy.py`` start from in-memory
tables; this adds reading, string-key encoding of file input, and writing), and the pandas +
numpy quant baseline (``baseline_pandas.py``) in the same session for the ratio. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_workloads.py --benchmark-columns=median
    PYTHONPATH=src python -m pytest benchmarks/test_bench_workloads.py -k "not medium"   # quick

The medium baseline takes about 20 s per round. Each baseline test also checks that the
baseline and pmfast agree on every account's requirement, risk and minimum (to 1e-6 relative to
max(value, $1)); the ratio is printed at the end of the session.
"""
import statistics
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pmfast

import _workloads as W
import baseline_pandas as B

_DIRS = {}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    def get(name):
        if name not in _DIRS:
            path = tmp_path_factory.mktemp(name)
            W.write_workload(W.WORKLOADS[name], path)
            _DIRS[name] = path
        return _DIRS[name]
    return get


def _parquet_run(data_dir, out_dir, method, n_threads, rules="finra-cpm"):
    tables = W.read_tables(data_dir, n_threads)
    book = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                       tables["product_groups"], as_of=W.AS_OF, rate=W.RATE)
    if method == "pm":
        frame = pmfast.portfolio_margin(book, rules=rules, n_threads=n_threads).accounts
    else:
        frame = pmfast.strategy_margin(book, n_threads=n_threads).accounts
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   out_dir / f"{method}_accounts.parquet")
    return frame


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("method", ["pm", "regt"])
@pytest.mark.parametrize("workload", ["small", "medium"])
def test_parquet_to_parquet(benchmark, data_dir, tmp_path, workload, method, n_threads):
    """Read the four files, build the Book, margin every account, write the account table."""
    benchmark.group = f"Parquet -> Parquet: {workload}"
    path = data_dir(workload)
    frame = benchmark.pedantic(_parquet_run, args=(path, tmp_path, method, n_threads),
                               rounds=3 if workload == "medium" else 7, warmup_rounds=1)
    positions = pq.read_metadata(W.paths(path)["positions"]).num_rows
    assert len(frame) == W.WORKLOADS[workload]  # every account in the output
    benchmark.extra_info["positions"] = positions
    benchmark.extra_info["positions_per_s"] = positions / benchmark.stats.stats.median


@pytest.mark.parametrize("workload", ["small", "medium"])
def test_pandas_baseline(benchmark, data_dir, workload):
    """The quant's pandas + numpy margin, with pmfast (same American model, one thread) timed
    in the same test: extra_info['x baseline'] is how many times faster pmfast is."""
    benchmark.group = f"quant baseline vs pmfast: {workload}"
    path = data_dir(workload)
    rules = pmfast.RuleSet.load("finra-cpm")
    model = rules.american_model if rules.american_model in B.TWINS else "bjs2002"
    rules = rules.replace(american_model=model)
    W.env_threads(1)
    base, _, _ = benchmark.pedantic(B.quant_margin, args=(path, rules, model),
                                    rounds=1 if workload == "medium" else 3)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fast, _ = B.pmfast_margin(path, rules, 1)
        times.append(time.perf_counter() - t0)
    fast_s = statistics.median(times)
    ratio = benchmark.stats.stats.median / fast_s
    benchmark.extra_info["pmfast_s"] = fast_s
    benchmark.extra_info["x baseline"] = round(ratio, 2)
    benchmark.extra_info["summary"] = (
        f"{workload}: pandas baseline {benchmark.stats.stats.median:.3f} s, pmfast "
        f"{fast_s:.3f} s (1 thread, American {model}): {ratio:.1f}x")
    check = B.compare(base, fast)
    assert check["accounts_base"] == check["accounts_pmfast"] == W.WORKLOADS[workload]
    for col in ("requirement", "risk", "minimum"):
        assert check[col]["over_1e-6"] == 0, (col, check[col])

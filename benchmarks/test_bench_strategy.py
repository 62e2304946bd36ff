"""Reg T strategy margin with optimal pairing on the ``small`` (1,000 accounts, ~10k positions)
and ``medium`` (100,000 accounts, ~1M positions) workloads of ``pmfast.generate``, one and two
threads. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_strategy.py --benchmark-columns=median

The baseline, measured in the same test, is the greedy (broker-style) pairing through the same
pipeline: extra_info holds positions/s and ``x greedy`` (optimal time / greedy time; > 1 means
optimality costs that much more). The strategies table is built lazily and is not timed.
"""
import statistics
import time

import pytest

import pmfast

WORKLOADS = {"small": 1_000, "medium": 100_000}
_BOOKS = {}


def _book(name):
    if name not in _BOOKS:
        _BOOKS[name] = pmfast.generate(accounts=WORKLOADS[name], seed=2026, as_book=True)
    return _BOOKS[name]


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_strategy_margin(benchmark, workload, n_threads):
    book = _book(workload)
    n_positions = book.positions.num_rows
    rounds = 5 if workload == "small" else 3
    result = benchmark.pedantic(pmfast.strategy_margin, args=(book,),
                                kwargs={"n_threads": n_threads}, rounds=rounds, iterations=1)
    assert result.accounts["pairing_optimal"].all()
    greedy = _median_seconds(
        lambda: pmfast.strategy_margin(book, n_threads=n_threads, method="greedy"), rounds)
    optimal = benchmark.stats.stats.median
    benchmark.extra_info["positions"] = n_positions
    benchmark.extra_info["M positions/s"] = round(n_positions / optimal / 1e6, 3)
    benchmark.extra_info["greedy M positions/s"] = round(n_positions / greedy / 1e6, 3)
    benchmark.extra_info["x greedy"] = round(optimal / greedy, 2)

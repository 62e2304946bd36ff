"""Issue 15 item 2: the market maker's account (``_market_maker.py``) under the exact pairing with
the rule set's budget, against the greedy pairing of the same account measured in the same run,
alone and inside the 2,001-account batch of ``generate(accounts=2000, seed=2)``. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_regt_budget.py --benchmark-columns=median

extra_info: the account's time (s, and CPU s: this machine is shared), ``x greedy`` (optimal time / greedy time), whether the
budget ended the search, the gap and the saving over greedy. On main this account took 104 s
to over 200 s.
"""
import statistics
import time

import pytest

import pmfast
from _market_maker import market_maker_book


def _median(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.mark.parametrize("with_book", [False, True], ids=["account alone", "in 2,001 accounts"])
def test_market_maker_account(benchmark, with_book):
    book = market_maker_book(with_book=with_book)
    result = benchmark.pedantic(pmfast.strategy_margin, args=(book,), kwargs={"n_threads": 1},
                                rounds=3, iterations=1)
    greedy_s = _median(lambda: pmfast.strategy_margin(book, n_threads=1, method="greedy"))
    greedy = pmfast.strategy_margin(book, n_threads=1, method="greedy").accounts
    acc = result.accounts.set_index("account").loc["MM"]
    g = greedy.set_index("account").loc["MM"]
    optimal_s = benchmark.stats.stats.median
    cpu0 = time.process_time()   # CPU seconds (all threads): less inflated by a loaded machine
    pmfast.strategy_margin(book, n_threads=1)
    cpu = time.process_time() - cpu0
    benchmark.extra_info.update({
        "seconds": round(optimal_s, 3),
        "cpu seconds": round(cpu, 3),
        "x greedy": round(optimal_s / greedy_s, 2),
        "proven": bool(acc["pairing_optimal"]),
        "gap initial": float(acc["pairing_gap_initial"]),
        "gap maintenance": float(acc["pairing_gap_maintenance"]),
        "saving vs greedy initial": float(g["gross_initial"] - acc["gross_initial"]),
        "summary": f"market maker ({'with book' if with_book else 'alone'}): "
                   f"{optimal_s:.3f} s ({cpu:.3f} s CPU) optimal-with-budget vs {greedy_s:.3f} s "
                   f"greedy "
                   f"({optimal_s / greedy_s:.1f}x); gap {acc['pairing_gap_initial']:,.0f} / "
                   f"saving over greedy {g['gross_initial'] - acc['gross_initial']:,.0f} "
                   f"(initial, $)",
    })
    assert acc["gross_initial"] <= g["gross_initial"] + 1e-6

"""Portfolio-margin benchmarks (pytest-benchmark). Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_portfolio.py --benchmark-only

* aggregation: positions/s at 10 scenarios, compiled kernel (1 and 2 threads) vs the
  vectorised numpy twin (``pmfast._reference.portfolio.aggregate_numpy``) on the same layout;
* end to end on the ``small`` and ``medium`` workloads of performance.md: Book build (from the
  generated Arrow tables) + volatilities + risk arrays + aggregation + offsets + result
  tables, 1 and 2 threads; the baseline is the same pipeline with the numpy aggregation.

The American model comes from PMFAST_BENCH_AMERICAN (default: the finra-cpm preset's), so the
pricing share of the end-to-end time follows whatever the pricing core ships.
"""
import os

import numpy as np
import pytest

import pmfast
from pmfast import _core
from pmfast._reference.portfolio import aggregate_numpy
from pmfast.portfolio import Layout, _minimum_rule
from pmfast.scenarios import (build_groups, class_moves, instrument_inputs, risk_array,
                              solve_volatility)

RULES = pmfast.RuleSet.load("finra-cpm")
if os.environ.get("PMFAST_BENCH_AMERICAN"):
    RULES = RULES.replace(american_model=os.environ["PMFAST_BENCH_AMERICAN"])
WORKLOADS = {"small": 1_000, "medium": 100_000}
_cache = {}


def workload(name):
    if name not in _cache:
        tables = pmfast.generate(accounts=WORKLOADS[name], seed=2026)
        _cache[name] = [tables[k] for k in ("positions", "instruments", "underlyings",
                                             "product_groups")]
    return _cache[name]


def build(name):
    return pmfast.Book(*workload(name), as_of="2026-11-20", rate=0.045)


@pytest.fixture(scope="module")
def aggregation_input():
    """The medium book's layout with a random risk array (aggregation only)."""
    book = build("medium")
    groups = build_groups(book, RULES)
    layout = Layout(book, groups, book.rejected)
    rng = np.random.default_rng(1)
    n = book.instruments.num_rows
    pnl = rng.normal(0, 100, (n, 10))
    per_unit = rng.uniform(0, 40, n)
    cap = np.where(rng.random(n) < 0.5, rng.uniform(0, 60, n), np.nan)
    return layout, pnl, per_unit, cap


@pytest.mark.parametrize("impl", ["compiled-1", "compiled-2", "numpy"])
def test_aggregation_throughput(benchmark, aggregation_input, impl):
    layout, pnl, per_unit, cap = aggregation_input
    benchmark.group = "aggregation (medium layout, 10 scenarios)"
    if impl == "numpy":
        run = lambda: aggregate_numpy(*layout.args(), pnl, per_unit, cap)  # noqa: E731
    else:
        nt = int(impl[-1])
        run = lambda: _core.margin_aggregate(*layout.args(), pnl, per_unit, cap,  # noqa: E731
                                             False, True, nt)
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    n = len(layout.quantity)
    benchmark.extra_info["positions"] = n
    benchmark.extra_info["positions_per_s"] = n / benchmark.stats.stats.median


def numpy_pipeline(book, n_threads):
    """The baseline: the same Book, volatilities and risk arrays, numpy aggregation."""
    inputs = instrument_inputs(book, RULES)
    vol = solve_volatility(book, RULES, inputs, n_threads=n_threads)
    groups = build_groups(book, RULES)
    layout = Layout(book, groups, book.rejected)
    ss = RULES.scenario_sets[0]
    moves, _ = class_moves(groups, book, ss)
    pnl, value0 = risk_array(book, RULES, inputs, vol.vol, moves, ss, skip=vol.bad,
                             n_threads=n_threads)
    per_unit, cap = _minimum_rule(RULES, inputs, value0)
    return aggregate_numpy(*layout.args(), np.nan_to_num(pnl), per_unit, cap)


@pytest.mark.parametrize("name", list(WORKLOADS))
@pytest.mark.parametrize("impl", ["pmfast-1", "pmfast-2", "numpy-aggregation-1"])
def test_end_to_end(benchmark, name, impl):
    benchmark.group = f"end to end: {name}"
    workload(name)
    nt = int(impl[-1])
    if impl.startswith("numpy"):
        run = lambda: numpy_pipeline(build(name), nt)  # noqa: E731
    else:
        run = lambda: pmfast.portfolio_margin(build(name), rules=RULES,  # noqa: E731
                                              n_threads=nt).accounts
    rounds = 3 if name == "medium" else 7
    benchmark.pedantic(run, rounds=rounds, warmup_rounds=1)
    benchmark.extra_info["positions"] = workload(name)[0].num_rows

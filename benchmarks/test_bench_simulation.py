"""Simulation-margin benchmarks (pytest-benchmark). Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_simulation.py --benchmark-only

On the ``small`` workload (1,000 accounts) x 1,000 scenarios of a realistic 2-day set
(simulation_grid_error.realistic_set): simulation margin with grid revaluation (the default),
with full revaluation, and the numpy full-revaluation script (simulation_medium.numpy_es) as
the baseline in the same run. The medium figure and its accuracy check are
``simulation_medium.py``; the grid's error against full revaluation is
``simulation_grid_error.py``.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from simulation_grid_error import realistic_set  # noqa: E402
from simulation_medium import AS_OF, RATE, numpy_es, numpy_inputs  # noqa: E402

import pmfast  # noqa: E402

_cache = {}


def small():
    if "book" not in _cache:
        book = pmfast.generate(accounts=1000, seed=2026, as_of=AS_OF, rate=RATE, as_book=True)
        _cache["book"] = book
        _cache["scen"] = realistic_set(book, 1000)
    return _cache["book"], _cache["scen"]


@pytest.mark.parametrize("revaluation", ["grid", "full"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_simulation_margin_small(benchmark, revaluation, n_threads):
    book, scen = small()
    benchmark.pedantic(pmfast.simulation_margin, args=(book, scen),
                       kwargs={"n_threads": n_threads, "revaluation": revaluation},
                       rounds=1, iterations=1)


def test_numpy_full_revaluation_small(benchmark):
    book, scen = small()
    inp = numpy_inputs(book)
    benchmark.pedantic(numpy_es, args=(inp, scen, book.n_accounts, book.rate), rounds=1,
                       iterations=1)

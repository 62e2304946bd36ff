"""Simulation margin on every kernel path this CPU runs (docs/simulation-margin.md, "Kernel
paths"; docs/performance.md, "One build, every CPU"): the European scenario kernel and the
aggregation's row sums are dispatched per instruction set like the pricing kernels, so the
fidelity and determinism tests of tests/test_simulation_margin.py are run again on each path
(`_core._set_isa`, as tests/test_isa_dispatch.py does), and the paths are compared with each
other. Across paths results agree to rounding, not to the bit: baseline x86-64 has no FMA and
each path calls its own libmvec erfc / exp."""
import importlib.util
import pathlib

import numpy as np
import pytest

import pmfast
from pmfast import _core

ISAS = pmfast.show_config()["cpu_isas"]
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _margin_tests():
    spec = importlib.util.spec_from_file_location("simulation_margin_tests",
                                                  ROOT / "tests" / "test_simulation_margin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


base = _margin_tests()


@pytest.fixture(params=ISAS)
def isa(request):
    previous = _core._set_isa(request.param)
    yield request.param
    _core._set_isa(previous)


# the twin fidelity (European 1e-9, American bjs2002 1e-9, pnl vectors), components summing to
# ES, and bit-identity for 1 / 2 threads and row order, in full and grid mode
RERUN = [
    lambda: base.test_european_book_matches_numpy_twin(1, 0.99),
    base.test_american_book_matches_numpy_twin,
    base.test_pnl_vectors_match_twin_and_reproduce_the_measures,
    base.test_components_sum_to_expected_shortfall,
    base.test_bit_identical_for_threads_and_row_order,
    base.test_grid_matches_full_within_tolerance,
    base.test_grid_is_full_up_to_float32_where_nothing_is_american,
    base.test_grid_bit_identical_for_threads_and_row_order,
]
RERUN_IDS = ["european_twin", "american_twin", "pnl_twin", "components", "threads_order_full",
             "grid_vs_full", "grid_european", "threads_order_grid"]


@pytest.mark.parametrize("check", RERUN, ids=RERUN_IDS)
def test_simulation_tests_on_every_path(isa, check):
    assert pmfast.show_config()["kernel_isa"] == isa
    check()


def _run_on(isa, book, scen, revaluation):
    previous = _core._set_isa(isa)
    try:
        sim = pmfast.simulation_margin(book, scen, revaluation=revaluation, n_threads=2)
        return sim, sim.pnl(list(book.account_ids))
    finally:
        _core._set_isa(previous)


@pytest.mark.skipif(len(ISAS) < 2, reason="this CPU runs one kernel path only")
def test_paths_agree_to_rounding_and_are_really_switched():
    book = base.book_of(*base.tables(61, n_accounts=10, n_positions=120))
    scen = base.scenario_set(n=300, seed=61)
    ref_sim, ref_pnl = _run_on("baseline", book, scen, "full")
    for isa in ISAS[1:]:
        sim, pnl = _run_on(isa, book, scen, "full")
        # risk matrix (the European scenario kernel) and account P&L (the row sums)
        np.testing.assert_allclose(sim._risk, ref_sim._risk, rtol=2e-12,
                                   atol=1e-12 * np.abs(ref_sim._risk).max())
        np.testing.assert_allclose(pnl.to_numpy(), ref_pnl.to_numpy(), rtol=2e-12,
                                   atol=1e-12 * np.abs(ref_pnl.to_numpy()).max())
        # the simulation kernels follow the selected path: the wider paths' libmvec erfc and
        # FMA change some last bits (if every value matched, the kernel was not dispatched)
        assert not np.array_equal(sim._risk, ref_sim._risk), isa
        acc, ref = (s.accounts.set_index("account").sort_index() for s in (sim, ref_sim))
        np.testing.assert_allclose(acc["es"], ref["es"], rtol=1e-11,
                                   atol=1e-11 * ref["es"].abs().max())

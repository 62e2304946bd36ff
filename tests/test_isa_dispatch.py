"""Run-time instruction-set dispatch (docs/performance.md, "One build, every CPU"): every kernel
path this CPU can run agrees with the numpy twins, is bit-identical for any thread count, and
agrees with the other paths to the stated tolerance; PMFAST_ISA forces a path at import.

Across paths results are not bit-identical: baseline x86-64 has no FMA (the compiler contracts
a * b + c on the AVX2 / AVX-512 paths only) and each path calls its own libmvec variant of
erfc / exp / log (SSE2, AVX2, AVX-512), which differ by an ulp or two. Measured: European and
fixed_point grids within 2e-12 relative (1.5e-13 absolute on prices near 100), bjs2002 1e-14.
The aggregation kernel is exact on integer input on every path."""
import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import pmfast
from pmfast import _core, pricing
from pmfast._reference import pricing as ref

ISAS = pmfast.show_config()["cpu_isas"]
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(params=ISAS)
def isa(request):
    previous = _core._set_isa(request.param)
    yield request.param
    _core._set_isa(previous)


def book(n, seed):
    """Series of the benchmarks' kind, plus the edges: zero time, zero vol, deep in/out."""
    rng = np.random.default_rng(seed)
    S = rng.uniform(20, 500, n)
    K = S * rng.uniform(0.5, 1.5, n)
    T = rng.integers(0, 730, n) / 365.0
    vol = rng.uniform(0.0, 0.9, n)
    vol[::17] = 0.0
    right = rng.choice(np.array([1, -1], np.int8), n)
    return right, S, K, T, 0.04, 0.012, vol


MOVES = [-1.0, -0.15, -0.05, 0.0, 0.05, 0.15, 0.5]


def test_default_is_the_widest_path_and_named_in_show_config():
    config = pmfast.show_config()
    assert config["cpu_isas"][0] == "baseline"
    assert set(config["cpu_isas"]) <= {"baseline", "avx2", "avx512"}
    assert config["kernel_isa"] in config["cpu_isas"]


def test_unknown_path_is_an_input_error():
    with pytest.raises(pmfast.InputError, match="unknown instruction set 'sse9'"):
        _core._set_isa("sse9")


@pytest.mark.parametrize("requested", ["baseline", "AVX2", "bogus"])
def test_environment_variable_forces_the_path_at_import(requested):
    code = "import warnings, pmfast; print(pmfast.show_config()['kernel_isa'])"
    # the pmfast this test imported (src/ in a dev checkout, site-packages when installed)
    env = {"PMFAST_ISA": requested, "PYTHONPATH": str(pathlib.Path(pmfast.__file__).parents[1]),
           "PATH": ""}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    want = requested.lower()
    if want in ISAS:
        assert run.stdout.strip() == want
    else:  # unknown (or not supported by this CPU): a warning, and the widest path
        assert run.stdout.strip() == ISAS[-1]
        assert "PMFAST_ISA='%s' ignored" % want in run.stderr


def test_european_paths_match_the_twin_and_thread_split(isa):
    args = book(3000, 1)
    for model in ("bsm", "black76"):
        got = pricing.reprice_grid(*args, MOVES, [-0.3, 0.0, 0.2], style="european", model=model,
                                   horizon_days=5, n_threads=1)
        want = ref.reprice_grid_european(*args, MOVES, [-0.3, 0.0, 0.2], horizon_days=5,
                                         black76=model == "black76")
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        two = pricing.reprice_grid(*args, MOVES, [-0.3, 0.0, 0.2], style="european", model=model,
                                   horizon_days=5, n_threads=2)
        assert got.tobytes() == two.tobytes()
    flat = pricing.bsm(*args, n_threads=1)
    np.testing.assert_allclose(flat, ref.bsm_value(*args), rtol=1e-12, atol=1e-12)
    assert flat.tobytes() == pricing.bsm(*args, n_threads=2).tobytes()


def test_american_paths_match_the_twin(isa):
    args = book(400, 2)
    got = pricing.american(*args, model="bjs2002")
    np.testing.assert_allclose(got, ref.bjs2002_value(*args), rtol=1e-10, atol=1e-10)
    # fixed_point: its own engine's tests compare it with QuantLib; here each path must equal
    # the others to the tolerance of the module docstring, and be bit-identical across threads.
    fp = pricing.reprice_grid(*args, MOVES, model="fixed_point", n_threads=1)
    assert fp.tobytes() == pricing.reprice_grid(*args, MOVES, model="fixed_point",
                                                n_threads=2).tobytes()
    assert np.all(np.isfinite(fp))


def test_paths_agree_within_the_stated_tolerance():
    args = book(3000, 3)
    results = {}
    for name in ISAS:
        previous = _core._set_isa(name)
        try:
            results[name] = (pricing.reprice_grid(*args, MOVES, style="european"),
                             pricing.bsm(*args),
                             pricing.reprice_grid(*(a[:500] if np.ndim(a) else a for a in args),
                                                  MOVES, model="fixed_point"),
                             pricing.american(*args, model="bjs2002"))
        finally:
            _core._set_isa(previous)
    first = results[ISAS[0]]
    for name in ISAS[1:]:
        for got, want in zip(results[name], first):
            np.testing.assert_allclose(got, want, rtol=2e-12, atol=1e-12)


def _aggregate_tests():
    spec = importlib.util.spec_from_file_location("aggregate_tests",
                                                  ROOT / "tests" / "test_aggregate_kernel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("S", [4, 10, 30, 33, 41])
def test_aggregation_paths(isa, S):
    tests = _aggregate_tests()
    tests.test_every_output_exact_on_integer_input(S, empty=False)   # exact on every path
    tests.test_real_valued_generated_book_matches_twin(S)
    tests.test_threads_and_optional_outputs_do_not_change_results(S)


def test_grid_bits_do_not_depend_on_row_order(isa):
    """A series' values are the same bits wherever it sits: in a full 64-lane chunk or the
    last, partial one, at any lane."""
    args = book(200, 4)
    perm = np.random.default_rng(5).permutation(200)
    shuffled = tuple(a[perm] if np.ndim(a) else a for a in args)
    got = pricing.reprice_grid(*args, MOVES, style="european")
    again = pricing.reprice_grid(*shuffled, MOVES, style="european")
    assert got[perm].tobytes() == again.tobytes()
    flat = pricing.bsm(*args)
    assert flat[perm].tobytes() == pricing.bsm(*shuffled).tobytes()


def test_fixed_point_paths_match_quantlib():
    """fixed_point has no numpy twin: every path against QuantLib's high-precision QdFp engine
    (the bounds of tests/test_american_fp.py's accuracy test)."""
    pytest.importorskip("QuantLib")
    spec = importlib.util.spec_from_file_location("american_fp_tests",
                                                  ROOT / "tests" / "test_american_fp.py")
    fp_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fp_tests)
    right, S, K, days, r, q, vol = fp_tests.random_book(150, seed=1616)
    want = fp_tests.quantlib_american(right, S, K, days, r, q, vol)
    for name in ISAS:
        previous = _core._set_isa(name)
        try:
            got = pricing.american(right, S, K, days / 365.0, r, q, vol, model="fixed_point")
        finally:
            _core._set_isa(previous)
        err = fp_tests.scaled_error(got, want)
        assert err.mean() <= 1e-4 and err.max() <= 1e-3, name

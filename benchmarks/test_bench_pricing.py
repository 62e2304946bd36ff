"""Pricing kernels over a scenario grid: 100,000 series x 10 spot moves, compiled vs the numpy
reference twin, one and two threads. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_pricing.py --benchmark-columns=median

Each benchmark stores `M valuations/s` in extra_info; the ratio against the twin (measured in
the same session) is printed at the end by the conftest.
"""
import numpy as np
import pytest

from pmfast import pricing
from pmfast._reference import pricing as ref

N_SERIES = 100_000
MOVES = np.linspace(-0.15, 0.15, 10)


def _book(n, seed=1):
    """Realistic series: strikes 70-130% of spot, a week to two years, vol 10-80% with skew."""
    rng = np.random.default_rng(seed)
    S = rng.uniform(20, 500, n)
    K = S * rng.uniform(0.7, 1.3, n)
    T = rng.integers(1, 730, n) / 365.0
    vol = np.clip(0.25 + 0.4 * (1 - K / S) + rng.normal(0, 0.05, n), 0.1, 0.8)
    return rng.choice(np.array([1, -1], np.int8), n), S, K, T, 0.04, 0.012, vol


def _record(benchmark, n_values, key):
    rate = n_values / benchmark.stats.stats.median / 1e6
    benchmark.extra_info["M valuations/s"] = round(rate, 3)
    benchmark.extra_info["key"] = key


@pytest.mark.parametrize("n_threads", [1, 2])
def test_european_grid_compiled(benchmark, n_threads):
    book = _book(N_SERIES)
    benchmark(pricing.reprice_grid, *book, MOVES, style="european", n_threads=n_threads)
    _record(benchmark, N_SERIES * len(MOVES), f"european compiled t{n_threads}")


def test_european_grid_numpy_twin(benchmark):
    book = _book(N_SERIES)
    benchmark.pedantic(ref.reprice_grid_european, args=(*book, MOVES), rounds=3, iterations=1)
    _record(benchmark, N_SERIES * len(MOVES), "european twin")


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("model", ["bjs2002", "bjs1993"])
def test_american_grid_compiled(benchmark, model, n_threads):
    book = _book(N_SERIES)
    benchmark.pedantic(pricing.reprice_grid, args=(*book, MOVES),
                       kwargs=dict(model=model, n_threads=n_threads), rounds=3, iterations=1)
    _record(benchmark, N_SERIES * len(MOVES), f"{model} compiled t{n_threads}")


@pytest.mark.parametrize("model", ["bjs2002", "bjs1993"])
def test_american_grid_numpy_twin(benchmark, model):
    book = _book(N_SERIES // 10)  # the twin is slow: a tenth of the book, rate scaled
    benchmark.pedantic(ref.reprice_grid, args=(*book, MOVES), kwargs=dict(model=model),
                       rounds=1, iterations=1)
    _record(benchmark, N_SERIES // 10 * len(MOVES), f"{model} twin")


@pytest.mark.parametrize("n_threads", [1, 2])
def test_crr200_grid_compiled(benchmark, n_threads):
    book = _book(N_SERIES)
    benchmark.pedantic(pricing.reprice_grid, args=(*book, MOVES),
                       kwargs=dict(model="crr", steps=200, n_threads=n_threads),
                       rounds=1, iterations=1)
    _record(benchmark, N_SERIES * len(MOVES), f"crr200 compiled t{n_threads}")


def test_crr200_grid_numpy_twin(benchmark):
    book = _book(N_SERIES // 100)  # a vectorised numpy tree: a hundredth of the book
    benchmark.pedantic(ref.reprice_grid, args=(*book, MOVES), kwargs=dict(model="crr", steps=200),
                       rounds=1, iterations=1)
    _record(benchmark, N_SERIES // 100 * len(MOVES), "crr200 twin")


N_FLAT = 1_000_000


def _numpy_scipy_bsm(right, S, K, T, r, q, vol):
    """What a quant writes with numpy + scipy's ndtr (the flat-pricing baseline of issue 16)."""
    from scipy.special import ndtr
    fwd, strike = S * np.exp(-q * T), K * np.exp(-r * T)
    sd = vol * np.sqrt(T)
    d1 = np.log(fwd / strike) / sd + 0.5 * sd
    return right * (fwd * ndtr(right * d1) - strike * ndtr(right * (d1 - sd)))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_flat_bsm_compiled(benchmark, n_threads):
    """1M options, scalar r and q (broadcast by the core), Python call included."""
    book = _book(N_FLAT, seed=2)
    benchmark(pricing.bsm, *book, n_threads=n_threads)
    _record(benchmark, N_FLAT, f"flat compiled t{n_threads}")


def test_flat_bsm_numpy_scipy(benchmark):
    book = _book(N_FLAT, seed=2)
    np.testing.assert_allclose(_numpy_scipy_bsm(*book), pricing.bsm(*book), rtol=1e-9, atol=1e-9)
    benchmark.pedantic(_numpy_scipy_bsm, args=book, rounds=7, iterations=1)
    _record(benchmark, N_FLAT, "flat twin")

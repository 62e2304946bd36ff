"""Scenario-set benchmarks (pytest-benchmark). Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_simulation_scenarios.py \\
        --benchmark-only -s

* Monte Carlo, issue 13's figure: 5,000 scenarios over 3,000 underlyings from a 750-day
  history (long table in memory, as ``pmfast generate --history`` writes it): read, estimate
  the EWMA covariance and its shrinkage, factorise (the low-rank form: 750 days < 3,000
  factors), draw -> ScenarioSet. Goal <= 2 s. Baseline in the same run: what a quant writes
  with numpy (pivot with pandas, dense EWMA covariance, the same shrinkage, Cholesky of the
  3,000 x 3,000 matrix, ``standard_normal @ L.T``, ``expm1``).
* Historical and filtered historical sets from the same history (2-day windows).

Each test leaves its median, the baseline's and the ratio in ``extra_info`` and a one-line
summary (benchmarks/conftest.py prints them). Machines here are shared: quote ratios and the
``uptime`` load with any seconds.
"""
import os
import time

import numpy as np
import pytest

import pmfast
from pmfast import simulation
from pmfast.simulation.covariance import DELTA_MIN, shrinkage_intensity
from pmfast.synthetic_history import generate_history

N_UNDERLYINGS, N_DAYS, N_SCENARIOS = 3_000, 750, 5_000
_cache = {}


def history():
    if "h" not in _cache:
        book = pmfast.generate(accounts=1_000, underlyings=N_UNDERLYINGS, seed=2026)
        _cache["h"] = generate_history(book["underlyings"], N_DAYS, seed=2026)["history"]
    return _cache["h"]


def numpy_script(table, n, seed=1, lam=0.97, h=2):
    """The straightforward dense pipeline a quant would write (the baseline)."""
    wide = table.to_pandas().pivot(index="date", columns="underlying", values="price").ffill()
    x = np.log(wide.to_numpy()[1:] / wide.to_numpy()[:-1])
    w = lam ** np.arange(len(x) - 1, -1, -1)
    w /= w.sum()
    cov = (x * w[:, None]).T @ x
    sd = np.sqrt(np.diag(cov))
    y = x / sd
    delta = max(shrinkage_intensity(np.sqrt(w)[:, None] * y, w), DELTA_MIN)
    corr = (1 - delta) * cov / np.outer(sd, sd) + delta * np.eye(len(sd))
    lower = np.linalg.cholesky(corr)
    z = np.random.default_rng(seed).standard_normal((n, len(sd)))
    return np.expm1(np.sqrt(h) * (z @ lower.T) * sd)


def _median(fn, rounds=3):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _cpu(fn):
    """Process CPU seconds (all threads) of one call: less sensitive than wall time to the
    other processes sharing the cores; wall on an idle machine is about cpu / n_cores."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def _report(benchmark, name, baseline_s=None, cpu_s=None):
    ours = benchmark.stats.stats.median
    info = {"median_s": round(ours, 3), "load": os.getloadavg()[0]}
    line = f"{name}: {ours:.2f} s"
    if cpu_s is not None:
        info["cpu_s"] = round(cpu_s, 3)
        line += f" (cpu {cpu_s:.2f} s on {os.cpu_count()} cores)"
    if baseline_s is not None:
        info.update(baseline_s=round(baseline_s, 3), speedup=round(baseline_s / ours, 2))
        line += f", numpy script {baseline_s:.2f} s ({baseline_s / ours:.1f}x)"
    benchmark.extra_info.update(info, summary=f"{line}; load {info['load']:.1f}")
    print("\n" + benchmark.extra_info["summary"])


def test_monte_carlo_5000_x_3000(benchmark):
    table = history()
    s = benchmark.pedantic(lambda: simulation.monte_carlo(table, n=N_SCENARIOS, seed=1),
                           rounds=3, iterations=1)
    assert s.returns.shape == (N_SCENARIOS, N_UNDERLYINGS)
    cpu = _cpu(lambda: simulation.monte_carlo(table, n=N_SCENARIOS, seed=1))
    baseline = _median(lambda: numpy_script(table, N_SCENARIOS), rounds=1)
    _report(benchmark, f"monte_carlo {N_SCENARIOS} x {N_UNDERLYINGS} from {N_DAYS} days",
            baseline, cpu)


@pytest.mark.parametrize("builder", ["historical", "filtered_historical"])
def test_history_sets(benchmark, builder):
    table = history()
    fn = getattr(simulation, builder)
    s = benchmark.pedantic(lambda: fn(table, horizon_days=2), rounds=3, iterations=1)
    assert s.n_scenarios == N_DAYS - 1
    _report(benchmark, f"{builder} {s.n_scenarios} x {N_UNDERLYINGS}",
            cpu_s=_cpu(lambda: fn(table, horizon_days=2)))

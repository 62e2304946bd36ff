"""American repricing over a scenario grid: 100,000 series x 10 spot moves, single thread,
fixed_point vs crr (100 and 200 steps) vs bjs2002 in the same run, plus QuantLib's
high-precision QdFp engine driven from Python on a subset. Accuracy of every model against that
QuantLib engine on 3,000 random options is measured in the same session. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_american.py -s --benchmark-columns=median

The last test prints the table (speed, ratio to crr100, ratio to QuantLib, accuracy) and checks
the issue's goals that do not depend on the machine's load: accuracy, and fixed_point faster
than crr100 and QuantLib in the same run.
"""
import importlib.util
import pathlib
import time

import numpy as np
import pytest

import pmfast
from pmfast import _core, pricing
from test_bench_pricing import _book  # the same realistic book as the pricing benchmarks

ql = pytest.importorskip("QuantLib")

_spec = importlib.util.spec_from_file_location(
    "american_fp_tests", pathlib.Path(__file__).resolve().parents[1] / "tests" / "test_american_fp.py")
_fp_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fp_tests)
quantlib_american, random_book, scaled_error = (
    _fp_tests.quantlib_american, _fp_tests.random_book, _fp_tests.scaled_error)

N_SERIES = 100_000
MOVES = np.linspace(-0.15, 0.15, 10)
MODELS = {"fixed_point": {}, "crr100": dict(steps=100), "crr200": dict(steps=200), "bjs2002": {}}
RATES = {}  # model -> M valuations/s (median)


def _model_name(label):
    return "crr" if label.startswith("crr") else label


@pytest.mark.parametrize("label", list(MODELS))
def test_american_grid_single_thread(benchmark, label):
    book = _book(N_SERIES)
    rounds = 1 if label.startswith("crr") else 3
    benchmark.pedantic(pricing.reprice_grid, args=(*book, MOVES),
                       kwargs=dict(model=_model_name(label), n_threads=1, **MODELS[label]),
                       rounds=rounds, iterations=1)
    rate = N_SERIES * len(MOVES) / benchmark.stats.stats.median / 1e6
    benchmark.extra_info["M valuations/s"] = round(rate, 3)
    RATES[label] = rate


@pytest.mark.parametrize("isa", pmfast.show_config()["cpu_isas"])
def test_fixed_point_per_instruction_set(benchmark, isa):
    """fixed_point on each kernel path this CPU runs (forced as PMFAST_ISA would), 20k x 10."""
    book = _book(N_SERIES // 5, seed=3)
    previous = _core._set_isa(isa)
    try:
        benchmark.pedantic(pricing.reprice_grid, args=(*book, MOVES),
                           kwargs=dict(model="fixed_point", n_threads=1), rounds=3, iterations=1)
    finally:
        _core._set_isa(previous)
    rate = N_SERIES // 5 * len(MOVES) / benchmark.stats.stats.median / 1e6
    benchmark.extra_info["M valuations/s"] = round(rate, 3)
    benchmark.extra_info["summary"] = (f"fixed_point on {isa}: {rate:.2f} M valuations/s (goal >= 2; "
                                       "wall clock: on a shared machine run with "
                                       "--benchmark-timer time.process_time)")


def test_quantlib_high_precision_from_python(benchmark):
    right, S, K, days, r, q, vol = random_book(300, seed=77)
    benchmark.pedantic(quantlib_american, args=(right, S, K, days, r, q, vol), rounds=1,
                       iterations=1)
    rate = len(S) / benchmark.stats.stats.median / 1e6
    benchmark.extra_info["M valuations/s"] = round(rate, 4)
    RATES["quantlib_qdfp_hp"] = rate


def test_accuracy_and_speed_table():
    right, S, K, days, r, q, vol = random_book(3000, seed=2024)
    t0 = time.perf_counter()
    want = quantlib_american(right, S, K, days, r, q, vol)
    ql_rate = len(S) / (time.perf_counter() - t0) / 1e6
    RATES.setdefault("quantlib_qdfp_hp", ql_rate)
    lines = [f"{'model':18s} {'M val/s':>9s} {'x crr100':>9s} {'x QuantLib':>11s} "
             f"{'mean err':>9s} {'max err':>9s}"]
    errors = {}
    for label in MODELS:
        got = pricing.american(right, S, K, days / 365.0, r, q, vol, model=_model_name(label),
                               **MODELS[label])
        err = scaled_error(got, want)
        errors[label] = err
        rate = RATES.get(label, float("nan"))
        lines.append(f"{label:18s} {rate:9.3f} {rate / RATES.get('crr100', np.nan):9.2f} "
                     f"{rate / RATES['quantlib_qdfp_hp']:11.1f} {err.mean():9.1e} {err.max():9.1e}")
    lines.append(f"{'quantlib_qdfp_hp':18s} {RATES['quantlib_qdfp_hp']:9.4f}")
    print("\nAmerican repricing, 100,000 series x 10 spot moves, one thread; error = |v - QuantLib"
          " QdFp high precision| / max(v, 0.5) at S = 100 on 3,000 random options")
    print("\n".join(lines))
    assert errors["fixed_point"].mean() <= 1e-4 and errors["fixed_point"].max() <= 1e-3
    assert errors["fixed_point"].mean() * 10 <= errors["crr100"].mean()
    if "fixed_point" in RATES and "crr100" in RATES:
        assert RATES["fixed_point"] > RATES["crr100"]
        assert RATES["fixed_point"] > 10 * RATES["quantlib_qdfp_hp"]

"""pmfast's pricing kernels against the hardware limit, on every instruction-set path this CPU
runs, measured in the same run. Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_limit.py -s
    PYTHONPATH=src python benchmarks/test_bench_limit.py          # the same table, no pytest

The "limit" is benchmarks/limit_kernel/bsm_limit.cpp, the same closed form written plainly and
compiled here, now, with -O3 -ffast-math (glibc's libmvec vector erfc/exp/log) for each path's
instruction set (-march=x86-64 / x86-64-v3 / x86-64-v4) and with -march=native. Each pmfast path
is forced in-process (pmfast._core._set_isa, what PMFAST_ISA does at import) and timed against
the limit kernel of the same instruction set in alternating pairs, single thread, median of the
rounds. Times are process CPU seconds, not wall: on a shared machine the wall clock also counts
the time other jobs held the core, which would move one side of a pair and not the other.

Rows: European grid (100k series x 10 spot moves, pmfast.pricing.reprice_grid, Python call
included), flat bsm (1M options, pricing.bsm, Python call included; baseline numpy + scipy
ndtr), fixed_point American grid (100k x 10). The limit-kernel ratio goes in extra_info.
"""
import ctypes
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import pmfast
from pmfast import _core, pricing

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_bench_pricing import MOVES, _book  # noqa: E402  the pricing benchmarks' book

FLAGS = {
    "baseline": ["-march=x86-64"],
    "avx2": ["-march=x86-64-v3"],
    "avx512": ["-march=x86-64-v4", "-mprefer-vector-width=512"],
    "native": ["-march=native"],
}
N_GRID, N_FLAT, N_FP = 100_000, 1_000_000, 20_000


def build_limit(isa, directory):
    """Compile the limit kernel for `isa` into `directory`; returns the ctypes library."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to build the limit kernel")
    out = pathlib.Path(directory) / f"bsm_limit_{isa}.so"
    subprocess.run([cxx, "-O3", "-ffast-math", "-fopenmp-simd", *FLAGS[isa], "-fPIC", "-shared",
                    str(HERE / "limit_kernel" / "bsm_limit.cpp"), "-o", str(out)], check=True)
    lib = ctypes.CDLL(str(out))
    p, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.grid_limit.argtypes = [i64] + [p] * 7 + [i64, p, p]
    lib.flat_limit.argtypes = [i64] + [p] * 8
    return lib


def _cols(book, n):
    """The book as float64 columns of length n (the limit kernel takes no scalars)."""
    return [np.ascontiguousarray(np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)))
            for c in book]


def cpu_time(fn, rounds):
    """Median process CPU seconds of fn over `rounds` calls."""
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return float(np.median(times))


def alternate(a, b, rounds):
    """Median CPU seconds of a and b, timed in alternating pairs."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(cpu_time(a, 1))
        tb.append(cpu_time(b, 1))
    return float(np.median(ta)), float(np.median(tb))


def measure(rounds=7):
    """Rows of (path, what, pmfast M/s, limit M/s or baseline M/s, ratio)."""
    grid_book, flat_book = _book(N_GRID), _book(N_FLAT, seed=2)
    grid_cols, flat_cols = _cols(grid_book, N_GRID), _cols(flat_book, N_FLAT)
    moves = np.asarray(MOVES, dtype=np.float64)
    grid_out = np.empty((N_GRID, len(moves)))
    flat_out = np.empty(N_FLAT)
    ptr = lambda a: a.ctypes.data  # noqa: E731
    rows = []
    paths = pmfast.show_config()["cpu_isas"]
    previous = pmfast.show_config()["kernel_isa"]
    with tempfile.TemporaryDirectory() as tmp:
        libs = {isa: build_limit(isa, tmp) for isa in paths + ["native"]}
        # the libraries and pmfast agree before anything is timed
        libs["native"].grid_limit(N_GRID, *map(ptr, grid_cols), len(moves), ptr(moves),
                                  ptr(grid_out))
        ok = pricing.reprice_grid(*grid_book, MOVES, style="european")
        np.testing.assert_allclose(ok, grid_out, rtol=1e-9, atol=1e-9)
        try:
            from scipy.special import ndtr

            def numpy_bsm(right, S, K, T, r, q, vol):
                fwd, strike = S * np.exp(-q * T), K * np.exp(-r * T)
                sd = vol * np.sqrt(T)
                d1 = np.log(fwd / strike) / sd + 0.5 * sd
                return right * (fwd * ndtr(right * d1) - strike * ndtr(right * (d1 - sd)))

            rate_np = N_FLAT / cpu_time(lambda: numpy_bsm(*flat_book), 3) / 1e6
            for isa in paths:
                _core._set_isa(isa)
                lib = libs[isa]
                t_pm, t_lim = alternate(
                    lambda: pricing.reprice_grid(*grid_book, MOVES, style="european", n_threads=1),
                    lambda: lib.grid_limit(N_GRID, *map(ptr, grid_cols), len(moves), ptr(moves),
                                           ptr(grid_out)), rounds)
                n = N_GRID * len(moves)
                rows.append((isa, "European grid 100k x 10", n / t_pm / 1e6, n / t_lim / 1e6,
                             t_lim / t_pm, f"limit kernel ({isa} flags)"))
                if isa == paths[-1]:
                    t_pm, t_nat = alternate(
                        lambda: pricing.reprice_grid(*grid_book, MOVES, style="european",
                                                     n_threads=1),
                        lambda: libs["native"].grid_limit(N_GRID, *map(ptr, grid_cols), len(moves),
                                                          ptr(moves), ptr(grid_out)), rounds)
                    rows.append((isa, "European grid 100k x 10", n / t_pm / 1e6, n / t_nat / 1e6,
                                 t_nat / t_pm, "limit kernel (-march=native)"))
                t_pm, t_lim = alternate(
                    lambda: pricing.bsm(*flat_book, n_threads=1),
                    lambda: lib.flat_limit(N_FLAT, *map(ptr, flat_cols), ptr(flat_out)), rounds)
                rows.append((isa, "flat bsm 1M", N_FLAT / t_pm / 1e6, N_FLAT / t_lim / 1e6,
                             t_lim / t_pm, f"limit kernel ({isa} flags)"))
                rows.append((isa, "flat bsm 1M", N_FLAT / t_pm / 1e6, rate_np,
                             N_FLAT / t_pm / 1e6 / rate_np, "numpy + scipy ndtr"))
                fp_book = _book(N_FP, seed=3)
                t_fp = cpu_time(lambda: pricing.reprice_grid(*fp_book, MOVES, model="fixed_point",
                                                             n_threads=1), 3)
                rows.append((isa, "fixed_point grid 20k x 10", N_FP * len(MOVES) / t_fp / 1e6,
                             float("nan"), float("nan"), "(goal >= 2 M/s)"))
        finally:
            _core._set_isa(previous)
    return rows


def table(rows):
    lines = [f"{'path':9s} {'kernel':26s} {'pmfast M/s':>11s} {'other M/s':>10s} {'ratio':>6s}  other",
             ]
    for isa, what, rate, other, ratio, label in rows:
        lines.append(f"{isa:9s} {what:26s} {rate:11.1f} {other:10.1f} {ratio:6.2f}  {label}")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "unknown CPU") if os.path.exists("/proc/cpuinfo") \
        else "unknown CPU"
    lines.append(f"CPU: {cpu}; paths {pmfast.show_config()['cpu_isas']}; 1-min load average "
                 f"{os.getloadavg()[0]:.2f} (CPU time, single thread: ratios hold under load)")
    return "\n".join(lines)


def test_pricing_against_the_limit_kernel(benchmark):
    rows = benchmark.pedantic(measure, rounds=1, iterations=1)
    text = table(rows)
    print("\n" + text)
    benchmark.extra_info["summary"] = text
    benchmark.extra_info["rows"] = [list(r) for r in rows]


if __name__ == "__main__":
    print(table(measure()))

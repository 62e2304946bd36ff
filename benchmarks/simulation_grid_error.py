"""Error of ``revaluation="grid"`` against full revaluation on generated books, and its speed.

    PYTHONPATH=src python benchmarks/simulation_grid_error.py [ACCOUNTS] [SCENARIOS] [NxV ...]

The scenario set is a realistic 2-day joint set over every underlying of the book: a fat-tailed
market factor (Student-t, 4 df) with per-underlying betas, idiosyncratic noise, volatility
shifts that rise when the market falls (-3 x market return + noise), and rate shifts of ~10 bp.
For each grid (moneyness x volatility nodes) it prints the wall time, the largest ES error in $
and relative, and how many accounts miss "0.1% + $1" of the full-revaluation ES.
"""
import sys
import time

import numpy as np

import pmfast
from pmfast.scenario_set import ScenarioSet


def realistic_set(book, n, seed=0, horizon_days=2):
    und = book.underlyings.column("underlying").to_pylist()
    rng = np.random.default_rng(seed)
    market = rng.standard_t(4, (n, 1)) * 0.02
    beta = rng.uniform(0.5, 1.5, len(und))
    ret = np.exp(market * beta + rng.normal(0, 0.02, (n, len(und)))) - 1
    vol = -3 * market + rng.normal(0, 0.05, (n, len(und)))
    return ScenarioSet(und, ret, vol, rng.normal(0, 0.001, n), horizon_days=horizon_days,
                       source="benchmark")


def main(argv):
    accounts = int(argv[1]) if len(argv) > 1 else 10_000
    n = int(argv[2]) if len(argv) > 2 else 1000
    grids = [tuple(int(v) for v in g.split("x")) for g in argv[3:]] or [(48, 12), (64, 16)]
    book = pmfast.generate(accounts=accounts, seed=3, as_book=True)
    scen = realistic_set(book, n)
    t = time.perf_counter()
    full = pmfast.simulation_margin(book, scen, revaluation="full").accounts.set_index("account")["es"]
    t_full = time.perf_counter() - t
    print(f"{accounts} accounts, {book.positions.num_rows} positions, {n} scenarios")
    print(f"full: {t_full:.2f} s")
    for g in grids:
        t = time.perf_counter()
        es = pmfast.simulation_margin(book, scen, revaluation="grid", grid_points=g).accounts \
            .set_index("account")["es"]
        dt = time.perf_counter() - t
        err = (es - full).abs()
        over = int((err > 1e-3 * full.abs() + 1).sum())
        print(f"grid {g[0]}x{g[1]}: {dt:.2f} s ({t_full / dt:.1f}x), max error ${err.max():.2f}, "
              f"max relative {float((err / full.abs().clip(lower=1)).max()):.2e}, median "
              f"relative {float((err / full.abs().clip(lower=1)).median()):.1e}, accounts over "
              f"0.1% + $1: {over} of {len(full)}, total ES error "
              f"{abs(es.sum() - full.sum()) / full.sum():.1e}", flush=True)


if __name__ == "__main__":
    main(sys.argv)

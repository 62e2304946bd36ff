"""Simulation margin at scale vs a numpy full-revaluation script (issue 13's figure).

    PYTHONPATH=src python benchmarks/simulation_medium.py [ACCOUNTS] [SCENARIOS] [CHECK] [european]
        [isa=avx512,baseline]

Defaults: the ``medium`` book (100,000 accounts, seed 2026) x 1,000 scenarios of
``simulation_grid_error.realistic_set`` (2-day, fat-tailed market factor, volatility and rate
shifts), ES 99%, two threads.

* pmfast: ``simulation_margin`` (default ``revaluation="grid"``), with the time of each stage.
* numpy: the script a quant would write (:func:`numpy_es`): for each scenario, every series
  priced with the vectorised closed form (BSM / Black-76; American options as European, the
  closed form a vectorised script has), account sums with ``np.bincount`` into a dense
  accounts x scenarios matrix, then ``np.partition`` for the tail. Timed from prepared arrays
  (the market inputs are not in its time).
* ``european``: every option of the book made European first, so both sides do the same
  work (the like-for-like ratio; with American options pmfast prices early exercise and the
  numpy script does not).
* ``isa=...``: the kernel paths pmfast is timed on, in turn, in the same run (default: the
  path chosen at import, then ``baseline``, the portable build's speed without the dispatch).
  The first path's results are the ones compared with numpy and with full revaluation.
* accuracy: ``CHECK`` accounts (default 2,000) drawn at random are margined again with
  ``revaluation="full"`` (a book of those accounts only: an account's figures depend on its own
  positions only) and the grid ES compared with "0.1% + $1".
"""
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr

sys.path.insert(0, os.path.dirname(__file__))
from simulation_grid_error import realistic_set  # noqa: E402

import pmfast  # noqa: E402
import pmfast.simulation.margin as sim_margin  # noqa: E402
from pmfast.scenarios import instrument_inputs, solve_volatility  # noqa: E402
from pmfast.simulation.margin import tail_count  # noqa: E402

AS_OF, RATE = "2026-11-20", 0.045


def numpy_inputs(book):
    """Arrays the numpy script starts from: per instrument model, spot, strike, ... and vol;
    per position account, instrument, quantity."""
    rules = pmfast.RuleSet.load("finra-cpm")
    inp = instrument_inputs(book, rules)
    inp["vol"] = solve_volatility(book, rules, inp).vol
    pos = book.positions
    inp["acct"] = pos.column("account_code").to_numpy()
    inp["inst"] = pos.column("instrument_code").to_numpy()
    inp["qty"] = pos.column("quantity").to_numpy()
    return inp


def _bsm(right, S, K, T, r, q, vol):
    sd = np.maximum(vol * np.sqrt(T), 1e-12)
    fwd, disc = S * np.exp(-q * T), K * np.exp(-r * T)
    d1 = np.log(fwd / disc) / sd + 0.5 * sd
    return np.maximum(right * (fwd * ndtr(right * d1) - disc * ndtr(right * (d1 - sd))), 0.0)


def numpy_es(inp, scen, n_accounts, rate, confidence=0.99):
    """ES per account by full revaluation, written the way a quant would in numpy."""
    opt = inp["model"] != 3
    fut_opt = inp["model"] == 2
    S0 = np.where(opt, inp["spot"], inp["linear_spot"])
    right = inp["right"].astype(float)
    K = np.where(opt, inp["K"], 1.0)
    T0 = np.where(opt, inp["T"], 0.0)
    q = np.where(fut_opt, rate, inp["q"])
    vol0 = np.where(opt, np.maximum(np.nan_to_num(inp["vol"]), 1e-4), 0.0)
    mult, und = inp["multiplier"], inp["und_code"]
    V0 = np.where(opt, _bsm(right, S0, K, T0, rate, q, vol0), S0)
    T1 = np.maximum(T0 - scen.horizon_days / 365.0, 0.0)
    P = np.empty((n_accounts, scen.n_scenarios))
    vshift = scen.vol_shifts_or_zero()
    rshift = scen.rate_shifts_or_zero()
    for k in range(scen.n_scenarios):
        S1 = S0 * (1.0 + scen.returns[k, und])
        vol1 = np.maximum(vol0 * (1.0 + vshift[k, und]), 1e-4)
        r1 = rate + rshift[k]
        V1 = np.where(opt, _bsm(right, S1, K, T1, r1, np.where(fut_opt, r1, q), vol1), S1)
        pnl = mult * (V1 - V0)
        P[:, k] = np.bincount(inp["acct"], weights=inp["qty"] * pnl[inp["inst"]],
                              minlength=n_accounts)
    m = tail_count(confidence, scen.n_scenarios)
    losses = np.partition(-P, scen.n_scenarios - m, axis=1)[:, scen.n_scenarios - m:]
    return losses.mean(axis=1)


def timed_stages(book, scen):
    """simulation_margin with the time of its stages."""
    times = {}

    def wrap(obj, name, label):
        func = getattr(obj, name)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            out = func(*args, **kwargs)
            times[label] = times.get(label, 0.0) + time.perf_counter() - t
            return out
        setattr(obj, name, timed)
        return func
    saved = [(sim_margin, "book_market", wrap(sim_margin, "book_market", "market")),
             (sim_margin, "SimLayout", wrap(sim_margin, "SimLayout", "layout")),
             (sim_margin._core, "sim_revalue", wrap(sim_margin._core, "sim_revalue", "revalue")),
             (sim_margin._core, "sim_aggregate",
              wrap(sim_margin._core, "sim_aggregate", "aggregate"))]
    try:
        t, c = time.perf_counter(), time.process_time()
        sim = pmfast.simulation_margin(book, scen, n_threads=2)
        times["total"] = time.perf_counter() - t
        times["cpu (both threads)"] = time.process_time() - c
    finally:
        for obj, name, func in saved:
            setattr(obj, name, func)
    return sim, times


def sub_book(tables, accounts):
    pos = tables["positions"]
    keep = pc.is_in(pos.column("account"), value_set=pa.array(accounts))
    return pmfast.Book(pos.filter(keep), tables["instruments"], tables["underlyings"],
                       tables["product_groups"], as_of=AS_OF, rate=RATE)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return "?"


def main(argv):
    accounts = int(argv[1]) if len(argv) > 1 else 100_000
    n = int(argv[2]) if len(argv) > 2 else 1000
    check = int(argv[3]) if len(argv) > 3 else 2000
    european = "european" in argv[4:]
    isas = [pmfast.show_config()["kernel_isa"], "baseline"]
    for arg in argv[4:]:
        if arg.startswith("isa="):
            isas = arg[4:].split(",")
    isas = list(dict.fromkeys(isas))
    print(f"CPU {cpu_model()}, {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    tables = pmfast.generate(accounts=accounts, seed=2026, rate=RATE, as_of=AS_OF)
    if european:    # like for like with the numpy script: every option European
        ins = tables["instruments"]
        style = ins.column("style")
        tables["instruments"] = ins.set_column(
            ins.column_names.index("style"), "style",
            pc.if_else(pc.is_null(style), style, pa.scalar("european")))
        print("every option made European (the numpy script's model)")
    book = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                       tables["product_groups"], as_of=AS_OF, rate=RATE)
    scen = realistic_set(book, n)
    runs = {}
    for isa in isas:
        previous = sim_margin._core._set_isa(isa)
        try:
            runs[isa] = timed_stages(book, scen)
        finally:
            sim_margin._core._set_isa(previous)
        sim, times = runs[isa]
        print(f"{accounts:,} accounts, {book.positions.num_rows:,} positions, "
              f"{sim._risk.shape[0]:,} series held, {n:,} scenarios")
        print(f"pmfast (grid, 2 threads, kernels {isa}): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
              + f" (load average {os.getloadavg()})", flush=True)
    sim, times = runs[isas[0]]
    for isa in isas[1:]:
        other = runs[isa][1]
        es0 = sim.accounts["es"].to_numpy()
        diff = np.abs(runs[isa][0].accounts["es"].to_numpy() - es0).max()
        print(f"  {isas[0]} vs {isa}: {other['total'] / times['total']:.2f}x wall, "
              f"{other['cpu (both threads)'] / times['cpu (both threads)']:.2f}x cpu, revalue "
              f"{other['revalue'] / times['revalue']:.2f}x, aggregate "
              f"{other['aggregate'] / times['aggregate']:.2f}x; max |ES difference| "
              f"${diff:.2e}", flush=True)
    inp = numpy_inputs(book)
    t, c = time.perf_counter(), time.process_time()
    es_np = numpy_es(inp, scen, book.n_accounts, book.rate)
    t_np, c_np = time.perf_counter() - t, time.process_time() - c
    print(f"numpy full revaluation (closed form, dense sums): {t_np:.2f} s wall, {c_np:.2f} s "
          f"cpu -> pmfast is {t_np / times['total']:.1f}x faster in wall time, "
          f"{c_np / times['cpu (both threads)']:.1f}x in cpu time (load average "
          f"{os.getloadavg()})", flush=True)
    grid = sim.accounts.set_index("account")["es"]
    rel = np.abs(es_np - grid.to_numpy()) / np.maximum(np.abs(grid.to_numpy()), 1)
    print(f"  (numpy prices American options as European: median |ES diff| vs pmfast "
          f"{np.median(rel):.1e} relative)")
    if check <= 0:
        return
    rng = np.random.default_rng(0)
    chosen = sorted(rng.choice(book.account_ids, min(check, book.n_accounts), replace=False))
    t = time.perf_counter()
    full = pmfast.simulation_margin(sub_book(tables, chosen), scen, revaluation="full") \
        .accounts.set_index("account")["es"]
    t_full = time.perf_counter() - t
    err = (grid.loc[full.index] - full).abs()
    over = int((err > 1e-3 * full.abs() + 1).sum())
    print(f"accuracy on {len(full):,} random accounts (full revaluation {t_full:.1f} s): max "
          f"|ES error| ${err.max():.2f}, max relative "
          f"{float((err / full.abs().clip(lower=1)).max()):.1e}, accounts over 0.1% + $1: "
          f"{over}")


if __name__ == "__main__":
    main(sys.argv)

"""Stage-by-stage profile of a whole margin run, Parquet in -> Parquet out.

    PYTHONPATH=src python benchmarks/overnight.py --workload overnight --threads 1,2
    PYTHONPATH=src python benchmarks/overnight.py --workload medium --threads 1 --method both \
        --rules house --repeat 3

The workload of performance.md (``small`` 1k accounts / 10k positions, ``medium`` 100k / 1M,
``overnight`` 1M / 10M) is generated once with ``pmfast.generate`` into Parquet files (keys as
plain strings, as a broker's pipeline writes them) in a temporary folder, or in ``--data-dir``
(kept and reused). Generation is timed and reported but is not part of the run.

Each run is a fresh child process (so its peak memory is its own): read the four Parquet files,
build the ``pmfast.Book`` (validate + encode), ``pmfast.portfolio_margin`` and/or
``pmfast.strategy_margin`` (Reg T), write the per-account tables as Parquet. The library is not
modified: its internal stages (Book validation/encoding, implied vols, layout, risk arrays,
C++ aggregation, result tables, Reg T legs/grouping/pairing) are timed by wrapping the functions
the public calls go through (``benchmarks/_workloads.py``). Stage times are exclusive (an inner
stage is not counted again in the outer one), so they add up to the wall time; peak RSS per
stage is the kernel's high-water mark over that stage, reset at every stage boundary.

Printed: per stage, seconds (median over ``--repeat`` runs), share of the run, and peak RSS;
then the portfolio-margin end-to-end wall time (read -> write, without Reg T), the Reg T time,
the process peak, and a checksum of the results so runs can be compared. ``--json FILE`` keeps
every figure.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _workloads as W  # noqa: E402

PM_STAGES = ("read", "validate", "encode", "inputs", "iv_kernel", "iv_glue", "layout",
             "price_kernel", "price_glue", "aggregate", "results", "pm_glue", "write", "other")
REGT_STAGES = ("regt_legs", "regt_group", "regt_core", "regt_results", "regt_glue", "regt_write")


# -- child: one run ------------------------------------------------------------------------------
def _write_frame(frame, path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def run_once(data_dir, out_dir, method, rules, n_threads):
    t0 = time.perf_counter()
    import numpy as np

    import pmfast
    import pmfast.book
    import pmfast.portfolio
    import pmfast.scenarios
    import pmfast.strategy
    import_s = time.perf_counter() - t0
    W.env_threads(n_threads)
    out_dir = pathlib.Path(out_dir)
    summary = {"import_s": import_s, "n_threads": n_threads, "method": method, "rules": rules,
               "load_before": W.load_average()}
    clock = W.StageClock()
    with W.instrumented(clock) as missing:
        with clock.stage("read"):
            tables = W.read_tables(data_dir, n_threads)
        with clock.stage("validate"):
            book = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                               tables["product_groups"], as_of=W.AS_OF, rate=W.RATE,
                               **W.book_threads(pmfast.Book, n_threads))
        summary["positions_in"] = tables["positions"].num_rows
        summary["net_positions"] = book.positions.num_rows
        summary["instruments"] = book.instruments.num_rows
        summary["accounts"] = book.n_accounts
        del tables
        market = None    # the run's market snapshot, shared with Reg T as batch.run_book does
        if method in ("pm", "both"):
            with clock.stage("pm_glue"):
                pm = pmfast.portfolio_margin(book, rules=rules, n_threads=n_threads)
            with clock.stage("write"):
                _write_frame(pm.accounts, out_dir / "pm_accounts.parquet")
            req = pm.accounts["requirement"].to_numpy()
            summary["pm_total_requirement"] = float(np.nansum(req))
            summary["pm_margined"] = int(np.isfinite(req).sum())
            market = getattr(pm, "market", None)   # None on checkouts before pmfast.market
            del pm
        if method in ("regt", "both"):
            try:
                with clock.stage("regt_glue"):
                    regt = pmfast.strategy_margin(book, n_threads=n_threads, **(
                        {} if market is None else {"market": market}))
                with clock.stage("regt_write"):
                    _write_frame(regt.accounts, out_dir / "regt_accounts.parquet")
                summary["regt_total_initial"] = float(regt.accounts["initial"].sum())
                del regt
            except ImportError as exc:   # the Reg T Book adapter has not landed on this branch
                summary["regt_error"] = f"{type(exc).__name__}: {exc}"
    figures = clock.finish()
    figures.update(summary)
    figures["not_instrumented"] = missing
    figures["load_after"] = W.load_average()
    figures["cpu_s"] = sum(figures["cpu_seconds"].values())
    sec = figures["seconds"]
    figures["pm_wall_s"] = sum(v for k, v in sec.items() if not k.startswith("regt"))
    figures["regt_wall_s"] = sum(v for k, v in sec.items() if k.startswith("regt"))
    return figures


# -- parent: orchestration and report ------------------------------------------------------------
def _child(args, extra):
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), *extra]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    subprocess.run([*cmd, "--_out", out], check=True)
    data = json.loads(pathlib.Path(out).read_text())
    pathlib.Path(out).unlink()
    return data


def _median_run(runs):
    """Per stage and per total: the median over repeated runs."""
    keys = sorted({k for r in runs for k in r["seconds"]})
    med = dict(runs[0])
    med["seconds"] = {k: statistics.median(r["seconds"].get(k, 0.0) for r in runs) for k in keys}
    med["peak_mb"] = {k: max(r["peak_mb"].get(k, 0.0) for r in runs) for k in keys}
    for total in ("wall_s", "pm_wall_s", "regt_wall_s"):
        med[total] = statistics.median(r[total] for r in runs)
    med["peak_total_mb"] = max(r["peak_total_mb"] for r in runs)
    med["cpu_s"] = statistics.median(r["cpu_s"] for r in runs)
    med["runs"] = len(runs)
    return med


def format_report(workload, gen, by_threads):
    threads = sorted(by_threads)
    first = by_threads[threads[0]]
    lines = [f"workload {workload}: {first['positions_in']:,} positions "
             f"({first['net_positions']:,} net), {first['accounts']:,} accounts, "
             f"{first['instruments']:,} instruments; rules {first['rules']}, method "
             f"{first['method']}, median of {first['runs']} run(s)"]
    if gen:
        lines.append(f"generation (not part of the run): {gen['generate_s']:.2f} s generate + "
                     f"{gen['write_s']:.2f} s write Parquet")
    head = "| stage |" + "".join(f" {t} thr s | share | peak MB |" for t in threads)
    lines += ["", head, "|---|" + "---:|---:|---:|" * len(threads)]
    used = [s for s in W.STAGES if any(s in by_threads[t]["seconds"] for t in threads)]
    for s in used:
        row = f"| {W.STAGES[s]} |"
        for t in threads:
            r = by_threads[t]
            sec = r["seconds"].get(s, 0.0)
            peak = r["peak_mb"].get(s, 0)
            row += f" {sec:8.3f} | {100 * sec / r['wall_s']:5.1f}% | {peak:7.0f} |"
        lines.append(row)
    for label, key in (("portfolio margin end to end (read -> write)", "pm_wall_s"),
                       ("Reg T (from the Book, incl. write)", "regt_wall_s"),
                       ("whole run", "wall_s")):
        if any(by_threads[t][key] > 0 for t in threads):
            lines.append(f"| **{label}** |" + "".join(
                f" **{by_threads[t][key]:.3f}** | | |" for t in threads))
    lines.append("| **peak RSS (MB)** |" + "".join(
        f" | | **{by_threads[t]['peak_total_mb']:.0f}** |" for t in threads))
    lines.append("")
    for t in threads:
        r = by_threads[t]
        checks = ", ".join(f"{k}={r[k]:,.2f}" for k in ("pm_total_requirement",
                                                        "regt_total_initial") if k in r)
        peaks = ("exact per stage (VmHWM, reset at each stage boundary)" if r["exact_peaks"]
                 else f"ru_maxrss {r['ru_maxrss_mb']:.0f} MB (process-wide only)")
        lines.append(f"{t} thread(s): CPU {r['cpu_s']:.2f} s over {r['wall_s']:.2f} s wall; "
                     f"1-min load average {r['load_before']:.2f} before, {r['load_after']:.2f} "
                     f"after (2 cores: above ~{t} means other processes competed); start RSS "
                     f"{r['start_rss_mb']:.0f} MB, imports {r['import_s']:.2f} s, peaks {peaks}; "
                     f"{checks}")
        if r.get("regt_error"):
            lines.append(f"  Reg T skipped: {r['regt_error']}")
        if r.get("not_instrumented"):
            lines.append("  not instrumented (internals moved): "
                         + ", ".join(r["not_instrumented"]))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", default="small",
                   help="small | medium | overnight, or a number of accounts")
    p.add_argument("--threads", default="1", help="thread count(s), comma separated: 1,2")
    p.add_argument("--method", choices=("pm", "regt", "both"), default="pm")
    p.add_argument("--rules", default="finra-cpm", help="finra-cpm | house | a TOML path")
    p.add_argument("--repeat", type=int, default=1, help="runs per thread count (median)")
    p.add_argument("--seed", type=int, default=W.SEED)
    p.add_argument("--data-dir", help="where the Parquet workload lives (kept and reused)")
    p.add_argument("--json", help="write every figure to this file")
    p.add_argument("--_child", choices=("generate", "run"), help=argparse.SUPPRESS)
    p.add_argument("--_out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    accounts = W.WORKLOADS.get(args.workload) or int(args.workload)

    if args._child == "generate":
        result = W.write_workload(accounts, args.data_dir, args.seed)
        pathlib.Path(args._out).write_text(json.dumps(result))
        return
    if args._child == "run":
        with tempfile.TemporaryDirectory() as out_dir:
            result = run_once(args.data_dir, out_dir, args.method, args.rules, int(args.threads))
        pathlib.Path(args._out).write_text(json.dumps(result))
        return

    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"pmfast-{args.workload}-")
        data_dir = tmp.name
    try:
        gen = None
        if not W.have_parquet(data_dir):
            print(f"generating {args.workload} ({accounts:,} accounts) into {data_dir} ...",
                  flush=True)
            gen = _child(args, ["--_child", "generate", "--workload", str(accounts),
                                "--seed", str(args.seed), "--data-dir", data_dir])
        by_threads = {}
        for t in [int(x) for x in args.threads.split(",")]:
            runs = []
            for k in range(args.repeat):
                print(f"run {k + 1}/{args.repeat}, {t} thread(s) ...", flush=True)
                runs.append(_child(args, ["--_child", "run", "--data-dir", data_dir,
                                          "--threads", str(t), "--method", args.method,
                                          "--rules", args.rules]))
            by_threads[t] = _median_run(runs)
            by_threads[t]["all_runs"] = runs
        print()
        print(format_report(args.workload, gen, by_threads))
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(
                {"workload": args.workload, "accounts": accounts, "generation": gen,
                 "by_threads": by_threads}, indent=1))
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()

"""One process versus a Dask LocalCluster on the same machine, in the same run.

    PYTHONPATH=src python benchmarks/distributed_overnight.py --workload medium --repeat 3
    PYTHONPATH=src python benchmarks/distributed_overnight.py --workload overnight \
        --data-dir /tmp/pmf-overnight --partitions 8 --repeat 2

The workload of performance.md is generated once into ``--data-dir`` (reused), and its positions
rewritten by ``pmfast.distributed.partition_positions`` into ``--partitions`` account ranges
(timed, once); the distributed runs cut it into two shards per task slot (the default;
``--shards``). Then, interleaved ``--repeat`` times (so machine load hits every configuration
alike), each timed from the Parquet files to the per-account table in the client's memory:

* one process: ``pmfast.Book`` + ``portfolio_margin`` (or ``strategy_margin``, or the batch's
  joined table for ``both``) from the single positions file, on 1 and 2 threads (pyarrow's pool
  capped the same);
* ``pmfast.distributed.margin`` on a LocalCluster of 1 worker process (tasks of 1 and of 2
  threads) and of 2 worker processes (1 thread each), the workers reading their own files.

Each run reports its wall time and its CPU seconds over every process (this one, which holds
the LocalCluster's scheduler, plus every worker process's, read from the workers): on a machine
shared with other jobs the wall time is noise, the CPU seconds are the work distribution adds.
Cluster start-up is reported apart (a long-lived cluster pays it once). Every distributed
result is checked bit-identical to the one-process result. Then the per-shard figures the
100-million-position plan (docs/distributed.md) is built from: one shard run in this process,
stage by stage (benchmarks/_workloads.py's clock), with the bytes each phase ships: the shard's
Parquet bytes, the pickled reference tables (scattered once per worker), the pickled per-shard
result, and the series the shard prices (its held instruments) against the whole book's.
"""
import argparse
import pathlib
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _workloads as W  # noqa: E402


def _cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _one_process(paths, method, n_threads):
    """The single-machine public calls: Book, then portfolio_margin / strategy_margin (the
    batch's joined table for ``both``)."""
    import pmfast
    from pmfast import batch
    W.env_threads(n_threads)
    book = pmfast.Book(paths["positions"], paths["instruments"], paths["underlyings"],
                       product_groups=paths["product_groups"], as_of=W.AS_OF, rate=W.RATE,
                       n_threads=n_threads)
    if method == "pm":
        return pmfast.portfolio_margin(book, n_threads=n_threads).accounts
    if method == "regt":
        return pmfast.strategy_margin(book, n_threads=n_threads).accounts
    return batch.run_book(book, method="both", n_threads=n_threads).accounts


PRICED_ONCE = True     # --per-shard-pricing: each pm shard prices the series it holds


def _distributed(client, paths, parts, method, n_threads, partitions):
    import pmfast
    return pmfast.distributed.margin(client, parts, paths["instruments"], paths["underlyings"],
                                     product_groups=paths["product_groups"], as_of=W.AS_OF,
                                     rate=W.RATE, method=method, n_threads=n_threads,
                                     partitions=partitions,   # None: the task slots
                                     priced_once=PRICED_ONCE)


def _worker_cpu(client):
    """Sum of the CPU seconds of every worker process (0 without a cluster)."""
    if client is None:
        return 0.0
    return sum(client.run(time.process_time).values())


def _shard_profile(paths, parts, method):
    """One shard (the first partition file) margined in this process on one thread, stage by
    stage, and the bytes the plan ships."""
    import pyarrow.parquet as pq

    from pmfast.book import parse_as_of
    from pmfast.distributed.partition import plan_shards
    from pmfast.distributed.shard import Reference, held_instruments, margin_shard
    from pmfast.io import to_arrow
    W.env_threads(1)
    first_file = sorted(pathlib.Path(parts).glob("*.parquet"))[0]
    shard = plan_shards(first_file, 1)[0]     # the whole first partition file, one shard
    ref = Reference(to_arrow(paths["instruments"], "instruments").combine_chunks(),
                    to_arrow(paths["underlyings"], "underlyings").combine_chunks(),
                    to_arrow(paths["product_groups"], "product_groups").combine_chunks(),
                    parse_as_of(W.AS_OF), W.RATE)
    clock = W.StageClock()
    with W.instrumented(clock):
        with clock.stage("read"):
            positions = pq.read_table(shard.pieces[0].path)
        held = held_instruments(positions, ref.instruments)
    figures = clock.finish()
    t0 = time.perf_counter()
    result = margin_shard(shard.pieces, ref, method, "finra-cpm", 1, "raise")
    total = time.perf_counter() - t0
    clock = W.StageClock()
    with W.instrumented(clock):
        margin_shard(shard.pieces, ref, method, "finra-cpm", 1, "raise")
    stages = clock.finish()
    return {"rows": positions.num_rows, "accounts": len(result["accounts"]),
            "parquet_bytes": pathlib.Path(shard.pieces[0].path).stat().st_size,
            "reference_bytes": len(pickle.dumps(ref, protocol=5)),
            "result_bytes": len(pickle.dumps(result, protocol=5)),
            "held_series": held.num_rows, "all_series": ref.instruments.num_rows,
            "seconds": total, "stages": stages["seconds"], "read_s": figures["seconds"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", choices=list(W.WORKLOADS), default="medium")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--method", choices=["pm", "regt", "both"], default="pm")
    ap.add_argument("--shards", type=int, default=None,
                    help="most shards of a distributed run (default: the library's, two per "
                         "task slot)")
    ap.add_argument("--per-shard-pricing", action="store_true",
                    help="pm: each shard prices what it holds (before price-once)")
    args = ap.parse_args()
    global PRICED_ONCE
    PRICED_ONCE = not args.per_shard_pricing

    import pandas as pd
    from distributed import Client, LocalCluster

    import pmfast

    data = pathlib.Path(args.data_dir or tempfile.mkdtemp(prefix=f"pmf-{args.workload}-"))
    if not W.have_parquet(data):
        print(f"generating {args.workload} into {data} ...", flush=True)
        W.write_workload(W.WORKLOADS[args.workload], data)
    paths = W.paths(data)
    parts = data / f"parts-{args.partitions}"
    if not parts.is_dir():
        t0 = time.perf_counter()
        pmfast.distributed.partition_positions(paths["positions"], parts, args.partitions)
        print(f"partition_positions into {args.partitions} files: "
              f"{time.perf_counter() - t0:.2f} s (once)", flush=True)
    print(f"CPU: {_cpu_model()}, {len(__import__('os').sched_getaffinity(0))} CPUs; "
          f"load average before: {W.load_average():.2f}", flush=True)

    clusters = {}
    for n_workers in (1, 2):
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40)
        clusters[n_workers] = (cluster, Client(cluster), time.perf_counter() - t0)
        print(f"LocalCluster({n_workers} worker(s)) start-up: {clusters[n_workers][2]:.2f} s",
              flush=True)

    configs = [("1 process, 1 thread", None, 1), ("1 process, 2 threads", None, 2),
               ("LocalCluster 1 worker, 1 thread/task", 1, 1),
               ("LocalCluster 1 worker, 2 threads/task", 1, 2),
               ("LocalCluster 2 workers, 1 thread/task", 2, 1)]
    times = {name: [] for name, _, _ in configs}
    cpu = {name: [] for name, _, _ in configs}
    reference = None
    last_runs = {}
    for rep in range(args.repeat):
        for name, n_workers, n_threads in configs:
            client = clusters[n_workers][1] if n_workers else None
            # CPU seconds of every process of the run (this one holds the LocalCluster's
            # scheduler; the workers' are read from them): the work, whatever the load
            workers0 = _worker_cpu(client)
            c0, t0 = time.process_time(), time.perf_counter()
            if n_workers is None:
                accounts = _one_process(paths, args.method, n_threads)
            else:
                # --shards (default None: the library's default, two per task slot)
                run = _distributed(client, paths, parts, args.method, n_threads, args.shards)
                accounts = run.accounts
                last_runs[n_workers] = run
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0 + _worker_cpu(client) - workers0)
            if reference is None:
                reference = accounts
            else:
                pd.testing.assert_frame_equal(accounts, reference, check_exact=True)
            print(f"  run {rep + 1}: {name}: {times[name][-1]:.2f} s wall, "
                  f"{cpu[name][-1]:.2f} CPU s (load {W.load_average():.2f})", flush=True)
    for cluster, client, _ in clusters.values():
        client.close()
        cluster.close()

    base = statistics.median(times["1 process, 1 thread"])
    print(f"\n{args.workload}, method {args.method}, {len(reference):,} accounts, "
          f"dataset of {args.partitions} files, "
          f"{args.shards or 'two'} shard(s){'' if args.shards else ' per task slot'}, median of "
          f"{args.repeat}; every distributed result "
          f"bit-identical to the one-process result")
    base_cpu = statistics.median(cpu["1 process, 1 thread"])
    print("| configuration | median wall s | runs s | speed vs 1 process 1 thread | "
          "CPU s (all processes) | CPU vs 1 process 1 thread |")
    print("|---|---:|---|---:|---:|---:|")
    for name, values in times.items():
        med = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        mc = statistics.median(cpu[name])
        print(f"| {name} | {med:.2f} | {runs} | {base / med:.2f}x | {mc:.2f} | "
              f"{mc / base_cpu:.2f}x |")
    for n_workers, run in last_runs.items():
        print(f"\nlast {n_workers}-worker run: client stages "
              + ", ".join(f"{k} {v:.2f} s" for k, v in run.stage_times.items())
              + "; shards (seconds on the worker):")
        print(run.shards.to_string(index=False))

    profile = _shard_profile(paths, parts, args.method)
    print(f"\none shard in this process, 1 thread: {profile['rows']:,} positions, "
          f"{profile['accounts']:,} accounts, {profile['seconds']:.2f} s")
    print(f"  bytes: shard Parquet {profile['parquet_bytes'] / 1e6:.1f} MB, reference tables "
          f"pickled {profile['reference_bytes'] / 1e6:.1f} MB (scattered once per worker), "
          f"result pickled {profile['result_bytes'] / 1e6:.1f} MB")
    print(f"  series priced by the shard: {profile['held_series']:,} of "
          f"{profile['all_series']:,}")
    stages = {k: v for k, v in profile["stages"].items() if v >= 0.005}
    print("  stages: " + ", ".join(f"{W.STAGES.get(k, k)} {v:.2f} s"
                                   for k, v in sorted(stages.items(), key=lambda kv: -kv[1])))
    print(f"load average after: {W.load_average():.2f}")


if __name__ == "__main__":   # LocalCluster starts worker processes: a main guard is required
    main()

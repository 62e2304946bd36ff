"""Same-run A/B of the whole margin run (Parquet in -> Parquet out) between two checkouts.

    python benchmarks/ab_runs.py --a /work/main --b . --workload medium --method both \
        --threads 2 --pairs 4 --data-dir /tmp/pmfast-medium

Each run is ``benchmarks/overnight.py``'s child run of that checkout (``PYTHONPATH=<tree>/src``,
a fresh process, so imports and peaks are its own), on the same Parquet workload; the runs
alternate A, B, A, B, ... so that a change in the machine's load hits both sides alike. Prints
every wall time, the medians and the ratio B / A (below 1: B is faster), and the load average.
Compiled checkouts only (``tools/build-inplace.sh`` in each tree).
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile


def child(tree, args, data_dir, out):
    cmd = [sys.executable, str(pathlib.Path(tree) / "benchmarks" / "overnight.py"), "--_child",
           "run", "--data-dir", data_dir, "--threads", str(args.threads), "--method",
           args.method, "--rules", args.rules, "--_out", out]
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(tree) / "src"))
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(pathlib.Path(out).read_text())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="baseline checkout")
    p.add_argument("--b", required=True, help="changed checkout")
    p.add_argument("--workload", default="medium")
    p.add_argument("--method", default="both")
    p.add_argument("--rules", default="finra-cpm")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--data-dir", required=True)
    args = p.parse_args()
    here = pathlib.Path(__file__).resolve().parent
    if not (pathlib.Path(args.data_dir) / "positions.parquet").is_file():
        subprocess.run([sys.executable, str(here / "overnight.py"), "--_child", "generate",
                        "--workload", args.workload, "--data-dir", args.data_dir, "--_out",
                        os.devnull], check=True,
                       env=dict(os.environ, PYTHONPATH=str(pathlib.Path(args.b) / "src")))
    walls = {"a": [], "b": []}
    stages = {"a": [], "b": []}
    checks = {"a": set(), "b": set()}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pairs):
            for side in ("a", "b") if k % 2 == 0 else ("b", "a"):
                r = child(getattr(args, side), args, args.data_dir, f"{tmp}/{side}{k}.json")
                walls[side].append(r["wall_s"])
                stages[side].append(r["seconds"])
                checks[side].add((round(r.get("pm_total_requirement", 0), 2),
                                  round(r.get("regt_total_initial", 0), 2)))
                print(f"pair {k + 1} {side}: {r['wall_s']:.2f} s (load {os.getloadavg()[0]:.1f})",
                      flush=True)
    names = sorted(set().union(*stages["a"], *stages["b"]))
    print("stage medians (s): A / B")
    for n in names:
        med = [statistics.median(s.get(n, 0.0) for s in stages[x]) for x in ("a", "b")]
        print(f"  {n:14s} {med[0]:7.3f} {med[1]:7.3f}")
    ma, mb = statistics.median(walls["a"]), statistics.median(walls["b"])
    print(f"median A {ma:.2f} s, B {mb:.2f} s, B/A = {mb / ma:.3f}; totals A {checks['a']} "
          f"B {checks['b']}")


if __name__ == "__main__":
    main()

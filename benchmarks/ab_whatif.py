"""Same-run A/B of ``WhatIf.what_if`` latency between two checkouts.

    python benchmarks/ab_whatif.py --a /work/main --b . --pairs 4

Each side runs in its own process (``PYTHONPATH=<tree>/src``) with the same case as
benchmarks/test_bench_whatif.py: the ``small`` workload, ``finra-cpm``, the account closest to
50 positions, a trade on a held series and one opening a new group; ``--rounds`` calls each,
median in microseconds. Sides alternate A, B, B, A, ... Prints each median and B / A.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

def run_side(tree, rounds):
    code = f'''
import json, sys, time
import numpy as np
import pmfast
sys.path.insert(0, {str(pathlib.Path(__file__).resolve().parent)!r})
import test_bench_whatif as T
t, book, account, _, trades = T.account_case("small")
session = pmfast.WhatIf(book, rules="finra-cpm")
res = {{}}
for kind, trade in trades.items():
    session.what_if(account, trade)
    times = []
    for _ in range({rounds}):
        t0 = time.perf_counter()
        session.what_if(account, trade)
        times.append(time.perf_counter() - t0)
    res[kind] = float(np.median(times) * 1e6)
print(json.dumps(res))
'''
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(tree) / "src"))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3000)
    args = p.parse_args()
    runs = {"a": [], "b": []}
    for k in range(args.pairs):
        for side in ("a", "b") if k % 2 == 0 else ("b", "a"):
            r = run_side(getattr(args, side), args.rounds)
            runs[side].append(r)
            print(f"pair {k + 1} {side}: " + ", ".join(f"{n} {v:.1f} us" for n, v in r.items())
                  + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    for kind in runs["a"][0]:
        ma = statistics.median(r[kind] for r in runs["a"])
        mb = statistics.median(r[kind] for r in runs["b"])
        print(f"{kind}: median A {ma:.1f} us, B {mb:.1f} us, B/A = {mb / ma:.3f}")


if __name__ == "__main__":
    main()

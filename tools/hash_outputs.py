"""Hash the per-account outputs of a batch run, to check that a refactor changes no figure.

    PYTHONPATH=src python tools/hash_outputs.py --workloads small,medium --json before.json
    PYTHONPATH=src python tools/hash_outputs.py --workloads small,medium --compare before.json
    (--exclude positions: hash all but the columns a fix changes on purpose; --quick: only
    method both under finra-cpm, for the overnight workload)

Every case builds the generated book of a workload (``pmfast.generate``, the seed, as_of and
rate of benchmarks/_workloads.py), runs ``batch.run_book`` with one method and rule set, and
hashes every column of ``run.accounts`` and ``run.errors`` (float columns by their bytes, so
a change in the last bit shows), plus the per-group table of portfolio margin on ``small``.
A ``collect`` case corrupts a few accounts (bad quantities, unknown instruments) so the
rejection path is hashed too. Nothing is written but the JSON of hashes.
"""
import argparse
import hashlib
import json
import pathlib
import sys

import numpy as np
import pandas as pd
import pyarrow as pa

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))

import _workloads as W  # noqa: E402
import pmfast  # noqa: E402
from pmfast.batch import run_book  # noqa: E402

CASES = [("pm", "finra-cpm"), ("regt", "finra-cpm"), ("both", "finra-cpm"), ("both", "house")]


EXCLUDE = set()   # --exclude: columns a fix changes on purpose (hash the rest)


def frame_hash(frame):
    """sha256 over every column's name, dtype and values (floats bit for bit)."""
    h = hashlib.sha256()
    frame = frame.reset_index(drop=True)
    frame = frame[[c for c in frame.columns if c not in EXCLUDE]]
    for col in frame.columns:
        values = frame[col]
        h.update(f"{col}:{values.dtype}:".encode())
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            h.update("\x1f".join("\x00" if v is None or v is pd.NA or
                                 (isinstance(v, float) and np.isnan(v)) else str(v)
                                 for v in values).encode())
    return h.hexdigest()[:16]


def corrupted(tables):
    """The tables with a few accounts made bad: a NaN quantity and an unknown instrument."""
    pos = tables["positions"]
    n = pos.num_rows
    qty = pos.column("quantity").to_numpy(zero_copy_only=False).astype(float).copy()
    qty[[1, n // 3]] = np.nan
    inst = np.asarray(pos.column("instrument").to_pylist(), dtype=object)
    inst[[n // 2, n - 2]] = "NO-SUCH-INSTRUMENT"
    pos = pos.set_column(pos.schema.get_field_index("quantity"), "quantity", pa.array(qty))
    pos = pos.set_column(pos.schema.get_field_index("instrument"), "instrument",
                         pa.array(inst.tolist(), pa.string()))
    return dict(tables, positions=pos)


def book_of(tables, errors="raise"):
    return pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                       product_groups=tables["product_groups"], as_of=W.AS_OF, rate=W.RATE,
                       errors=errors)


def hashes(workload, quick=False):
    tables = {k: W.plain_strings(v) for k, v in pmfast.generate(
        accounts=W.WORKLOADS[workload], seed=W.SEED, as_of=W.AS_OF, rate=W.RATE).items()}
    out = {}
    book = book_of(tables)
    for method, rules in (CASES[2:3] if quick else CASES):
        run = run_book(book, rules=rules, method=method, n_threads=2)
        out[f"{workload}/{method}/{rules}/accounts"] = frame_hash(run.accounts)
        if run.pm is not None:
            out[f"{workload}/{method}/{rules}/pm.accounts"] = frame_hash(run.pm.accounts)
            if workload == "small":
                out[f"{workload}/{method}/{rules}/pm.groups"] = frame_hash(run.pm.groups)
        if run.regt is not None:
            out[f"{workload}/{method}/{rules}/regt.accounts"] = frame_hash(run.regt.accounts)
    if quick:
        return out
    bad = book_of(corrupted(tables), errors="collect")
    for method in ("pm", "both"):
        run = run_book(bad, rules="finra-cpm", method=method, n_threads=2)
        out[f"{workload}/{method}/collect/accounts"] = frame_hash(run.accounts)
        out[f"{workload}/{method}/collect/errors"] = frame_hash(run.errors)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", default="small,medium")
    parser.add_argument("--json")
    parser.add_argument("--compare")
    parser.add_argument("--quick", action="store_true",
                        help="only method both, finra-cpm, no collect case (for overnight)")
    parser.add_argument("--exclude", default="",
                        help="comma-separated columns left out (a deliberate change)")
    args = parser.parse_args()
    EXCLUDE.update(c for c in args.exclude.split(",") if c)
    result = {}
    for w in args.workloads.split(","):
        result.update(hashes(w, args.quick))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(pathlib.Path(args.compare).read_text())
        diff = [k for k in result if before.get(k) != result[k]]
        for k in result:
            print(f"{'DIFF' if k in diff else 'same'}  {k}  {before.get(k)} {result[k]}")
        print(f"{len(diff)} of {len(result)} hashes differ")
        sys.exit(1 if diff else 0)
    else:
        print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()

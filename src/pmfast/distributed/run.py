"""``pmfast.distributed.margin``: one margin run over the workers of a Dask cluster, with the
figures of a single-machine run (see docs/distributed.md)."""
import dataclasses
import glob
import os
import time

import pandas as pd
import pyarrow as pa

import pmfast
from pmfast._threads import resolve_n_threads
from pmfast import batch
from pmfast.book import ERROR_MODES, parse_as_of, _parse_rate
from pmfast.distributed.partition import plan_shards, source_files
from pmfast.distributed.shard import (EMPTY_POSITIONS, METHODS, Reference, Written,
                                      batch_simulation, book_reference, column_sums,
                                      load_shard, margin_loaded,
                                      price_once, whole_instruments, written)
from pmfast.errors import InputError
from pmfast.io import to_arrow


# Default shards per task slot: two measured faster than one on `overnight` (2 workers: 1.49x
# against 1.26x of one process; 1 worker: 1.10x against 0.78x; docs/distributed.md), since a
# slot that finishes early takes another shard while the pricing task runs.
SHARDS_PER_SLOT = 2


@dataclasses.dataclass
class DistributedRun:
    """What a distributed run produced.

    ``accounts``: one row per account, the single-machine table of the method (rows in the
    single-machine order), or None when the workers wrote it to ``output`` (one Parquet file
    per shard, ``part-NNNNN.parquet`` in account order: ``pandas.read_parquet(output)`` is the
    table); ``errors``: rejected accounts and reasons; ``shards``: one row per shard (account
    range, rows, accounts, wall and CPU seconds on the worker, threads, worker pid);
    ``combined`` (SPAN): ``span_margin``'s breakdown per account and combined commodity.
    """
    accounts: pd.DataFrame
    errors: pd.DataFrame
    shards: pd.DataFrame
    method: str
    rules: str
    parameters: dict
    stage_times: dict
    output: str = None
    shard_totals: list = None    # with ``output``: each shard's column sums, in shard order
    combined: pd.DataFrame = None    # method "span": the breakdown per combined commodity

    # the batch's own count (it reads .errors only): the command line's summary and exit
    # status treat both runs alike
    n_rejected = batch.BatchRun.n_rejected

    @property
    def n_accounts(self):
        if self.accounts is not None:
            return len(self.accounts)
        return int(self.shards["accounts"].sum())

    @property
    def totals(self):
        """Sum of every numeric per-account column (rejected accounts have no figures); with
        ``output``, the shards' sums added in account order (the same figures to the
        rounding of a sum taken in pieces)."""
        if self.accounts is None:
            out = {}
            for part in self.shard_totals:
                for c, v in part.items():
                    out[c] = out.get(c, 0.0) + v
            return out
        return column_sums(self.accounts)


def _host_task_slots(client):
    """host -> task slots of all workers there (a task's threads share the host's CPUs)."""
    slots = {}
    for info in client.scheduler_info(n_workers=-1)["workers"].values():
        host = info["host"]
        slots[host] = slots.get(host, 0) + int(info["nthreads"])
    return slots


def _total_task_slots(client):
    return sum(_host_task_slots(client).values()) or 1


def _single_machine(positions, reference, method, rules, n_threads, errors, files,
                    shared=None):
    """The one-machine run over the same rows (the failure path: it names bad input exactly
    as ``pmfast.Book`` / ``portfolio_margin`` do, over the whole book)."""
    if files is not None:
        tables = [to_arrow(f, "positions") for f in files]
        positions = tables[0] if len(tables) == 1 else pa.concat_tables(
            tables, promote_options="default")
    if method == "span":
        params, options = shared
        return pmfast.span_margin(positions, params, errors=errors, n_threads=n_threads,
                                  **options)
    book = pmfast.Book(positions, reference.instruments, reference.underlyings,
                       product_groups=reference.product_groups, as_of=reference.as_of,
                       rate=reference.rate, errors=errors, n_threads=n_threads)
    return batch.run_book(book, rules=rules, method=METHODS[method][0], n_threads=n_threads,
                          errors=errors, simulation=batch_simulation(method, shared))


def _check_reference(reference, n_threads):
    """With ``errors="raise"`` one machine's Book fails on any bad row of the reference tables,
    held or not, and no shard sees the rows its accounts do not hold: validate the reference
    tables once, with no positions (what the methods reject, an instrument the market cannot
    value, counts only where an account holds it, which the shards see)."""
    pmfast.Book.reference(reference.instruments, reference.underlyings,
                          reference.product_groups, as_of=reference.as_of,
                          rate=reference.rate, errors="raise", n_threads=n_threads)


def _concat_parts(frames):
    """Shard frames concatenated as one machine's single frame would be: an empty shard's
    frame (object columns) must not turn the text columns of the others into object."""
    full = [f for f in frames if len(f)]
    return pd.concat(full or frames[:1], ignore_index=True)


def _check_ordered(accounts):
    """Shard results concatenated must be strictly ascending by account (which also means no
    account came from two shards): a planning bug must never pass silently."""
    if isinstance(accounts, Written):
        if not accounts.ascending:
            raise RuntimeError("pmfast.distributed: shard results are not in strictly "
                               "ascending account order (an account split, or shards out of "
                               "order)")
        return
    ids = accounts["account"].to_numpy(dtype=object)
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        raise RuntimeError("pmfast.distributed: shard results are not in strictly ascending "
                           "account order (an account split, or shards out of order)")


def margin(client, positions, instruments, underlyings, *, product_groups=None, as_of=None,
           rate=0.0, method="pm", rules="finra-cpm", n_threads=None, partitions=None,
           errors="raise", table="method", progress=None, scenarios=None, measure="es",
           confidence=0.99, revaluation="grid", missing="raise", minimum=None,
           span_params=None, round_scan=None, span_rules=None, priced_once=True,
           output=None):
    """Margin a book on the workers of a Dask cluster, with the single-machine figures.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster (``Client("tcp://scheduler:8786")``, ``Client(LocalCluster())``).
    positions : path, glob, folder, list of paths, or a table
        Parquet files are read by the workers, row group by row group (the paths must be
        visible to them); use ``partition_positions`` to rewrite a source whose files are not
        in account ranges. A table (pandas, polars, pyarrow) is cut on the client and shipped.
    instruments, underlyings, product_groups : table or path
        Reference tables, read once on the client and scattered to every worker.
    as_of, rate
        As for ``pmfast.Book`` (``as_of`` is resolved once, on the client).
    method : {"pm", "regt", "both", "sim", "all"}
        Portfolio margin, Reg T strategy margin, both joined (the command line's table),
        simulation margin (``pmfast.simulation_margin``), or all three joined.
    rules : str, path or RuleSet
    n_threads : int, optional
        Threads of each task. Default: the CPUs of the worker's machine shared by the task
        slots of the workers there (never the nanny's OMP_NUM_THREADS=1).
    partitions : int, optional
        Most shards to cut the positions into (default: twice the cluster's task slots, so
        a slot that finishes early takes another shard while the pricing task runs).
        Accounts are never split.
    errors : {"raise", "collect"}
        As for one machine: raise the single-machine ``InputError``, or reject the accounts
        touched by bad input (listed in ``.errors``).
    table : {"method", "batch"}
        ``"method"``: ``accounts`` is the method's own table (``portfolio_margin(...).accounts``,
        ``strategy_margin(...).accounts``, the joined table for ``both``); ``"batch"``: the
        joined table the command line writes, for every method.
    progress : callable, optional
        ``progress(done, total)`` on the client as each shard finishes.
    scenarios, measure, confidence, revaluation, missing, minimum
        ``method="sim"`` or ``"all"``: as for ``pmfast.simulation_margin`` (``scenarios``
        a ScenarioSet, scattered to the workers once).
    span_params, round_scan, span_rules
        ``method="span"``: as ``params``, ``round_scan`` and ``rules`` of
        ``pmfast.span_margin``: the
        risk-parameter file (a path or a loaded ``SpanParams``) is loaded once, here, and
        scattered; positions name its contracts, and instruments and underlyings are not
        used (pass None).
    priced_once : bool
        Every method but SPAN: resolve the market and price every series of the instruments
        table once, in one task, and share them with every shard, which aggregates only
        (default: portfolio margin's risk arrays, simulation margin's risk rows, the marks
        Reg T reads); False: each shard prices the series it holds.
    output : str or path, optional
        A folder every worker can write to (a shared file system): each shard's worker writes
        its per-account table there as ``part-NNNNN.parquet`` (account order is file-name
        order) and ``accounts`` is None, for runs whose results do not fit one process.
        Errors, shards and totals still come back.

    Returns
    -------
    DistributedRun
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if errors not in ERROR_MODES:
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    if table not in ("method", "batch"):
        raise InputError(f"table must be 'method' or 'batch'; got {table!r}")
    if n_threads is not None:
        resolve_n_threads(n_threads)   # the single-machine check
    times = {}
    t0 = time.perf_counter()
    shared = _sim_shared(scenarios, measure, confidence, revaluation, missing, minimum) \
        if method in ("sim", "all") else _span_shared(span_params, round_scan, span_rules) \
        if method == "span" else None
    rules_name = str(rules)
    rules = pmfast.RuleSet.load(rules)
    reference = _read_reference(instruments, underlyings, product_groups, as_of, rate)
    slots = _host_task_slots(client)
    shards = plan_shards(positions, partitions or SHARDS_PER_SLOT * max(1, sum(slots.values())))
    times["plan"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref_future = client.scatter(reference, broadcast=True, hash=False)
    task_threads = n_threads if n_threads is not None else slots
    shared_future = None if shared is None else client.scatter(shared, broadcast=True,
                                                               hash=False)
    priced = priced_once and method != "span" and bool(shards)
    whole = method != "span" and bool(shards) and (priced or whole_instruments(method, shared))
    # the reference tables validated once, in one task, for the pricing task and every shard
    # (in raise mode it is also the check one machine's Book makes of rows nobody holds)
    stamp = time.time_ns()
    # (priorities: every shard's aggregation waits for these two, so they go first)
    book_ref_future = client.submit(book_reference, ref_future, errors, task_threads,
                                    pure=False, key=f"pmfast-reference-{stamp}",
                                    priority=20) if whole else None
    priced_future = client.submit(price_once, book_ref_future, rules, method, task_threads,
                                  shared_future, table, pure=False,
                                  key=f"pmfast-price-once-{stamp}", priority=10) \
        if priced else None
    parts = _part_paths(output, shards)
    futures = [_submit(client, shard, ref_future, method, rules, task_threads, errors, table,
                       shared_future, priced_future, part, whole, book_ref_future)
               for shard, part in zip(shards, parts)]
    try:
        if errors == "raise" and method != "span" and not whole:
            t1 = time.perf_counter()
            _check_reference(reference, n_threads)
            times["check reference"] = time.perf_counter() - t1
        results = _gather(client, futures, progress)
    except InputError:
        client.cancel(futures)
        # the exact single-machine message: the one-machine run over the same rows raises it
        _single_machine(positions, reference, method, rules, n_threads, errors,
                        source_files(positions), shared)
        raise
    finally:
        del ref_future, shared_future, priced_future, book_ref_future
    times["margin"] = time.perf_counter() - t0 - times.get("check reference", 0.0)

    t0 = time.perf_counter()
    combined = None
    if results:
        accounts, errs = _assemble(results)
        if method == "span":
            combined = _concat_parts([r["combined"] for r in results])
    else:   # no positions at all: the one-machine result of an empty book
        run = _single_machine(EMPTY_POSITIONS, reference, method, rules, n_threads, errors,
                              None, shared)
        combined = getattr(run, "combined", None)
        accounts = run.accounts
        if table == "method":
            accounts = {"pm": run.pm, "regt": run.regt, "sim": getattr(run, "sim", None)
                        }.get(method, run).accounts
        errs = run.errors
        if output is not None:
            accounts = written(accounts, parts_path(output, 0))
    _check_ordered(accounts)
    totals = None
    if isinstance(accounts, Written):   # written on the workers: the summaries come back
        totals = [r["accounts"].sums for r in results] if results else [accounts.sums]
        accounts = None
    shard_table = pd.DataFrame({
        "shard": [s.index for s in shards], "lo": [s.lo for s in shards],
        "hi": [s.hi for s in shards], "rows": [r["rows"] for r in results],
        "accounts": [len(r["accounts"]) for r in results],
        **{k: [r[k] for r in results] for k in ("seconds", "cpu_seconds", "n_threads", "pid")}})
    times["join"] = time.perf_counter() - t0
    return DistributedRun(accounts=accounts, errors=errs, shards=shard_table, method=method,
                          rules=rules_name,
                          parameters={"as_of": str(reference.as_of), "rate": reference.rate,
                                      "errors": errors, "method": method,
                                      "partitions": len(shards)},
                          stage_times=times, output=None if output is None else str(output),
                          shard_totals=totals, combined=combined)


def parts_path(output, index):
    """The file of shard ``index`` in a run's ``output`` folder."""
    return os.path.join(os.fspath(output), f"part-{index:05d}.parquet")


def _part_paths(output, shards):
    """Each shard's output file (None without ``output``); the folder is made here, once."""
    if output is None:
        return [None] * len(shards)
    os.makedirs(output, exist_ok=True)
    stale = glob.glob(os.path.join(glob.escape(os.fspath(output)), "part-*.parquet"))
    if stale:
        raise InputError(f"output: {os.fspath(output)} already holds result files "
                         f"({os.path.basename(stale[0])}, ...); give an empty folder")
    return [parts_path(output, s.index) for s in shards]


def _read_reference(instruments, underlyings, product_groups, as_of, rate):
    """The reference tables read once, on the client, each column in one chunk (a table
    read in chunks pickles to about three times its size)."""
    def read(data, name):
        return None if data is None else to_arrow(data, name).combine_chunks()
    return Reference(instruments=read(instruments, "instruments"),
                     underlyings=read(underlyings, "underlyings"),
                     product_groups=read(product_groups, "product_groups"),
                     as_of=parse_as_of(as_of), rate=_parse_rate(rate))


def _sim_shared(scenarios, measure, confidence, revaluation, missing, minimum):
    """What every shard of a simulation run shares: the ScenarioSet (read once, here) and
    ``simulation_margin``'s keywords."""
    from pmfast.simulation.margin import as_scenario_set
    if scenarios is None:
        raise InputError("simulation margin needs scenarios= (a pmfast.ScenarioSet)")
    scen = as_scenario_set(scenarios)
    return scen, {"measure": measure, "confidence": confidence, "revaluation": revaluation,
                  "missing": missing, "minimum": minimum}


def _span_shared(span_params, round_scan, span_rules=None):
    """What every shard of a SPAN run shares: the risk-parameter file and the rule flags read
    once, here."""
    from pmfast.span import SpanParams, load
    if span_params is None:
        raise InputError("method 'span' needs span_params= (a SPAN file or pmfast.span.load())")
    from pmfast.span.engine import span_rules as read_span_rules
    params = span_params if isinstance(span_params, SpanParams) else load(span_params)
    options = {} if span_rules is None else {"rules": read_span_rules(span_rules)}
    return params, dict(options, **({} if round_scan is None else
                                     {"round_scan": bool(round_scan)}))


def _submit(client, shard, ref_future, method, rules, task_threads, errors, table,
            shared_future=None, priced_future=None, part=None, whole=False,
            book_ref_future=None):
    """A shard's two tasks: read its rows and build its Book (which needs nothing priced, so
    it runs while the pricing task prices), then margin it where it was loaded."""
    pieces = shard.pieces
    if any(p.table is not None for p in pieces):   # in-memory rows: shipped from here
        pieces = client.scatter(pieces, hash=False)
    stamp = time.time_ns()
    loaded = client.submit(load_shard, pieces, ref_future, method, task_threads, errors, whole,
                           book_ref_future, pure=False, key=f"pmfast-load-{shard.index}-{stamp}")
    return client.submit(margin_loaded, loaded, method, rules, task_threads, errors, table,
                         shared_future, priced_future, part, pure=False,
                         key=f"pmfast-shard-{shard.index}-{stamp}")


def _assemble(results):
    """The shards' per-account tables (or their ``Written`` summaries) and errors, concatenated
    in shard (= account) order."""
    parts = [r["accounts"] for r in results]
    accounts = _merge_written(parts) if isinstance(parts[0], Written) else \
        pd.concat(parts, ignore_index=True)
    # as one machine: stage by stage (shard.error_stages), shard after shard in each
    stages = zip(*(r["error_stages"] for r in results))
    return accounts, _concat_parts([_concat_parts(list(frames)) for frames in stages])


def _merge_written(parts):
    """One ``Written`` standing for the shards' files: ascending only if each file ascends
    and each non-empty one starts after the last account of the one before."""
    full = [p for p in parts if p.n]
    ascending = all(p.ascending for p in full) and all(
        a.last < b.first for a, b in zip(full, full[1:]))
    return Written(None, sum(p.n for p in parts), full[0].first if full else None,
                   full[-1].last if full else None, ascending, {})


def _gather(client, futures, progress):
    """Every shard's result, in shard order; ``progress(done, total)`` as each finishes. The
    first failed shard's exception is raised (Dask retries a shard whose worker died)."""
    from distributed import as_completed
    index = {f.key: k for k, f in enumerate(futures)}
    results = [None] * len(futures)
    done = 0
    if progress is not None:
        progress(0, len(futures))
    for future in as_completed(futures):
        results[index[future.key]] = future.result()
        done += 1
        if progress is not None:
            progress(done, len(futures))
    return results

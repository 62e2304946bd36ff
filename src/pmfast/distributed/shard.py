"""The work of one shard, run on a Dask worker: read the shard's positions, build its Book,
margin it. Everything a method does per shard goes through ``METHODS`` and ``margin_shard``,
so a method (simulation margin, SPAN) is one registry entry.

Portfolio margin (its own table) is priced once: ``price_once`` prices every series of the
instruments table in one task and every shard aggregates against those risk arrays. The other
methods price in each shard the series its accounts hold (the instruments table cut to them):
per-series pricing does not depend on which other series are priced with it, so both ways the
figures are bit-identical to one machine (docs/distributed.md).
"""
import dataclasses
import os
import time

import pyarrow as pa
import pyarrow.compute as pc

import pmfast
from pmfast import batch

EMPTY_POSITIONS = pa.table({"account": pa.array([], pa.string()),
                            "instrument": pa.array([], pa.string()),
                            "quantity": pa.array([], pa.float64())})
from pmfast.distributed.partition import read_shard


@dataclasses.dataclass(frozen=True)
class Reference:
    """The tables every shard shares (scattered to the workers once), as Arrow tables."""
    instruments: pa.Table
    underlyings: pa.Table
    product_groups: object   # pa.Table or None
    as_of: object            # datetime.date, resolved once on the client
    rate: float


def _pm(book, rules, n_threads, errors, shared=None):
    """``shared``: (market snapshot, Revaluation) of the whole instruments table, priced once
    by ``price_once`` (the shard aggregates only), or None (the shard prices what it holds)."""
    market, revaluation = shared if shared is not None else (None, None)
    pm = pmfast.portfolio_margin(book, rules=rules, n_threads=n_threads, errors=errors,
                                 market=market, revaluation=revaluation)
    return pm.accounts, pm.errors


def _regt(book, rules, n_threads, errors, shared=None):
    regt = pmfast.strategy_margin(book, n_threads=n_threads, errors=errors)
    return regt.accounts, regt.errors


def _both(book, rules, n_threads, errors, shared=None):
    run = batch.run_book(book, rules=rules, method="both", n_threads=n_threads, errors=errors)
    return run.accounts, run.errors


def _sim(book, rules, n_threads, errors, shared=None):
    """Simulation margin: ``shared`` is (ScenarioSet, keywords), the set scattered once. An
    account's figures depend on its own positions and the series' values only (full
    revaluation prices each series alone; the grid mode is refused on the client where it
    would be used, its tables span the series held in the whole call)."""
    scenarios, options = shared
    sim = pmfast.simulation_margin(book, scenarios, n_threads=n_threads, errors=errors,
                                   rules=rules, **options)
    return sim.accounts, sim.errors


def _all(book, rules, n_threads, errors, shared=None):
    run = batch.run_book(book, rules=rules, method="all", n_threads=n_threads, errors=errors,
                         simulation=batch_simulation("all", shared))
    return run.accounts, run.errors


def span(positions, n_threads, errors, shared):
    """SPAN on the exchange's risk-parameter file (``shared``: the loaded ``SpanParams`` and
    ``span_margin``'s keywords): positions name the file's contracts, no Book is built."""
    params, options = shared
    res = pmfast.span_margin(positions, params, errors=errors, n_threads=n_threads, **options)
    return res.accounts, res.errors


# method -> (the batch's method, the single-machine call giving the method's own per-account
# table and its errors; ``shared``: what the run scattered for the method, or None).
METHODS = {
    "pm": ("pm", _pm),
    "regt": ("regt", _regt),
    "both": ("both", _both),
    "sim": ("sim", _sim),
    "all": ("all", _all),      # pm, regt and sim joined: the command line's --method all
    "span": ("span", None),    # margin_shard calls ``span``: no Book, no batch
}


def price_once(reference, rules, n_threads):
    """One task of a pm run: the market snapshot and risk arrays of every series of the run's
    instruments table (a Book with no positions; per-series pricing, so the same bytes as one
    machine's), shared by every shard, whose Books then carry the same instrument codes.
    None where there is nothing to share (crypto rules)."""
    from pmfast.market import resolve_market
    from pmfast.portfolio import prepare
    from pmfast.revaluation import revalue
    from pmfast.crypto.dispatch import crypto_dispatch
    n_threads = _threads(n_threads)
    book = _book(EMPTY_POSITIONS, reference, reference.instruments, "collect", n_threads)
    if crypto_dispatch(book, rules) is not None:   # crypto margin prices its own way; a crypto
        return None                                # index under these rules: one machine's error
    rules = pmfast.RuleSet.load(rules)
    market = resolve_market(book, rules, n_threads=n_threads)
    return market, revalue(book, prepare(book, rules, n_threads, "collect", market))


def _book(positions, reference, instruments, errors, n_threads):
    return pmfast.Book(positions, instruments, reference.underlyings,
                       product_groups=reference.product_groups, as_of=reference.as_of,
                       rate=reference.rate, errors=errors, n_threads=n_threads)


def _threads(n_threads):
    """Threads of this task (``n_threads``: an int, or host -> task slots)."""
    n_threads = task_threads(n_threads) if isinstance(n_threads, dict) else n_threads
    # the nanny's OMP_NUM_THREADS=1 also sized pyarrow's pool (Parquet reads, Arrow kernels)
    if pa.cpu_count() != n_threads:
        pa.set_cpu_count(n_threads)
    return n_threads


def held_instruments(positions, instruments):
    """The instruments table cut to the rows the positions name, and the futures of those
    (a future option is valued off its future's price). Unchanged if ids cannot be compared as
    text (the Book then reports the column)."""
    if "instrument" not in positions.column_names or "instrument" not in \
            instruments.column_names:
        return instruments
    try:
        ids = instruments.column("instrument").cast(pa.string())
        held = pc.unique(positions.column("instrument").cast(pa.string()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return instruments
    keep = pc.is_in(ids, value_set=held)
    if "future" in instruments.column_names:
        try:
            futures = pc.drop_null(instruments.column("future").filter(keep).cast(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return instruments
        keep = pc.or_(keep, pc.is_in(ids, value_set=pc.unique(futures)))
    keep = pc.fill_null(keep, False)
    return instruments.filter(keep)


def batch_simulation(method, shared):
    """``batch.run_book``'s ``simulation`` keywords (``simulation.run.attach``) of a method:
    None but for "sim" and "all"."""
    if method not in ("sim", "all"):
        return None
    scenarios, options = shared
    return dict({k: v for k, v in options.items()
                 if k in ("measure", "confidence", "revaluation")}, scenarios=scenarios)


def error_stages(run_errors, n_book):
    """A shard's errors cut in the stages one machine lists them in, each in account order:
    the Book's rejected rows, those the method's market snapshot found, then (simulation
    margin) the underlyings missing from the scenario set."""
    rest = run_errors.iloc[n_book:]
    scen = (rest["table"] == "scenarios").to_numpy(dtype=bool)
    return [run_errors.iloc[:n_book], rest[~scen], rest[scen]]


def task_threads(host_tasks):
    """Threads for one task on this worker: the CPUs of this machine (its affinity mask, not
    OMP_NUM_THREADS, which Dask's nanny sets to 1) shared by the task slots of every worker on
    this host (``host_tasks``: host -> task slots, from the scheduler)."""
    from distributed import get_worker
    worker = get_worker()
    host = worker.address.split("://")[-1].rsplit(":", 1)[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cpus // max(1, host_tasks.get(host, worker.state.nthreads)))


def margin_shard(pieces, reference, method, rules, n_threads, errors, table="method",
                 shared=None):
    """Margin the accounts of one shard as one machine would.

    Parameters
    ----------
    pieces : sequence of partition.Piece
        The shard's rows (read here, on the worker).
    reference : Reference
        Instruments, underlyings, product groups, as_of and rate of the whole run.
    method : str
        A key of ``METHODS``.
    rules : str, path or RuleSet
    n_threads : int or dict
        Threads for the compiled core; a dict (host -> task slots) makes the task share its
        machine's CPUs with the other task slots there (``task_threads``).
    errors : {"raise", "collect"}
    table : {"method", "batch"}
        Return the method's own per-account table, or the joined table of the command line.
    shared : object, optional
        What the method needs beyond the book, scattered once for the whole run ("sim": the
        ScenarioSet and the simulation keywords; "span": the SpanParams and its keywords).

    Returns
    -------
    dict
        ``accounts`` (DataFrame), ``error_stages`` (see ``error_stages``), ``rows``,
        ``seconds`` (wall), ``cpu_seconds`` (the worker process's CPU time over the task, all
        threads), ``n_threads``, ``pid``.
    """
    start, cpu = time.perf_counter(), time.process_time()
    n_threads = _threads(n_threads)
    run_method, own_table = METHODS[method]
    positions = read_shard(pieces)
    if method == "span":
        accounts, run_errors = span(positions, n_threads, errors, shared)
        return _result(accounts, error_stages(run_errors, 0), positions, start, cpu, n_threads)
    # priced once (pm): the whole table, whose codes the shared risk arrays index; else the
    # series this shard holds, priced here
    instruments = reference.instruments if method == "pm" and shared is not None else \
        held_instruments(positions, reference.instruments)
    book = _book(positions, reference, instruments, errors, n_threads)
    if table == "method":
        accounts, run_errors = own_table(book, rules, n_threads, errors, shared)
    else:
        run = batch.run_book(book, rules=rules, method=run_method, n_threads=n_threads,
                             errors=errors, simulation=batch_simulation(method, shared))
        accounts, run_errors = run.accounts, run.errors
    return _result(accounts, error_stages(run_errors, len(book.errors)), positions, start, cpu,
                   n_threads)


def _result(accounts, stages, positions, start, cpu, n_threads):
    return {"accounts": accounts, "error_stages": stages,
            "rows": positions.num_rows, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
            "n_threads": n_threads, "pid": os.getpid()}

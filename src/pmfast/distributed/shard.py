"""The work of one shard, run on a Dask worker: read the shard's positions, build its Book,
margin it. Everything a method does per shard goes through ``METHODS`` and ``margin_shard``,
so a method (simulation margin, SPAN) is one registry entry.

Every method but SPAN is priced once: ``price_once`` resolves the market of the whole
instruments table in one task and prices what the method reads (portfolio margin's risk
arrays, simulation margin's risk rows; Reg T reads the market's marks), and every shard
aggregates against that ``Priced``. Pricing is per series (simulation margin's premium tables
span the instruments table, not the positions), so the figures are bit-identical to one
machine whichever shard holds an account (docs/distributed.md). With ``priced_once=False`` a
shard prices the series its accounts hold itself (the instruments table cut to them).
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


@dataclasses.dataclass(frozen=True)
class Priced:
    """What ``price_once`` priced for the whole run, shared by every shard: the market snapshot
    of the instruments table under the run's rules, portfolio margin's risk arrays (``pm``,
    ``both``, ``all``; else None) and simulation margin's risk rows (``sim``, ``all``; a
    ``SimRevaluation``, else None)."""
    market: object
    revaluation: object
    sim: object


def _pm(book, rules, n_threads, errors, shared=None, priced=None):
    pm = pmfast.portfolio_margin(book, rules=rules, n_threads=n_threads, errors=errors,
                                 market=priced and priced.market,
                                 revaluation=priced and priced.revaluation)
    return pm.accounts, pm.errors


def _regt(book, rules, n_threads, errors, shared=None, priced=None):
    regt = batch.strategy_margin_on(book, rules, priced and priced.market, n_threads, errors)
    return regt.accounts, regt.errors


def _sim(book, rules, n_threads, errors, shared=None, priced=None):
    """Simulation margin: ``shared`` is (ScenarioSet, keywords), the set scattered once."""
    scenarios, options = shared
    sim = pmfast.simulation_margin(book, scenarios, n_threads=n_threads, errors=errors,
                                   rules=rules, market=priced and priced.market,
                                   revalued=priced and priced.sim, **options)
    return sim.accounts, sim.errors


def _batch(method):
    """The batch's joined table of ``method`` (``both``, ``all``, and every method's
    ``table="batch"``)."""
    def run(book, rules, n_threads, errors, shared=None, priced=None):
        simulation = batch_simulation(method, shared, priced)
        result = batch.run_book(book, rules=rules, method=method, n_threads=n_threads,
                                errors=errors, simulation=simulation,
                                market=priced and priced.market,
                                revaluation=priced and priced.revaluation)
        return result.accounts, result.errors
    return run


def span(positions, n_threads, errors, shared):
    """SPAN on the exchange's risk-parameter file (``shared``: the loaded ``SpanParams`` and
    ``span_margin``'s keywords): positions name the file's contracts, no Book is built. The
    ``SpanMargin`` result."""
    params, options = shared
    return pmfast.span_margin(positions, params, errors=errors, n_threads=n_threads, **options)


# method -> (the batch's method, the single-machine call giving the method's own per-account
# table and its errors; ``shared``: what the run scattered for the method, or None).
METHODS = {
    "pm": ("pm", _pm),
    "regt": ("regt", _regt),
    "both": ("both", _batch("both")),
    "sim": ("sim", _sim),
    "all": ("all", _batch("all")),  # pm, regt and sim joined: the command line's --method all
    "span": ("span", None),         # margin_loaded calls ``span``: no Book, no batch
}


def book_reference(reference, errors, n_threads):
    """One task of a run: the reference tables validated once (``Book.reference``), which the
    pricing task and every shard build their Books on (``Book.of_reference``) instead of each
    validating the whole instruments table again. In raise mode a bad row raises here, held or
    not, as one machine's Book would (the run's reference check)."""
    n_threads = _threads(n_threads)
    return pmfast.Book.reference(reference.instruments, reference.underlyings,
                                 reference.product_groups, as_of=reference.as_of,
                                 rate=reference.rate, errors=errors, n_threads=n_threads)


def price_once(book_ref, rules, method, n_threads, shared=None, table="method"):
    """One task of a run: the ``Priced`` of every series of the run's instruments table (a Book
    with no positions on ``book_ref``, the ``BookReference``; per-series pricing, so the same
    bytes as one machine's), shared by every shard, whose Books on the same reference carry
    the same instrument codes. None where there is nothing to share (crypto rules, SPAN)."""
    from pmfast.market import resolve_market
    from pmfast.portfolio import prepare
    from pmfast.revaluation import revalue
    from pmfast.crypto.dispatch import crypto_dispatch
    if method == "span":
        return None
    n_threads = _threads(n_threads)
    book = pmfast.Book.of_reference(EMPTY_POSITIONS, book_ref, errors="collect",
                                    n_threads=n_threads)
    if crypto_dispatch(book, rules) is not None:   # crypto margin prices its own way; a crypto
        return None                                # index under these rules: one machine's error
    rules = pmfast.RuleSet.load(rules)
    market = resolve_market(book, rules, n_threads=n_threads)
    revaluation = revalue(book, prepare(book, rules, n_threads, "collect", market)) \
        if method in ("pm", "both", "all") else None
    sim = _price_simulation(book, rules, method == "all" or table == "batch", market, shared,
                            n_threads) \
        if method in ("sim", "all") else None
    return Priced(market, revaluation, sim)


def _price_simulation(book, rules, in_batch, market, shared, n_threads):
    """Simulation margin's risk rows of every instrument, under the market the shards use:
    the run's rules for ``simulation_margin`` itself; inside a batch (``all``, or the joined
    table) the batch's (``sim_run.snapshot``)."""
    from pmfast.market import resolve_market
    from pmfast.simulation import run as sim_run
    from pmfast.simulation.market import book_market
    from pmfast.simulation.revalue import revalue_instruments
    scenarios, options = shared
    if in_batch:
        rules = pmfast.RuleSet.load(sim_run.SIM_RULES)
        market = sim_run.snapshot(market) or resolve_market(book, rules, n_threads=n_threads)
    sim_market = book_market(book, rules, "collect", n_threads, snapshot=market)
    return revalue_instruments(book, sim_market, scenarios, options["revaluation"],
                               n_threads=n_threads)


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


def batch_simulation(method, shared, priced=None):
    """``batch.run_book``'s ``simulation`` keywords (``simulation.run.attach``) of a method:
    None but for "sim" and "all"."""
    if method not in ("sim", "all"):
        return None
    scenarios, options = shared
    return dict({k: v for k, v in options.items()
                 if k in ("measure", "confidence", "revaluation")}, scenarios=scenarios,
                revalued=priced and priced.sim)


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
                 shared=None, priced=None, part=None):
    """Margin the accounts of one shard as one machine would: ``load_shard`` then
    ``margin_loaded`` in one call (a distributed run submits them as two tasks, so a shard
    reads and validates its rows while the pricing task prices).

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
    priced : Priced, optional
        The run's series priced once (``price_once``); None: the shard prices what it holds.
    part : str, optional
        Write the per-account table to this Parquet file here, on the worker, and return its
        summary (``written``) instead of the table.

    Returns
    -------
    dict
        ``accounts`` (DataFrame, or the ``written`` summary with ``part``), ``error_stages``
        (see ``error_stages``), ``rows``, ``seconds`` (wall), ``cpu_seconds`` (the worker
        process's CPU time over the shard's tasks, all threads), ``n_threads``, ``pid``;
        SPAN also ``combined``.
    """
    whole = priced is not None or whole_instruments(method, shared)
    loaded = load_shard(pieces, reference, method, n_threads, errors, whole)
    return margin_loaded(loaded, method, rules, n_threads, errors, table, shared, priced, part)


@dataclasses.dataclass
class Loaded:
    """A shard's rows read and its Book built: the first of its two tasks, whose result stays
    on the worker for the second. ``positions``: the rows (SPAN, which builds no Book), else
    None; ``book``; ``rows``; the task's wall and CPU seconds."""
    positions: object
    book: object
    rows: int
    seconds: float
    cpu_seconds: float


def load_shard(pieces, reference, method, n_threads, errors, whole, book_ref=None):
    """Read the shard's rows and build its Book (``whole``: over the whole instruments table,
    whose codes the shared priced arrays index: on ``book_ref``, the run's validated
    ``BookReference``, when given; else the table cut to the series it holds)."""
    start, cpu = time.perf_counter(), time.process_time()
    n_threads = _threads(n_threads)
    positions = read_shard(pieces)
    rows, book = positions.num_rows, None
    if method != "span" and book_ref is not None:
        book = pmfast.Book.of_reference(positions, book_ref, errors=errors, n_threads=n_threads)
        positions = None
    elif method != "span":
        instruments = reference.instruments if whole else \
            held_instruments(positions, reference.instruments)
        book = _book(positions, reference, instruments, errors, n_threads)
        positions = None    # the Book holds what the method reads
    return Loaded(positions, book, rows, time.perf_counter() - start, time.process_time() - cpu)


def margin_loaded(loaded, method, rules, n_threads, errors, table="method", shared=None,
                  priced=None, part=None):
    """Margin a loaded shard (``Loaded``): the second of its two tasks (see ``margin_shard``
    for the arguments and the result)."""
    start, cpu = time.perf_counter(), time.process_time()
    n_threads = _threads(n_threads)
    run_method, own_table = METHODS[method]
    if method == "span":
        res = span(loaded.positions, n_threads, errors, shared)
        return dict(_result(res.accounts, error_stages(res.errors, 0), loaded, start, cpu,
                            n_threads, part), combined=res.combined)
    book = loaded.book
    margin_book = own_table if table == "method" else _batch(run_method)
    accounts, run_errors = margin_book(book, rules, n_threads, errors, shared, priced)
    return _result(accounts, error_stages(run_errors, len(book.errors)), loaded, start, cpu,
                   n_threads, part)


def whole_instruments(method, shared):
    """Whether a shard pricing its own series still needs the whole instruments table:
    simulation margin in grid mode, whose premium tables span every series of the instruments
    table sharing their key, held or not."""
    if method not in ("sim", "all"):
        return False
    from pmfast.simulation.revalue import use_grid
    scenarios, options = shared
    return use_grid(scenarios, options["revaluation"])


def _result(accounts, stages, loaded, start, cpu, n_threads, part=None):
    if part is not None:
        accounts = written(accounts, part)
    return {"accounts": accounts, "error_stages": stages, "rows": loaded.rows,
            "seconds": loaded.seconds + time.perf_counter() - start,
            "cpu_seconds": loaded.cpu_seconds + time.process_time() - cpu,
            "n_threads": n_threads, "pid": os.getpid()}


@dataclasses.dataclass(frozen=True)
class Written:
    """A shard's per-account table written by its worker: where, how many rows, its first and
    last account ids (the client checks the shards' order from these), whether its own rows
    ascend, and its numeric column sums (the run's totals)."""
    path: str
    n: int
    first: object
    last: object
    ascending: bool
    sums: dict

    def __len__(self):
        return self.n


def written(accounts, path):
    """Write ``accounts`` to ``path`` (nothing for an empty shard: its text columns have no
    type, and a dataset read back must not mix types); return its ``Written`` summary."""
    ids = accounts["account"].to_numpy(dtype=object)
    if len(accounts):
        accounts.to_parquet(path, index=False)
    return Written(path, len(accounts), ids[0] if len(ids) else None,
                   ids[-1] if len(ids) else None,
                   bool(len(ids) < 2 or (ids[1:] > ids[:-1]).all()), column_sums(accounts))


def column_sums(accounts):
    """Sum of every numeric per-account column."""
    numeric = [c for c in accounts.columns if accounts[c].dtype.kind in "fi"]
    return {c: float(accounts[c].sum()) for c in numeric}

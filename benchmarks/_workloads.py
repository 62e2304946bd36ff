"""Shared helpers of the workload benchmarks: the workloads of performance.md written to Parquet,
a stage clock (exclusive wall time and peak RSS per stage), fed by the library's stage hook
(``pmfast.stages``: the engines announce their stages, nothing is monkeypatched).

Peak memory per stage is exact, not sampled: at every stage boundary the clock reads the
kernel's resident high-water mark (``VmHWM`` in /proc/self/status) and resets it (writing 5 to
/proc/self/clear_refs), so each interval's peak is the high-water mark at its end. The process
peak is the largest of them. Where /proc is unavailable the clock falls back to
``ru_maxrss`` (a process-wide peak that cannot be split by stage).
"""
import contextlib
import os
import functools
import pathlib
import re
import resource
import time
from collections import Counter, defaultdict

SEED = 2026
AS_OF = "2026-11-20"
RATE = 0.045
WORKLOADS = {"small": 1_000, "medium": 100_000, "overnight": 1_000_000}
TABLES = ("positions", "instruments", "underlyings", "product_groups")

# Stage ids in the order a run goes through them, with their display names.
STAGES = {
    "read": "read Parquet",
    "validate": "Book: to Arrow + validate",
    "encode": "Book: encode + net positions",
    "inputs": "market: inputs, statuses, mark bounds",
    "iv_kernel": "implied vols: C++ solver",
    "iv_glue": "implied vols: numpy glue",
    "layout": "groups + sort (layout)",
    "price_kernel": "price: reprice_grid (C++)",
    "price_glue": "price: numpy glue",
    "aggregate": "aggregate+offsets+minimums (C++)",
    "results": "result tables (pandas)",
    "pm_glue": "portfolio_margin glue",
    "write": "write Parquet",
    "regt_legs": "Reg T: legs from Book",
    "regt_group": "Reg T: group + sort",
    "regt_core": "Reg T: pairing (C++)",
    "regt_results": "Reg T: result tables",
    "regt_glue": "strategy_margin glue",
    "regt_write": "Reg T: write Parquet",
    "other": "other (benchmark harness)",
}

# -- workloads on disk ---------------------------------------------------------------------------
def paths(directory):
    directory = pathlib.Path(directory)
    return {t: directory / f"{t}.parquet" for t in TABLES}


def have_parquet(directory):
    return all(p.is_file() for p in paths(directory).values())


def plain_strings(table):
    """Dictionary columns decoded to plain strings: the Parquet a broker's pipeline writes
    (pmfast.generate returns dictionary-encoded keys; reading those back would skip the
    string-key encoding the overnight run must pay for)."""
    import pyarrow as pa
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            col = table.column(i).cast(field.type.value_type)
            table = table.set_column(i, field.name, col)
    return table


def write_workload(accounts, directory, seed=SEED):
    """Generate ``accounts`` accounts and write the four tables as Parquet; returns seconds
    spent generating and writing."""
    import pyarrow.parquet as pq

    import pmfast
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tables = pmfast.generate(accounts=accounts, seed=seed, as_of=AS_OF, rate=RATE)
    t1 = time.perf_counter()
    for name, path in paths(directory).items():
        pq.write_table(plain_strings(tables[name]), path)
    return {"generate_s": t1 - t0, "write_s": time.perf_counter() - t1,
            "rows": {k: v.num_rows for k, v in tables.items()}}


def read_tables(directory, n_threads=None):
    import pyarrow.parquet as pq
    use_threads = n_threads is None or n_threads > 1
    return {name: pq.read_table(path, use_threads=use_threads)
            for name, path in paths(directory).items()}


# -- memory --------------------------------------------------------------------------------------
_STATUS = pathlib.Path("/proc/self/status")
_CLEAR = pathlib.Path("/proc/self/clear_refs")


def _status_mb(field):
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.M)
    return int(match.group(1)) / 1024.0


def _hwm_resettable():
    try:
        _CLEAR.write_text("5")
        return True
    except OSError:
        return False


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def rss_mb():
    try:
        return _status_mb("VmRSS")
    except OSError:
        return float("nan")


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- the stage clock -----------------------------------------------------------------------------
class StageClock:
    """Exclusive wall time and peak RSS per stage. Stages nest: time spent in an inner stage
    is not counted in the outer one (so stage times add up to the wall time)."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.cpu_seconds = defaultdict(float)   # this process's CPU time (all its threads)
        self.peak_mb = defaultdict(float)
        self.calls = Counter()
        self.exact_peaks = _hwm_resettable()
        self.start_rss_mb = rss_mb()
        self._stack = ["other"]
        self._t = time.perf_counter()
        self._t0 = self._t
        self._cpu = time.process_time()

    def _switch(self):
        now = time.perf_counter()
        top = self._stack[-1]
        self.seconds[top] += now - self._t
        self._t = now
        cpu = time.process_time()
        self.cpu_seconds[top] += cpu - self._cpu
        self._cpu = cpu
        if self.exact_peaks:
            self.peak_mb[top] = max(self.peak_mb[top], _status_mb("VmHWM"))
            _CLEAR.write_text("5")
        else:
            self.peak_mb[top] = max(self.peak_mb[top], maxrss_mb())

    @contextlib.contextmanager
    def stage(self, name):
        self._switch()
        self._stack.append(name)
        self.calls[name] += 1
        try:
            yield
        finally:
            self._switch()
            self._stack.pop()

    def wrap(self, func, name):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            with self.stage(name):
                return func(*args, **kwargs)
        return timed

    def finish(self):
        self._switch()
        return {"wall_s": time.perf_counter() - self._t0, "seconds": dict(self.seconds),
                "cpu_seconds": dict(self.cpu_seconds),
                "peak_mb": dict(self.peak_mb), "calls": dict(self.calls),
                "peak_total_mb": max(self.peak_mb.values(), default=float("nan")),
                "start_rss_mb": self.start_rss_mb, "exact_peaks": self.exact_peaks,
                "ru_maxrss_mb": maxrss_mb()}


@contextlib.contextmanager
def instrumented(clock):
    """Time the library's stages with ``clock``: the engines announce them through the stage
    hook (``pmfast.stages``), so nothing is patched. Yields the list of stages that could not
    be instrumented (always empty; kept for the callers of the patching version)."""
    from pmfast.stages import listen
    with listen(clock.stage):
        yield []


def book_threads(book_class, n_threads):
    """``{"n_threads": n}`` when this checkout's Book takes it (older ones use all CPUs)."""
    import inspect
    return ({"n_threads": n_threads}
            if "n_threads" in inspect.signature(book_class).parameters else {})


def env_threads(n_threads):
    """Cap pyarrow's CPU pool to ``n_threads`` so a one-thread figure is one thread."""
    import pyarrow as pa
    pa.set_cpu_count(max(int(n_threads), 1))

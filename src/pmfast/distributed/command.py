"""The command line's distributed run (``pmfast margin ... --scheduler ADDRESS`` or
``--workers N``): connect to a scheduler or start a local cluster, margin, draw one progress
step per finished shard when stderr is a terminal. Kept out of cli.py so that the command line
imports Dask only when asked to."""
import sys

from pmfast.distributed.run import margin


class ShardProgress:
    """A tqdm bar over the shards, drawn only when stderr is a terminal (a scheduler's log
    stays clean); ``progress(done, total)`` of ``pmfast.distributed.margin``."""

    def __init__(self):
        self._bar = None

    def __call__(self, done, total):
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc="pmfast shards", unit="shard", leave=False)
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self._bar.close()
            self._bar = None


def connect(scheduler=None, workers=None):
    """(client, cluster or None): a client of the scheduler at ``scheduler``, or of a new
    LocalCluster of ``workers`` single-threaded-slot worker processes (each task then gets the
    machine's CPUs divided among the workers)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("pmfast: --scheduler and --workers need Dask: "
                          "pip install \"pmfast[dask]\"") from exc
    if scheduler is not None:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return Client(cluster), cluster


def run_distributed(positions, instruments, underlyings, *, scheduler=None, workers=None,
                    table="batch", **kwargs):
    """``pmfast.distributed.margin`` with the command line's joined table (``table="batch"``;
    SPAN: its own) on a cluster opened and closed here; returns the DistributedRun."""
    client, cluster = connect(scheduler, workers)
    try:
        return margin(client, positions, instruments, underlyings, table=table,
                      progress=ShardProgress(), **kwargs)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

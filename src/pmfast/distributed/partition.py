"""Cutting a positions table into account shards, without Dask.

A shard is a list of *pieces* (a Parquet file's row groups, a whole file of another format, or
an in-memory table) that together hold every row of a contiguous range of accounts, in the
order one machine would read them. Shards never split an account, and their account ranges
ascend, so the per-shard results concatenated in shard order are in the single-machine account
order (the Book sorts account ids by their UTF-8 bytes, as Python compares ``str``).

Planning reads only Parquet footers (the min/max statistics of the ``account`` column per row
group); a piece without statistics, or a file of another format, has its account column read.
Pieces whose account ranges overlap are kept together in one shard: a dataset written in
arbitrary account order still margins correctly, but as few shards. ``partition_positions``
rewrites such a source into a dataset of disjoint account ranges, one file per partition.
"""
import dataclasses
import glob
import os
import pathlib
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pmfast.errors import InputError
from pmfast.io import to_arrow

ACCOUNT = "account"
_PARQUET = (".parquet", ".pq")


@dataclasses.dataclass(frozen=True)
class Piece:
    """Rows of one source: a Parquet file's ``row_groups`` (None: a whole file of any format
    pmfast reads), or ``table`` (an in-memory slice, or a Dask future of one). ``lo``/``hi``:
    keep only the rows with ``lo <= account < hi`` (None: no bound), for a piece that straddles
    two shards' account ranges."""
    path: str = None
    row_groups: tuple = None
    table: object = None
    rows: int = 0
    first: str = None       # smallest and largest account id in the piece
    last: str = None
    lo: str = None
    hi: str = None


@dataclasses.dataclass(frozen=True)
class Shard:
    """Pieces margined together on one worker: all the rows of the accounts ``lo <= account <
    hi`` (None: unbounded). ``rows``: the rows of its pieces before the range filter."""
    index: int
    pieces: tuple
    rows: int
    lo: str = None
    hi: str = None


def read_piece(piece):
    """The piece's rows as a pyarrow Table (called on the worker that margins its shard)."""
    if piece.table is not None:
        table = piece.table
    elif piece.row_groups is not None:
        table = pq.ParquetFile(piece.path).read_row_groups(list(piece.row_groups))
    else:
        table = to_arrow(piece.path, "positions")
    if piece.lo is None and piece.hi is None:
        return table
    account = table.column(ACCOUNT).cast(pa.string())
    keep = None
    for bound, test in ((piece.lo, pc.greater_equal), (piece.hi, pc.less)):
        if bound is not None:
            mask = test(account, pa.scalar(bound, pa.string()))
            keep = mask if keep is None else pc.and_(keep, mask)
    return table.filter(keep)


def read_shard(pieces):
    """All rows of a shard's pieces, in piece order (the single-machine row order)."""
    tables = [read_piece(p) for p in pieces]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="default")


def source_files(positions):
    """The files of a positions source: one path, a directory (its Parquet files, recursively,
    sorted by path), a glob pattern, or a list of paths. None if ``positions`` is not a path."""
    if isinstance(positions, (list, tuple)):
        files = []
        for p in positions:
            files.extend(source_files(p))
        return files
    if not isinstance(positions, (str, os.PathLike)):
        return None
    text = os.fspath(positions)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text, recursive=True))
        if not files:
            raise InputError(f"positions: no file matches {text!r}")
        return files
    path = pathlib.Path(text)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in _PARQUET)
        if not files:
            raise InputError(f"positions: the folder {text!r} holds no Parquet file")
        return files
    if not path.is_file():
        raise InputError(f"positions: file {text!r} does not exist")
    return [str(path)]


def _range_of(column):
    """(min, max) of an account column as str, or (None, None) if it has no non-null id
    (a null id is the Book's fatal error: the piece is then kept with every other)."""
    column = column.cast(pa.string()) if not pa.types.is_string(column.type) else column
    if column.null_count:
        return None, None
    mm = pc.min_max(column)
    return mm["min"].as_py(), mm["max"].as_py()


def _parquet_pieces(path):
    meta = pq.ParquetFile(path)
    names = meta.schema_arrow.names
    if ACCOUNT not in names:
        # the Book names the missing column; a piece without range stays with every other
        return [Piece(path=path, row_groups=tuple(range(meta.num_row_groups)),
                      rows=meta.metadata.num_rows)]
    col = meta.schema_arrow.get_field_index(ACCOUNT)
    pieces = []
    for rg in range(meta.num_row_groups):
        info = meta.metadata.row_group(rg)
        if info.num_rows == 0:
            continue
        stats = info.column(col).statistics
        if (stats is not None and stats.has_min_max and stats.null_count == 0
                and isinstance(stats.min, str)):
            first, last = stats.min, stats.max
        else:
            first, last = _range_of(meta.read_row_group(rg, columns=[ACCOUNT]).column(0))
        pieces.append(Piece(path=path, row_groups=(rg,), rows=info.num_rows, first=first,
                            last=last))
    return pieces


def _file_pieces(path):
    if pathlib.Path(path).suffix.lower() in _PARQUET:
        return _parquet_pieces(path)
    table = to_arrow(path, "positions")
    if ACCOUNT not in table.column_names or table.num_rows == 0:
        return [Piece(path=path, rows=table.num_rows)]
    first, last = _range_of(table.column(ACCOUNT))
    return [Piece(path=path, rows=table.num_rows, first=first, last=last)]


def _table_pieces(table, partitions):
    """An in-memory table cut into ``partitions`` account ranges (rows keep their order)."""
    if ACCOUNT not in table.column_names or table.num_rows == 0:
        return [Piece(table=table, rows=table.num_rows)]
    column = table.column(ACCOUNT)
    if column.null_count:
        return [Piece(table=table, rows=table.num_rows)]
    ids = np.asarray(column.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    uniq, code, counts = np.unique(ids.astype(str), return_inverse=True, return_counts=True)
    part_of_id = _balanced_cut(counts, partitions)
    part = part_of_id[np.asarray(code).ravel()]
    order = np.argsort(part, kind="stable")       # rows of each range, in input order
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    pieces = []
    for k in range(partitions):
        rows = order[bounds[k]:bounds[k + 1]]
        if rows.size:
            mine = np.flatnonzero(part_of_id == k)
            pieces.append(Piece(table=table.take(pa.array(rows)), rows=int(rows.size),
                                first=str(uniq[mine[0]]), last=str(uniq[mine[-1]])))
    return pieces


def _balanced_cut(weights, parts):
    """Part (0..parts-1) of each of a sequence of items, contiguous and of near-equal total
    weight: item i goes to the part its cumulative weight midpoint falls in."""
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    mid = np.cumsum(weights) - weights / 2
    return np.minimum((mid * parts / total).astype(np.int64), parts - 1)


def _cluster_plan(pieces, partitions):
    """Shards of whole pieces: sorted by first account, a piece whose range starts at or
    before the running maximum joins the current cluster (no two clusters share an account),
    and consecutive clusters are packed into shards of near-equal rows. A piece without a range
    (null ids, no account column) makes one shard of everything."""
    if any(p.first is None for p in pieces):
        return [Shard(index=0, pieces=tuple(pieces), rows=sum(p.rows for p in pieces))]
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].first)
    groups, top = [], None
    for i in order:
        p = pieces[i]
        if groups and p.first <= top:
            groups[-1].append(i)
            top = max(top, p.last)
        else:
            groups.append([i])
            top = p.last
    part = _balanced_cut([sum(pieces[i].rows for i in g) for g in groups], partitions)
    shards = []
    for k in np.unique(part):
        # source order within a shard: an account's rows as one machine reads them
        members = sorted(i for g, gk in zip(groups, part) if gk == k for i in g)
        later = [pieces[g[0]].first for g, gk in zip(groups, part) if gk > k]
        shards.append(Shard(index=len(shards), pieces=tuple(pieces[i] for i in members),
                            rows=sum(pieces[i].rows for i in members),
                            lo=None if not shards else min(pieces[i].first for i in members),
                            hi=min(later) if later else None))
    return shards


def _range_plan(pieces, partitions):
    """Shards of account ranges ``[lo, hi)`` cut at pieces' first accounts so the rows are
    near-equal; a piece straddling a cut is read by both shards, each keeping its own rows
    (a file sorted by account whose row groups split accounts still gives every shard)."""
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].first)
    part = _balanced_cut([pieces[i].rows for i in order], partitions)
    cuts = sorted({pieces[order[j]].first for j in range(1, len(order))
                   if part[j] != part[j - 1]})
    edges = [None, *cuts, None]
    shards = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        members = [dataclasses.replace(p, lo=lo if lo is not None and p.first < lo else None,
                                       hi=hi if hi is not None and p.last >= hi else None)
                   for p in pieces   # source order: an account's rows as one machine reads them
                   if (hi is None or p.first < hi) and (lo is None or p.last >= lo)]
        if members:
            shards.append(Shard(index=len(shards), pieces=tuple(members),
                                rows=sum(p.rows for p in members), lo=lo, hi=hi))
    return shards


# Pieces a range plan may read twice per cut; above it (files not in account order: every
# piece spans every range, and each would be read by every shard) the plan keeps whole pieces.
MAX_SHARED_PER_CUT = 2


def plan_shards(positions, partitions):
    """Cut a positions source into at most ``partitions`` shards of whole accounts.

    Parameters
    ----------
    positions : path, glob, folder, list of paths, or a table (pandas, polars, pyarrow)
        Parquet sources are cut by row group, read by the workers; other files whole; a table
        is cut on the client (and shipped to the workers).
    partitions : int
        Upper bound on the number of shards.

    Returns
    -------
    list of Shard
        In ascending account order; the rows of one account are all in one shard, in the
        order one machine reads them (files in the given or sorted order, then row groups).
    """
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise InputError(f"partitions must be a positive integer or None, got {partitions!r}")
    files = source_files(positions)
    if files is None:
        pieces = _table_pieces(to_arrow(positions, "positions"), partitions)
    else:
        pieces = [p for f in files for p in _file_pieces(f)]
    if not pieces:
        return []
    if any(p.first is None for p in pieces):
        return _cluster_plan(pieces, partitions)
    shards = _range_plan(pieces, partitions)
    reads = sum(len(s.pieces) for s in shards)
    if reads > len(pieces) + MAX_SHARED_PER_CUT * (len(shards) - 1):
        shards = _cluster_plan(pieces, partitions)
    wanted = min(partitions, len(pieces))
    if len(shards) < wanted and len(_cluster_plan(pieces, len(pieces))) < len(pieces):
        warnings.warn(f"positions: the files' account ranges overlap, so only {len(shards)} "
                      f"shard(s) of the {wanted} asked for keep every account whole; "
                      "rewrite them once with pmfast.distributed.partition_positions",
                      stacklevel=2)
    return shards


def partition_positions(positions, out_dir, partitions, *, row_group_size=1 << 20):
    """Rewrite a positions table into a dataset of ``partitions`` Parquet files, each holding
    every row of a contiguous range of accounts (of near-equal row counts).

    Each file is sorted by account, and an account's rows keep their input order (they are
    netted in input order, so the dataset margins bit-identically to the source); row groups
    then cover disjoint account ranges, so shards can be cut at any row group. Two passes
    over the source (the account column, then the rows one batch at a time), then one over
    each written file: at most one column of the whole table, or one file, is held in
    memory.

    Parameters
    ----------
    positions : path, glob, folder, list of paths, or a table
        The positions (``account``, ``instrument``, ``quantity`` and any other columns).
    out_dir : path
        Folder to create; ``part-00000.parquet``... are written into it.
    partitions : int
        Number of files.
    row_group_size : int
        Rows per Parquet row group of the written files.

    Returns
    -------
    list of pathlib.Path
        The files written, in account order.
    """
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise InputError(f"partitions must be a positive integer, got {partitions!r}")
    files = source_files(positions)
    table = None if files is not None else to_arrow(positions, "positions")

    def batches(columns=None):
        if table is not None:
            yield from (table.select(columns) if columns else table).to_batches(1 << 20)
            return
        for f in files:
            if pathlib.Path(f).suffix.lower() in _PARQUET:
                yield from pq.ParquetFile(f).iter_batches(1 << 20, columns=columns)
            else:
                t = to_arrow(f, "positions")
                yield from (t.select(columns) if columns else t).to_batches(1 << 20)

    # pass 1: the account column only -> sorted distinct ids and their row counts (Arrow
    # kernels throughout: no Python string per row)
    accounts = pa.chunked_array([b.column(0).cast(pa.string()) for b in batches([ACCOUNT])],
                                type=pa.string())
    if accounts.null_count:
        raise InputError("positions.account: missing account id (null); fix the source "
                         "before partitioning")
    vc = pc.value_counts(accounts)
    del accounts
    order = pc.sort_indices(vc.field("values"))
    ids = vc.field("values").take(order)
    part_of_id = _balanced_cut(vc.field("counts").take(order).to_numpy(), partitions)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_parts = int(part_of_id.max()) + 1 if len(part_of_id) else 0
    paths = [out_dir / f"part-{k:05d}.parquet" for k in range(n_parts)]
    writers = [None] * n_parts
    # pass 2: each batch's rows appended to their range's file, in input order
    try:
        for batch in batches():
            rank = pc.index_in(batch.column(batch.schema.get_field_index(ACCOUNT)).cast(
                pa.string()), value_set=ids).to_numpy(zero_copy_only=False)
            dest = part_of_id[rank.astype(np.int64)]
            order = np.argsort(dest, kind="stable")
            edges = np.searchsorted(dest[order], np.arange(n_parts + 1))
            sub = pa.Table.from_batches([batch])
            for k in range(n_parts):
                rows = order[edges[k]:edges[k + 1]]
                if rows.size == 0:
                    continue
                if writers[k] is None:
                    writers[k] = pq.ParquetWriter(paths[k], sub.schema)
                writers[k].write_table(sub.take(pa.array(rows)), row_group_size=row_group_size)
    finally:
        for w in writers:
            if w is not None:
                w.close()
    written = [p for p, w in zip(paths, writers) if w is not None]
    for path in written:    # pass 3, one file at a time
        _sort_by_account(path, row_group_size)
    return written


def _sort_by_account(path, row_group_size):
    """Rewrite one written file sorted by account, an account's rows in their input order
    (Arrow's sort is stable): its row groups then hold disjoint account ranges, so a plan can
    cut shards at any row group instead of only at files."""
    table = pq.read_table(path)
    order = pc.sort_indices(table.column(ACCOUNT).cast(pa.string()))
    pq.write_table(table.take(order), path, row_group_size=row_group_size)

"""Column-wise coercion and checks of the input tables (pyarrow.compute, never a Python loop
per row). Checks do not raise: they record a ``Problem`` naming the table, the column, the
reason and the offending rows, and the Book decides whether to raise or to reject accounts.
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.errors import InputError

MAX_IDS_SHOWN = 5
_NUMBER_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def format_ids(ids, limit=MAX_IDS_SHOWN):
    """``'X1', 'X7'`` (and how many more)."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    text = ", ".join(repr(i) for i in ids[:limit])
    if len(ids) > limit:
        text += f" and {len(ids) - limit} more"
    return text


@dataclass(frozen=True)
class Problem:
    """One kind of bad input in one column, and the rows that have it."""
    table: str
    column: str
    reason: str
    rows: np.ndarray      # row indices in `table`
    ids: np.ndarray       # the id of each offending row (account for positions)
    noun: str             # what the ids are: "instrument", "account", ...

    def message(self):
        return (f"{self.table}.{self.column}: {self.reason} for {self.noun}(s) "
                f"{format_ids(self.ids)}")


def fatal(table, column, reason):
    """A problem no account can be blamed for (missing column, null id): always raised."""
    return InputError(f"{table}.{column}: {reason}")


class ArrowIds:
    """Row ids kept as an Arrow string column; indexing with row numbers (or a boolean mask)
    returns those rows' ids as a numpy object array."""

    def __init__(self, column):
        self._column = column

    def __len__(self):
        return len(self._column)

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        taken = self._column.take(pa.array(rows.astype(np.int64, copy=False)))
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)


class TableChecker:
    """Coerces the columns of one input table and records the problems found.

    ``ids`` is the id of each row (a numpy array of str), used to name offending rows.
    """

    def __init__(self, table, name, noun):
        self.table = table
        self.name = name
        self.noun = noun
        self.n = table.num_rows
        self.ids = None
        self.problems = []
        self._not_number = {}

    # -- structure -----------------------------------------------------------------------------
    def has(self, column):
        return column in self.table.column_names

    def require(self, *columns):
        missing = [c for c in columns if not self.has(c)]
        if missing:
            raise fatal(self.name, missing[0], f"required column missing (the table has "
                        f"{', '.join(self.table.column_names) or 'no columns'})")

    def flag(self, column, reason, mask):
        """Record ``reason`` for the rows where the boolean numpy ``mask`` is true."""
        rows = np.flatnonzero(mask)
        if rows.size:
            self.problems.append(Problem(self.name, column, reason, rows, self.ids[rows],
                                         self.noun))

    # -- coercion ------------------------------------------------------------------------------
    def string(self, column, required=True, chunked=False):
        """The column as a pyarrow string array (nulls kept); an absent optional column is
        all null. ``chunked`` keeps a ChunkedArray as read (no copy of ten million strings
        into one buffer: the hash kernels take chunks as they are)."""
        if not self.has(column):
            if required:
                self.require(column)
            return pa.nulls(self.n, pa.string())
        col = self.table.column(column)
        if not chunked:
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not pa.types.is_string(col.type):
            try:
                col = col.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise fatal(self.name, column, f"cannot be read as text: {exc}") from None
        return col

    def id_column(self, column, lazy=False):
        """The table's id column; ``self.ids`` holds it as numpy objects, or with ``lazy`` as
        an :class:`ArrowIds` that makes Python strings only for the rows asked for (the
        positions table: 10M ids are needed only to name the few offending rows). A null id
        is fatal."""
        col = self.string(column, chunked=lazy)
        if col.null_count:
            rows = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
            raise fatal(self.name, column, f"missing (null) id at row(s) "
                        f"{', '.join(map(str, rows[:MAX_IDS_SHOWN]))}")
        if lazy:
            self.ids = ArrowIds(col)
            return col
        self.ids = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
        return col

    def number(self, column, default=None):
        """The column as float64 numpy (NaN where null); non-numeric text is flagged.

        ``default`` fills an absent column (and nulls when ``default`` is not None)."""
        if not self.has(column):
            return np.full(self.n, np.nan if default is None else default, dtype=np.float64)
        col = self.table.column(column).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            good = pc.match_substring_regex(col, _NUMBER_RE)
            bad = pc.and_(pc.invert(good), pc.is_valid(col))
            bad_np = bad.to_numpy(zero_copy_only=False).astype(bool)
            self.flag(column, "not a number", bad_np)
            self._not_number[column] = bad_np
            # the pattern allows padding (" 100", a fixed-width export); the cast does not
            col = pc.utf8_trim_whitespace(pc.if_else(good, col, pa.scalar(None, col.type)))
        elif pa.types.is_boolean(col.type) or not (pa.types.is_integer(col.type)
                                                    or pa.types.is_floating(col.type)
                                                    or pa.types.is_decimal(col.type)
                                                    or pa.types.is_null(col.type)):
            raise fatal(self.name, column, f"must be numeric, got {col.type}")
        # integers beyond 2**53 (a uint64 quantity) round to the nearest double, as any float
        # column would hold them, rather than fail the whole cast
        values = col.cast(pa.float64(), safe=not pa.types.is_integer(col.type)).to_numpy(
            zero_copy_only=False)
        values = np.asarray(values, dtype=np.float64)
        if default is not None:
            values = np.where(np.isnan(values), default, values)
        return values

    def flag_missing(self, column, values, mask=None):
        """Flag rows (within ``mask``) whose value is NaN/inf, except those already flagged
        as not a number."""
        bad = ~np.isfinite(values)
        if column in self._not_number:
            bad &= ~self._not_number[column]
        if mask is not None:
            bad &= mask
        self.flag(column, "missing or not finite", bad)

    def date(self, column):
        """The column as date32 (null where absent); unreadable dates are flagged."""
        if not self.has(column):
            return pa.nulls(self.n, pa.date32())
        col = self.table.column(column).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if pa.types.is_date32(col.type):
            return col
        if pa.types.is_timestamp(col.type) or pa.types.is_date64(col.type):
            return col.cast(pa.date32())
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            parsed = pc.strptime(pc.utf8_slice_codeunits(col, 0, 10), format="%Y-%m-%d",
                                 unit="s", error_is_null=True)
            bad = pc.and_(pc.is_null(parsed), pc.is_valid(col)).to_numpy(
                zero_copy_only=False).astype(bool)
            self.flag(column, "not a date (YYYY-MM-DD)", bad)
            return parsed.cast(pa.date32())
        raise fatal(self.name, column, f"must be a date, got {col.type}")

    def duplicates(self, column):
        """Flag every row whose id occurs more than once."""
        _, inverse, counts = np.unique(self.ids.astype(str), return_inverse=True,
                                          return_counts=True)
        self.flag(column, "duplicate id", counts[inverse] > 1)

    def choice(self, column, values, col, mask=None, default=None):
        """Lower-cased text column restricted to ``values``; nulls take ``default``."""
        low = pc.utf8_lower(pc.utf8_trim_whitespace(col))
        if default is not None:
            low = pc.fill_null(low, default)
        ok = pc.fill_null(pc.is_in(low, value_set=pa.array(values)), False).to_numpy(
            zero_copy_only=False).astype(bool)
        bad = ~ok if mask is None else (~ok & mask)
        self.flag(column, f"must be one of {', '.join(values)}", bad)
        return low

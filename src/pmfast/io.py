"""Reading input tables into Arrow, once.

Every input table may be a pandas DataFrame, a polars DataFrame, a pyarrow Table (or
RecordBatch), a mapping of column name to values, or a path to a ``.parquet``, ``.csv`` or
``.arrow``/``.feather`` file. Whatever arrives, the rest of pmfast sees one ``pyarrow.Table``.
"""
import os
import pathlib

import pyarrow as pa

from pmfast.errors import InputError

_READERS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".arrow": "feather",
    ".feather": "feather",
    ".ipc": "feather",
}


def _read_path(path, table):
    suffix = path.suffix.lower()
    kind = _READERS.get(suffix)
    if kind is None:
        raise InputError(f"{table}: cannot read {str(path)!r}: the file type {suffix or '(none)'!r}"
                         f" is not one of {', '.join(_READERS)}")
    if not path.is_file():
        raise InputError(f"{table}: file {str(path)!r} does not exist")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq
            return pq.read_table(path)
        if kind == "csv":
            import pyarrow.csv as pacsv
            # ids must stay strings even when they look like numbers ("0001" is not 1)
            opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in _STRING_COLUMNS},
                                        strings_can_be_null=True)
            return pacsv.read_csv(path, convert_options=opts)
        import pyarrow.feather as feather
        return feather.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{table}: cannot read {str(path)!r}: {exc}") from None


def _mixed_pandas(frame, table):
    """A DataFrame with a column of mixed Python objects (numbers and text): keep such columns
    as text so validation can name the rows that are not numbers."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        try:
            columns[str(name)] = pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            try:
                columns[str(name)] = pa.array(col.astype("string"), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise InputError(f"{table}.{name}: cannot convert the column: {exc}") from None
    return pa.table(columns)


# Id and code columns read as strings from CSV whatever they look like.
_STRING_COLUMNS = ("account", "instrument", "underlying", "future", "product_group", "kind",
                   "right", "style", "group_type", "scenario", "factor")


def to_arrow(data, table):
    """Return ``data`` as a ``pyarrow.Table``; ``table`` names the input in error messages."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, (str, os.PathLike)):
        return _read_path(pathlib.Path(data), table)
    if isinstance(data, dict):
        import pandas as pd
        try:
            data = pd.DataFrame(data)  # pandas reads NaN among strings as missing
        except (TypeError, ValueError) as exc:
            raise InputError(f"{table}: cannot build a table from the mapping: {exc}") from None
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _mixed_pandas(data, table)
    if module == "polars":
        return data.to_arrow()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise InputError(f"{table}: expected a pandas/polars DataFrame, a pyarrow Table or a path to "
                     f"a .parquet/.csv/.arrow/.feather file; got {type(data).__name__}")

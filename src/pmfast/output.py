"""Writing result tables: Parquet, CSV or Arrow IPC, chosen by the file's extension."""
import pathlib

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from pmfast.csv_safety import neutralise_formulas
from pmfast.errors import InputError

WRITERS = {
    ".parquet": lambda table, path: pq.write_table(table, path),
    # ids that a spreadsheet would run as formulas get a leading ' (csv_safety.py)
    ".csv": lambda table, path: pa_csv.write_csv(neutralise_formulas(table), path),
    ".arrow": lambda table, path: feather.write_feather(table, path),
    ".feather": lambda table, path: feather.write_feather(table, path),
}


def write_table(table, path):
    """Write a pandas DataFrame or pyarrow Table to ``path`` (.parquet, .csv, .arrow/.feather)."""
    path = pathlib.Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InputError(f"output {path}: unknown extension {path.suffix!r}; use one of "
                         f"{', '.join(WRITERS)}")
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(table, path)
    return path

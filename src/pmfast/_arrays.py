"""Turning user arrays into the contiguous columns the core takes (shared by the compiled
functions and the numpy reference twin, so both see identical inputs)."""
import numpy as np
import pyarrow as pa

from pmfast.errors import InputError

_RIGHT_CODES = {"C": 1, "P": -1, "CALL": 1, "PUT": -1}


def right_codes(right):
    """Array of 'C'/'P' (any case, or 'call'/'put') or +-1 -> int8 array of +1 / -1."""
    arr = np.asarray(right)
    if arr.dtype.kind in "iuf":
        # Checked on the caller's values (an int 257 must not pass as int8 1); two counting
        # passes, ~10x cheaper than np.isin on a million codes, and the mask only on failure.
        if np.count_nonzero(arr == 1) + np.count_nonzero(arr == -1) != arr.size:
            bad = (arr != 1) & (arr != -1)
            i = int(np.flatnonzero(bad.ravel())[0])
            raise InputError(f"right[{i}] = {arr.ravel()[i].item()!r}: must be 'C', 'P', +1 or -1")
        return arr.astype(np.int8, copy=False)
    flat = arr.ravel()
    upper = np.char.upper(flat.astype(str))
    out = np.zeros(flat.shape, dtype=np.int8)
    for text, code in _RIGHT_CODES.items():
        out[upper == text] = code
    bad = out == 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"right[{i}] = {str(flat[i])!r}: must be 'C', 'P', +1 or -1")
    return out.reshape(arr.shape)


def broadcast_columns(right, *columns, keep_scalars=False):
    """Broadcast right and float columns together; return (shape, int8 right, float64 columns),
    all flattened and C-contiguous.

    With ``keep_scalars`` an argument holding one value stays a length-1 array (the core
    broadcasts it in cache-sized chunks: no n-long copy of a scalar rate); the others are views
    of the caller's arrays wherever dtype and layout allow (no copy).
    """
    codes = right_codes(right)
    floats = [np.asarray(c, dtype=np.float64) for c in columns]
    try:
        shape = np.broadcast_shapes(codes.shape, *(f.shape for f in floats))
    except ValueError as exc:
        raise InputError(f"arguments do not broadcast together: {exc}") from None

    def flat(a):
        if keep_scalars and a.size == 1:
            return a.reshape(1)
        if a.shape != shape:
            a = np.broadcast_to(a, shape)
        return np.ascontiguousarray(a.ravel())

    return shape, flat(codes), [flat(f) for f in floats]


def nullable_float(values):
    """float64 Arrow array of ``values`` with NaN stored as null (NaN means "not given")."""
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def arrow_chunks(column):
    """The non-empty chunks of a pyarrow Array or ChunkedArray, in order."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [c for c in chunks if len(c)]

# Binding of the Book's sorting helpers (threaded LSD radix sorts, segment_sort.hpp).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t, uintptr_t
from pmfast._cpp_book cimport (segment_sort as c_segment_sort,
                               net_positions as c_net_positions,
                               encode_sorted as c_encode_sorted,
                               StringChunks,
                               encode_strings as c_encode_strings)

import numpy as _np
import pyarrow as _pa

from pmfast._arrays import arrow_chunks as _arrow_chunks


def book_segment_sort(const int32_t[::1] group, const int64_t[::1] key, int64_t n_groups,
                      int n_threads):
    """Stable argsort of rows by (group, key); group codes in [0, n_groups)."""
    cdef int64_t n = group.shape[0]
    if key.shape[0] != n:
        raise InputError(f"key has length {key.shape[0]}, expected {n}")
    order = _np.empty(n, dtype=_np.int64)
    cdef int64_t[::1] o = order
    if n == 0:
        return order
    try:
        with _interruptible():
            with nogil:
                c_segment_sort(&group[0], &key[0], n, n_groups, &o[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return order


def book_net_positions(const int32_t[::1] account, const int32_t[::1] instrument,
                       const double[::1] quantity, int64_t n_accounts, int n_threads):
    """(account, instrument, quantity) with duplicate (account, instrument) rows summed in
    input order, sorted by (account, instrument)."""
    cdef int64_t n = account.shape[0]
    if instrument.shape[0] != n or quantity.shape[0] != n:
        raise InputError(f"instrument and quantity must have length {n}")
    acc = _np.empty(n, dtype=_np.int32)
    ins = _np.empty(n, dtype=_np.int32)
    qty = _np.empty(n, dtype=_np.float64)
    cdef int32_t[::1] a = acc
    cdef int32_t[::1] i = ins
    cdef double[::1] q = qty
    cdef int64_t m = 0
    if n:
        try:
            with _interruptible():
                with nogil:
                    m = c_net_positions(&account[0], &instrument[0], &quantity[0], n, n_accounts,
                                        &a[0], &i[0], &q[0], n_threads)
        except Exception as exc:
            raise _translate(exc) from None
    return acc[:m], ins[:m], qty[:m]


def book_encode_sorted(const uint64_t[::1] key, int n_threads=1):
    """(code int32 per row, first row of each distinct key) with codes in sorted key order."""
    cdef int64_t n = key.shape[0]
    code = _np.empty(n, dtype=_np.int32)
    first = _np.empty(n, dtype=_np.int64)
    cdef int32_t[::1] c = code
    cdef int64_t[::1] f = first
    cdef int64_t m = 0
    if n:
        try:
            with _interruptible():
                with nogil:
                    m = c_encode_sorted(&key[0], n, &c[0], &f[0], n_threads)
        except Exception as exc:
            raise _translate(exc) from None
    return code, first[:m].copy()


cdef _string_chunks(chunks, StringChunks* out):
    """Point ``out`` at the buffers of ``chunks`` (pyarrow string arrays, kept alive by the
    caller): no copy of the data."""
    cdef int64_t row = 0
    out.start.push_back(0)
    for chunk in chunks:
        if not _pa.types.is_string(chunk.type):
            raise InputError(f"expected a string column, got {chunk.type}")
        validity, offsets, data = chunk.buffers()
        n = len(chunk)
        out.offsets.push_back(<const int32_t*><uintptr_t>(offsets.address + 4 * chunk.offset)
                              if offsets is not None else NULL)
        out.data.push_back(<const uint8_t*><uintptr_t>data.address if data is not None else NULL)
        out.validity.push_back(<const uint8_t*><uintptr_t>validity.address
                               if validity is not None and chunk.null_count else NULL)
        out.validity_bit.push_back(chunk.offset)
        row += n
        out.start.push_back(row)


def book_encode_strings(column, str what, int n_threads):
    """(int32 code per row, first row of each distinct value) with codes in the values' byte
    order, of a pyarrow string Array or ChunkedArray; a null raises InputError naming ``what``."""
    chunks = _arrow_chunks(column)
    cdef StringChunks sc
    _string_chunks(chunks, &sc)
    cdef int64_t n = sc.start.back()
    code = _np.empty(n, dtype=_np.int32)
    first = _np.empty(n, dtype=_np.int64)
    cdef int32_t[::1] c = code
    cdef int64_t[::1] f = first
    cdef int64_t m = 0
    what_b = what.encode()
    cdef const char* w = what_b
    if n:
        try:
            with _interruptible():
                with nogil:
                    m = c_encode_strings(sc, w, &c[0], &f[0], n_threads)
        except Exception as exc:
            raise _translate(exc) from None
    return code, first[:m].copy()

"""Keep freed memory for reuse while a batch runs (glibc only).

A batch over ten million positions allocates and frees hundreds of numpy temporaries of 10 to
100 MB. glibc serves every block above its mmap threshold (at most 32 MB) from a fresh ``mmap``
and unmaps it on ``free``, so each temporary pays its page faults again - and page faults are
dear on this kind of (virtualised) machine: about 30 us each, 2.3 s of kernel time in one
10M-position ``Layout`` (benchmarks/overnight.py; see docs/performance.md). Inside a batch
pmfast asks glibc to serve large blocks from the heap and not to trim it
(``mallopt(M_MMAP_MAX, 0)``, ``M_TRIM_THRESHOLD`` 2 GB), so freed blocks are reused without
faults; leaving the outermost batch restores glibc's defaults and returns free memory to the
system with ``malloc_trim(0)``. Off glibc (macOS, Windows, musl) nothing happens; set
``PMFAST_MALLOC=system`` to leave the allocator alone.
"""
import contextlib
import ctypes
import os
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULT_TRIM_THRESHOLD = 128 * 1024     # glibc's defaults (mallopt.3)
DEFAULT_MMAP_MAX = 65536
BATCH_TRIM_THRESHOLD = 2**31 - 1

_lock = threading.Lock()
_depth = 0


def _glibc():
    if os.environ.get("PMFAST_MALLOC", "").lower() == "system":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.gnu_get_libc_version  # noqa: B018 - glibc, not another libc.so.6
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


@contextlib.contextmanager
def batch_memory():
    """Reuse freed memory inside the block (nestable, thread-safe); give it back after."""
    global _depth
    libc = _LIBC
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(M_MMAP_MAX, 0)
            libc.mallopt(M_TRIM_THRESHOLD, BATCH_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)

"""How many threads a heavy call uses when the caller passes ``n_threads=None``."""
import os

from pmfast.errors import InputError


def effective_cpu_count():
    """CPUs this process may run on: the affinity mask, capped by OMP_NUM_THREADS if set."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        count = min(count, int(env))
    return max(count, 1)


# More threads than any machine has; a bigger number (2**64 from a script) would overflow the C
# int the core takes.
MAX_THREADS = 4096


def resolve_n_threads(n_threads):
    """``None`` -> the effective CPU count; otherwise an int in [1, MAX_THREADS]."""
    if n_threads is None:
        return effective_cpu_count()
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) \
            or not 1 <= n_threads <= MAX_THREADS:
        raise InputError(f"n_threads must be a positive integer (at most {MAX_THREADS}) or "
                         f"None, got {n_threads!r}")
    return n_threads

# Helpers shared by every binding area.
from pmfast._cpp_common cimport (build_compiler, build_avx2, build_native, build_openmp,
                                 openmp_max_threads, kernel_isa, cpu_best_isa, cpu_isas,
                                 select_kernel_isa, interrupt_enter, interrupt_exit)
from cpython.exc cimport PyErr_CheckSignals
from pmfast.errors import InputError, PmfastError


cdef object _translate(object exc):
    """Map an exception raised by a C++ call to the pmfast hierarchy."""
    if isinstance(exc, (InputError, PmfastError, MemoryError)):
        return exc   # std::bad_alloc arrives as MemoryError: keep it one
    if isinstance(exc, ValueError):
        return InputError(str(exc))
    return PmfastError(f"{type(exc).__name__}: {exc}")


cdef class _interruptible:
    """Context around one nogil core call: Ctrl-C during the call sets the core's interrupt flag
    (see pmfast_core/common/interrupt.hpp), its loops stop at the next block, and the call raises
    KeyboardInterrupt here, whatever the core threw on the way out."""

    def __enter__(self):
        interrupt_enter()
        return self

    def __exit__(self, exc_type, exc, tb):
        if interrupt_exit():
            # Run Python's own SIGINT handler now (it was chained, so the signal is pending):
            # it raises KeyboardInterrupt, or whatever the user's handler raises, and the
            # signal is consumed rather than raised a second time later.
            PyErr_CheckSignals()
            raise KeyboardInterrupt   # the handler returned, but the call did not finish
        return False


def show_config():
    """How the compiled core was built (compiler, OpenMP and its thread count, whether the
    non-dispatched code was compiled for the build machine only) and which instruction set the
    hot kernels run: `kernel_isa` (baseline, avx2 or avx512), chosen at import from the CPU or
    forced by the environment variable PMFAST_ISA."""
    return {
        "compiler": build_compiler().decode(),
        "kernel_isa": kernel_isa().decode(),
        "cpu_isas": [name.decode() for name in cpu_isas()],
        "native_build": bool(build_native()),
        "avx2": bool(build_avx2()),
        "openmp": bool(build_openmp()),
        "openmp_max_threads": int(openmp_max_threads()),
    }


def _set_isa(name):
    """Run the dispatched kernels with instruction set `name` (baseline, avx2, avx512) from now
    on; returns the previous one. For tests and benchmarks: not thread-safe against running
    calls. Raises InputError if the name is unknown or this CPU cannot run it."""
    previous = kernel_isa().decode()
    try:
        select_kernel_isa(str(name).encode())
    except Exception as exc:
        raise _translate(exc) from None
    return previous


def _isa_from_environment():
    """PMFAST_ISA=baseline|avx2|avx512 forces the kernels' instruction set (unset, empty or
    `auto`: the widest the CPU runs). A set the CPU cannot run is not an import error, which
    would stop a production run over a tuning knob: it warns and keeps the widest."""
    import os
    import warnings
    requested = os.environ.get("PMFAST_ISA", "").strip().lower()
    if requested in ("", "auto"):
        return
    try:
        _set_isa(requested)
    except InputError as exc:
        warnings.warn(f"PMFAST_ISA={requested!r} ignored: {exc}; using "
                      f"{kernel_isa().decode()}", RuntimeWarning, stacklevel=2)


_isa_from_environment()

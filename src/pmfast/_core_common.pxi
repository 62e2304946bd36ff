# Helpers shared by every binding area.
from pmfast._cpp_common cimport (build_compiler, build_avx2, build_openmp, openmp_max_threads,
                                 interrupt_enter, interrupt_exit)
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
    """How the compiled core was built: compiler, AVX2, OpenMP and its thread count."""
    return {
        "compiler": build_compiler().decode(),
        "avx2": bool(build_avx2()),
        "openmp": bool(build_openmp()),
        "openmp_max_threads": int(openmp_max_threads()),
    }

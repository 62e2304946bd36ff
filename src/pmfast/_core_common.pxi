# Helpers shared by every binding area.
from pmfast._cpp_common cimport build_compiler, build_avx2, build_openmp, openmp_max_threads
from pmfast.errors import InputError, PmfastError


cdef object _translate(object exc):
    """Map an exception raised by a C++ call to the pmfast hierarchy."""
    if isinstance(exc, (InputError, PmfastError)):
        return exc
    if isinstance(exc, ValueError):
        return InputError(str(exc))
    return PmfastError(f"{type(exc).__name__}: {exc}")


def show_config():
    """How the compiled core was built: compiler, AVX2, OpenMP and its thread count."""
    return {
        "compiler": build_compiler().decode(),
        "avx2": bool(build_avx2()),
        "openmp": bool(build_openmp()),
        "openmp_max_threads": int(openmp_max_threads()),
    }

# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""pmfast._core: the compiled binding. Each area of the core has its own .pxi (logic) and
_cpp_*.pxd (C++ declarations); this file only stitches them into one extension module.

Every function here checks shapes with the GIL held, then makes one ``nogil`` C++ call per batch.
C++ ``InputError`` (a ``std::invalid_argument``) arrives as ValueError and is re-raised as
``pmfast.InputError``; any other C++ exception becomes ``pmfast.PmfastError``.
"""

include "_core_common.pxi"
include "_core_pricing.pxi"
include "_core_margin.pxi"
include "_core_regt.pxi"
include "_core_book.pxi"
include "_core_span.pxi"
include "_core_crypto.pxi"
include "_core_simulation.pxi"

"""pmfast: risk-based portfolio margin (OCC TIMS / FINRA 4210(g)) and the strategy-based
Regulation T baseline, for whole books, with a C++ core."""
import importlib

from pmfast.errors import InputError, PmfastError

try:
    from pmfast import _core
except ImportError as exc:  # never fall back to a slow path silently
    raise ImportError(
        "pmfast's compiled core (pmfast._core) is missing or failed to load: reinstall with "
        "`pip install .` (a C++17 compiler is needed), or for a dev checkout run "
        f"tools/build-inplace.sh. Original error: {exc}") from exc

from pmfast import pricing

__version__ = "0.1.0"

# Public names and the module that defines each; imported on first use so `import pmfast`
# stays cheap (the CLI and what-if callers pay only for what they touch). A module must never
# share its name with a public name: importing pmfast.<module> sets that attribute on the package
# and would shadow the function.
_LAZY = {
    "Book": "pmfast.book",
    "RuleSet": "pmfast.rules",
    "portfolio_margin": "pmfast.portfolio",
    "risk_arrays": "pmfast.portfolio",
    "generate": "pmfast.synthetic",
    "strategy_margin": "pmfast.strategy",
    "flat_margin": "pmfast.strategy",
    "compare": "pmfast.comparison",
    "WhatIf": "pmfast.whatif",
    "span_margin": "pmfast.span",
    "variation_margin": "pmfast.span",
    "simulation_margin": "pmfast.simulation.margin",
}
# Subpackages reachable as attributes without an explicit import (``pmfast.span.load``).
_SUBMODULES = ("span",)


# Subpackages reached as attributes (``pmfast.distributed.margin`` after ``import pmfast``),
# imported on first use: pmfast.distributed needs the optional dask extra only when it runs.
_SUBMODULES = ("distributed",)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"pmfast.{name}")
    module = _LAZY.get(name)
    if module is None and name in _SUBMODULES:
        return importlib.import_module(f"pmfast.{name}")
    if module is None:
        raise AttributeError(f"module 'pmfast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


def show_config():
    """How the compiled core was built and runs, and the thread default.

    Returns
    -------
    dict
        ``compiler``; ``kernel_isa``: the instruction set of the pricing and aggregation
        kernels (``baseline``, ``avx2`` or ``avx512``), the widest the CPU runs unless the
        environment variable ``PMFAST_ISA`` forced another at import; ``cpu_isas``: every set
        this CPU runs; ``native_build``: the rest of the core was compiled with
        ``-march=native`` (``PMFAST_NATIVE=ON``) and runs only on CPUs like the build machine;
        ``avx2``: that code was compiled with AVX2; ``openmp``, ``openmp_max_threads``;
        ``effective_cpu_count``: the CPUs this process may use (the thread default).
    """
    from pmfast._threads import effective_cpu_count
    config = dict(_core.show_config())
    config["effective_cpu_count"] = effective_cpu_count()
    return config


__all__ = ["InputError", "PmfastError", "pricing", "show_config", "__version__", *_LAZY]

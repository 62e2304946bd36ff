"""The stage hook: the engines announce what they are doing, listeners time or show it.

Engines wrap each stage of a run in ``with stage("name"):``; it costs one context-variable
read when nobody listens. A listener is a callable ``listener(name)`` returning a context
manager, installed for the calls made inside ``with listen(listener):`` (per thread and per
asyncio task, as contextvars are). The benchmarks (benchmarks/_workloads.py) time every stage
this way, and ``batch.StageClock`` announces the run-level stages through it too, so nothing
patches the library's private names.

Stage names (one per concept; nested stages count in their own name only):

========================  ==================================================================
``validate``              Book: inputs to Arrow and column checks
``encode``                Book: key encoding and netting of positions
``inputs``                market snapshot: per-instrument inputs, statuses and mark bounds
``iv_glue`` / ``iv_kernel``  market snapshot: volatilities (the C++ solver nested inside)
``layout``                groups and the sorted position layout
``price_glue`` / ``price_kernel``  revaluation: risk arrays (the C++ ``reprice_grid`` inside)
``aggregate``             C++ aggregation (gather, segmented sums, per-method reductions)
``results``               per-account and per-group result tables
``regt_legs`` ... ``regt_results``  Reg T: legs, grouping, pairing (C++), result tables
========================  ==================================================================
"""
import contextlib
import contextvars

ENGINE_STAGES = ("validate", "encode", "inputs", "iv_glue", "iv_kernel", "layout",
                 "price_glue", "price_kernel", "aggregate", "results", "regt_legs",
                 "regt_group", "regt_core", "regt_results")

_LISTENER = contextvars.ContextVar("pmfast_stage_listener", default=None)


@contextlib.contextmanager
def stage(name):
    """Announce one stage of a run to the listener, if any."""
    listener = _LISTENER.get()
    if listener is None:
        yield
        return
    with listener(name):
        yield


@contextlib.contextmanager
def listen(listener):
    """Install ``listener(name) -> context manager`` for the stages run inside the block."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def staged(name, func, *args, **kwargs):
    """``func(*args, **kwargs)`` inside ``stage(name)``."""
    with stage(name):
        return func(*args, **kwargs)

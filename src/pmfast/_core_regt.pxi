# Binding of the strategy-based (Reg T) core: one nogil call pairs every (account, underlying)
# group of a batch.
from libc.stdint cimport int8_t, int32_t, int64_t
from libc.string cimport memcpy
from pmfast._cpp_regt cimport (RegtGroups, RegtLegs, RegtOutput, RegtParams, RegtRows,
                               kRegtStrategyCount,
                               regt_margin as c_regt_margin, regt_strategy_name)
import numpy as _np


def regt_strategy_names():
    """Names of the strategy codes the Reg T core writes, indexed by code."""
    return [regt_strategy_name(i).decode() for i in range(kRegtStrategyCount)]


cdef object _vector_to_numpy(const void* data, size_t n, object dtype):
    arr = _np.empty(n, dtype=dtype)
    cdef char[::1] view
    if n:
        view = arr.view(_np.int8)
        memcpy(&view[0], data, n * arr.itemsize)
    return arr


def regt_margin(dict legs, dict groups, dict params, int n_threads):
    """Pair every group and return per-group gross requirements and the strategy rows.

    ``legs``: kind (int8), strike, multiplier, price, quantity, long_rate (float64), expiry
    (int32), sorted by group. ``groups``: offsets (int64, n + 1) and the per-group float64 rates.
    """
    cdef const signed char[::1] kind = legs["kind"]
    cdef const double[::1] strike = legs["strike"]
    cdef const int[::1] expiry = legs["expiry"]
    cdef const double[::1] multiplier = legs["multiplier"]
    cdef const double[::1] price = legs["price"]
    cdef const double[::1] quantity = legs["quantity"]
    cdef const double[::1] long_rate = legs["long_rate"]
    cdef Py_ssize_t n = kind.shape[0]
    for name, col in (("strike", strike), ("expiry", expiry), ("multiplier", multiplier),
                      ("price", price), ("quantity", quantity), ("long_rate", long_rate)):
        if col.shape[0] != n:
            raise InputError(f"regt legs: {name} has length {col.shape[0]}, expected {n}")
    cdef const int64_t[::1] offsets = groups["offsets"]
    cdef Py_ssize_t G = offsets.shape[0] - 1
    if G < 0:
        raise InputError("regt groups: offsets must have at least one entry")
    rate_names = ("underlying_price", "naked_rate", "naked_minimum", "long_initial",
                  "long_maintenance", "short_initial", "short_maintenance",
                  "short_low_maintenance")
    cdef const double[::1] U = groups["underlying_price"]
    cdef const double[::1] nr = groups["naked_rate"]
    cdef const double[::1] nm = groups["naked_minimum"]
    cdef const double[::1] li = groups["long_initial"]
    cdef const double[::1] lm = groups["long_maintenance"]
    cdef const double[::1] si = groups["short_initial"]
    cdef const double[::1] sm = groups["short_maintenance"]
    cdef const double[::1] sl = groups["short_low_maintenance"]
    for name, col in zip(rate_names, (U, nr, nm, li, lm, si, sm, sl)):
        if col.shape[0] != G:
            raise InputError(f"regt groups: {name} has length {col.shape[0]}, expected {G}")

    cdef RegtLegs L
    L.n = n
    if n:
        L.kind = <const int8_t*>&kind[0]
        L.strike = &strike[0]
        L.expiry = <const int32_t*>&expiry[0]
        L.multiplier = &multiplier[0]
        L.price = &price[0]
        L.quantity = &quantity[0]
        L.long_rate = &long_rate[0]
    cdef RegtGroups Gr
    Gr.n = G
    Gr.offsets = <const int64_t*>&offsets[0]
    if G:
        Gr.underlying_price = &U[0]
        Gr.naked_rate = &nr[0]
        Gr.naked_minimum = &nm[0]
        Gr.long_initial = &li[0]
        Gr.long_maintenance = &lm[0]
        Gr.short_initial = &si[0]
        Gr.short_maintenance = &sm[0]
        Gr.short_low_maintenance = &sl[0]
    cdef RegtParams P
    P.short_price_threshold = params["short_price_threshold"]
    P.short_floor_per_share = params["short_floor_per_share"]
    P.short_low_floor_per_share = params["short_low_floor_per_share"]
    P.naked_floor_per_share = params["naked_floor_per_share"]
    P.protective_put_strike_rate = params["protective_put_strike_rate"]
    P.protective_call_strike_rate = params["protective_call_strike_rate"]
    P.collar_put_strike_rate = params["collar_put_strike_rate"]
    P.conversion_strike_rate = params["conversion_strike_rate"]
    P.reverse_conversion_strike_rate = params["reverse_conversion_strike_rate"]
    P.enabled = params["enabled"]
    P.max_nodes = params["max_nodes"]
    P.max_work = params["max_work"]
    P.max_templates = params["max_templates"]
    P.method = params["method"]
    P.emit_rows = params.get("emit_rows", 1)

    cdef RegtOutput out
    try:
        with _interruptible():
            with nogil:
                c_regt_margin(L, Gr, P, out, n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return _regt_result(out, G)


cdef void _copy_at(object arr, size_t row, const void* data, size_t n, size_t width) except *:
    """Copy n rows of `width` items from data into arr starting at row `row`."""
    cdef char[::1] view
    if n == 0:
        return
    view = arr.reshape(-1).view(_np.int8)
    memcpy(&view[row * width * arr.itemsize], data, n * width * arr.itemsize)


cdef object _regt_result(RegtOutput& out, Py_ssize_t G):
    """Per-group arrays and the strategy rows, copied once from the C++ blocks into numpy."""
    cdef size_t total = 0, at = 0, n, b
    for b in range(out.blocks.size()):
        total += out.blocks[b].group.size()
    res = {
        "gross_initial": _vector_to_numpy(out.gross_initial.data(), G, _np.float64),
        "gross_maintenance": _vector_to_numpy(out.gross_maintenance.data(), G, _np.float64),
        "proven": _vector_to_numpy(out.proven.data(), G, _np.uint8),
        "gap_initial": _vector_to_numpy(out.gap_initial.data(), G, _np.float64),
        "gap_maintenance": _vector_to_numpy(out.gap_maintenance.data(), G, _np.float64),
        "row_group": _np.empty(total, _np.int64),
        "row_basis": _np.empty(total, _np.int8),
        "row_strategy": _np.empty(total, _np.int8),
        "row_legs": _np.empty((total, 4), _np.int64),
        "row_ratio": _np.empty((total, 4), _np.float64),
        "row_units": _np.empty(total, _np.float64),
        "row_requirement": _np.empty(total, _np.float64),
    }
    cdef RegtRows* blk
    for b in range(out.blocks.size()):
        blk = &out.blocks[b]
        n = blk.group.size()
        _copy_at(res["row_group"], at, blk.group.data(), n, 1)
        _copy_at(res["row_basis"], at, blk.basis.data(), n, 1)
        _copy_at(res["row_strategy"], at, blk.strategy.data(), n, 1)
        _copy_at(res["row_legs"], at, blk.legs.data(), n, 4)
        _copy_at(res["row_ratio"], at, blk.ratio.data(), n, 4)
        _copy_at(res["row_units"], at, blk.units.data(), n, 1)
        _copy_at(res["row_requirement"], at, blk.requirement.data(), n, 1)
        at += n
    return res

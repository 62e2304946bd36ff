# Binding of the portfolio-margin aggregation: shapes are checked here with the GIL, then one
# nogil C++ call per batch.
from libc.stdint cimport int32_t, int64_t
from pmfast._cpp_margin cimport (MarginLayout, RiskArray, MinimumRule, MarginOutput,
                                 margin_aggregate as c_margin_aggregate,
                                 margin_concentration as c_margin_concentration,
                                 segment_sums as c_segment_sums,
                                 segment_worst_loss as c_segment_worst_loss)

import numpy as _np


cdef const double* _dptr(const double[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


cdef double* _wptr(double[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


cdef int32_t* _iptr(int32_t[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


cdef double* _mptr(double[:, ::1] a):
    if a.shape[0] == 0 or a.shape[1] == 0:
        return NULL
    return &a[0, 0]


cdef MarginLayout _layout(const int32_t[::1] instrument, const double[::1] quantity,
                          const int64_t[::1] class_start, const int64_t[::1] group_start,
                          const int64_t[::1] account_start, const double[::1] group_offset) except *:
    if quantity.shape[0] != instrument.shape[0]:
        raise InputError(f"quantity has length {quantity.shape[0]}, expected {instrument.shape[0]}")
    for name, arr in (("class_start", class_start), ("group_start", group_start),
                      ("account_start", account_start)):
        if arr.shape[0] < 1:
            raise InputError(f"{name} must hold at least one offset")
    if group_offset.shape[0] != group_start.shape[0] - 1:
        raise InputError(f"group_offset has length {group_offset.shape[0]}, expected "
                         f"{group_start.shape[0] - 1}")
    cdef MarginLayout l
    l.n_positions = instrument.shape[0]
    l.instrument = NULL
    if l.n_positions > 0:
        l.instrument = &instrument[0]
    l.quantity = _dptr(quantity)
    l.class_start = &class_start[0]
    l.n_class_rows = class_start.shape[0] - 1
    l.group_start = &group_start[0]
    l.n_group_rows = group_start.shape[0] - 1
    l.account_start = &account_start[0]
    l.n_accounts = account_start.shape[0] - 1
    l.group_offset = _dptr(group_offset)
    return l


cdef RiskArray _risk(const double[:, ::1] pnl) except *:
    cdef RiskArray r
    r.n_instruments = pnl.shape[0]
    r.n_scenarios = pnl.shape[1]
    r.pnl = NULL
    if pnl.shape[0] > 0 and pnl.shape[1] > 0:
        r.pnl = &pnl[0, 0]
    return r


def _output_vectors(int64_t n_groups, int64_t n_accounts):
    """The per-group and per-account outputs as contiguous views of two allocations (one per
    dtype) instead of eight: the kernel is the first to write them, and on the medium layout
    the page faults of eight separate fresh arrays cost about as much as the aggregation."""
    cdef int64_t G = n_groups, A = n_accounts
    money = _np.empty(3 * G + 3 * A)
    index = _np.empty(G + A, dtype=_np.int32)
    return {
        "group_risk": money[:G], "group_minimum": money[G:2 * G],
        "group_requirement": money[2 * G:3 * G],
        "account_risk": money[3 * G:3 * G + A], "account_minimum": money[3 * G + A:3 * G + 2 * A],
        "account_requirement": money[3 * G + 2 * A:],
        "group_worst": index[:G], "account_worst_group": index[G:],
    }


def margin_aggregate(const int32_t[::1] instrument, const double[::1] quantity,
                     const int64_t[::1] class_start, const int64_t[::1] group_start,
                     const int64_t[::1] account_start, const double[::1] group_offset,
                     const double[:, ::1] pnl, const double[::1] min_per_unit,
                     const double[::1] min_long_cap, bint keep_class_pnl, bint keep_group_net,
                     int n_threads):
    """Aggregate sorted positions into class, group and account results (see aggregate.hpp).

    Returns a dict of numpy arrays."""
    cdef MarginLayout l = _layout(instrument, quantity, class_start, group_start, account_start,
                                  group_offset)
    cdef RiskArray r = _risk(pnl)
    if min_per_unit.shape[0] != r.n_instruments or min_long_cap.shape[0] != r.n_instruments:
        raise InputError(f"minimum arrays must have one entry per risk-array row "
                         f"({r.n_instruments})")
    cdef int64_t S = r.n_scenarios
    res = {
        "class_pnl": _np.empty((l.n_class_rows if keep_class_pnl else 0, S)),
        "group_net": _np.empty((l.n_group_rows if keep_group_net else 0, S)),
    }
    res.update(_output_vectors(l.n_group_rows, l.n_accounts))
    cdef double[:, ::1] class_pnl = res["class_pnl"]
    cdef double[:, ::1] group_net = res["group_net"]
    cdef double[::1] g_risk = res["group_risk"]
    cdef double[::1] g_min = res["group_minimum"]
    cdef double[::1] g_req = res["group_requirement"]
    cdef int32_t[::1] g_worst = res["group_worst"]
    cdef double[::1] a_risk = res["account_risk"]
    cdef double[::1] a_min = res["account_minimum"]
    cdef double[::1] a_req = res["account_requirement"]
    cdef int32_t[::1] a_worst = res["account_worst_group"]
    cdef MarginOutput o
    o.class_pnl = _mptr(class_pnl)
    o.group_net = _mptr(group_net)
    o.group_risk = _wptr(g_risk)
    o.group_minimum = _wptr(g_min)
    o.group_requirement = _wptr(g_req)
    o.group_worst = _iptr(g_worst)
    o.account_risk = _wptr(a_risk)
    o.account_minimum = _wptr(a_min)
    o.account_requirement = _wptr(a_req)
    o.account_worst_group = _iptr(a_worst)
    cdef MinimumRule m
    m.per_unit = _dptr(min_per_unit)
    m.long_cap = _dptr(min_long_cap)
    try:
        with _interruptible():
            with nogil:
                c_margin_aggregate(l, r, m, o, n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return res


def margin_concentration(const int32_t[::1] instrument, const double[::1] quantity,
                         const int64_t[::1] class_start, const int64_t[::1] group_start,
                         const int64_t[::1] account_start, const double[::1] group_offset,
                         const double[:, ::1] pnl, int largest, int n_threads):
    """Concentration overlay per account (see aggregate.hpp); pnl has 4 columns."""
    cdef MarginLayout l = _layout(instrument, quantity, class_start, group_start, account_start,
                                  group_offset)
    cdef RiskArray r = _risk(pnl)
    out = _np.empty(l.n_accounts)
    cdef double[::1] o = out
    if l.n_accounts == 0:
        return out
    try:
        with _interruptible():
            with nogil:
                c_margin_concentration(l, r, largest, &o[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return out


def segment_sums(const int32_t[::1] instrument, const double[::1] quantity,
                 const int64_t[::1] start, const double[:, ::1] pnl, int n_threads):
    """[n_segments, n_scenarios]: sum of quantity x risk-array row over each segment
    ``start[g]:start[g + 1]`` of the positions (see segment_sums.hpp)."""
    if quantity.shape[0] != instrument.shape[0]:
        raise InputError(f"quantity has length {quantity.shape[0]}, expected "
                         f"{instrument.shape[0]}")
    if start.shape[0] < 1:
        raise InputError("start must hold at least one offset")
    cdef RiskArray r = _risk(pnl)
    cdef int64_t G = start.shape[0] - 1
    out = _np.empty((G, r.n_scenarios))
    cdef double[:, ::1] o = out
    cdef const int32_t* ip = NULL
    cdef const double* qp = NULL
    cdef double* op = _mptr(o)
    if instrument.shape[0] > 0:
        ip = &instrument[0]
        qp = &quantity[0]
    try:
        with _interruptible():
            with nogil:
                c_segment_sums(ip, qp, instrument.shape[0], &start[0], G, r, op, n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return out


def segment_worst_loss(const double[:, ::1] pnl, int n_threads):
    """(loss, worst) per row of a P&L matrix: max(0, -min) and the first scenario of the
    minimum (see segment_sums.hpp)."""
    cdef int64_t G = pnl.shape[0], S = pnl.shape[1]
    loss = _np.empty(G)
    worst = _np.empty(G, dtype=_np.int32)
    cdef double[::1] lo = loss
    cdef int32_t[::1] wo = worst
    if G == 0:
        return loss, worst
    cdef const double* pp = &pnl[0, 0] if S > 0 else NULL
    try:
        with _interruptible():
            with nogil:
                c_segment_worst_loss(pp, G, S, &lo[0], &wo[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return loss, worst

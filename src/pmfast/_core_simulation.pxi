# Binding of simulation margin (revaluation and streaming tail aggregation): shapes are checked
# here with the GIL, then one nogil C++ call per batch.
from libc.stdint cimport int8_t, int32_t, int64_t
from pmfast._cpp_simulation cimport (SimSeries, SimScenarios, SimLayout, SimOutput, SimGrid,
                                     RiskRows,
                                     simulation_revalue_grid as c_simulation_revalue_grid,
                                     simulation_revalue as c_simulation_revalue,
                                     simulation_check_series as c_simulation_check_series,
                                     simulation_aggregate as c_simulation_aggregate,
                                     simulation_account_pnl as c_simulation_account_pnl)

import numpy as _np


cdef const double* _sim_dptr(const double[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


def sim_revalue(const int8_t[::1] model, const int8_t[::1] right, const double[::1] S,
                const double[::1] K, const double[::1] T, const double[::1] q,
                const double[::1] vol, const double[::1] multiplier,
                const int32_t[::1] underlying, double rate, int american_model, int steps,
                const double[:, ::1] returns, vol_shifts, rate_shifts, double horizon_years,
                int n_threads, table=None, int64_t n_tables=0, int n_spot=0, int n_vol=0,
                double max_dx=0.0, double max_dvol=0.0, int max_spot=0, int max_vol=0,
                bint float32=False):
    """(pnl [n_series, n_scenarios], value0 [n_series]) of every series under every scenario.

    ``returns`` and ``vol_shifts`` (or None) are [n_underlyings, n_scenarios] (underlying-major);
    ``rate_shifts`` is [n_scenarios] or None. With ``table`` (int32 per series, -1: full), the
    American series are valued on ``n_tables`` premium tables of at least ``n_spot`` x ``n_vol``
    nodes, spacing at most ``max_dx`` x ``max_dvol`` within ``max_spot`` x ``max_vol`` nodes
    (simulation_revalue_grid). ``float32``: the risk matrix in float32. See simulation.hpp."""
    cdef int64_t n = model.shape[0]
    for name, arr in (("right", right), ("S", S), ("K", K), ("T", T), ("q", q), ("vol", vol),
                      ("multiplier", multiplier), ("underlying", underlying)):
        if arr.shape[0] != n:
            raise InputError(f"{name} has length {arr.shape[0]}, expected {n}")
    cdef int64_t n_und = returns.shape[0], n_sc = returns.shape[1]
    cdef const double[:, ::1] dv
    cdef const double[::1] dr
    cdef SimScenarios sc
    sc.returns = NULL
    if n_und and n_sc:
        sc.returns = &returns[0, 0]
    sc.vol_shifts = NULL
    sc.rate_shifts = NULL
    if vol_shifts is not None:
        dv = vol_shifts
        if dv.shape[0] != n_und or dv.shape[1] != n_sc:
            raise InputError("vol_shifts must have the shape of returns")
        if n_und and n_sc:
            sc.vol_shifts = &dv[0, 0]
    if rate_shifts is not None:
        dr = rate_shifts
        if dr.shape[0] != n_sc:
            raise InputError(f"rate_shifts has length {dr.shape[0]}, expected {n_sc}")
        sc.rate_shifts = _sim_dptr(dr)
    sc.n_underlyings = n_und
    sc.n_scenarios = n_sc
    sc.horizon_years = horizon_years
    pnl = _np.empty((n, n_sc), dtype=_np.float32 if float32 else _np.float64)
    value0 = _np.empty(n)
    if n == 0 or n_sc == 0:
        return pnl, value0
    cdef double[:, ::1] out
    cdef float[:, ::1] out32
    cdef RiskRows rows
    rows.f64 = NULL
    rows.f32 = NULL
    if float32:
        out32 = pnl
        rows.f32 = &out32[0, 0]
    else:
        out = pnl
        rows.f64 = &out[0, 0]
    cdef double[::1] v0 = value0
    cdef SimSeries s
    s.model = &model[0]
    s.right = &right[0]
    s.S = &S[0]
    s.K = &K[0]
    s.T = &T[0]
    s.q = &q[0]
    s.vol = &vol[0]
    s.multiplier = &multiplier[0]
    s.underlying = &underlying[0]
    s.n = n
    s.rate = rate
    s.american_model = american_model
    s.steps = steps
    cdef const int32_t[::1] tab
    cdef SimGrid g
    cdef bint use_grid = table is not None
    if use_grid:
        tab = table
        if tab.shape[0] != n:
            raise InputError(f"table has length {tab.shape[0]}, expected {n}")
        g.table = &tab[0]
        g.n_tables = n_tables
        g.n_spot = n_spot
        g.n_vol = n_vol
        g.max_dx = max_dx
        g.max_dvol = max_dvol
        g.max_spot = max_spot
        g.max_vol = max_vol
    try:
        with _interruptible():
            with nogil:
                if use_grid:
                    c_simulation_revalue_grid(s, sc, g, rows, &v0[0], n_threads)
                else:
                    c_simulation_revalue(s, sc, rows, &v0[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return pnl, value0


cdef SimLayout _sim_layout(const int32_t[::1] series, const double[::1] quantity,
                           const int64_t[::1] class_start, const int64_t[::1] account_start,
                           int64_t n_series) except *:
    if quantity.shape[0] != series.shape[0]:
        raise InputError(f"quantity has length {quantity.shape[0]}, expected {series.shape[0]}")
    if class_start.shape[0] < 1 or account_start.shape[0] < 1:
        raise InputError("class_start and account_start must hold at least one offset")
    cdef SimLayout l
    l.n_positions = series.shape[0]
    l.series = NULL
    if l.n_positions:
        l.series = &series[0]
    l.quantity = _sim_dptr(quantity)
    l.class_start = &class_start[0]
    l.n_class_rows = class_start.shape[0] - 1
    l.account_start = &account_start[0]
    l.n_accounts = account_start.shape[0] - 1
    try:
        with nogil:
            c_simulation_check_series(l, n_series)
    except Exception as exc:
        raise _translate(exc) from None
    return l


cdef class _RiskView:
    """A float64 or float32 [series, scenarios] risk matrix as one of two typed pointers."""
    cdef const double[:, ::1] f64
    cdef const float[:, ::1] f32
    cdef const double* p64
    cdef const float* p32
    cdef int64_t n_series, n_scenarios

    def __init__(self, pnl):
        self.p64 = NULL
        self.p32 = NULL
        if pnl.dtype == _np.float32:
            self.f32 = pnl
            self.n_series, self.n_scenarios = self.f32.shape[0], self.f32.shape[1]
            if self.n_series and self.n_scenarios:
                self.p32 = &self.f32[0, 0]
        else:
            self.f64 = pnl
            self.n_series, self.n_scenarios = self.f64.shape[0], self.f64.shape[1]
            if self.n_series and self.n_scenarios:
                self.p64 = &self.f64[0, 0]


def sim_aggregate(const int32_t[::1] series, const double[::1] quantity,
                  const int64_t[::1] class_start, const int64_t[::1] account_start,
                  pnl, int64_t tail_count, int n_threads):
    """Tail measures per account and Euler components per class row (see simulation.hpp).
    ``pnl``: the [series, scenarios] risk matrix, float64 or float32.

    Returns a dict: es, var, worst (float64 per account), worst_scenario (int32 per account),
    component (float64 per class row)."""
    cdef _RiskView r = _RiskView(pnl)
    cdef SimLayout l = _sim_layout(series, quantity, class_start, account_start, r.n_series)
    cdef int64_t A = l.n_accounts, C = l.n_class_rows
    money = _np.empty(3 * A + C)
    res = {"es": money[:A], "var": money[A:2 * A], "worst": money[2 * A:3 * A],
           "component": money[3 * A:], "worst_scenario": _np.empty(A, dtype=_np.int32)}
    if A == 0:
        return res
    cdef double[::1] m = money
    cdef int32_t[::1] w = res["worst_scenario"]
    cdef SimOutput o
    o.es = &m[0]
    o.var = &m[A]
    o.worst = &m[2 * A]
    o.component = NULL
    if C:
        o.component = &m[3 * A]
    o.worst_scenario = &w[0]
    cdef int64_t n_sc = r.n_scenarios
    try:
        with _interruptible():
            with nogil:
                if r.p32 != NULL:
                    c_simulation_aggregate(l, r.p32, n_sc, tail_count, o, n_threads)
                else:
                    c_simulation_aggregate(l, r.p64, n_sc, tail_count, o, n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return res


def sim_account_pnl(const int32_t[::1] series, const double[::1] quantity,
                    const int64_t[::1] class_start, const int64_t[::1] account_start,
                    pnl, int n_threads):
    """[n_accounts, n_scenarios] P&L of the accounts of a (small) layout."""
    cdef _RiskView r = _RiskView(pnl)
    cdef SimLayout l = _sim_layout(series, quantity, class_start, account_start, r.n_series)
    cdef int64_t n_sc = r.n_scenarios
    res = _np.zeros((l.n_accounts, n_sc))
    if l.n_accounts == 0 or n_sc == 0:
        return res
    cdef double[:, ::1] o = res
    try:
        with _interruptible():
            with nogil:
                if r.p32 != NULL:
                    c_simulation_account_pnl(l, r.p32, n_sc, &o[0, 0], n_threads)
                else:
                    c_simulation_account_pnl(l, r.p64, n_sc, &o[0, 0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return res

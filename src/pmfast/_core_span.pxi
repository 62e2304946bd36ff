# Binding of the SPAN core: the flattened parameters (pmfast/span/layout.py) and the positions
# are checked here with the GIL, then one nogil C++ call margins every account.
from libc.stdint cimport int32_t, int64_t, uint8_t
from libcpp.vector cimport vector
from pmfast._cpp_span cimport SpanLayout, SpanOut, span_margin_core as c_span_margin_core
from pmfast._cpp_span cimport SpanNames, span_map_contracts as c_span_map_contracts

import numpy as _np


cdef const double* _span_d(const double[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


cdef const int32_t* _span_i(const int32_t[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


cdef object _span_vec_d(vector[double]& v):
    out = _np.empty(v.size(), dtype=_np.float64)
    cdef double[::1] o = out
    cdef size_t i
    for i in range(v.size()):
        o[i] = v[i]
    return out


cdef object _span_vec_i(vector[int32_t]& v):
    out = _np.empty(v.size(), dtype=_np.int32)
    cdef int32_t[::1] o = out
    cdef size_t i
    for i in range(v.size()):
        o[i] = v[i]
    return out


def span_margin_core(layout, acct, contract, qty, int32_t n_accounts, bint round_scan,
                     int n_threads):
    """Margin every account; ``layout`` is a ``pmfast.span.layout.Layout``. Returns a dict of
    per-row arrays (see span.hpp ``SpanOut``) and ``dup`` per account."""
    keep = {}
    for name in ("ra", "delta", "som_rate", "value", "m_spot_spread", "m_spot_outright",
                 "is_rate", "il_ratio", "x_rate", "xl_ratio", "cc_fx", "cc_maint"):
        keep[name] = _np.ascontiguousarray(getattr(layout, name), dtype=_np.float64).ravel()
    for name in ("c_group", "c_month", "c_cc", "g_cc", "m_cc", "m_intra", "m_inter", "t_cc",
                 "is_cc", "is_leg_start", "il_tier", "il_side", "x_leg_start", "xl_tier",
                 "xl_side", "it_cc", "paired"):
        keep[name] = _np.ascontiguousarray(getattr(layout, name), dtype=_np.int32)
    cap = _np.ascontiguousarray(layout.cc_cap_anov, dtype=_np.uint8)
    cdef const uint8_t[::1] cap_v = cap
    cdef int32_t n_contracts = keep["delta"].shape[0]
    if keep["ra"].shape[0] != n_contracts * 16 or keep["paired"].shape[0] != 16:
        raise InputError("span layout: risk arrays must be (n_contracts, 16), paired 16 long")
    if keep["is_leg_start"].shape[0] != keep["is_rate"].shape[0] + 1 or \
            keep["x_leg_start"].shape[0] != keep["x_rate"].shape[0] + 1:
        raise InputError("span layout: spread leg offsets do not match the spreads")
    cdef SpanLayout L
    L.n_ccs = layout.n_ccs
    L.n_contracts = n_contracts
    L.n_groups = keep["g_cc"].shape[0]
    L.n_months = keep["m_cc"].shape[0]
    L.n_tiers = keep["t_cc"].shape[0]
    L.n_inter_tiers = keep["it_cc"].shape[0]
    L.n_intra_spreads = keep["is_rate"].shape[0]
    L.n_inter_spreads = keep["x_rate"].shape[0]
    L.ra = _span_d(keep["ra"])
    L.delta = _span_d(keep["delta"])
    L.c_group = _span_i(keep["c_group"])
    L.c_month = _span_i(keep["c_month"])
    L.c_cc = _span_i(keep["c_cc"])
    L.som_rate = _span_d(keep["som_rate"])
    L.value = _span_d(keep["value"])
    L.g_cc = _span_i(keep["g_cc"])
    L.m_cc = _span_i(keep["m_cc"])
    L.m_intra = _span_i(keep["m_intra"])
    L.m_inter = _span_i(keep["m_inter"])
    L.m_spot_spread = _span_d(keep["m_spot_spread"])
    L.m_spot_outright = _span_d(keep["m_spot_outright"])
    L.t_cc = _span_i(keep["t_cc"])
    L.is_cc = _span_i(keep["is_cc"])
    L.is_rate = _span_d(keep["is_rate"])
    L.is_leg_start = _span_i(keep["is_leg_start"])
    L.il_tier = _span_i(keep["il_tier"])
    L.il_side = _span_i(keep["il_side"])
    L.il_ratio = _span_d(keep["il_ratio"])
    L.x_rate = _span_d(keep["x_rate"])
    L.x_leg_start = _span_i(keep["x_leg_start"])
    L.xl_tier = _span_i(keep["xl_tier"])
    L.xl_side = _span_i(keep["xl_side"])
    L.xl_ratio = _span_d(keep["xl_ratio"])
    L.it_cc = _span_i(keep["it_cc"])
    L.cc_fx = _span_d(keep["cc_fx"])
    L.cc_maint = _span_d(keep["cc_maint"])
    L.cc_cap_anov = NULL
    if cap_v.shape[0] > 0:
        L.cc_cap_anov = &cap_v[0]
    L.paired = _span_i(keep["paired"])
    a_arr = _np.ascontiguousarray(acct, dtype=_np.int32)
    c_arr = _np.ascontiguousarray(contract, dtype=_np.int32)
    q_arr = _np.ascontiguousarray(qty, dtype=_np.float64)
    if not (a_arr.shape[0] == c_arr.shape[0] == q_arr.shape[0]):
        raise InputError("span: account, contract and quantity must have the same length")
    cdef const int32_t* pa_ = _span_i(a_arr)
    cdef const int32_t* pc_ = _span_i(c_arr)
    cdef const double* pq_ = _span_d(q_arr)
    cdef int64_t n_pos = a_arr.shape[0]
    cdef SpanOut out
    try:
        with _interruptible():
            with nogil:
                c_span_margin_core(L, n_pos, pa_, pc_, pq_, n_accounts, round_scan, n_threads,
                                   out)
    except Exception as exc:
        raise _translate(exc) from None
    dup = _np.empty(out.dup.size(), dtype=_np.int64)
    cdef int64_t[::1] dv = dup
    cdef size_t i
    for i in range(out.dup.size()):
        dv[i] = out.dup[i]
    return {"account": _span_vec_i(out.row_account), "cc": _span_vec_i(out.row_cc),
            "worst": _span_vec_i(out.row_worst), "scan": _span_vec_d(out.scan),
            "intra": _span_vec_d(out.intra), "spot": _span_vec_d(out.spot),
            "inter": _span_vec_d(out.inter), "som": _span_vec_d(out.som),
            "risk": _span_vec_d(out.risk), "nov": _span_vec_d(out.nov),
            "maint": _span_vec_d(out.maint), "dup": dup}


cdef _span_names(cols, SpanNames* out):
    """Point ``out`` at the string columns of ``cols`` (dict of pyarrow string arrays and a
    float64 ``strike`` numpy array, kept alive by the caller)."""
    out.has_exchange = "exchange" in cols
    if out.has_exchange:
        _string_chunks(_arrow_chunks(cols["exchange"]), &out.exchange)
    _string_chunks(_arrow_chunks(cols["product"]), &out.product)
    _string_chunks(_arrow_chunks(cols["kind"]), &out.kind)
    _string_chunks(_arrow_chunks(cols["period"]), &out.period)
    _string_chunks(_arrow_chunks(cols["right"]), &out.right)
    cdef const double[::1] k = cols["strike"]
    out.strike = &k[0] if k.shape[0] else NULL


def span_map_contracts(file_cols, pos_cols, int n_threads):
    """Contract row (int32, -1 where none) of each position row, from the naming columns
    ``exchange`` (optional, used when ``pos_cols`` has it), ``product, kind, period, right``
    (pyarrow string columns) and ``strike`` (float64 numpy) of the file's contracts and of the
    positions. See pmfast_core/span/map_contracts.hpp."""
    cdef SpanNames f, p
    if "exchange" in pos_cols and "exchange" not in file_cols:
        raise InputError("span_map_contracts: the file's contracts need an exchange column")
    _span_names({k: v for k, v in file_cols.items()
                 if k != "exchange" or "exchange" in pos_cols}, &f)
    _span_names(pos_cols, &p)
    cdef int64_t n_file = len(file_cols["product"])
    cdef int64_t n = len(pos_cols["product"])
    for name, col in list(file_cols.items()) + list(pos_cols.items()):
        if len(col) != (n_file if col is file_cols.get(name) else n):
            raise InputError(f"span_map_contracts: column {name} has the wrong length")
    out = _np.empty(n, dtype=_np.int32)
    cdef int32_t[::1] o = out
    if n:
        try:
            with _interruptible():
                with nogil:
                    c_span_map_contracts(f, n_file, p, n, &o[0], n_threads)
        except Exception as exc:
            raise _translate(exc) from None
    return out

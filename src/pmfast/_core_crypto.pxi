# Binding of the crypto per-group margin: shapes checked here with the GIL, then one nogil call.
from libc.stdint cimport int32_t, int64_t
from pmfast._cpp_crypto cimport (CryptoGroups, CryptoWeights, CryptoPairParams,
                                 CryptoGroupOutput, crypto_group_margin as c_crypto_group_margin)


cdef const int64_t* _i64ptr(const int64_t[::1] a):
    if a.shape[0] == 0:
        return NULL
    return &a[0]


def crypto_group_margin(const double[:, ::1] raw, int64_t n_standard,
                        const int64_t[::1] group_pair, const int64_t[::1] group_start,
                        const int32_t[::1] instrument, const double[::1] quantity,
                        const int64_t[::1] tie_order, const int64_t[::1] expiry_code,
                        const double[::1] roll_weight, const double[::1] delta,
                        const double[::1] short_weight, const double[::1] offset,
                        const double[::1] offset_cap, const double[::1] dampener,
                        const double[::1] ext_factor, const double[:, ::1] rate,
                        int n_threads):
    """Per group: adjusted vector, worst case and index, roll shock, net delta, short option
    units (see crypto_groups.hpp). Returns a dict of numpy arrays."""
    cdef int64_t G = raw.shape[0], S = raw.shape[1]
    cdef int64_t n_ins = expiry_code.shape[0], n_pairs = offset.shape[0]
    if group_pair.shape[0] != G or group_start.shape[0] != G + 1:
        raise InputError(f"group_pair / group_start must have {G} / {G + 1} rows")
    if tie_order.shape[0] != S:
        raise InputError(f"tie_order must have {S} entries")
    if quantity.shape[0] != instrument.shape[0]:
        raise InputError("quantity and instrument must have the same length")
    for name, arr in (("roll_weight", roll_weight), ("delta", delta),
                      ("short_weight", short_weight)):
        if arr.shape[0] != n_ins:
            raise InputError(f"{name} must have {n_ins} entries")
    for name, arr in (("offset_cap", offset_cap), ("dampener", dampener),
                      ("ext_factor", ext_factor)):
        if arr.shape[0] != n_pairs:
            raise InputError(f"{name} must have {n_pairs} entries")
    if rate.shape[0] != n_pairs or rate.shape[1] < 1:
        raise InputError(f"rate must be [{n_pairs}, n_expiry_codes >= 1]")
    res = {"adjusted": _np.empty((G, S)), "worst_case": _np.empty(G),
           "worst_index": _np.empty(G, dtype=_np.int64), "roll_shock": _np.empty(G),
           "net_delta": _np.empty(G), "short_units": _np.empty(G)}
    cdef double[:, ::1] adjusted = res["adjusted"]
    cdef double[::1] worst_case = res["worst_case"]
    cdef int64_t[::1] worst_index = res["worst_index"]
    cdef double[::1] roll_shock = res["roll_shock"]
    cdef double[::1] net_delta = res["net_delta"]
    cdef double[::1] short_units = res["short_units"]
    if G == 0:
        return res
    cdef CryptoGroups g
    g.raw = &raw[0, 0]
    g.n_groups = G
    g.n_scenarios = S
    g.n_standard = n_standard
    g.group_pair = &group_pair[0]
    g.group_start = &group_start[0]
    g.instrument = NULL
    if instrument.shape[0] > 0:
        g.instrument = &instrument[0]
    g.quantity = _dptr(quantity)
    g.n_positions = instrument.shape[0]
    g.tie_order = &tie_order[0]
    cdef CryptoWeights w
    w.expiry_code = _i64ptr(expiry_code)
    w.roll_weight = _dptr(roll_weight)
    w.delta = _dptr(delta)
    w.short_weight = _dptr(short_weight)
    w.n_instruments = n_ins
    w.n_expiry_codes = rate.shape[1]
    cdef CryptoPairParams p
    p.offset = _dptr(offset)
    p.offset_cap = _dptr(offset_cap)
    p.dampener = _dptr(dampener)
    p.ext_factor = _dptr(ext_factor)
    p.rate = NULL
    if n_pairs > 0:
        p.rate = &rate[0, 0]
    p.n_pairs = n_pairs
    cdef CryptoGroupOutput o
    o.adjusted = &adjusted[0, 0]
    o.worst_case = &worst_case[0]
    o.worst_index = &worst_index[0]
    o.roll_shock = &roll_shock[0]
    o.net_delta = &net_delta[0]
    o.short_units = &short_units[0]
    try:
        with _interruptible():
            with nogil:
                c_crypto_group_margin(g, w, p, o, n_threads)
    except Exception as exc:
        raise _translate(exc) from None
    return res

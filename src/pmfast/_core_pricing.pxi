# Binding of the pricing core: batch pricing and scenario repricing.
from pmfast._cpp_pricing cimport (Model, OptionArrays, ScenarioGrid, price_options as c_price_options,
                                  reprice_grid as c_reprice_grid,
                                  implied_vol_options as c_implied_vol_options)


cdef OptionArrays _option_arrays(const signed char[::1] right, const double[::1] S,
                                 const double[::1] K, const double[::1] T, const double[::1] r,
                                 const double[::1] q, const double[::1] vol) except *:
    cdef Py_ssize_t n = right.shape[0]
    for name, col in (("S", S), ("K", K), ("T", T), ("r", r), ("q", q), ("vol", vol)):
        if col.shape[0] != n:
            raise InputError(f"{name} has length {col.shape[0]}, expected {n}")
    cdef OptionArrays o
    o.n = n
    if n == 0:  # an empty memoryview has no &v[0]
        return o
    o.right = <const signed char*>&right[0]
    o.S = &S[0]
    o.K = &K[0]
    o.T = &T[0]
    o.r = &r[0]
    o.q = &q[0]
    o.vol = &vol[0]
    return o


def price(const signed char[::1] right, const double[::1] S, const double[::1] K,
          const double[::1] T, const double[::1] r, const double[::1] q, const double[::1] vol,
          int model, int steps, bint american, double[::1] out, int n_threads):
    """Fill out[i] with the value of option i (contiguous 1-d arrays; each column has the length
    of out, or length 1 for one value that stands for all: the core broadcasts it)."""
    cdef Py_ssize_t n = out.shape[0]
    cdef unsigned broadcast = 0
    cdef unsigned bit = 1
    for name, col in (("right", right.shape[0]), ("S", S.shape[0]), ("K", K.shape[0]),
                      ("T", T.shape[0]), ("r", r.shape[0]), ("q", q.shape[0]),
                      ("vol", vol.shape[0])):
        if col == 1 and n != 1:
            broadcast |= bit
        elif col != n:
            raise InputError(f"{name} has length {col}, expected {n} or 1")
        bit <<= 1
    if n == 0:  # an empty memoryview has no &v[0]
        return
    cdef OptionArrays o
    o.n = n
    o.right = <const signed char*>&right[0]
    o.S = &S[0]
    o.K = &K[0]
    o.T = &T[0]
    o.r = &r[0]
    o.q = &q[0]
    o.vol = &vol[0]
    try:
        with _interruptible():
            with nogil:
                c_price_options(o, broadcast, <Model>model, steps, american, &out[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None


def reprice_grid(const signed char[::1] right, const double[::1] S, const double[::1] K,
                 const double[::1] T, const double[::1] r, const double[::1] q,
                 const double[::1] vol, const double[::1] spot_moves, const double[::1] vol_shifts,
                 bint vol_relative, double horizon_years, int model, int steps,
                 double[:, ::1] out, int n_threads):
    """Fill out[n_series, n_moves * n_vols] (move outer, volatility shift inner)."""
    cdef OptionArrays o = _option_arrays(right, S, K, T, r, q, vol)
    cdef ScenarioGrid g
    if spot_moves.shape[0] == 0 or vol_shifts.shape[0] == 0:
        raise InputError("spot_moves and vol_shifts must not be empty")
    g.spot_moves = &spot_moves[0]
    g.n_moves = spot_moves.shape[0]
    g.vol_shifts = &vol_shifts[0]
    g.n_vols = vol_shifts.shape[0]
    g.vol_relative = vol_relative
    g.horizon_years = horizon_years
    if out.shape[0] != o.n or out.shape[1] != g.n_moves * g.n_vols:
        raise InputError(f"out has shape {(out.shape[0], out.shape[1])}, "
                         f"expected {(o.n, g.n_moves * g.n_vols)}")
    if o.n == 0:
        return
    try:
        with _interruptible():
            with nogil:
                c_reprice_grid(o, g, <Model>model, steps, &out[0, 0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None


def implied_vol(const double[::1] price, const signed char[::1] right, const double[::1] S,
                const double[::1] K, const double[::1] T, const double[::1] r,
                const double[::1] q, int model, int steps, bint american, double[::1] out,
                int n_threads):
    """Fill out[i] with the volatility reproducing price[i] (NaN where none does)."""
    # The price column takes the vol slot for the shape checks; the core never reads o.vol.
    cdef OptionArrays o = _option_arrays(right, S, K, T, r, q, price)
    if out.shape[0] != o.n:
        raise InputError(f"out has length {out.shape[0]}, expected {o.n}")
    if o.n == 0:
        return
    try:
        with _interruptible():
            with nogil:
                c_implied_vol_options(o, &price[0], <Model>model, steps, american, &out[0], n_threads)
    except Exception as exc:
        raise _translate(exc) from None

"""Vectorised option pricing: numpy arrays in, numpy arrays out, no Python loop per option.

Conventions (spec ``pricing.md``): continuous ``r`` and ``q``, ``T`` in years (ACT/365), values
per unit of underlying, intrinsic value at ``T = 0``, exact limits at zero volatility. ``right``
is an array of ``'C'``/``'P'`` or +1/-1. Scalars broadcast.

Examples
--------
>>> from pmfast import pricing
>>> round(float(pricing.bsm("C", 60.0, 65.0, 0.25, 0.08, 0.0, 0.30)), 4)
2.1334
"""
import numpy as np

from pmfast import _core
from pmfast._arrays import broadcast_columns
from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.kinds import MODELS  # noqa: F401  (codes of the C++ enum class Model)
AMERICAN_MODELS = ("bjs2002", "bjs1993", "crr", "fixed_point")
# fixed_point (Andersen-Lake-Offengenden): ~1e-7 of QuantLib's high-precision engine and, on
# grids, faster than bjs2002, which returns about 0 for some long-dated puts (S=196, K=53,
# T=168 years, vol 61%: 9e-8 against 7.65). The spec's interface.md shows bjs2002 (docs/american.md).
DEFAULT_AMERICAN_MODEL = "fixed_point"
DEFAULT_CRR_STEPS = 200


def _model_code(model, allowed):
    if model not in allowed:
        raise InputError(f"model must be one of {', '.join(allowed)}; got {model!r}")
    return MODELS[model]


def _resolve_model(style, model, european_models):
    """(model name, model code) for ``style``: ``model`` defaults to ``"bsm"`` (European) or
    :data:`DEFAULT_AMERICAN_MODEL`, and must be one of ``european_models`` /
    :data:`AMERICAN_MODELS`."""
    if style == "european":
        model = model or "bsm"
        return model, _model_code(model, european_models)
    if style == "american":
        model = model or DEFAULT_AMERICAN_MODEL
        return model, _model_code(model, AMERICAN_MODELS)
    raise InputError(f"style must be 'american' or 'european'; got {style!r}")


MAX_TREE_STEPS = 10_000_000   # the core's kMaxCrrSteps (pricing/american.hpp)


def _steps(steps):
    """``steps`` as a C int, checked (a huge Python int would overflow the binding)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) \
            or not 1 <= steps <= MAX_TREE_STEPS:
        raise InputError(f"steps must be an integer in [1, {MAX_TREE_STEPS:,}], got {steps!r}")
    return int(steps)


def _price(right, S, K, T, r, q, vol, model, steps, american, n_threads):
    shape, codes, cols = broadcast_columns(right, S, K, T, r, q, vol, keep_scalars=True)
    out = np.empty(int(np.prod(shape)), dtype=np.float64)
    _core.price(codes, *cols, MODELS[model], _steps(steps), bool(american), out,
                resolve_n_threads(n_threads))
    return out.reshape(shape)


def bsm(right, S, K, T, r, q, vol, *, n_threads=None):
    """European option value under Black-Scholes-Merton with a continuous yield ``q``.

    Examples
    --------
    >>> round(float(bsm("P", 100.0, 95.0, 0.5, 0.10, 0.05, 0.20)), 4)
    2.4648
    """
    return _price(right, S, K, T, r, q, vol, "bsm", 1, False, n_threads)


def black76(right, F, K, T, r, vol, *, n_threads=None):
    """European option on a future priced at ``F`` (Black 1976), premium discounted at ``r``.

    Examples
    --------
    >>> round(float(black76("C", 19.0, 19.0, 0.75, 0.10, 0.28)), 4)
    1.7011
    """
    return _price(right, F, K, T, r, 0.0, vol, "black76", 1, False, n_threads)


def american(right, S, K, T, r, q, vol, *, model=DEFAULT_AMERICAN_MODEL, steps=DEFAULT_CRR_STEPS,
             n_threads=None):
    """American option value. ``model``: ``"fixed_point"`` (default; Andersen-Lake-Offengenden
    boundary fixed point), ``"bjs2002"``, ``"bjs1993"`` or ``"crr"`` (binomial tree with
    ``steps``)."""
    _model_code(model, AMERICAN_MODELS)
    return _price(right, S, K, T, r, q, vol, model, steps, True, n_threads)


def crr(right, S, K, T, r, q, vol, *, steps=DEFAULT_CRR_STEPS, american=True, n_threads=None):
    """Cox-Ross-Rubinstein binomial value (Hull's parameterisation), American or European."""
    return _price(right, S, K, T, r, q, vol, "crr", steps, american, n_threads)


def implied_vol(price, right, S, K, T, r, q, *, style="european", model=None,
                steps=DEFAULT_CRR_STEPS, n_threads=None):
    """Volatility that reproduces ``price`` under the option's model.

    Parameters
    ----------
    price : array_like
        Option prices per unit of underlying (>= 0).
    right, S, K, T, r, q : array_like
        As for :func:`bsm`; scalars broadcast. For ``model="black76"`` ``S`` is the future's
        price and ``q`` is ignored.
    style : {"european", "american"}
        ``"european"``: ``model`` is ``"bsm"`` (default), ``"black76"`` or ``"crr"`` (European
        tree). ``"american"``: ``model`` is ``"fixed_point"`` (default), ``"bjs2002"``, ``"bjs1993"``
        or ``"crr"``.
    steps : int
        Tree steps for ``"crr"``.
    n_threads : int or None
        Threads (``None``: the effective CPU count).

    Returns
    -------
    numpy.ndarray
        The volatilities, NaN where no volatility reproduces the price: below the
        zero-volatility value (e.g. below intrinsic) or at/above the no-arbitrage upper bound
        (``S e^{-qT}``/``K e^{-rT}`` European, ``S``/``K`` American). A price equal to the
        zero-volatility value gives 0; at ``T = 0`` a price at intrinsic gives 0.

    Raises
    ------
    pmfast.InputError
        NaN or negative prices, spots, strikes or times, or a bad right; the message names the
        argument and the first offending index.

    Examples
    --------
    >>> v = implied_vol(2.1334, "C", 60.0, 65.0, 0.25, 0.08, 0.0)
    >>> round(float(v), 3)
    0.3
    """
    model, code = _resolve_model(style, model, ("bsm", "black76", "crr"))
    if model == "black76":
        q = 0.0
    shape, codes, cols = broadcast_columns(right, S, K, T, r, q, price)
    out = np.empty(codes.shape[0], dtype=np.float64)
    _core.implied_vol(cols[5], codes, *cols[:5], code, _steps(steps), style == "american",
                      out, resolve_n_threads(n_threads))
    return out.reshape(shape)


def reprice_grid(right, S, K, T, r, q, vol, spot_moves, vol_shifts=None, *,
                 vol_shift_kind="relative", style="american", model=None, horizon_days=0.0,
                 steps=DEFAULT_CRR_STEPS, n_threads=None):
    """Value every series at every scenario of a grid, in one call.

    Returns an array ``[n_series, len(spot_moves) * len(vol_shifts)]``: spot move outer,
    volatility shift inner. Spot moves are relative (``S * (1 + m)``); a volatility shift is
    ``vol * (1 + shift)`` (``"relative"``) or ``vol + shift`` (``"absolute"``), floored at 1e-4.
    ``horizon_days`` shortens every expiry (``T' = max(T - h/365, 0)``).
    ``style="european"`` uses ``bsm`` (or ``model="black76"``, where ``S`` is the future's
    price); ``"american"`` uses ``model`` (default ``fixed_point``).
    """
    _, code = _resolve_model(style, model, ("bsm", "black76"))
    if vol_shift_kind not in ("relative", "absolute"):
        raise InputError(f"vol_shift_kind must be 'relative' or 'absolute'; got {vol_shift_kind!r}")
    _, codes, cols = broadcast_columns(right, S, K, T, r, q, vol)
    moves = np.ascontiguousarray(np.atleast_1d(np.asarray(spot_moves, dtype=np.float64)).ravel())
    shifts = np.ascontiguousarray(np.atleast_1d(
        np.asarray([0.0] if vol_shifts is None else vol_shifts, dtype=np.float64)).ravel())
    out = np.empty((codes.shape[0], moves.shape[0] * shifts.shape[0]), dtype=np.float64)
    _core.reprice_grid(codes, *cols, moves, shifts, vol_shift_kind == "relative",
                       float(horizon_days) / 365.0, code, _steps(steps), out,
                       resolve_n_threads(n_threads))
    return out

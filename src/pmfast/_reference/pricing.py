"""numpy reference twin of the pricing kernels (pmfast.pricing)."""
import numpy as np
from scipy.special import ndtr

from pmfast._arrays import broadcast_columns


def bsm_value(right, S, K, T, r, q, vol):
    """Black-Scholes-Merton written the textbook way, with the limits handled explicitly."""
    shape, right, (S, K, T, r, q, vol) = broadcast_columns(right, S, K, T, r, q, vol)
    right = right.astype(np.float64)
    fwd = S * np.exp(-q * T)
    strike = K * np.exp(-r * T)
    sd = vol * np.sqrt(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(fwd / strike) + 0.5 * sd**2) / sd
        d2 = d1 - sd
        value = right * (fwd * ndtr(right * d1) - strike * ndtr(right * d2))
    limit = np.maximum(right * (fwd - strike), 0.0)  # sd == 0, or S == 0 or K == 0
    degenerate = (sd == 0) | (fwd == 0) | (strike == 0)
    value = np.where(degenerate, limit, np.maximum(value, 0.0))
    return value.reshape(shape)


def black76_value(right, F, K, T, r, vol):
    return bsm_value(right, F, K, T, r, r, vol)


def reprice_grid_european(right, S, K, T, r, q, vol, spot_moves, vol_shifts=(0.0,),
                          vol_relative=True, horizon_days=0.0, black76=False):
    """[n_series, n_moves * n_vols], move outer and volatility shift inner."""
    _, right, (S, K, T, r, q, vol) = broadcast_columns(right, S, K, T, r, q, vol)
    if black76:
        q = r
    moves = np.asarray(spot_moves, dtype=np.float64)
    shifts = np.asarray(vol_shifts, dtype=np.float64)
    T = np.maximum(T - horizon_days / 365.0, 0.0)
    spot = np.maximum(S[:, None, None] * (1.0 + moves[None, :, None]), 0.0)
    if vol_relative:
        v = vol[:, None, None] * (1.0 + shifts[None, None, :])
    else:
        v = vol[:, None, None] + shifts[None, None, :]
    v = np.maximum(v, 1e-4)
    full = (len(S), len(moves), len(shifts))
    args = [np.broadcast_to(a, full) for a in
            (right[:, None, None], spot, K[:, None, None], T[:, None, None], r[:, None, None],
             q[:, None, None], v)]
    return bsm_value(*args).reshape(len(S), -1)

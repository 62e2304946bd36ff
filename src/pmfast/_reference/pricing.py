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


# ---- American models -------------------------------------------------------------------------
# Textbook forms (Haug, *The Complete Guide to Option Pricing Formulas*, 2nd ed., ch. 3.5; Hull's
# binomial tree), vectorised over options. Independent of the C++: scipy's log_ndtr for the
# univariate tails and Owen's T function for the bivariate normal.
from scipy.special import log_ndtr, owens_t  # noqa: E402

_TINY_SD = 1e-7  # below this vol sqrt(T) both sides use the zero-volatility limit


def bivariate_normal_cdf(a, b, rho):
    """M(a, b; rho) = P(X < a, Y < b) through Owen's T (Owen 1956):
    M = N(a)/2 + N(b)/2 - T(a, (b - rho a)/(a s)) - T(b, (a - rho b)/(b s)) - beta, s = sqrt(1-rho^2),
    beta = 1/2 when a b < 0 or (a b = 0 and a + b < 0)."""
    a, b, rho = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(rho, float))
    s = np.sqrt(1.0 - rho * rho)
    # Owen's formula divides by a and b: nudge exact zeros (the CDF is continuous there).
    a = np.where(a == 0.0, 1e-300, a)
    b = np.where(b == 0.0, 1e-300, b)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ta = owens_t(a, (b - rho * a) / (a * s))
        tb = owens_t(b, (a - rho * b) / (b * s))
    beta = np.where(a * b < 0, 0.5, 0.0)
    return np.clip(0.5 * ndtr(a) + 0.5 * ndtr(b) - ta - tb - beta, 0.0, 1.0)


def zero_vol_value(right, S, K, T, r, q, american):
    """max over exercise times t (t = T for European) of right (S e^{-qt} - K e^{-rt}), >= 0."""
    right, S, K, T, r, q = np.broadcast_arrays(*(np.asarray(x, float) for x in (right, S, K, T, r, q)))
    def at(t):
        return right * (S * np.exp(-q * t) - K * np.exp(-r * t))
    best = at(T)
    if american:
        # f'(t) = 0 at e^{(r-q)t} = rK / (qS); checking a fine grid too guards the closed form.
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.log(r * K / (q * S)) / (r - q)
        t_star = np.where(np.isfinite(t_star), np.clip(t_star, 0.0, T), 0.0)
        best = np.maximum.reduce([best, at(0.0 * T), at(t_star)])
    return np.maximum(best, 0.0)


def _log_pow_cdf(log_pow, x):
    """log(e^{log_pow} N(x))."""
    return log_pow + log_ndtr(x)


def _bs_phi(S, T, gamma, H, I, r, b, v, log_coef):
    """coef * phi(S, T, gamma, H, I) (Haug eq. for Bjerksund-Stensland), log_coef = log coef."""
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v) * T
    d = -(np.log(S / H) + (b + (gamma - 0.5) * v * v) * T) / (v * np.sqrt(T))
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    base = log_coef + lam + gamma * np.log(S)
    d_refl = d - 2.0 * np.log(I / S) / (v * np.sqrt(T))
    return np.exp(_log_pow_cdf(base, d)) - np.exp(_log_pow_cdf(base + kappa * np.log(I / S), d_refl))


def _bs_psi(S, T2, gamma, H, I2, I1, t1, r, b, v, log_coef):
    """coef * psi(S, T2, gamma, H, I2, I1, t1) (Bjerksund-Stensland 2002). Returns (value, ok):
    ok is False where a reflection power overflows while its bivariate probability underflows."""
    m = b + (gamma - 0.5) * v * v
    e1 = (np.log(S / I1) + m * t1) / (v * np.sqrt(t1))
    e2 = (np.log(I2**2 / (S * I1)) + m * t1) / (v * np.sqrt(t1))
    e3 = (np.log(S / I1) - m * t1) / (v * np.sqrt(t1))
    e4 = (np.log(I2**2 / (S * I1)) - m * t1) / (v * np.sqrt(t1))
    f1 = (np.log(S / H) + m * T2) / (v * np.sqrt(T2))
    f2 = (np.log(I2**2 / (S * H)) + m * T2) / (v * np.sqrt(T2))
    f3 = (np.log(I1**2 / (S * H)) + m * T2) / (v * np.sqrt(T2))
    f4 = (np.log(S * I1**2 / (H * I2**2)) + m * T2) / (v * np.sqrt(T2))
    rho = np.sqrt(t1 / T2)
    lam = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    base = log_coef + lam * T2 + gamma * np.log(S)
    ok = np.ones(np.shape(S), bool)
    total = 0.0
    for sign, log_pow, x, y, rr in ((1, 0.0, e1, f1, rho),
                                    (-1, kappa * np.log(I2 / S), e2, f2, rho),
                                    (-1, kappa * np.log(I1 / S), e3, f3, -rho),
                                    (1, kappa * np.log(I1 / I2), e4, f4, -rho)):
        M = bivariate_normal_cdf(-x, -y, rr)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            term = np.exp(base + log_pow + np.log(M))
        ok &= ~((M == 0) & (base + log_pow > 600) & (base + log_pow + log_ndtr(np.minimum(-x, -y)) > -745))
        total = total + sign * np.where(M > 0, term, 0.0)
    return total, ok


def _bjs_beta(r, b, v):
    return (0.5 - b / v**2) + np.sqrt((b / v**2 - 0.5) ** 2 + 2.0 * r / v**2)


def _bjs_call_1993(S, K, T, r, b, v):
    beta = _bjs_beta(r, b, v)
    B_inf = beta / (beta - 1.0) * K
    B0 = np.maximum(K, r / (r - b) * K)
    B_inf = np.maximum(B_inf, B0)
    with np.errstate(divide="ignore", invalid="ignore"):
        hT = -(b * T + 2.0 * v * np.sqrt(T)) * B0 / (B_inf - B0)
    I = B0 + (B_inf - B0) * np.maximum(1.0 - np.exp(np.nan_to_num(hT)), 0.0)
    log_alpha = np.log(I - K) - beta * np.log(I)  # alpha = (I - K) I^{-beta}
    lK = np.log(K)
    value = (np.exp(log_alpha + beta * np.log(S)) - _bs_phi(S, T, beta, I, I, r, b, v, log_alpha)
             + _bs_phi(S, T, 1.0, I, I, r, b, v, 0.0) - _bs_phi(S, T, 1.0, K, I, r, b, v, 0.0)
             - _bs_phi(S, T, 0.0, I, I, r, b, v, lK) + _bs_phi(S, T, 0.0, K, I, r, b, v, lK))
    return np.where(S >= I, S - K, value)


def _bjs_call_2002(S, K, T, r, b, v):
    beta = _bjs_beta(r, b, v)
    B_inf = beta / (beta - 1.0) * K
    B0 = np.maximum(K, r / (r - b) * K)
    B_inf = np.maximum(B_inf, B0)
    t1 = 0.5 * (np.sqrt(5.0) - 1.0) * T
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.nan_to_num(K * K / ((B_inf - B0) * B0), posinf=0.0)
    h1 = -(b * t1 + 2.0 * v * np.sqrt(t1)) * scale
    h2 = -(b * T + 2.0 * v * np.sqrt(T)) * scale
    I1 = B0 + (B_inf - B0) * np.maximum(1.0 - np.exp(h1), 0.0)
    I2 = B0 + (B_inf - B0) * np.maximum(1.0 - np.exp(h2), 0.0)
    with np.errstate(divide="ignore"):
        la1 = np.log(I1 - K) - beta * np.log(I1)
    la2 = np.log(I2 - K) - beta * np.log(I2)
    lK = np.log(K)
    ph = lambda t, g, H, I, lc: _bs_phi(S, t, g, H, I, r, b, v, lc)  # noqa: E731
    ps = lambda g, H, lc: _bs_psi(S, T, g, H, I2, I1, t1, r, b, v, lc)  # noqa: E731
    has_a1 = I1 > K
    la1_safe = np.where(has_a1, la1, 0.0)
    psi_terms = [ps(1.0, I1, 0.0), ps(1.0, K, 0.0), ps(0.0, I1, lK), ps(0.0, K, lK),
                 ps(beta, I1, la1_safe)]
    value = (np.exp(la2 + beta * np.log(S)) - ph(t1, beta, I2, I2, la2)
             + ph(t1, 1.0, I2, I2, 0.0) - ph(t1, 1.0, I1, I2, 0.0)
             - ph(t1, 0.0, I2, I2, lK) + ph(t1, 0.0, I1, I2, lK)
             + np.where(has_a1, ph(t1, beta, I1, I2, la1_safe) - psi_terms[4][0], 0.0)
             + psi_terms[0][0] - psi_terms[1][0] - psi_terms[2][0] + psi_terms[3][0])
    ok = np.logical_and.reduce([p[1] for p in psi_terms[:4]] + [psi_terms[4][1] | ~has_a1])
    return np.where(S >= I2, S - K, value), ok & np.isfinite(value)


def _bjs(right, S, K, T, r, q, vol, model2002):
    shape, right, (S, K, T, r, q, vol) = broadcast_columns(right, S, K, T, r, q, vol)
    call = right > 0
    # Put-call transformation: P(S, K, T, r, q) = C(K, S, T, q, r).
    cS, cK, cr, cq = np.where(call, S, K), np.where(call, K, S), np.where(call, r, q), np.where(call, q, r)
    european = bsm_value(1, cS, cK, T, cr, cq, vol)
    intrinsic = np.maximum(cS - cK, 0.0)
    zero_vol = np.maximum(zero_vol_value(1.0, cS, cK, T, cr, cq, True), european)
    formula = (T > 0) & (cS > 0) & (cK > 0) & (cq > 0) & (vol * np.sqrt(T) >= _TINY_SD)
    # q <= 0: never exercised early when r >= 0; with r < 0 the European value can fall below
    # intrinsic and is floored there (american_bjs.cpp)
    no_yield = np.where(cr >= 0, european, np.minimum(np.maximum(european, intrinsic), cS))
    out = np.where(cq <= 0, no_yield, zero_vol)
    out = np.where(cK <= 0, np.where(cq >= 0, cS, cS * np.exp(-cq * T)), out)
    out = np.where(cS <= 0, 0.0, out)
    out = np.where(T <= 0, intrinsic, out)
    idx = np.flatnonzero(formula)
    if idx.size:
        args = [a[idx] for a in (cS, cK, T, cr, cr - cq, vol)]
        with np.errstate(all="ignore"):
            v93 = _bjs_call_1993(*args)
            if model2002:
                v02, ok = _bjs_call_2002(*args)
                val = np.where(ok, v02, v93)
            else:
                val = v93
        val = np.where(np.isfinite(val), val, european[idx])  # beta -> 1: boundary at infinity
        val = np.minimum(np.maximum(val, np.maximum(intrinsic[idx], european[idx])), cS[idx])
        out[idx] = val
    return out.reshape(shape)


def bjs1993_value(right, S, K, T, r, q, vol):
    """Bjerksund-Stensland (1993) American value, textbook form."""
    return _bjs(right, S, K, T, r, q, vol, False)


def bjs2002_value(right, S, K, T, r, q, vol):
    """Bjerksund-Stensland (2002) American value, textbook form."""
    return _bjs(right, S, K, T, r, q, vol, True)


def crr_value(right, S, K, T, r, q, vol, steps=200, american=True):
    """Hull's CRR tree, vectorised over options (a Python loop over the steps only)."""
    shape, right, (S, K, T, r, q, vol) = broadcast_columns(right, S, K, T, r, q, vol)
    right = right.astype(float)
    dt = T / steps
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.exp(vol * np.sqrt(dt))
        d = 1.0 / u
        p = (np.exp((r - q) * dt) - d) / (u - d)
    valid = (T > 0) & (vol > 0) & (p >= 0) & (p <= 1) & (S > 0) & (K > 0)
    j = np.arange(steps + 1)
    out = zero_vol_value(right, S, K, T, r, q, american)
    if american:
        out = np.maximum(out, np.maximum(right * (S - K), 0.0))
    if valid.any():
        s, k, rr, uu, pp, ddt, w = (a[valid] for a in (S, K, r, u, p, dt, right))
        disc = np.exp(-rr * ddt)[:, None]
        pp = pp[:, None]
        spot = s[:, None] * uu[:, None] ** (2 * j[None, :] - steps)
        value = np.maximum(w[:, None] * (spot - k[:, None]), 0.0)
        for i in range(steps - 1, -1, -1):
            value = disc * (pp * value[:, 1:i + 2] + (1 - pp) * value[:, :i + 1])
            if american:
                spot_i = s[:, None] * uu[:, None] ** (2 * j[None, :i + 1] - i)
                value = np.maximum(value, w[:, None] * (spot_i - k[:, None]))
        out[valid] = value[:, 0]
    return out.reshape(shape)


def american_value(right, S, K, T, r, q, vol, model="bjs2002", steps=200):
    if model == "bjs2002":
        return bjs2002_value(right, S, K, T, r, q, vol)
    if model == "bjs1993":
        return bjs1993_value(right, S, K, T, r, q, vol)
    if model == "crr":
        return crr_value(right, S, K, T, r, q, vol, steps, True)
    raise ValueError(f"no reference twin for model {model!r}")


def reprice_grid(right, S, K, T, r, q, vol, spot_moves, vol_shifts=(0.0,), vol_relative=True,
                 horizon_days=0.0, model="bjs2002", steps=200):
    """American twin of the scenario grid: [n_series, n_moves * n_vols], move outer."""
    _, right, (S, K, T, r, q, vol) = broadcast_columns(right, S, K, T, r, q, vol)
    moves = np.asarray(spot_moves, dtype=np.float64)
    shifts = np.asarray(vol_shifts, dtype=np.float64)
    T = np.maximum(T - horizon_days / 365.0, 0.0)
    spot = np.maximum(S[:, None, None] * (1.0 + moves[None, :, None]), 0.0)
    v = vol[:, None, None] * (1.0 + shifts[None, None, :]) if vol_relative else vol[:, None, None] + shifts
    v = np.maximum(v, 1e-4)
    full = (len(S), len(moves), len(shifts))
    args = [np.broadcast_to(a, full).ravel() for a in
            (right[:, None, None], spot, K[:, None, None], T[:, None, None], r[:, None, None],
             q[:, None, None], v)]
    return american_value(*args, model=model, steps=steps).reshape(len(S), -1)


def implied_vol(price, right, S, K, T, r, q, style="european", model=None, steps=200):
    """scipy brentq per option on the twin's own pricing function; NaN where no vol fits."""
    from scipy.optimize import brentq
    _, right, (S, K, T, r, q, price) = broadcast_columns(right, S, K, T, r, q, price)
    model = model or ("bsm" if style == "european" else "bjs2002")
    out = np.full(len(price), np.nan)
    for i in range(len(price)):
        args = (right[i], S[i], K[i], T[i], r[i], q[i])
        if model in ("bsm", "black76"):
            qq = r[i] if model == "black76" else q[i]
            f = lambda v: float(bsm_value(args[0], S[i], K[i], T[i], r[i], qq, v)[()]) - price[i]  # noqa: E731
        else:
            f = lambda v: float(american_value(*args, v, model=model, steps=steps)[()]) - price[i]  # noqa: E731
        lo, hi = 1e-10, 10.0
        flo, fhi = f(lo), f(hi)
        if flo < 0 < fhi:
            out[i] = brentq(f, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    return out

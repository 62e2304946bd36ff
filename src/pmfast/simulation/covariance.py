"""The daily covariance of the risk factors for Monte Carlo: given as a matrix with factor names,
or estimated from a history with EWMA weights and shrunk toward its diagonal until it is
positive definite.

Factors are named by underlying (its daily log return), ``vol:<underlying>`` (the daily log
change of its implied-volatility level) and ``rate`` (the daily change of the continuous rate).

Shrinkage (docs/simulation-scenarios.md): the correlation ``R`` is replaced by
``C = (1 - delta) R + delta I``. For an estimated ``R``, ``delta`` is the Schäfer–Strimmer (2005)
intensity for the diagonal target (the Ledoit–Wolf rule on the correlation scale) with the EWMA
weights' effective sample size; whenever ``C`` is still not positive definite (a Cholesky
factorisation fails, or the history has fewer days than factors), ``delta`` is raised to at least
``DELTA_MIN`` and doubled until it is. ``C``'s eigenvalues are ``(1 - delta) lambda_i + delta >=
delta`` for a positive semi-definite ``R``, so the loop ends (at the latest at ``delta = 1``).
"""
from dataclasses import dataclass

import numpy as np

from pmfast.errors import InputError
from pmfast.schema import format_ids
from pmfast.simulation import _history

TABLE = "covariance"
RATE = "rate"
VOL_PREFIX = "vol:"
DELTA_MIN = 1e-3
MAX_FULL_FACTORS = 20_000      # a dense factor matrix: 3.2 GB, a Cholesky of ~2.7e12 flops
SYMMETRY_TOL = 1e-8            # |C_ij - C_ji| on the correlation scale


@dataclass(frozen=True, eq=False)
class Covariance:
    """A positive definite daily factor covariance ``diag(scale) C diag(scale)``.

    ``C = (1 - shrinkage) R + shrinkage I`` is kept either as a dense correlation
    (``correlation``, already shrunk) or, when estimated from fewer days than factors, as the
    weighted standardised observations ``data`` with ``R = data.T @ data`` (never forming the
    factors x factors matrix: draws cost ``n x days x factors``).
    """
    factors: tuple
    scale: np.ndarray
    shrinkage: float = 0.0
    correlation: np.ndarray = None
    data: np.ndarray = None
    source: str = "given"

    @property
    def n_factors(self):
        return len(self.factors)

    @property
    def matrix(self):
        """The dense covariance ``[n_factors, n_factors]`` (formed on demand)."""
        if self.correlation is not None:
            c = self.correlation
        else:
            c = (1.0 - self.shrinkage) * (self.data.T @ self.data)
            c[np.diag_indices_from(c)] += self.shrinkage
        return c * np.outer(self.scale, self.scale)

    def cholesky(self):
        """Lower Cholesky factor of the (dense) correlation ``C``."""
        return np.linalg.cholesky(self.correlation)

    def subset(self, factors):
        """The covariance of some of the factors (a principal submatrix: still positive
        definite)."""
        where = {f: i for i, f in enumerate(self.factors)}
        absent = [f for f in factors if f not in where]
        if absent:
            raise InputError(f"{TABLE}.factor: no factor {format_ids(absent)}")
        cols = np.array([where[f] for f in factors], dtype=np.int64)
        return Covariance(tuple(factors), self.scale[cols], self.shrinkage,
                          None if self.correlation is None else
                          self.correlation[np.ix_(cols, cols)],
                          None if self.data is None else self.data[:, cols], self.source)

    @classmethod
    def from_matrix(cls, matrix, factors):
        """Validate a given daily covariance and shrink its correlation toward the identity
        until positive definite.

        Raises InputError naming the factors when the matrix is not square, not finite, not
        symmetric (beyond ``SYMMETRY_TOL`` on the correlation scale) or has a variance <= 0
        (no shrinkage toward the diagonal can repair that).
        """
        factors = tuple(str(f) for f in factors)
        try:
            a = np.array(matrix, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{TABLE}: not numeric ({exc})") from None
        f = len(factors)
        if a.shape != (f, f):
            raise InputError(f"{TABLE}: shape {a.shape} for {f} factor names")
        if f > MAX_FULL_FACTORS:
            raise InputError(f"{TABLE}: {f} factors exceed the bound of {MAX_FULL_FACTORS}")
        if len(set(factors)) != f:
            raise InputError(f"{TABLE}.factor: duplicated "
                             f"{format_ids(x for x in factors if factors.count(x) > 1)}")
        names = np.asarray(factors, dtype=object)
        bad = ~np.isfinite(a)
        if bad.any():
            i, j = np.nonzero(bad)
            raise InputError(f"{TABLE}: not a finite number at factor pairs "
                             f"{format_ids(f'{names[p]}/{names[q]}' for p, q in zip(i, j))}")
        var = np.diag(a).copy()
        if (var <= 0).any():
            raise InputError(f"{TABLE}: variance <= 0 for factor(s) {format_ids(names[var <= 0])}"
                             " (cannot be made positive definite)")
        scale = np.sqrt(var)
        corr = a / np.outer(scale, scale)
        asym = np.abs(corr - corr.T) > SYMMETRY_TOL
        if asym.any():
            i, j = np.nonzero(np.triu(asym))
            raise InputError(f"{TABLE}: not symmetric at factor pairs "
                             f"{format_ids(f'{names[p]}/{names[q]}' for p, q in zip(i, j))}")
        corr = 0.5 * (corr + corr.T)
        np.fill_diagonal(corr, 1.0)
        shrunk, delta = _make_positive_definite(corr, 0.0)
        return cls(factors, scale, delta, shrunk, None, "given" if delta == 0 else
                   f"given, shrunk {delta:.3g} toward its diagonal")


def _shrink(corr, delta):
    c = (1.0 - delta) * corr
    c[np.diag_indices_from(c)] += delta
    return c


def _make_positive_definite(corr, delta):
    """``(1 - delta) R + delta I`` with ``delta`` doubled from ``DELTA_MIN`` until Cholesky
    succeeds (at most ~11 factorisations)."""
    while True:
        c = _shrink(corr, delta) if delta > 0 else corr
        try:
            np.linalg.cholesky(c)
            return c, delta
        except np.linalg.LinAlgError:
            if delta >= 1.0:     # cannot happen for a unit-diagonal matrix; keep the loop finite
                raise InputError(f"{TABLE}: cannot be made positive definite") from None
            delta = min(max(2.0 * delta, DELTA_MIN), 1.0)


def ewma_weights(n, ewma_lambda):
    """Weights ``lambda^(n-1-t)`` of days ``t = 0..n-1`` (today last, highest), summing to 1."""
    w = ewma_lambda ** np.arange(n - 1, -1, -1, dtype=np.float64)
    return w / w.sum()


def shrinkage_intensity(a, w):
    """Schäfer–Strimmer intensity toward the diagonal for the correlation ``R = a.T @ a``.

    ``a = sqrt(w) y`` holds the weighted standardised observations (``sum_t w_t y_tk^2 = 1``
    for every factor that moves). ``delta = sum_{i!=j} Var(r_ij) / sum_{i!=j} r_ij^2`` with
    ``Var(r_ij) = c (sum_t w_t y_ti^2 y_tj^2 - r_ij^2)``, ``c = sum w^2 / (1 - sum w^2)``
    (``1/(n-1)`` for equal weights). Costs ``O(days x factors x min(days, factors))``.
    """
    n_obs, f = a.shape
    sw2 = float(w @ w)
    if sw2 >= 1.0:
        return 1.0
    c = sw2 / (1.0 - sw2)
    y2 = np.zeros_like(a)
    np.divide(a * a, w[:, None], out=y2, where=w[:, None] > 0)
    q = y2.sum(axis=1)
    off_p2 = float(w @ (q * q - (y2 * y2).sum(axis=1)))
    gram = a @ a.T if n_obs < f else a.T @ a
    n_moving = int(((a * a).sum(axis=0) > 0).sum())
    off_r2 = float((gram * gram).sum()) - n_moving
    if off_r2 <= 0:
        return 0.0
    return float(np.clip(c * (off_p2 - off_r2) / off_r2, 0.0, 1.0))


def _factor_changes(hist, vol_factors):
    """Daily factor changes ``[n_days - 1, n_factors]`` and their names."""
    names = list(hist.underlyings)
    cols = [np.log(hist.price[1:] / hist.price[:-1])]
    if vol_factors and hist.vol is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            dv = np.log(hist.vol[1:] / hist.vol[:-1])
        has = ~np.isnan(hist.vol).all(axis=0)
        cols.append(np.where(np.isnan(dv[:, has]), 0.0, dv[:, has]))
        names += [VOL_PREFIX + u for u, k in zip(hist.underlyings, has) if k]
    if hist.rate is not None:
        cols.append(np.diff(hist.rate)[:, None])
        names.append(RATE)
    return np.concatenate(cols, axis=1), tuple(names)


def estimate_covariance(history, ewma_lambda=0.97, rates=None, window=None, underlyings=None,
                        vol_factors=False):
    """EWMA daily covariance of a history's factors, shrunk toward its diagonal until positive
    definite.

    Parameters
    ----------
    history : table or path
        ``date, underlying, price[, vol]`` (see :func:`pmfast.simulation.historical`).
    ewma_lambda : float
        Weight ``lambda^(age in days)`` of each daily change (zero mean, RiskMetrics style).
    rates : table or path, optional
        ``date, rate``: adds the factor ``rate`` (daily changes of the rate).
    window, underlyings
        As for :func:`pmfast.simulation.historical`.
    vol_factors : bool
        Add a factor ``vol:<underlying>`` (daily log change of ``vol``) for every underlying
        with a vol history.

    Returns
    -------
    Covariance
        Low-rank form (draws cost ``n x days x factors``) when there are fewer days than
        factors, dense otherwise.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from pmfast import simulation
    >>> rng = np.random.default_rng(0)
    >>> h = pd.DataFrame({"date": np.tile(pd.bdate_range("2026-01-01", periods=60), 2),
    ...                   "underlying": np.repeat(["X", "Y"], 60),
    ...                   "price": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))})
    >>> simulation.estimate_covariance(h).factors
    ('X', 'Y')
    """
    if not (isinstance(ewma_lambda, (int, float)) and 0.0 < ewma_lambda <= 1.0):
        raise InputError(f"ewma_lambda must be in (0, 1], got {ewma_lambda!r}")
    hist = _history.load(history, rates, underlyings, window, need=3,
                         what="a covariance (two daily changes)")
    x, names = _factor_changes(hist, vol_factors)
    w = ewma_weights(x.shape[0], ewma_lambda)
    scale = np.sqrt(w @ (x * x))
    y = np.zeros_like(x)
    np.divide(x, scale, out=y, where=scale > 0)
    a = np.sqrt(w)[:, None] * y
    delta = shrinkage_intensity(a, w)
    what = f"EWMA {ewma_lambda:g} over {x.shape[0]} days"
    if x.shape[0] < x.shape[1]:
        delta = max(delta, DELTA_MIN)
        return Covariance(names, scale, delta, None, a,
                          f"{what}, shrunk {delta:.3g} toward its diagonal")
    if x.shape[1] > MAX_FULL_FACTORS:
        raise InputError(f"{TABLE}: {x.shape[1]} factors exceed the bound of {MAX_FULL_FACTORS}")
    corr = a.T @ a
    np.fill_diagonal(corr, 1.0)        # also for factors that never moved (scale 0)
    shrunk, delta = _make_positive_definite(corr, delta)
    return Covariance(names, scale, delta, shrunk, None,
                      f"{what}, shrunk {delta:.3g} toward its diagonal")

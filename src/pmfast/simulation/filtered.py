"""Filtered historical simulation (Eurex Prisma / SPAN 2 style): each day's log return divided by
its EWMA volatility and multiplied by today's, ``h`` consecutive rescaled days compounded."""
import numpy as np

from pmfast.errors import InputError
from pmfast.scenario_set import ScenarioSet
from pmfast.simulation import _history

SEED_DAYS = 20      # the EWMA variance starts at the sample variance of the first 20 returns


def ewma_variance(x, ewma_lambda=0.97, seed_days=SEED_DAYS):
    """EWMA variances of the daily log returns ``x`` [n_days, n_underlyings].

    Row ``t`` of the result is ``sigma_t^2``, built from returns up to ``t - 1`` only:
    ``sigma_0^2`` is the sample variance (ddof 1) of the first ``seed_days`` returns and
    ``sigma_{t+1}^2 = lambda sigma_t^2 + (1 - lambda) x_t^2``. The extra last row (index
    ``n_days``) is today's forecast ``sigma_T^2`` for the next day.
    """
    n = x.shape[0]
    var = np.empty((n + 1,) + x.shape[1:])
    var[0] = np.var(x[:seed_days], axis=0, ddof=1)
    a, b = ewma_lambda, 1.0 - ewma_lambda
    for t in range(n):            # bounded by the history length (MAX_DATES)
        var[t + 1] = a * var[t] + b * (x[t] * x[t])
    return var


def filtered_returns(x, h, ewma_lambda=0.97, seed_days=SEED_DAYS):
    """``h``-day simple returns of the volatility-rescaled daily log returns ``x``.

    ``x~_t = x_t sigma_T / sigma_t`` (``x_t`` kept as is where ``sigma_t = 0``: a flat seed
    period says nothing about the scale), summed over ``h`` consecutive days starting at each
    ``t`` and turned into ``exp(sum) - 1``.
    """
    sigma = np.sqrt(ewma_variance(x, ewma_lambda, seed_days))
    today = sigma[-1]
    past = sigma[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(past > 0, x * (today / past), x)
    n = x.shape[0] - h + 1
    total = scaled[0:n].copy()
    for j in range(1, h):         # h <= history length
        total += scaled[j:j + n]
    return np.expm1(total)


def filtered_historical(history, horizon_days=2, ewma_lambda=0.97, rates=None, window=None,
                        underlyings=None):
    """Volatility-rescaled historical scenarios, one per overlapping ``h``-day window.

    Parameters
    ----------
    history : table or path
        Long table ``date, underlying, price[, vol]``, as for :func:`historical`.
    horizon_days : int
        ``h`` in trading days.
    ewma_lambda : float
        EWMA decay in (0, 1); ``sigma_t`` uses returns up to ``t - 1``, seeded with the sample
        variance of the first 20 returns.
    rates, window, underlyings
        As for :func:`historical`.

    Returns
    -------
    ScenarioSet
        Labelled by the start date of each window (the same windows, volatility shifts and rate
        shifts as :func:`historical`), ``return = exp(sum of h rescaled log returns) - 1``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from pmfast import simulation
    >>> p = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 40)))
    >>> h = pd.DataFrame({"date": pd.bdate_range("2026-01-01", periods=40), "underlying": "X",
    ...                   "price": p})
    >>> simulation.filtered_historical(h, horizon_days=2).n_scenarios
    38
    """
    if not (isinstance(ewma_lambda, (int, float)) and 0.0 < ewma_lambda < 1.0):
        raise InputError(f"ewma_lambda must be in (0, 1), got {ewma_lambda!r}")
    h = _history.horizon_steps(horizon_days)
    need = max(h, SEED_DAYS) + 1
    hist = _history.load(history, rates, underlyings, window, need=need,
                         what=f"the {SEED_DAYS}-day EWMA seed and the horizon")
    x = np.log(hist.price[1:] / hist.price[:-1])
    returns = filtered_returns(x, h, ewma_lambda)
    n = returns.shape[0]
    return ScenarioSet(hist.underlyings, returns, _history.vol_shifts(hist, h),
                       _history.rate_shifts(hist, h), hist.labels(np.arange(n)), h,
                       "filtered_historical")

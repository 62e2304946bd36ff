"""Historical simulation (CME SPAN 2 style): one scenario per start date of an overlapping
``h``-day window of a real price history."""
import numpy as np

from pmfast.scenario_set import ScenarioSet
from pmfast.simulation import _history


def historical(history, horizon_days=2, window=None, rates=None, underlyings=None):
    """Scenarios from the price changes of a history, one per overlapping ``h``-day window.

    Parameters
    ----------
    history : table or path
        Long table ``date, underlying, price[, vol]`` (pandas, polars, pyarrow or a path);
        ``vol`` is an implied-volatility level (e.g. an ATM vol index).
    horizon_days : int
        ``h``, in trading days (rows of the history); also the days by which time moves on.
    window : int, optional
        Use only the last ``window`` dates of the history (default: all of it).
    rates : table or path, optional
        Long table ``date, rate`` (the continuous rate; as-of joined to the history dates).
    underlyings : sequence of str, optional
        Keep only these underlyings (e.g. a book's), each of which must have a history.

    Returns
    -------
    ScenarioSet
        ``return = P[t+h] / P[t] - 1``, ``vol_shift = vol[t+h] / vol[t] - 1`` (0 where an
        underlying has no vol), ``rate_shift = rate[t+h] - rate[t]``, labelled by the start
        date ``t``. Gaps are forward filled; the set starts on the first date on which every
        underlying has a price.

    Examples
    --------
    >>> import pandas as pd
    >>> from pmfast import simulation
    >>> h = pd.DataFrame({"date": ["2026-01-02", "2026-01-05", "2026-01-06"] * 2,
    ...                   "underlying": ["X"] * 3 + ["Y"] * 3,
    ...                   "price": [100.0, 110.0, 99.0, 50.0, 50.0, 55.0]})
    >>> s = simulation.historical(h, horizon_days=1)
    >>> s.labels, s.returns[:, 0].round(4).tolist()
    (('2026-01-02', '2026-01-05'), [0.1, -0.1])
    """
    h = _history.horizon_steps(horizon_days)
    hist = _history.load(history, rates, underlyings, window, need=h + 1)
    returns = hist.price[h:] / hist.price[:-h] - 1.0
    n = returns.shape[0]
    return ScenarioSet(hist.underlyings, returns, _history.vol_shifts(hist, h),
                       _history.rate_shifts(hist, h), hist.labels(np.arange(n)), h, "historical")

"""A realistic synthetic price, volatility and rate history for a generated book's underlyings
(``pmfast.generate(..., history_days=N)``, ``pmfast generate --history N``).

Daily log returns have a factor structure: a market factor with GJR-GARCH volatility (clusters,
and rises more after falls) and Student-t shocks, eleven sector factors with GARCH volatility,
and idiosyncratic noise that follows the market's volatility regime. Index classes load on the
market (the S&P-like group exactly or with a basis-point tracking error), leveraged and inverse
funds compound ``leverage x`` their index's (or, for single-stock funds, an unlisted stock's)
daily simple return, less a fee. Implied-volatility levels follow the market's conditional
volatility, jump up on the underlying's own down days and mean-revert. Paths are scaled so the
last date is ``as_of`` with exactly today's prices, volatilities and rate: a scenario set from
the history applies to the book as generated. Deterministic for a seed; the book's own tables do
not depend on whether a history is asked for.
"""
import numpy as np
import pyarrow as pa

from pmfast.errors import InputError
from pmfast.io import to_arrow

MAX_DAYS = 10_000          # 40 years: the day loop's bound
EXTRA_DAYS = 250           # simulated beyond the history, to choose where it ends
TRADING_DAYS = 252
INDEX_TYPES = ("high_cap_index", "broad_index", "narrow_index")
# known indexes: (market beta, tech-sector loading); other indexes get (1.0, 0.5)
INDEX_LOADINGS = {"SPX": (1.0, 0.0), "XSP": (1.0, 0.0), "SPY": (1.0, 0.0), "IVV": (1.0, 0.0),
                  "NDX": (1.15, 0.6), "RUT": (1.1, 0.3), "DJX": (0.95, 0.0), "SOX": (1.4, 1.2)}
TRACKS_EXACTLY = ("XSP",)          # a tenth of SPX: the same returns
TRACKING_ERROR = 0.0002            # SPY / IVV daily tracking noise against SPX
MARKET = "SPX"                     # the index the listed leveraged funds follow
LEVERAGED_ON_MARKET = ("UPRO", "SSO", "SH", "SDS", "SPXU")
FUND_FEE = 0.009                   # a year, taken daily
N_SECTORS = 11
TECH_SECTOR = 0
MARKET_VOL = 0.17                  # long-run annual volatility of the market factor
SECTOR_VOL = 0.12
GJR = {"alpha": 0.03, "gamma": 0.10, "beta": 0.90}   # market: persistence 0.98
GARCH_SECTOR = {"alpha": 0.05, "gamma": 0.0, "beta": 0.92}
SHOCK_DF = 5                       # Student-t shocks, scaled to unit variance
VOL_AR = 0.9                       # implied-vol residual persistence (half-life ~1 week)
VOL_NOISE = 0.02
VOL_SPOT = 0.05                    # implied vol up by ~5% on a one-sigma down day
RATE_VOL = 0.008                   # annual, Vasicek
RATE_KAPPA = 0.3


def _t_shocks(rng, shape):
    return rng.standard_t(SHOCK_DF, shape) * np.sqrt((SHOCK_DF - 2) / SHOCK_DF)


def _garch(shocks, annual_vol, p):
    """Daily returns and conditional volatilities of GJR-GARCH(1,1) paths, one per column."""
    long_run = (annual_vol / np.sqrt(TRADING_DAYS)) ** 2
    omega = long_run * (1 - p["alpha"] - p["gamma"] / 2 - p["beta"])
    n = shocks.shape[0]
    var = np.full(shocks.shape[1], long_run)
    ret, sigma = np.empty_like(shocks), np.empty_like(shocks)
    for t in range(n):          # n <= MAX_DAYS
        sigma[t] = np.sqrt(var)
        ret[t] = sigma[t] * shocks[t]
        var = omega + (p["alpha"] + p["gamma"] * (ret[t] < 0)) * ret[t] ** 2 + p["beta"] * var
    return ret, sigma


def _dates(as_of, days):
    last = np.busday_offset(np.datetime64(as_of, "D"), 0, roll="backward")
    return np.busday_offset(last, np.arange(-days, 1))


def _column(table, name, default):
    if name not in table.column_names:
        return np.full(table.num_rows, default)
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def generate_history(underlyings, days, seed=0, as_of="2026-11-20", rate=0.045):
    """A history ``date, underlying, price, vol`` and a rate history ``date, rate``.

    Parameters
    ----------
    underlyings : table
        A book's underlyings table (``underlying, price[, group_type, leverage, volatility]``).
    days : int
        Trading days of history before ``as_of`` (1 to 10,000); ``days + 1`` dates in all.
    seed : int
        The same seed gives the same history.
    as_of : str or date
        The last date (rolled back to a weekday): today's prices, vols and ``rate``.
    rate : float
        Today's continuous rate.

    Returns
    -------
    dict
        ``{"history": pyarrow.Table, "rates": pyarrow.Table}``.
    """
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or \
            not 1 <= days <= MAX_DAYS:
        raise InputError(f"history days must be an integer in [1, {MAX_DAYS}], got {days!r}")
    und = to_arrow(underlyings, "underlyings")
    ids = np.asarray(und.column("underlying").to_pylist(), dtype=object).astype(str)
    price = _column(und, "price", np.nan)
    base_vol = _column(und, "volatility", 0.3)
    lev = _column(und, "leverage", 1.0)
    gtype = np.asarray(und.column("group_type").to_pylist() if "group_type" in und.column_names
                       else ["equity"] * len(ids), dtype=object).astype(str)
    if not (np.isfinite(price).all() and (price > 0).all()):
        raise InputError("underlyings.price: a positive price is needed for every underlying")
    base_vol = np.where(np.isfinite(base_vol) & (base_vol > 0), base_vol, 0.3)
    rng = np.random.default_rng([int(seed), 0x48495354])     # not the book's stream
    n_u = len(ids)

    # Simulate EXTRA_DAYS more and end the history on the day whose market volatility is
    # closest to its long-run level, so that today's quoted vols (the book's) fit the path.
    total = days + EXTRA_DAYS
    market, m_sigma = _garch(_t_shocks(rng, (total, 1)), MARKET_VOL, GJR)
    sectors, _ = _garch(_t_shocks(rng, (total, N_SECTORS)), SECTOR_VOL, GARCH_SECTOR)
    regime = m_sigma / (MARKET_VOL / np.sqrt(TRADING_DAYS))          # 1 on average
    end = days - 1 + int(np.argmin(np.abs(np.log(regime[days - 1:, 0]))))
    keep = slice(end - days + 1, end + 1)
    market, sectors, regime = market[keep], sectors[keep], regime[keep]
    sector = rng.integers(0, N_SECTORS, n_u)
    beta = rng.uniform(0.6, 1.5, n_u)
    load = np.ones(n_u)
    is_index = np.isin(gtype, INDEX_TYPES)
    for j in np.flatnonzero(is_index):
        beta[j], load[j] = INDEX_LOADINGS.get(ids[j], (1.0, 0.5))
        sector[j] = TECH_SECTOR
    levered = lev != 1.0
    # the unlevered volatility each log-return path aims at (a fund's is its index's)
    target = np.where(levered, base_vol / np.maximum(np.abs(lev), 1.0), base_vol)
    systematic = beta ** 2 * MARKET_VOL ** 2 + load ** 2 * SECTOR_VOL ** 2
    idio_vol = np.sqrt(np.maximum(target ** 2 - systematic, (0.3 * target) ** 2))
    idio_vol[is_index] = np.where(np.isin(ids[is_index], list(INDEX_LOADINGS)), 0.0, 0.05)
    idio = _t_shocks(rng, (days, n_u)) * np.sqrt(regime) * (idio_vol / np.sqrt(TRADING_DAYS))
    x = beta * market + load * sectors[:, sector] + idio
    where = {u: j for j, u in enumerate(ids)}
    if MARKET in where:
        m = where[MARKET]
        x[:, m] = market[:, 0]
        for name in TRACKS_EXACTLY:
            if name in where:
                x[:, where[name]] = x[:, m]
        for name in ("SPY", "IVV"):
            if name in where:
                x[:, where[name]] = x[:, m] + rng.normal(0, TRACKING_ERROR, days)
    simple = np.expm1(x)
    for j in np.flatnonzero(levered):
        follows = simple[:, where[MARKET]] if ids[j] in LEVERAGED_ON_MARKET and MARKET in where \
            else simple[:, j]
        simple[:, j] = np.maximum(lev[j] * follows - FUND_FEE / TRADING_DAYS, -0.99)
    growth = np.vstack([np.zeros(n_u), np.cumsum(np.log1p(simple), axis=0)])
    prices = price * np.exp(growth - growth[-1])

    # implied vols: market regime, own down days, a mean-reverting residual
    z = x / np.maximum(np.sqrt(beta ** 2 * MARKET_VOL ** 2 + idio_vol ** 2) /
                       np.sqrt(TRADING_DAYS), 1e-12)
    eta = np.zeros(n_u)
    log_iv = np.empty((days + 1, n_u))
    log_iv[0] = 0.0
    noise = rng.normal(0, VOL_NOISE, (days, n_u))
    for t in range(days):       # days <= MAX_DAYS
        eta = VOL_AR * eta + noise[t] - VOL_SPOT * np.clip(z[t], -6, 6)
        log_iv[t + 1] = eta
    log_iv += np.where(is_index, 0.7, 0.4) * np.log(np.r_[regime[:1], regime])
    vols = base_vol * np.exp(log_iv - log_iv[-1])

    dates = _dates(as_of, days)
    shocks = rng.normal(0, RATE_VOL / np.sqrt(TRADING_DAYS), days)
    r = np.empty(days + 1)
    r[0] = rate
    for t in range(days):
        r[t + 1] = r[t] + RATE_KAPPA * (rate - r[t]) / TRADING_DAYS + shocks[t]
    r += rate - r[-1]
    history = pa.table({
        "date": pa.array(np.repeat(dates, n_u), pa.date32()),
        "underlying": pa.array(np.tile(ids, days + 1)),
        "price": prices.reshape(-1),
        "vol": vols.reshape(-1),
    })
    return {"history": history, "rates": pa.table({"date": pa.array(dates, pa.date32()),
                                                   "rate": r})}

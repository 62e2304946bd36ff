"""Monte Carlo scenarios (OCC STANS style): ``n`` joint draws of the factors' ``h``-day log
changes from a daily covariance, normal or Student-t scaled to the same covariance.

Reproducibility: scenarios are drawn in fixed blocks of ``BLOCK_ROWS`` rows, block ``b`` from its
own generator ``PCG64(SeedSequence(seed).spawn(...)[b])``; threads only decide which block runs
where, so the numbers are the same for any ``n_threads`` (and the first ``n`` scenarios of a
larger set equal a smaller set's for the same seed).
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pmfast._threads import resolve_n_threads
from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.scenario_set import ScenarioSet
from pmfast.simulation.covariance import RATE, VOL_PREFIX, Covariance, estimate_covariance
from pmfast.simulation._history import MAX_CELLS

BLOCK_ROWS = 1024
MAX_SCENARIOS = 10_000_000


def _as_covariance(source, history_options):
    """A Covariance from a Covariance, a square labelled DataFrame, a ``factor, <factors...>``
    table (any table form or path), a ``(factors, matrix)`` pair, or else a history."""
    if isinstance(source, Covariance):
        return source
    if isinstance(source, tuple) and len(source) == 2:
        return Covariance.from_matrix(source[1], source[0])
    if type(source).__module__.split(".")[0] == "pandas" and hasattr(source, "index"):
        cols = [str(c) for c in source.columns]
        if "date" not in cols and [str(i) for i in source.index] == cols:
            return Covariance.from_matrix(source.to_numpy(dtype=np.float64), cols)
    table = to_arrow(source, "history")
    if "factor" in table.column_names:
        factors = [str(f) for f in table.column("factor").to_pylist()]
        absent = [f for f in factors if f not in table.column_names]
        if absent:
            raise InputError(f"covariance: no column for factor(s) {absent[:5]}")
        matrix = np.column_stack([table.column(f).to_numpy(zero_copy_only=False)
                                  for f in factors]) if factors else np.zeros((0, 0))
        return Covariance.from_matrix(matrix.astype(np.float64), factors)
    return estimate_covariance(table, **history_options)


def _draw_block(cov, lower, child, rows, t_df):
    """One block of correlated standard draws ``[rows, n_factors]`` (correlation ``C``).

    Each kind of draw has its own stream (``child.spawn(3)``), so a block's first rows do not
    depend on how many rows it has: a set's scenarios are a prefix of a larger set's."""
    gen = [np.random.Generator(np.random.PCG64(c)) for c in child.spawn(3)]
    f = cov.n_factors
    if lower is not None:
        x = gen[0].standard_normal((rows, f)) @ lower.T
    else:
        d = cov.shrinkage
        x = gen[0].standard_normal((rows, cov.data.shape[0])) @ (np.sqrt(1.0 - d) * cov.data)
        x += np.sqrt(d) * gen[1].standard_normal((rows, f))
    if t_df is not None:       # Student-t with the same covariance: z sqrt((df - 2) / chi2_df)
        x *= np.sqrt((t_df - 2.0) / gen[2].chisquare(t_df, rows))[:, None]
    return x


def monte_carlo(history_or_covariance, n=5000, horizon_days=2, seed=1, distribution="normal",
                df=None, *, ewma_lambda=0.97, rates=None, window=None, underlyings=None,
                vol_factors=False, spot_vol_beta=0.0, n_threads=None):
    """Joint scenarios drawn from a daily factor covariance.

    Parameters
    ----------
    history_or_covariance : table, path, Covariance, DataFrame or (factors, matrix)
        A history ``date, underlying, price[, vol]`` (the covariance is then estimated with
        :func:`estimate_covariance`), or a daily covariance: a :class:`Covariance`, a square
        DataFrame whose index equals its columns, a table ``factor, <one column per factor>``
        or a ``(factor names, matrix)`` pair. Factors: underlyings (daily log returns),
        ``vol:<underlying>`` (daily log change of its vol), ``rate`` (daily rate change).
    n : int
        Number of scenarios (at most 10,000,000 and 2.5e8 scenario x underlying cells).
    horizon_days : float
        ``h``: log changes are ``sqrt(h) L z``; also the days by which time moves on.
    seed : int
        The same seed (and inputs) gives the same scenarios for any ``n_threads``.
    distribution : {"normal", "t"}
        Multivariate normal, or Student-t with ``df`` (> 2) degrees of freedom scaled to the
        same covariance.
    df : float, optional
        Degrees of freedom of the Student-t.
    ewma_lambda, rates, window, vol_factors
        For a history: see :func:`estimate_covariance`.
    underlyings : sequence of str, optional
        Keep only these underlyings (their vol factors and ``rate`` are kept too).
    spot_vol_beta : float or mapping of underlying to float
        ``vol_shift = spot_vol_beta x return`` for underlyings without a vol factor.
    n_threads : int, optional
        Threads drawing blocks (default: all CPUs); never changes the numbers.

    Returns
    -------
    ScenarioSet
        ``return = exp(sqrt(h) (L z)_u) - 1``, vol shifts ``exp(.) - 1`` of the vol factors,
        ``rate_shift = sqrt(h) (L z)_rate``; labels ``MC0000001``...

    Examples
    --------
    >>> from pmfast import simulation
    >>> cov = (["SPX", "NDX"], [[1e-4, 1.1e-4], [1.1e-4, 1.44e-4]])
    >>> s = simulation.monte_carlo(cov, n=1000, horizon_days=2, seed=7)
    >>> s.n_scenarios, s.underlyings
    (1000, ('SPX', 'NDX'))
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SCENARIOS:
        raise InputError(f"n must be an integer in [1, {MAX_SCENARIOS:,}], got {n!r}")
    h = float(horizon_days)
    if not np.isfinite(h) or h < 0:
        raise InputError(f"horizon_days must be >= 0, got {horizon_days!r}")
    if distribution not in ("normal", "t"):
        raise InputError(f"distribution must be 'normal' or 't', not {distribution!r}")
    if distribution == "t":
        if df is None or not np.isfinite(df) or df <= 2:
            raise InputError(f"distribution='t' needs df > 2 (a finite variance), got {df!r}")
        t_df = float(df)
    elif df is not None:
        raise InputError("df is for distribution='t' only")
    else:
        t_df = None
    n_threads = resolve_n_threads(n_threads)
    cov = _as_covariance(history_or_covariance,
                         dict(ewma_lambda=ewma_lambda, rates=rates, window=window,
                              underlyings=underlyings, vol_factors=vol_factors))
    cov, unds = _select_factors(cov, underlyings)
    names = list(cov.factors)
    if n * max(len(unds), 1) > MAX_CELLS:
        raise InputError(f"monte_carlo: {n} scenarios x {len(unds)} underlyings exceed the bound "
                         f"of {MAX_CELLS:,} cells")
    col = {f: i for i, f in enumerate(names)}
    und_cols = np.array([col[u] for u in unds], dtype=np.int64)
    vol_of = [col.get(VOL_PREFIX + u, -1) for u in unds]
    has_vol = np.array([c >= 0 for c in vol_of], dtype=bool)
    beta = _betas(spot_vol_beta, unds)
    need_vols = has_vol.any() or np.any(beta != 0)
    lower = cov.cholesky() if cov.correlation is not None else None
    step = np.sqrt(h) * cov.scale

    returns = np.empty((n, len(unds)))
    vols = np.empty((n, len(unds))) if need_vols else None
    rate_shifts = np.empty(n) if RATE in col else None
    n_blocks = -(-n // BLOCK_ROWS)
    children = np.random.SeedSequence(seed).spawn(n_blocks)

    def run(b):
        lo, hi = b * BLOCK_ROWS, min((b + 1) * BLOCK_ROWS, n)
        x = _draw_block(cov, lower, children[b], hi - lo, t_df)
        x *= step
        returns[lo:hi] = np.expm1(x[:, und_cols])
        if vols is not None:
            vols[lo:hi] = beta * returns[lo:hi]
            if has_vol.any():
                vols[lo:hi, has_vol] = np.expm1(x[:, np.array(vol_of)[has_vol]])
        if rate_shifts is not None:
            rate_shifts[lo:hi] = x[:, col[RATE]]
    if n_threads == 1 or n_blocks == 1:
        for b in range(n_blocks):
            run(b)
    else:
        pool = ThreadPoolExecutor(max_workers=min(n_threads, n_blocks))
        try:
            for future in [pool.submit(run, b) for b in range(n_blocks)]:
                future.result()       # the first error (or Ctrl-C while waiting) stops here
        finally:
            pool.shutdown(wait=True, cancel_futures=True)   # blocks not started never run
    width = len(str(n))
    labels = np.char.add("MC", np.char.zfill(np.arange(1, n + 1).astype(str), max(width, 7)))
    source = f"monte_carlo {distribution}{'' if t_df is None else f'({t_df:g})'}, seed {seed}; " \
        f"{cov.source}"
    return ScenarioSet(unds, returns, vols, rate_shifts, labels, h, source)


def _select_factors(cov, underlyings):
    """The covariance restricted to ``underlyings`` (with their vol factors and the rate), and
    the underlyings of the set (all of the covariance's without a restriction)."""
    names = list(cov.factors)
    if underlyings is None:
        return cov, [f for f in names if f != RATE and not f.startswith(VOL_PREFIX)]
    keep = [str(u) for u in underlyings]
    wanted = set(keep)
    vols = [f for f in names if f.startswith(VOL_PREFIX) and f[len(VOL_PREFIX):] in wanted]
    return cov.subset(keep + vols + ([RATE] if RATE in names else [])), keep


def _betas(spot_vol_beta, unds):
    if isinstance(spot_vol_beta, dict):
        beta = np.array([float(spot_vol_beta.get(u, 0.0)) for u in unds])
    else:
        beta = np.full(len(unds), float(spot_vol_beta))
    if not np.isfinite(beta).all():
        raise InputError("spot_vol_beta must be finite")
    return beta

"""Monte Carlo scenario sets: the target covariance within sampling error at n = 100,000,
identical numbers for any thread count, covariance estimation against a pair-by-pair twin, and
bad covariances named."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import InputError, simulation
from pmfast._reference import simulation_scenarios as ref
from pmfast.simulation.covariance import shrinkage_intensity

FACTORS = ["SPX", "NDX", "AAPL", "vol:SPX", "rate"]
SD = np.array([0.012, 0.015, 0.02, 0.06, 0.0005])
CORR = np.array([[1.0, 0.9, 0.6, -0.7, 0.1],
                 [0.9, 1.0, 0.6, -0.6, 0.1],
                 [0.6, 0.6, 1.0, -0.4, 0.0],
                 [-0.7, -0.6, -0.4, 1.0, -0.1],
                 [0.1, 0.1, 0.0, -0.1, 1.0]])
SIGMA = CORR * np.outer(SD, SD)
N = 100_000
# Stated tolerance: every element of the sample covariance within 4.5 standard errors of the
# target, se_ij = sqrt(Var(x_i x_j) / n) with Var(x_i x_j) = k (S_ii S_jj + 2 S_ij^2) - S_ij^2,
# k = 1 for the normal and (df - 2) / (df - 4) for the Student-t (its fourth moments).
Z_TOL = 4.5


def _log_changes(s):
    """Per-scenario factor log changes in FACTORS order (rate: the absolute shift)."""
    return np.column_stack([np.log1p(s.returns), np.log1p(s.vol_shifts[:, :1]),
                            s.rate_shifts[:, None]])


def _assert_covariance(sample_x, target, n, k=1.0):
    sample = sample_x.T @ sample_x / n        # zero mean by construction
    var_prod = k * (np.outer(np.diag(target), np.diag(target)) + 2 * target ** 2) - target ** 2
    z = np.abs(sample - target) / np.sqrt(var_prod / n)
    assert z.max() < Z_TOL, z.max()
    return z


@pytest.mark.parametrize("distribution, df, k", [("normal", None, 1.0), ("t", 8, 6 / 4)])
def test_reproduces_target_covariance(distribution, df, k):
    h = 2
    s = simulation.monte_carlo((FACTORS, SIGMA), n=N, horizon_days=h, seed=3,
                               distribution=distribution, df=df)
    assert s.underlyings == ("SPX", "NDX", "AAPL") and s.n_scenarios == N
    x = _log_changes(s)
    z = _assert_covariance(x, h * SIGMA, N, k)
    assert z.mean() < 2.0               # not just inside the band: centred on the target
    kurt = np.mean(x[:, 0] ** 4) / np.mean(x[:, 0] ** 2) ** 2
    # excess kurtosis 0 (normal) or 6 / (df - 4) = 1.5 (t, df = 8); its sd here is ~0.02-0.1
    assert abs(kurt - 3 - (0 if df is None else 6 / (df - 4))) < 0.5


def test_identical_for_any_thread_count_and_a_prefix_of_a_larger_set():
    args = dict(n=5000, horizon_days=2, seed=11, distribution="t", df=5)
    one = simulation.monte_carlo((FACTORS, SIGMA), n_threads=1, **args)
    for n_threads in (2, 3, 8):
        other = simulation.monte_carlo((FACTORS, SIGMA), n_threads=n_threads, **args)
        assert np.array_equal(one.returns, other.returns)
        assert np.array_equal(one.vol_shifts, other.vol_shifts)
        assert np.array_equal(one.rate_shifts, other.rate_shifts)
    bigger = simulation.monte_carlo((FACTORS, SIGMA), n_threads=2, **{**args, "n": 7000})
    assert np.array_equal(bigger.returns[:5000], one.returns)
    assert not np.array_equal(simulation.monte_carlo((FACTORS, SIGMA), **{**args, "seed": 12})
                              .returns, one.returns)


def test_identical_whatever_the_blas_thread_count():
    code = ("import hashlib, numpy as np, pandas as pd; from pmfast import simulation; "
            "from test_simulation_scenarios_mc import _wide_history; "
            "s = simulation.monte_carlo(_wide_history(), n=3000, seed=5, n_threads={t}); "
            "print(hashlib.sha256(s.returns.tobytes()).hexdigest())")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = set()
    for blas in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": blas, "OMP_NUM_THREADS": blas,
               # the pmfast this test imported (src/ in a checkout, site-packages installed)
               "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(pmfast.__file__)),
                                               os.path.join(root, "tests")])}
        out = subprocess.run([sys.executable, "-c", code.format(t=int(blas))], env=env,
                             cwd=root, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def _wide_history(n_days=40, n_und=60, seed=2):
    """Fewer days than underlyings, a market factor: the low-rank path."""
    rng = np.random.default_rng(seed)
    beta = rng.uniform(0.5, 1.5, n_und)
    x = rng.normal(0, 0.01, (n_days, 1)) * beta + rng.normal(0, 0.01, (n_days, n_und))
    p = 50 * np.exp(np.cumsum(x, axis=0))
    dates = pd.bdate_range("2025-01-01", periods=n_days)
    return pd.DataFrame({"date": np.repeat(dates, n_und),
                         "underlying": np.tile([f"U{j:03d}" for j in range(n_und)], n_days),
                         "price": p.reshape(-1)})


def _x(frame):
    wide = frame.pivot(index="date", columns="underlying", values="price")
    return np.log(wide.to_numpy()[1:] / wide.to_numpy()[:-1])


@pytest.mark.parametrize("n_days, n_und", [(300, 8), (40, 60)])
def test_estimated_covariance_matches_pair_by_pair_twin(n_days, n_und):
    frame = _wide_history(n_days, n_und)
    cov = simulation.estimate_covariance(frame, ewma_lambda=0.97)
    x = _x(frame).tolist()
    plain = np.array(ref.ewma_covariance(x, 0.97))
    delta = ref.schafer_strimmer_delta(x, 0.97)
    assert 0 < delta < 1
    assert cov.shrinkage == pytest.approx(max(delta, 1e-3 if n_days < n_und else 0), rel=1e-10)
    d = np.sqrt(np.diag(plain))
    expected = ((1 - cov.shrinkage) * plain / np.outer(d, d) + cov.shrinkage * np.eye(n_und)) \
        * np.outer(d, d)
    np.testing.assert_allclose(cov.matrix, expected, rtol=1e-10, atol=1e-18)
    assert np.linalg.eigvalsh(cov.matrix / np.outer(d, d)).min() >= cov.shrinkage * (1 - 1e-9)
    assert (cov.data is not None) == (n_days < n_und)


def test_low_rank_draws_reproduce_the_estimated_covariance():
    frame = _wide_history(40, 60)
    cov = simulation.estimate_covariance(frame)
    s = simulation.monte_carlo(cov, n=N, horizon_days=1, seed=4)
    _assert_covariance(np.log1p(s.returns), cov.matrix, N)
    same = simulation.monte_carlo(frame, n=1000, horizon_days=1, seed=4)
    assert np.array_equal(same.returns, s.returns[:1000])


def test_shrinkage_intensity_vectorised_equals_twin_on_unequal_weights():
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, (50, 4)) @ rng.normal(0, 1, (4, 4))
    w = 0.9 ** np.arange(49, -1, -1)
    w /= w.sum()
    sd = np.sqrt(w @ (x * x))
    a = np.sqrt(w)[:, None] * (x / sd)
    assert shrinkage_intensity(a, w) == pytest.approx(
        ref.schafer_strimmer_delta(x.tolist(), 0.9), rel=1e-12)


def test_covariance_given_as_frame_table_or_path(tmp_path):
    frame = pd.DataFrame(SIGMA, index=FACTORS, columns=FACTORS)
    table = frame.reset_index().rename(columns={"index": "factor"})
    path = tmp_path / "cov.csv"
    table.to_csv(path, index=False)
    ref_set = simulation.monte_carlo((FACTORS, SIGMA), n=100, seed=1)
    for source in (frame, table, path):
        s = simulation.monte_carlo(source, n=100, seed=1)
        assert np.array_equal(s.returns, ref_set.returns)


def test_vol_shift_from_spot_vol_beta_and_underlying_subset():
    sig = SIGMA[:3, :3]
    s = simulation.monte_carlo((FACTORS[:3], sig), n=200, seed=2, spot_vol_beta={"SPX": -2.0},
                               underlyings=["AAPL", "SPX"])
    assert s.underlyings == ("AAPL", "SPX") and s.rate_shifts is None
    assert np.array_equal(s.vol_shifts[:, 1], -2.0 * s.returns[:, 1])
    assert np.array_equal(s.vol_shifts[:, 0], np.zeros(200))
    full = simulation.monte_carlo((FACTORS[:3], sig), n=200, seed=2)
    assert not np.array_equal(full.returns[:, 2], s.returns[:, 0])   # a different covariance


def test_not_positive_definite_is_repaired_by_shrinkage():
    bad = np.array([[1.0, 0.99, -0.99], [0.99, 1.0, 0.99], [-0.99, 0.99, 1.0]]) * 1e-4
    cov = simulation.Covariance.from_matrix(bad, ["A", "B", "C"])
    assert cov.shrinkage > 0 and "shrunk" in cov.source
    np.linalg.cholesky(cov.matrix)
    np.testing.assert_allclose(np.diag(cov.matrix), np.diag(bad), rtol=1e-12)
    assert simulation.monte_carlo((["A", "B", "C"], bad), n=10).n_scenarios == 10


@pytest.mark.parametrize("matrix, match", [
    ([[1e-4, 2e-5], [1e-5, 1e-4]], r"covariance: not symmetric at factor pairs 'A/B'"),
    ([[1e-4, 0], [0, -1e-4]], r"variance <= 0 for factor\(s\) 'B'"),
    ([[1e-4, np.nan], [np.nan, 1e-4]], r"not a finite number at factor pairs 'A/B'"),
    ([[1e-4]], r"shape \(1, 1\) for 2 factor names"),
])
def test_bad_covariance_names_factors(matrix, match):
    with pytest.raises(InputError, match=match):
        simulation.monte_carlo((["A", "B"], matrix), n=10)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be an integer"),
    ({"distribution": "cauchy"}, "distribution must be"),
    ({"distribution": "t"}, "df > 2"),
    ({"distribution": "t", "df": 2}, "df > 2"),
    ({"df": 5}, "df is for"),
    ({"horizon_days": -1}, "horizon_days must be >= 0"),
    ({"underlyings": ["ZZZ"]}, r"covariance.factor: no factor 'ZZZ'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        simulation.monte_carlo((FACTORS, SIGMA), **{"n": 10, **kwargs})


def test_vol_and_rate_factors_estimated_from_history():
    """vol:<u> and rate factors: the dense estimate equals the twin's on the stacked daily
    changes (log returns, log vol changes, rate differences), and draws use them."""
    rng = np.random.default_rng(6)
    n_days, unds = 200, ["X", "Y"]
    dates = pd.bdate_range("2025-01-01", periods=n_days)
    m = rng.normal(0, 0.01, n_days)
    x = np.column_stack([m + rng.normal(0, 0.005, n_days), 1.3 * m + rng.normal(0, 0.008, n_days)])
    p = 100 * np.exp(np.cumsum(x, axis=0))
    v = 0.2 * np.exp(np.cumsum(-3 * x + rng.normal(0, 0.02, (n_days, 2)), axis=0))
    frame = pd.DataFrame({"date": np.tile(dates, 2), "underlying": np.repeat(unds, n_days),
                          "price": p.T.reshape(-1), "vol": v.T.reshape(-1)})
    rates = pd.DataFrame({"date": dates, "rate": 0.04 + np.cumsum(rng.normal(0, 5e-4, n_days))})
    cov = simulation.estimate_covariance(frame, rates=rates, vol_factors=True)
    assert cov.factors == ("X", "Y", "vol:X", "vol:Y", "rate")
    changes = np.column_stack([np.diff(np.log(p), axis=0), np.diff(np.log(v), axis=0),
                               np.diff(rates["rate"].to_numpy())])
    plain = np.array(ref.ewma_covariance(changes.tolist(), 0.97))
    delta = ref.schafer_strimmer_delta(changes.tolist(), 0.97)
    assert cov.shrinkage == pytest.approx(delta, rel=1e-10)
    np.testing.assert_allclose(
        cov.matrix, (1 - delta) * plain + delta * np.diag(np.diag(plain)), rtol=1e-10,
        atol=1e-20)
    s = simulation.monte_carlo(frame, n=N, horizon_days=1, seed=9, rates=rates,
                               vol_factors=True)
    _assert_covariance(np.column_stack([np.log1p(s.returns), np.log1p(s.vol_shifts),
                                        s.rate_shifts]), cov.matrix, N)
    assert np.corrcoef(s.returns[:, 0], s.vol_shifts[:, 0])[0, 1] < -0.5   # spot down, vol up

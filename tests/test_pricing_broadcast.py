"""Scalar arguments are broadcast by the core (length-1 columns, pricing.cpp's for_each_view)
instead of as n-long columns built in Python: the values must be bit for bit those of the same
call with every column materialised, for any n_threads, and errors must name the same index."""
import numpy as np
import pytest

from pmfast import pricing
from pmfast.errors import InputError

N = 5_000 + 37  # not a multiple of the 1024-option chunks nor of the 64 lanes


def _book(seed=3):
    rng = np.random.default_rng(seed)
    S = rng.uniform(20, 500, N)
    K = S * rng.uniform(0.7, 1.3, N)
    T = rng.integers(0, 730, N) / 365.0
    vol = rng.uniform(0.0, 0.8, N)
    return rng.choice(np.array([1, -1], np.int8), N), S, K, T, vol


def _full(x):
    return np.full(N, x) if np.ndim(x) == 0 else x


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("scalars", [("r", "q"), ("right", "S", "vol"), ("K", "T", "r", "q")])
def test_bsm_scalars_equal_materialised_columns(scalars, n_threads):
    right, S, K, T, vol = _book()
    args = dict(right=right, S=S, K=K, T=T, r=np.full(N, 0.04), q=np.full(N, 0.012), vol=vol)
    picks = dict(right=-1, S=101.5, K=99.0, T=0.4, r=0.04, q=0.012, vol=0.27)
    for name in scalars:
        args[name] = picks[name]
    full = {k: (np.full(N, v, dtype=np.int8 if k == "right" else float) if np.ndim(v) == 0
                else v) for k, v in args.items()}
    got = pricing.bsm(**args, n_threads=n_threads)
    want = pricing.bsm(**full, n_threads=1)
    assert got.shape == (N,)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("model", ["fixed_point", "bjs2002"])
def test_american_scalars_equal_materialised_columns(model):
    right, S, K, T, vol = _book()
    n = 700
    got = pricing.american(right[:n], S[:n], 100.0, T[:n], 0.03, 0.01, 0.3, model=model,
                           n_threads=2)
    want = pricing.american(right[:n], S[:n], np.full(n, 100.0), T[:n], np.full(n, 0.03),
                            np.full(n, 0.01), np.full(n, 0.3), model=model, n_threads=1)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_black76_scalar_rate_equals_column():
    right, S, K, T, vol = _book()
    np.testing.assert_array_equal(pricing.black76(right, S, K, T, 0.05, vol),
                                  pricing.black76(right, S, K, T, np.full(N, 0.05), vol))


def test_two_dimensional_broadcast_keeps_shape():
    K = np.array([90.0, 100.0, 110.0])
    S = np.array([[95.0], [105.0]])
    got = pricing.bsm("C", S, K, 0.5, 0.02, 0.0, 0.2)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert got[i, j] == pricing.bsm("C", S[i, 0], K[j], 0.5, 0.02, 0.0, 0.2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(r=float("nan")), r"r\[0\] = nan: must be a number"),
    (dict(vol=-0.1), r"vol\[0\] = -0.1: must be >= 0"),
    (dict(q=float("inf")), r"q\[0\] = inf: must be finite"),
])
def test_bad_scalar_is_named_at_index_zero(kwargs, message):
    right, S, K, T, vol = _book()
    args = dict(right=right, S=S, K=K, T=T, r=0.0, q=0.0, vol=vol)
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        pricing.bsm(**args)


def test_bad_column_value_named_with_scalars_around():
    right, S, K, T, vol = _book()
    T = T.copy()
    T[4321] = -1.0
    with pytest.raises(InputError, match=r"T\[4321\] = -1"):
        pricing.bsm(right, S, K, T, 0.01, 0.0, vol)


def test_integer_right_outside_int8_is_rejected():
    # 257 wraps to int8 1: the check runs on the caller's values.
    with pytest.raises(InputError, match=r"right\[1\] = 257"):
        pricing.bsm(np.array([1, 257]), 100.0, 100.0, 0.5, 0.0, 0.0, 0.2)

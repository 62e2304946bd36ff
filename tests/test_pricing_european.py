"""European kernels: published values, the numpy twin, parity and limits."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import pricing
from pmfast._reference import pricing as ref


def _rows(spec_dir, prefix):
    table = pd.read_csv(spec_dir / "examples" / "pricing-reference.csv")
    return table[table["model"] == prefix]


def test_bsm_published_values(spec_dir):
    rows = _rows(spec_dir, "BSM_European")
    assert len(rows) == 45
    got = pricing.bsm(rows["type"].str[0].str.upper(), rows["S"], rows["K"], rows["T"], rows["r"],
                      rows["q"], rows["vol"])
    err = np.abs(got - rows["expected"].to_numpy())
    assert np.all(err <= rows["tolerance"].to_numpy()), rows[err > rows["tolerance"]]


def test_textbook_values():
    assert pricing.bsm("C", 60, 65, 0.25, 0.08, 0, 0.30) == pytest.approx(2.1334, abs=1e-4)
    assert pricing.bsm("P", 100, 95, 0.5, 0.10, 0.05, 0.20) == pytest.approx(2.4648, abs=1e-4)
    assert pricing.black76("C", 19, 19, 0.75, 0.10, 0.28) == pytest.approx(1.7011, abs=1e-4)


def test_compiled_matches_reference_twin():
    rng = np.random.default_rng(7)
    n = 20_000
    args = (rng.choice([1, -1], n), rng.uniform(1, 200, n), rng.uniform(1, 200, n),
            rng.uniform(0, 3, n), rng.uniform(-0.01, 0.1, n), rng.uniform(0, 0.08, n),
            rng.uniform(0.01, 1.5, n))
    got = pricing.bsm(*args)
    want = ref.bsm_value(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_put_call_parity():
    S, K, T, r, q, v = 103.0, 97.0, 0.7, 0.03, 0.015, 0.33
    call, put = pricing.bsm(["C", "P"], S, K, T, r, q, v)
    assert call - put == pytest.approx(S * np.exp(-q * T) - K * np.exp(-r * T), abs=1e-12)


def test_grid_matches_reference_twin():
    rng = np.random.default_rng(3)
    n = 500
    args = (rng.choice([1, -1], n), rng.uniform(10, 200, n), rng.uniform(10, 200, n),
            rng.uniform(0, 2, n), rng.uniform(0, 0.1, n), rng.uniform(0, 0.05, n),
            rng.uniform(0.05, 1.0, n))
    moves = np.linspace(-0.15, 0.15, 10)
    shifts = [-0.25, 0.0, 0.25]
    got = pricing.reprice_grid(*args, moves, shifts, style="european", horizon_days=1)
    want = ref.reprice_grid_european(*args, moves, shifts, horizon_days=1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_threads_give_identical_bits():
    rng = np.random.default_rng(5)
    n = 100_000
    args = (rng.choice([1, -1], n), rng.uniform(1, 200, n), 100.0, rng.uniform(0, 2, n), 0.04,
            0.01, rng.uniform(0.05, 1.0, n))
    one = pricing.reprice_grid(*args, [-0.1, 0.1], style="european", n_threads=1)
    two = pricing.reprice_grid(*args, [-0.1, 0.1], style="european", n_threads=2)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("bad, message", [
    (dict(S=-1.0), r"S\[0\] = -1"),
    (dict(K=np.nan), r"K\[0\] = nan"),
    (dict(right="X"), r"right\[0\]"),
    (dict(T=-0.5), r"T\[0\]"),
])
def test_bad_input_names_argument_and_index(bad, message):
    kwargs = dict(right="C", S=100.0, K=100.0, T=0.5, r=0.05, q=0.0, vol=0.2)
    kwargs.update(bad)
    with pytest.raises(pmfast.InputError, match=message):
        pricing.bsm(**kwargs)

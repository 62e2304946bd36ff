"""European scenario-grid kernel (vectorised across series, libmvec erfc): the twin over wide
inputs, and bit-identical results for any thread split, chunk tails included."""
import numpy as np
from hypothesis import given, settings, strategies as st

from pmfast import pricing
from pmfast._reference import pricing as ref

option = st.tuples(st.sampled_from([1, -1]), st.floats(0.5, 2.0), st.floats(0.0, 5.0),
                   st.floats(-0.01, 0.10), st.floats(0.0, 0.10), st.floats(0.01, 1.5))


@settings(max_examples=80, deadline=None)
@given(st.lists(option, min_size=1, max_size=150), st.booleans(), st.sampled_from([0.0, 1.0, 30.0]),
       st.booleans())
def test_grid_matches_twin(opts, relative, horizon, black76):
    right, m, T, r, q, v = (np.array(c) for c in zip(*opts))
    S = 100.0 * m
    moves = [-1.0, -0.15, -0.05, 0.0, 0.05, 0.15, 0.5]
    shifts = [-0.5, 0.0, 0.3] if relative else [-0.2, 0.0, 0.1]
    kind = "relative" if relative else "absolute"
    got = pricing.reprice_grid(right, S, 100.0, T, r, q, v, moves, shifts, style="european",
                               model="black76" if black76 else "bsm", vol_shift_kind=kind,
                               horizon_days=horizon)
    want = ref.reprice_grid_european(right, S, 100.0, T, r, q, v, moves, shifts,
                                     vol_relative=relative, horizon_days=horizon, black76=black76)
    # Vector erfc and the split log(S/K) + log(1 + m): 1e-12 relative, 1e-12 absolute.
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_thread_split_and_chunk_tails_identical_bits():
    rng = np.random.default_rng(31)
    for n in (1, 63, 64, 65, 1023, 1025, 5000):
        args = (rng.choice([1, -1], n), rng.uniform(1, 200, n), 100.0, rng.uniform(0, 2, n), 0.04,
                0.01, rng.uniform(0.05, 1.0, n))
        one = pricing.reprice_grid(*args, [-0.1, 0.0, 0.1], [0.0, 0.2], style="european", n_threads=1)
        two = pricing.reprice_grid(*args, [-0.1, 0.0, 0.1], [0.0, 0.2], style="european", n_threads=2)
        assert np.array_equal(one, two)
        # A series' values do not depend on its neighbours (lane position is fixed by its index).
        alone = pricing.reprice_grid(*(a[-1:] if np.ndim(a) else a for a in args), [-0.1, 0.0, 0.1],
                                     [0.0, 0.2], style="european", n_threads=1)
        np.testing.assert_allclose(alone[0], one[-1], rtol=1e-15, atol=0)


def test_grid_equals_scalar_pricing_at_each_scenario():
    rng = np.random.default_rng(32)
    n = 300
    right, S, T, v = rng.choice([1, -1], n), rng.uniform(50, 150, n), rng.uniform(0, 2, n), \
        rng.uniform(0.1, 0.9, n)
    grid = pricing.reprice_grid(right, S, 100.0, T, 0.03, 0.02, v, [-0.1, 0.2], [0.0, 0.5],
                                style="european", horizon_days=10)
    T2 = np.maximum(T - 10 / 365, 0)
    for j, (mv, sh) in enumerate([(-0.1, 0.0), (-0.1, 0.5), (0.2, 0.0), (0.2, 0.5)]):
        want = pricing.bsm(right, S * (1 + mv), 100.0, T2, 0.03, 0.02, v * (1 + sh))
        np.testing.assert_allclose(grid[:, j], want, rtol=1e-12, atol=1e-12)

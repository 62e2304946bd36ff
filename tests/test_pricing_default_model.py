"""The default American model is fixed_point (issue 16, item 4): pricing.american,
reprice_grid(style="american") and implied_vol(style="american") use it when no model is given,
and it prices the long-dated put where bjs2002 collapses to about 0."""
import numpy as np
import pytest

from pmfast import pricing

ql = pytest.importorskip("QuantLib")


def test_default_is_fixed_point_everywhere():
    rng = np.random.default_rng(16)
    n = 50
    args = (rng.choice([1, -1], n), rng.uniform(50, 150, n), 100.0, rng.uniform(0.05, 2, n),
            0.05, 0.01, rng.uniform(0.1, 0.6, n))
    fp = pricing.american(*args, model="fixed_point")
    assert pricing.american(*args).tobytes() == fp.tobytes()
    assert not np.array_equal(fp, pricing.american(*args, model="bjs2002"))
    grid = pricing.reprice_grid(*args, [-0.1, 0.0, 0.1])
    assert grid.tobytes() == pricing.reprice_grid(*args, [-0.1, 0.0, 0.1],
                                                  model="fixed_point").tobytes()
    vol = pricing.implied_vol(fp, *args[:6], style="american")
    # where the price carries time value (at intrinsic value the volatility is not identified)
    has_time_value = fp > np.maximum(args[0] * (args[1] - 100.0), 0.0) + 1e-3
    assert has_time_value.sum() > 30
    np.testing.assert_allclose(vol[has_time_value], args[6][has_time_value], rtol=1e-6)


def test_long_dated_put_where_bjs2002_collapses():
    """S=196, K=53, T=168 years, vol 61%, r=10%, q=0: QuantLib's QdFp high-precision engine
    gives 9.7017; bjs2002 gives 2.5e-6."""
    from test_american_fp import quantlib_american

    args = ("P", 196.0, 53.0, 168.0, 0.10, 0.0, 0.61)
    want = quantlib_american(np.array([-1]), np.array([196.0]), np.array([53.0]),
                             np.array([168 * 365]), np.array([0.10]), np.array([0.0]),
                             np.array([0.61]))[0]
    assert want == pytest.approx(9.7017, rel=1e-4)
    assert float(pricing.american(*args)) == pytest.approx(want, rel=2e-3)
    assert float(pricing.american(*args, model="bjs2002")) < 1e-3

"""The fixed-point American engine (model="fixed_point"): accuracy against QuantLib's
high-precision QdFp engine, no-arbitrage bounds, monotonicity, smoothness across a spot grid,
boundary reuse in reprice_grid, threading and the published edge cases."""
import numpy as np
import pandas as pd
import pytest
import QuantLib as ql  # a declared test dependency: missing it must fail, not skip

from pmfast import pricing

FP = "fixed_point"


def quantlib_american(right, S, K, days, r, q, vol):
    """QuantLib's QdFp engine with its high-precision scheme; T = days / 365 exactly."""
    today = ql.Date(1, 1, 2020)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, rate, div, sigma = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(div), dc, ql.Continuous)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc, ql.Continuous)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(sigma), dc)))
    engine = ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme())
    out = np.empty(len(S))
    for i in range(len(S)):
        spot.setValue(float(S[i]))
        rate.setValue(float(r[i]))
        div.setValue(float(q[i]))
        sigma.setValue(float(vol[i]))
        kind = ql.Option.Call if right[i] > 0 else ql.Option.Put
        option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, float(K[i])),
                                  ql.AmericanExercise(today, today + int(days[i])))
        option.setPricingEngine(engine)
        out[i] = option.NPV()
    return out


def random_book(n, seed):
    """The issue's accuracy domain: S = 100, S/K 0.5-2, T 1 day-5 years (log-uniform), vol
    5-150%, r -1%-10%, q 0-10%."""
    rng = np.random.default_rng(seed)
    right = rng.choice([1.0, -1.0], n)
    S = np.full(n, 100.0)
    K = 100.0 / rng.uniform(0.5, 2.0, n)
    days = np.round(np.exp(rng.uniform(0.0, np.log(5 * 365), n))).astype(int)
    r = rng.uniform(-0.01, 0.10, n)
    q = rng.uniform(0.0, 0.10, n)
    vol = rng.uniform(0.05, 1.5, n)
    return right, S, K, days, r, q, vol


def scaled_error(got, want):
    return np.abs(got - want) / np.maximum(want, 0.5)


def test_accuracy_against_quantlib_high_precision():
    # 1,000 options keep QuantLib under ~15 s; benchmarks/test_bench_american.py runs 3,000.
    right, S, K, days, r, q, vol = random_book(1000, seed=2016)
    want = quantlib_american(right, S, K, days, r, q, vol)
    got = pricing.american(right, S, K, days / 365.0, r, q, vol, model=FP)
    err = scaled_error(got, want)
    print(f"fixed_point vs QuantLib QdFp high precision: mean {err.mean():.2e} max {err.max():.2e}")
    assert err.mean() <= 1e-4
    assert err.max() <= 1e-3


@pytest.mark.parametrize("right, r, q", [
    (1.0, -0.005, 0.0),    # call, q = 0, r < 0: put with rate 0 and negative yield
    (1.0, -0.01, 0.03),    # call, r < 0 < q
    (-1.0, 0.05, -0.02),   # put with a negative yield (hard-to-borrow stock)
    (-1.0, 0.03, 0.0305),  # r ~ q: the smooth-pasting form of the fixed point
    (1.0, 0.001, 0.12),    # call, boundary far above the strike
])
def test_rate_regimes_against_quantlib(right, r, q):
    n = 24
    K = np.linspace(60.0, 180.0, n)
    days = np.tile([7, 90, 400, 1500], n // 4)
    vol = np.tile([0.08, 0.3, 0.9], n // 3)
    args = (np.full(n, right), np.full(n, 100.0), K, days, np.full(n, r), np.full(n, q), vol)
    want = quantlib_american(*args)
    got = pricing.american(args[0], args[1], K, days / 365.0, args[4], args[5], vol, model=FP)
    assert scaled_error(got, want).max() <= 1e-3


def test_double_boundary_regime_uses_a_converged_tree():
    # q < r < 0 (put) and r < q < 0 (call) have two exercise boundaries; the engine prices them
    # with a tree (docs/american.md). Check against a much finer, independent tree.
    right = np.array([-1.0, -1.0, 1.0, 1.0])
    S = np.array([100.0, 80.0, 100.0, 130.0])
    r = np.array([-0.01, -0.02, -0.04, -0.03])
    q = np.array([-0.03, -0.05, -0.01, -0.005])
    got = pricing.american(right, S, 100.0, 1.0, r, q, 0.25, model=FP)
    fine = 0.5 * (pricing.crr(right, S, 100.0, 1.0, r, q, 0.25, steps=3000)
                  + pricing.crr(right, S, 100.0, 1.0, r, q, 0.25, steps=3001))
    np.testing.assert_allclose(got, fine, atol=2e-3)
    european = pricing.bsm(right, S, 100.0, 1.0, r, q, 0.25)
    assert np.all(got >= european - 1e-12)


def test_no_arbitrage_bounds():
    rng = np.random.default_rng(5)
    n = 20_000
    right = rng.choice([1.0, -1.0], n)
    S = np.exp(rng.uniform(np.log(1.0), np.log(1000.0), n))
    K = S / np.exp(rng.uniform(np.log(0.2), np.log(5.0), n))
    T = np.exp(rng.uniform(np.log(1e-4), np.log(10.0), n))
    r = rng.uniform(-0.02, 0.15, n)
    q = rng.uniform(-0.02, 0.15, n)
    vol = np.exp(rng.uniform(np.log(1e-3), np.log(3.0), n))
    got = pricing.american(right, S, K, T, r, q, vol, model=FP)
    intrinsic = np.maximum(right * (S - K), 0.0)
    european = pricing.bsm(right, S, K, T, r, q, vol)
    assert np.all(np.isfinite(got))
    assert np.all(got >= intrinsic)
    assert np.all(got >= european * (1 - 1e-12) - 1e-12)
    # Upper bounds: a call is worth less than the share (or the share held to expiry when q < 0),
    # a put less than the strike (or the strike received at expiry when r < 0).
    upper = np.where(right > 0, S * np.maximum(1.0, np.exp(-q * T)),
                     K * np.maximum(1.0, np.exp(-r * T)))
    assert np.all(got <= upper * (1 + 1e-12))


def test_call_without_early_exercise_is_european():
    # With q <= 0 and r >= q a call is never exercised early.
    rng = np.random.default_rng(9)
    n = 2000
    S, K = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    T, vol = rng.uniform(0.01, 3, n), rng.uniform(0.05, 1.0, n)
    q = rng.uniform(-0.03, 0.0, n)
    r = q + rng.uniform(0.0, 0.08, n)
    got = pricing.american("C", S, K, T, r, q, vol, model=FP)
    np.testing.assert_allclose(got, pricing.bsm("C", S, K, T, r, q, vol), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("right", ["C", "P"])
@pytest.mark.parametrize("r, q", [(0.05, 0.0), (0.02, 0.07), (0.04, 0.04), (-0.005, 0.03)])
def test_monotone_in_spot_and_volatility(right, r, q):
    S = np.linspace(40.0, 250.0, 841)
    for T in (0.01, 0.5, 3.0):
        v = pricing.american(right, S, 100.0, T, r, q, 0.3, model=FP)
        step = np.diff(v) if right == "C" else -np.diff(v)
        assert np.all(step >= -1e-10)
    vols = np.linspace(0.02, 2.0, 200)
    for S0 in (70.0, 100.0, 140.0):
        v = pricing.american(right, S0, 100.0, 1.0, r, q, vols, model=FP)
        assert np.all(np.diff(v) >= -1e-10)


@pytest.mark.parametrize("right, r, q, vol, T", [
    ("P", 0.05, 0.0, 0.25, 1.0), ("P", 0.03, 0.08, 0.6, 2.0), ("C", 0.01, 0.06, 0.2, 0.5),
    ("C", -0.005, 0.02, 0.35, 4.0), ("P", 0.08, 0.02, 0.1, 0.05),
])
def test_smooth_across_the_spot_grid(right, r, q, vol, T):
    # The value is convex in S and C1 (smooth pasting at the exercise boundary, where gamma
    # jumps from 0). A kink, a jump s in the slope at a grid point, shows as a gamma estimate at
    # step h exceeding the step-2h estimates around it by about s / h; a gamma jump cannot do
    # that. The discretised boundary leaves a delta jump of a few 1e-4 there (docs/american.md).
    h = 0.05
    S = np.arange(30.0, 300.0, h)
    v = pricing.american(right, S, 100.0, T, r, q, vol, model=FP)
    g1 = (v[2:] - 2 * v[1:-1] + v[:-2]) / h**2
    g2 = (v[4:] - 2 * v[2:-2] + v[:-4]) / (2 * h)**2
    assert g1.min() >= -1e-6
    near = np.lib.stride_tricks.sliding_window_view(np.pad(g2, 2, mode="edge"), 5).max(axis=1)
    slope_jump = np.max(g1[1:-1] - near) * h
    assert slope_jump <= 5e-4
    assert g1.max() > 1e-4  # the grid does cross the region where the value bends


def test_reprice_grid_reuses_the_boundary_without_changing_values():
    rng = np.random.default_rng(21)
    n = 300
    right = rng.choice([1.0, -1.0], n)
    S, K = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    T, r = rng.uniform(0.0, 3.0, n), rng.uniform(-0.01, 0.1, n)
    q, vol = rng.uniform(-0.01, 0.1, n), rng.uniform(0.05, 1.2, n)
    moves = np.array([-0.3, -0.15, -0.05, 0.0, 0.05, 0.15, 0.3])
    shifts = np.array([-0.3, 0.0, 0.3])
    grid = pricing.reprice_grid(right, S, K, T, r, q, vol, moves, shifts, model=FP)
    for m, move in enumerate(moves):
        for v, shift in enumerate(shifts):
            one = pricing.american(right, S * (1.0 + move), K, T, r, q,
                                   np.maximum(vol * (1.0 + shift), 1e-4), model=FP)
            np.testing.assert_array_equal(grid[:, m * len(shifts) + v], one)


def test_threads_give_identical_bits():
    right, S, K, days, r, q, vol = random_book(4000, seed=4)
    moves = np.linspace(-0.2, 0.2, 9)
    one = pricing.reprice_grid(right, S, K, days / 365.0, r, q, vol, moves, [-0.2, 0.2],
                               model=FP, n_threads=1)
    two = pricing.reprice_grid(right, S, K, days / 365.0, r, q, vol, moves, [-0.2, 0.2],
                               model=FP, n_threads=2)
    assert np.array_equal(one, two)


def test_published_edge_cases(spec_dir):
    table = pd.read_csv(spec_dir / "examples" / "pricing-reference.csv")
    rows = table[table["model"] == "American_edge"].copy()
    assert len(rows) == 28
    # The CSV expects 0.0 for the put with T = 0 (QuantLib treats an expired option as
    # worthless); pricing.md says T = 0 is valued at intrinsic, here K - S = 20.
    expired = rows["T"] == 0.0
    assert rows.loc[expired, "expected"].tolist() == [0.0]
    rows.loc[expired, "expected"] = np.maximum(rows.loc[expired, "K"] - rows.loc[expired, "S"], 0)
    got = pricing.american(rows["type"].str[0].str.upper(), rows["S"], rows["K"], rows["T"],
                           rows["r"], rows["q"], rows["vol"], model=FP)
    err = np.abs(got - rows["expected"].to_numpy())
    bad = err > rows["tolerance"].to_numpy()
    assert not bad.any(), rows.assign(got=got)[bad]


def test_limits_are_continuous():
    K, r, q = 100.0, 0.04, 0.02
    S = np.array([0.0, 1e-9, 50.0, 99.0, 100.0, 101.0, 150.0, 1e9])
    for right in ("C", "P"):
        intrinsic = np.maximum((1 if right == "C" else -1) * (S - K), 0.0)
        # T -> 0 tends to intrinsic value.
        tiny_t = pricing.american(right, S, K, 1e-12, r, q, 0.3, model=FP)
        np.testing.assert_allclose(tiny_t, intrinsic, atol=1e-4, rtol=1e-12)
        # vol -> 0 is continuous across the switch to the exact zero-volatility value.
        lo = pricing.american(right, S, K, 1.0, r, q, 0.999e-5, model=FP)
        hi = pricing.american(right, S, K, 1.0, r, q, 1.001e-5, model=FP)
        np.testing.assert_allclose(lo, hi, atol=1e-5 * K, rtol=1e-9)
        for T in (1e-6, 0.1, 5.0):
            v = pricing.american(right, S, K, T, r, q, 0.4, model=FP)
            assert np.all(np.isfinite(v))
    # S -> 0: a put is worth max(K, K e^{-rT}); K -> 0: a call is worth S max(1, e^{-qT}).
    put0 = pricing.american("P", [0.0, 1e-12], K, 2.0, [0.03, -0.01], 0.01, 0.3, model=FP)
    np.testing.assert_allclose(put0, [K, K * np.exp(0.02)], rtol=1e-10)
    call0 = pricing.american("C", 100.0, [0.0, 1e-12], 2.0, 0.03, [0.02, -0.01], 0.3, model=FP)
    np.testing.assert_allclose(call0, [100.0, 100.0 * np.exp(0.02)], rtol=1e-10)

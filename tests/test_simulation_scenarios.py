"""pmfast.simulation given / historical / filtered historical sets against straightforward
twins (pmfast._reference.simulation_scenarios) and hand-made tables."""
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from pmfast import InputError, simulation
from pmfast._reference import simulation_scenarios as ref

UNDS = ["AAA", "BBB", "CCC", "DDD"]


def _history(n_days=80, seed=3, gaps=True, vol=True):
    """A long history with random gaps (never on the first day) in random row order."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2025-01-01", periods=n_days)
    rows = []
    for j, u in enumerate(UNDS):
        p = (20 + 30 * j) * np.exp(np.cumsum(rng.normal(0, 0.01 * (j + 1), n_days)))
        v = 0.2 * np.exp(np.cumsum(rng.normal(0, 0.03, n_days)))
        keep = np.ones(n_days, bool)
        if gaps:
            keep[1:] = rng.random(n_days - 1) > 0.15
        for t in np.flatnonzero(keep):
            rows.append((dates[t].date().isoformat(), u, p[t], v[t]))
    rows = [rows[i] for i in rng.permutation(len(rows))]
    frame = pd.DataFrame(rows, columns=["date", "underlying", "price", "vol"])
    return frame if vol else frame.drop(columns="vol")


def _rows(frame, column="price"):
    return list(zip(frame["date"], frame["underlying"], frame[column]))


# ---- given -----------------------------------------------------------------------------------
def test_given_long_table_to_matrix():
    t = pd.DataFrame({"scenario": ["up", "up", "down", "down"],
                      "underlying": ["X", "Y", "Y", "X"],
                      "return": [0.1, 0.2, -0.3, -0.4], "vol_shift": [0.0, 0.1, 0.5, 0.6]})
    s = simulation.given(t, rates={"scenario": ["down", "up"], "rate_shift": [-0.01, 0.002]},
                         horizon_days=1)
    assert s.labels == ("up", "down") and s.underlyings == ("X", "Y")
    assert s.returns.tolist() == [[0.1, 0.2], [-0.4, -0.3]]
    assert s.vol_shifts.tolist() == [[0.0, 0.1], [0.6, 0.5]]
    assert s.rate_shifts.tolist() == [0.002, -0.01] and s.horizon_days == 1


@pytest.mark.parametrize("form", ["polars", "arrow", "csv"])
def test_given_any_table_form(form, tmp_path):
    t = pd.DataFrame({"scenario": ["001", "001", "002", "002"], "underlying": ["X", "Y"] * 2,
                      "return": [0.01, 0.02, 0.03, 0.04]})
    if form == "polars":
        data = pl.from_pandas(t)
    elif form == "arrow":
        data = pa.Table.from_pandas(t)
    else:
        data = tmp_path / "s.csv"
        t.to_csv(data, index=False)
    s = simulation.given(data)
    assert s.returns.tolist() == [[0.01, 0.02], [0.03, 0.04]]
    assert s.labels == ("001", "002")          # ids stay text


def test_given_stress_appended_with_plus():
    base = simulation.given({"scenario": ["a", "a"], "underlying": ["X", "Y"],
                             "return": [0.01, 0.02]})
    stress = simulation.given({"scenario": ["eq-20"] * 2, "underlying": ["Y", "X"],
                               "return": [-0.2, -0.25], "vol_shift": [1.0, 1.0]},
                              rates={"scenario": ["eq-20"], "rate_shift": [-0.01]},
                              source="stress")
    both = base + stress
    assert both.labels == ("a", "eq-20") and both.returns.tolist() == [[0.01, 0.02],
                                                                       [-0.25, -0.2]]
    assert both.vol_shifts.tolist() == [[0, 0], [1, 1]] and both.rate_shifts.tolist() == [0, -0.01]
    assert simulation.concat(base, stress).labels == both.labels


@pytest.mark.parametrize("table, match", [
    ({"scenario": ["a", "a", "b"], "underlying": ["X", "Y", "X"], "return": [0, 0, 0]},
     r"scenarios.underlying: missing.*'b/Y'"),
    ({"scenario": ["a", "a"], "underlying": ["X", "X"], "return": [0, 0]},
     r"more than one row.*'a/X'"),
    ({"scenario": ["a", "b"], "underlying": ["X", "X"], "return": [0, -1.0]},
     r"scenarios.return: must be > -1.*'b/X'"),
    ({"scenario": ["a", "b"], "underlying": ["X", "X"], "return": [np.nan, 0]},
     r"scenarios.return: .*finite.*scenario/underlying 'a/X'"),
    ({"scenario": ["a", "b"], "underlying": ["X", "X"], "return": [0, 0],
      "vol_shift": [0, np.inf]}, r"scenarios.vol_shift: .*finite.*'b/X'"),
    ({"scenario": ["a"], "underlying": ["X"], "return": ["oops"]},
     r"scenarios.return: not a number.*'a'"),
    ({"scenario": ["a"], "underlying": ["X"]}, r"scenarios.return: required column"),
])
def test_given_bad_input_names_ids(table, match):
    with pytest.raises(InputError, match=match):
        simulation.given(table)


def test_given_missing_zero_and_rate_table_checks():
    t = {"scenario": ["a", "a", "b"], "underlying": ["X", "Y", "X"], "return": [0.1, 0.2, 0.3]}
    s = simulation.given(t, missing="zero")
    assert s.returns.tolist() == [[0.1, 0.2], [0.3, 0.0]] and "'b/Y'" in s.source
    with pytest.raises(InputError, match=r"scenario_rates.scenario:.*rate shift: 'b'"):
        simulation.given(t, missing="zero", rates={"scenario": ["a"], "rate_shift": [0.0]})
    with pytest.raises(InputError, match=r"scenario_rates.rate_shift: .*finite.*'b'"):
        simulation.given(t, missing="zero", rates={"scenario": ["a", "b"],
                                                   "rate_shift": [0.0, np.nan]})


# ---- historical ------------------------------------------------------------------------------
@pytest.mark.parametrize("h", [1, 2, 5])
def test_historical_returns_equal_price_ratios_exactly(h):
    frame = _history()
    s = simulation.historical(frame, horizon_days=h)
    dates, filled = ref.forward_filled(_rows(frame), UNDS)
    _, vols = ref.forward_filled(_rows(frame, "vol"), UNDS)
    assert s.underlyings == tuple(UNDS) and s.horizon_days == h
    assert s.labels == tuple(dates[: len(dates) - h])
    for j, u in enumerate(UNDS):
        p, v = filled[u], vols[u]
        expected = [p[t + h] / p[t] - 1 for t in range(len(dates) - h)]
        assert s.returns[:, j].tolist() == expected                  # exactly
        assert s.vol_shifts[:, j].tolist() == [v[t + h] / v[t] - 1 for t in range(len(v) - h)]


def test_historical_independent_of_row_order_and_table_form(tmp_path):
    frame = _history()
    a = simulation.historical(frame)
    path = tmp_path / "h.parquet"
    frame.sample(frac=1, random_state=9).to_parquet(path)
    for other in (simulation.historical(path), simulation.historical(pl.from_pandas(frame))):
        assert np.array_equal(a.returns, other.returns) and a.labels == other.labels


def test_historical_rates_window_and_late_start():
    frame = _history(n_days=30, gaps=False)
    dates = sorted(frame["date"].unique())
    # rates known on every other date only: as-of join
    rates = pd.DataFrame({"date": dates[::2], "rate": np.linspace(0.04, 0.05, len(dates[::2]))})
    s = simulation.historical(frame, horizon_days=2, rates=rates, window=10)
    asof = [rates["rate"][rates["date"] <= d].iloc[-1] for d in dates[-10:]]
    assert s.labels == tuple(dates[-10:-2])
    assert s.rate_shifts.tolist() == [asof[t + 2] - asof[t] for t in range(8)]
    # an underlying that starts late shortens the common history
    late = frame[~((frame["underlying"] == "DDD") & (frame["date"] < dates[5]))]
    assert simulation.historical(late, horizon_days=1).labels[0] == dates[5]
    # restricting to a book's underlyings ignores the others
    assert simulation.historical(late, horizon_days=1, underlyings=["BBB", "AAA"]).underlyings \
        == ("BBB", "AAA")


@pytest.mark.parametrize("mutate, kwargs, match", [
    (lambda f: f[~((f.underlying == "CCC") & (f.date > "2025-01-02"))], {},
     r"history.price: fewer than 3 prices.*'CCC'"),
    (lambda f: f, {"window": 2}, r"fewer than 3 prices.*'AAA'"),
    (lambda f: f.assign(price=np.where(f.underlying == "BBB", -1.0, f.price)), {},
     r"history.price: must be a positive finite number.*'BBB/"),
    (lambda f: f.assign(vol=np.where(f.underlying == "AAA", np.inf, f.vol)), {},
     r"history.vol: must be a positive.*'AAA/"),
    (lambda f: pd.concat([f, f.iloc[:1]]), {}, r"more than one row for underlying/date"),
    (lambda f: f, {"underlyings": ["AAA", "ZZZ"]}, r"history.underlying: no history for 'ZZZ'"),
    (lambda f: f, {"horizon_days": 0}, r"horizon_days must be a whole number"),
    (lambda f: f, {"horizon_days": 1.5}, r"horizon_days must be a whole number"),
    (lambda f: f, {"rates": {"date": ["2030-01-01"], "rate": [0.01]}},
     r"rates.date: no rate on or before"),
    (lambda f: f.drop(columns="price"), {}, r"history.price: required column"),
])
def test_historical_bad_input_names_ids(mutate, kwargs, match):
    frame = mutate(_history(n_days=12, gaps=False))
    kwargs = {"horizon_days": 2, **kwargs}
    with pytest.raises(InputError, match=match):
        simulation.historical(frame, **kwargs)


# ---- filtered historical ---------------------------------------------------------------------
@pytest.mark.parametrize("h, lam", [(1, 0.97), (2, 0.97), (3, 0.9)])
def test_filtered_matches_straightforward_twin(h, lam):
    frame = _history(n_days=120, seed=11)
    s = simulation.filtered_historical(frame, horizon_days=h, ewma_lambda=lam)
    dates, filled = ref.forward_filled(_rows(frame), UNDS)
    assert s.labels == tuple(dates[: len(dates) - h])
    plain = simulation.historical(frame, horizon_days=h)
    assert np.array_equal(s.vol_shifts, plain.vol_shifts)
    for j, u in enumerate(UNDS):
        expected = ref.ewma_rescaled_returns(filled[u], h, lam)
        np.testing.assert_allclose(s.returns[:, j], expected, rtol=1e-12, atol=1e-15)


def test_filtered_rescales_to_todays_volatility():
    """A calm history ending in a volatile month: rescaled past days are larger than they were."""
    rng = np.random.default_rng(5)
    x = np.r_[rng.normal(0, 0.005, 200), rng.normal(0, 0.03, 25)]
    frame = pd.DataFrame({"date": pd.bdate_range("2025-01-01", periods=226),
                          "underlying": "X", "price": 100 * np.exp(np.r_[0, np.cumsum(x)])})
    plain = simulation.historical(frame, horizon_days=1).returns[:150, 0]
    filt = simulation.filtered_historical(frame, horizon_days=1).returns[:150, 0]
    assert np.std(filt) > 3 * np.std(plain)


def test_filtered_needs_the_seed_days():
    with pytest.raises(InputError, match=r"fewer than 21 prices.*EWMA seed.*'AAA'"):
        simulation.filtered_historical(_history(n_days=15, gaps=False), horizon_days=1)
    with pytest.raises(InputError, match="ewma_lambda"):
        simulation.filtered_historical(_history(n_days=30), ewma_lambda=1.0)


def test_filtered_flat_seed_period_keeps_returns_unscaled():
    """A price flat for the first 25 days: sigma_t = 0 there, so the first moves stay as they
    are (no division by zero), as in the twin."""
    rng = np.random.default_rng(2)
    x = np.r_[np.zeros(25), rng.normal(0, 0.01, 40)]
    p = list(100 * np.exp(np.r_[0, np.cumsum(x)]))
    frame = pd.DataFrame({"date": pd.bdate_range("2025-01-01", periods=len(p)),
                          "underlying": "X", "price": p})
    s = simulation.filtered_historical(frame, horizon_days=1)
    assert np.isfinite(s.returns).all()
    np.testing.assert_allclose(s.returns[:, 0], ref.ewma_rescaled_returns(p, 1, 0.97),
                               rtol=1e-12, atol=1e-15)
    assert s.returns[25, 0] == pytest.approx(np.expm1(x[25]), rel=1e-12)   # sigma_25 = 0


def test_bounds_are_input_errors(monkeypatch):
    import sys
    monkeypatch.setattr(sys.modules["pmfast.simulation._history"], "MAX_CELLS", 10)
    with pytest.raises(InputError, match=r"history: 12 dates x 4 underlyings exceed"):
        simulation.historical(_history(n_days=12, gaps=False))
    monkeypatch.setattr(sys.modules["pmfast.simulation.given"], "MAX_CELLS", 3)
    with pytest.raises(InputError, match=r"scenarios: 2 scenarios x 2 underlyings exceed"):
        simulation.given({"scenario": ["a", "a", "b", "b"], "underlying": ["X", "Y"] * 2,
                          "return": [0.0] * 4})


"""The synthetic history (pmfast.generate(..., history_days=N), pmfast generate --history N):
deterministic, consistent with the book, with the factor structure it promises."""
import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import pmfast
from pmfast import InputError, simulation
from pmfast.cli import main
from pmfast.synthetic_history import FUND_FEE, TRADING_DAYS, generate_history

DAYS = 750


@pytest.fixture(scope="module")
def generated():
    return pmfast.generate(accounts=300, seed=4, history_days=DAYS)


@pytest.fixture(scope="module")
def wide(generated):
    h = generated["history"].to_pandas()
    price = h.pivot(index="date", columns="underlying", values="price")
    vol = h.pivot(index="date", columns="underlying", values="vol")
    return price, vol


def test_deterministic_and_the_book_unchanged(generated):
    again = pmfast.generate(accounts=300, seed=4, history_days=DAYS)
    assert again["history"].equals(generated["history"]) and again["rates"].equals(
        generated["rates"])
    plain = pmfast.generate(accounts=300, seed=4)
    for name in plain:
        assert plain[name].equals(generated[name])
    other = generate_history(generated["underlyings"], DAYS, seed=5)
    assert not other["history"].equals(generated["history"])
    with pytest.raises(InputError, match="history_days returns the history as tables"):
        pmfast.generate(accounts=10, history_days=5, as_book=True)
    with pytest.raises(InputError, match="history days must be an integer"):
        generate_history(generated["underlyings"], 0)


def test_ends_today_at_the_books_prices_vols_and_rate(generated, wide):
    price, vol = wide
    und = generated["underlyings"].to_pandas().set_index("underlying")
    assert str(price.index[-1]) == "2026-11-20" and len(price) == DAYS + 1
    assert not price.isna().any().any() and (price.to_numpy() > 0).all()
    np.testing.assert_allclose(price.iloc[-1][und.index], und["price"], rtol=1e-13)
    np.testing.assert_allclose(vol.iloc[-1][und.index], und["volatility"], rtol=1e-13)
    rates = generated["rates"].to_pandas()
    assert rates["rate"].iloc[-1] == pytest.approx(0.045, abs=1e-15)
    assert np.abs(np.diff(rates["rate"])).max() < 0.005        # basis points a day, not jumps
    assert len(np.unique(price.index.map(lambda d: d.weekday()))) == 5   # weekdays only


def test_leveraged_and_tracking_funds_follow_their_index(wide):
    price, _ = wide
    spx = price["SPX"].pct_change().dropna()
    for fund, lev in (("UPRO", 3.0), ("SSO", 2.0), ("SH", -1.0), ("SDS", -2.0), ("SPXU", -3.0)):
        r = price[fund].pct_change().dropna()
        np.testing.assert_allclose(r, np.maximum(lev * spx - FUND_FEE / TRADING_DAYS, -0.99),
                                   rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(price["XSP"] / price["SPX"], 0.1, rtol=1e-12)
    assert np.std(np.log(price["SPY"]).diff().dropna() - np.log(price["SPX"]).diff().dropna()) \
        < 0.0005


def test_factor_structure_clustering_and_spot_vol(wide):
    price, vol = wide
    x = np.log(price).diff().dropna()
    stocks = x.filter(regex=r"^S\d")
    corr = np.corrcoef(stocks.T.to_numpy())
    mean_pair = (corr.sum() - len(corr)) / (len(corr) ** 2 - len(corr))
    assert 0.08 < mean_pair < 0.6                    # a market factor, not one stock
    # the first principal component's share: ~0.02 at most for independent stocks here
    # (Marchenko-Pastur edge (1 + sqrt(N / T))^2 / N)
    assert np.linalg.eigvalsh(corr)[-1] / len(corr) > 0.08
    spx = x["SPX"].to_numpy()
    acf = [np.corrcoef(spx[k:] ** 2, spx[:-k] ** 2)[0, 1] for k in range(1, 11)]
    assert np.mean(acf) > 0.03                       # volatility clusters
    dv = np.log(vol).diff().dropna()
    assert np.corrcoef(spx, dv["SPX"])[0, 1] < -0.4  # vols rise when prices fall
    assert np.corrcoef(stocks.iloc[:, 0], dv[stocks.columns[0]])[0, 1] < -0.2
    assert x["NDX"].corr(x["SOX"]) > x["DJX"].corr(x["SOX"])   # a shared tech sector


def test_realised_volatility_near_the_quoted_one(generated, wide):
    price, _ = wide
    und = generated["underlyings"].to_pandas().set_index("underlying")
    stocks = [u for u in price.columns if u.startswith("S0") and und.loc[u, "leverage"] == 1]
    realised = np.log(price[stocks]).diff().std() * np.sqrt(TRADING_DAYS)
    ratio = realised / und.loc[stocks, "volatility"]
    assert 0.7 < ratio.median() < 1.3


def test_history_feeds_every_scenario_builder(generated):
    book_unds = generated["underlyings"].column("underlying").to_pylist()
    hs = simulation.historical(generated["history"], horizon_days=2, rates=generated["rates"],
                               underlyings=book_unds)
    assert hs.n_scenarios == DAYS - 1 and hs.underlyings == tuple(book_unds)
    assert hs.rate_shifts is not None and np.abs(hs.vol_shifts).max() > 0
    fh = simulation.filtered_historical(generated["history"], horizon_days=2)
    assert fh.labels == hs.labels
    mc = simulation.monte_carlo(generated["history"], n=500, seed=1, rates=generated["rates"])
    assert mc.n_underlyings == len(book_unds) and mc.rate_shifts is not None


def test_cli_generate_history(tmp_path):
    out = tmp_path / "book"
    result = CliRunner().invoke(main, ["generate", "--accounts", "50", "--history", "30",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    history = pq.read_table(out / "history.parquet")
    assert history.column_names == ["date", "underlying", "price", "vol"]
    assert pq.read_table(out / "rates.parquet").num_rows == 31
    assert history.num_rows == 31 * pq.read_table(out / "underlyings.parquet").num_rows
    assert simulation.historical(out / "history.parquet", rates=out / "rates.parquet") \
        .n_scenarios == 29

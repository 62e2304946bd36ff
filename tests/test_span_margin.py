"""span_margin against independent numbers: the published worked examples (reference §1.10,
CME's spread illustrations), hand-checked Takasbank portfolios read straight from the file, the
numpy twin, and invariance to n_threads and row order."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast import InputError
from pmfast.span.params import CombinedCommodity, Spread, SpreadLeg, SpotRate, Tier
from span_helpers import (TAKAS, linear_future, need, raw_contract, raw_price_scan,
                          synthetic_params)


@pytest.fixture(scope="module")
def takas():
    return pmfast.span.load(need(TAKAS))


def fut(product, period, q, account="A"):
    return {"account": account, "product": product, "kind": "future", "period": period,
            "strike": np.nan, "right": None, "quantity": q}


def opt(product, period, right, strike, q, account="A"):
    return {"account": account, "product": product, "kind": "option", "period": period,
            "strike": strike, "right": right, "quantity": q}


def one(res):
    assert len(res.accounts) == 1
    return res.accounts.iloc[0]


# -- published worked examples -----------------------------------------------------------------
ES = np.array([0, 0, -2000, -2000, 2000, 2000, -4000, -4000, 4000, 4000, -6000, -6000, 6000, 6000,
               -5940, 5940], dtype=float)


def es_params():
    cc = CombinedCommodity(code="ES", currency="USD", intra_spreads=[
        Spread(priority=1, rate=100.0, legs=[SpreadLeg("ES", 0, "A", 1.0),
                                             SpreadLeg("ES", 0, "B", 1.0)])])
    cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    rows = [("ES", "future", pe, np.nan, "", "ES", ES, 1.0, 2511.0, 50.0, False)
            for pe in ("201903", "201906")]
    return synthetic_params(rows, [cc])


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_es_real_array_outright_and_extreme(engine):
    """Reference §1.10(a): long 1 ESH9 -> scan 6,000 (scenario 13); the extreme scenario 16
    loses 5,940 = 3 x 6,000 x 0.33 and is already weighted (never re-applied)."""
    p = es_params()
    res = pmfast.span_margin(pd.DataFrame([fut("ES", "201903", 1)]), p, engine=engine)
    row = one(res)
    assert row["scan_risk"] == 6000.0 and row["requirement"] == 6000.0
    assert res.combined["worst_scenario"].iloc[0] == 13
    assert res.scenario_losses("A").loc["ES", 16] == 5940.0
    short = one(pmfast.span_margin(pd.DataFrame([fut("ES", "201903", -1)]), p, engine=engine))
    assert short["scan_risk"] == 6000.0
    # calendar spread with identical arrays: scan 0, the intra charge is the requirement
    cal = one(pmfast.span_margin(pd.DataFrame([fut("ES", "201903", 1), fut("ES", "201906", -1)]),
                                 p, engine=engine))
    assert cal["scan_risk"] == 0.0 and cal["intra_charge"] == 100.0 and cal["requirement"] == 100.0


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_mcmillan_covered_write_scan_6620(engine):
    """Reference §1.10(b): long 1 S&P future + short 1 call; portfolio P/L per scenario is
    published; scan risk 6,620 in scenario 13 (futures down 3/3, vol up)."""
    pnl = np.array([-460, 610, 690, 1600, -2060, -990, 1460, 2130, -4130, -3240, 1940, 2360,
                    -6620, -6010, 3870, -5500], dtype=float)
    future = linear_future(10000.0, extreme_mult=2.0, fraction=0.35)
    call = future + pnl          # long-call array such that future - call = -pnl
    cc = CombinedCommodity(code="SP", currency="USD")
    cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    p = synthetic_params([("SP", "future", "199012", np.nan, "", "SP", future, 1.0, 0, 500, False),
                          ("SP", "option", "199012", 410.0, "C", "SP", call, 0.5, 0, 500, False)],
                         [cc])
    pos = pd.DataFrame([fut("SP", "199012", 1), opt("SP", "199012", "C", 410.0, -1)])
    res = pmfast.span_margin(pos, p, engine=engine)
    assert one(res)["scan_risk"] == pytest.approx(6620.0, abs=1e-9)
    assert res.combined["worst_scenario"].iloc[0] == 13


def two_month_cc(psr1, psr2, rate, spot=()):
    cc = CombinedCommodity(code="CC", currency="USD", intra_spreads=[
        Spread(priority=1, rate=rate, legs=[SpreadLeg("CC", 0, "A", 1.0),
                                            SpreadLeg("CC", 0, "B", 1.0)])],
        spot_rates=list(spot))
    cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    rows = [("F", "future", "202501", np.nan, "", "CC", linear_future(psr1), 1.0, 0, 1, False),
            ("F", "future", "202502", np.nan, "", "CC", linear_future(psr2), 1.0, 0, 1, False)]
    return synthetic_params(rows, [cc])


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_cme_intra_spread_illustration(engine):
    """cmegroup.com spread-calc page: +1/-1 with outrights 500/500 and charge 200 -> 200;
    with outrights 500/750 and charge 50 -> 300 = (750 - 500) + 50."""
    pos = pd.DataFrame([fut("F", "202501", 1), fut("F", "202502", -1)])
    assert one(pmfast.span_margin(pos, two_month_cc(500, 500, 200), engine=engine))[
        "requirement"] == 200.0
    row = one(pmfast.span_margin(pos, two_month_cc(500, 750, 50), engine=engine))
    assert row["scan_risk"] == 250.0 and row["intra_charge"] == 50.0
    assert row["requirement"] == 300.0


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_cme_inter_commodity_illustration(engine):
    """cmegroup.com: corn vs soybeans 2:1, credit 55 %, outrights 1,750 / 2,500: outright
    total 6,000, credit 3,300, net 2,700."""
    ccs = []
    for code in ("C", "S"):
        cc = CombinedCommodity(code=code, currency="USD")
        cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
        ccs.append(cc)
    inter = [Spread(priority=1, rate=0.55, charge_meth="W",
                    legs=[SpreadLeg("C", 0, "A", 2.0), SpreadLeg("S", 0, "B", 1.0)])]
    p = synthetic_params([("ZC", "future", "202503", np.nan, "", "C", linear_future(1750), 1.0,
                           0, 1, False),
                          ("ZS", "future", "202503", np.nan, "", "S", linear_future(2500), 1.0,
                           0, 1, False)], ccs, inter)
    pos = pd.DataFrame([fut("ZC", "202503", 2), fut("ZS", "202503", -1)])
    row = one(pmfast.span_margin(pos, p, engine=engine))
    assert row["scan_risk"] == 6000.0
    assert row["inter_credit"] == pytest.approx(3300.0, rel=1e-15)
    assert row["requirement"] == pytest.approx(2700.0, rel=1e-15)
    # the other direction earns the same credit; the same sign on both legs earns none
    pos2 = pd.DataFrame([fut("ZC", "202503", -2), fut("ZS", "202503", 1)])
    assert one(pmfast.span_margin(pos2, p, engine=engine))["inter_credit"] == \
        pytest.approx(3300.0)
    pos3 = pd.DataFrame([fut("ZC", "202503", 2), fut("ZS", "202503", 1)])
    assert one(pmfast.span_margin(pos3, p, engine=engine))["inter_credit"] == 0.0


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_delivery_month_charge(engine):
    """Long 3 front / short 1 back, spread charge 50, front month in delivery with 10 per delta
    consumed by spreads and 30 per delta left outright: 1 spread, spot 1 x 10 + 2 x 30 = 70,
    scan on the net long 2 = 200."""
    p = two_month_cc(100, 100, 50, spot=[SpotRate("202501", 10.0, 30.0)])
    row = one(pmfast.span_margin(pd.DataFrame([fut("F", "202501", 3), fut("F", "202502", -1)]),
                                 p, engine=engine))
    assert (row["scan_risk"], row["intra_charge"], row["spot_charge"]) == (200.0, 50.0, 70.0)
    assert row["requirement"] == 320.0


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_currency_conversion_to_base(engine):
    usd = CombinedCommodity(code="U", currency="USD")
    trl = CombinedCommodity(code="T", currency="TRY")
    for cc in (usd, trl):
        cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    p = synthetic_params([("UF", "future", "1", np.nan, "", "U", linear_future(100), 1.0, 0, 1,
                           False),
                          ("TF", "future", "1", np.nan, "", "T", linear_future(100), 1.0, 0, 1,
                           False)], [usd, trl], fx={("USD", "TRY"): 2.9765}, base="TRY")
    res = pmfast.span_margin(pd.DataFrame([fut("UF", "1", 1), fut("TF", "1", 1)]), p,
                             engine=engine)
    assert one(res)["scan_risk"] == pytest.approx(100 * 2.9765 + 100)
    assert one(res)["currency"] == "TRY"


# -- hand-checked Takasbank portfolios (arrays read from the file by regex) ---------------------
def test_takasbank_outright_future(takas):
    psr = raw_price_scan("AKBNKE", "201605S0")
    row = one(pmfast.span_margin(pd.DataFrame([fut("AKBNKE", "201605S0", 1)]), takas))
    assert psr == 90.0
    assert row["scan_risk"] == pytest.approx(psr, abs=1e-12)
    assert row["intra_charge"] == 0 and row["som"] == 0 and row["net_option_value"] == 0
    assert row["requirement"] == pytest.approx(90.0)
    assert row["maintenance"] == pytest.approx(0.75 * 90.0)   # adjRate 0.75 from the file


def test_takasbank_calendar_spread(takas):
    """Identical arrays in May and June: scan 0, one spread at the file's 90 TRY; a 3:1:1
    book forms two spreads and leaves one outright."""
    row = one(pmfast.span_margin(pd.DataFrame([fut("AKBNKE", "201605S0", 1),
                                               fut("AKBNKE", "201606S0", -1)]), takas))
    assert abs(row["scan_risk"]) < 1e-9 and row["intra_charge"] == 90.0
    assert row["requirement"] == pytest.approx(90.0)
    row = one(pmfast.span_margin(pd.DataFrame([fut("AKBNKE", "201605S0", 3),
                                               fut("AKBNKE", "201606S0", -1),
                                               fut("AKBNKE", "201607S0", -1)]), takas))
    assert row["intra_charge"] == 180.0 and row["scan_risk"] == pytest.approx(90.0)


@pytest.mark.parametrize("round_scan", [False, True])
def test_takasbank_short_call_and_put(takas, round_scan):
    pc, ac, _ = raw_contract(10813)     # AKBNKE 201605S0 C 7.00
    pp, ap, _ = raw_contract(10824)     # AKBNKE 201605S0 P 7.00
    loss = -(ac + ap)
    scan = max(0.0, loss.max())
    if round_scan:
        scan = np.floor(scan + 0.5)
    som = 15.0 * 2                      # GROSS: 2 short options x the file's 15 TRY
    nov = -(pc + pp) * 100              # short premium-style options: value owed
    pos = pd.DataFrame([opt("AKBNKE", "201605S0", "C", 7.0, -1),
                        opt("AKBNKE", "201605S0", "P", 7.0, -1)])
    row = one(pmfast.span_margin(pos, takas, round_scan=round_scan))
    assert row["scan_risk"] == pytest.approx(scan, rel=1e-12)
    assert row["som"] == som and row["net_option_value"] == pytest.approx(nov)
    assert row["risk"] == pytest.approx(max(scan, som))
    assert row["requirement"] == pytest.approx(max(scan, som) - nov)
    assert row["maintenance"] == pytest.approx(0.75 * max(scan, som))
    if round_scan:
        assert row["scan_risk"] == int(row["scan_risk"]) and scan != max(0, loss.max())
    via_rules = one(pmfast.span_margin(pos, takas, rules={"round_scan": round_scan}))
    assert via_rules["scan_risk"] == row["scan_risk"]


def test_takasbank_covered_call(takas):
    _, af, _ = raw_contract(10651)      # AKBNKE 201605S0 future
    pc, ac, _ = raw_contract(10813)
    scan = max(0.0, (af - ac).max())
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1), opt("AKBNKE", "201605S0", "C", 7.0, -1)])
    row = one(pmfast.span_margin(pos, takas))
    assert row["scan_risk"] == pytest.approx(scan, rel=1e-12)
    assert row["intra_charge"] == 0.0              # one month: nothing to spread
    assert row["som"] == 15.0
    assert row["requirement"] == pytest.approx(max(scan, 15.0) + pc * 100)


def test_takasbank_cross_commodity_credit(takas):
    """100 AKBNKE futures vs -8 XU030: the file's spread 3 (AKBNKE A 12.75 : XU030 B 1, 60 %)
    forms 100 / 12.75 = 7.843 spreads; for futures the weighted futures price risk is the
    price scan range (90 and 955 TRY per delta)."""
    psr_a, psr_x = raw_price_scan("AKBNKE", "201605S0"), raw_price_scan("XU030", "201606S0")
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 100), fut("XU030", "201606S0", -8)])
    res = pmfast.span_margin(pos, takas)
    n = 100 / 12.75
    comb = res.combined.set_index("cc")
    assert comb.loc["AKBNKE", "inter_credit"] == pytest.approx(n * 12.75 * psr_a * 0.6)
    assert comb.loc["XU030", "inter_credit"] == pytest.approx(n * 1.0 * psr_x * 0.6)
    scan = 100 * psr_a + 8 * psr_x
    credit = n * 12.75 * psr_a * 0.6 + n * psr_x * 0.6
    assert one(res)["requirement"] == pytest.approx(scan - credit)


# -- the twin, threads, row order -----------------------------------------------------------------
@pytest.fixture(scope="module")
def book(takas):
    from pmfast.span.generate import generate_span_positions
    return generate_span_positions(takas, n_accounts=400, positions_per_account=10, seed=7)


def test_core_equals_twin_bit_for_bit(takas, book):
    core = pmfast.span_margin(book, takas, n_threads=2)
    twin = pmfast.span_margin(book, takas, engine="twin")
    pd.testing.assert_frame_equal(core.combined, twin.combined, check_exact=True)
    pd.testing.assert_frame_equal(core.accounts, twin.accounts, check_exact=True)
    comb = core.combined
    # the book exercises every charge
    for col in ("scan_risk", "intra_charge", "inter_credit", "som", "net_option_value"):
        assert (comb[col] != 0).any(), col


def test_same_numbers_for_any_threads_and_row_order(takas, book):
    base = pmfast.span_margin(book, takas, n_threads=1).accounts
    for nt in (2, 3):
        pd.testing.assert_frame_equal(pmfast.span_margin(book, takas, n_threads=nt).accounts,
                                      base, check_exact=True)
    shuffled = book.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(pmfast.span_margin(shuffled, takas).accounts, base,
                                  check_exact=True)


def test_accounts_sum_the_combined_rows(takas, book):
    res = pmfast.span_margin(book, takas)
    summed = res.combined.groupby("account")[["scan_risk", "risk", "net_option_value"]].sum()
    acc = res.accounts.set_index("account")
    for col in summed:
        np.testing.assert_allclose(acc.loc[summed.index, col], summed[col], rtol=1e-12)
    np.testing.assert_allclose(acc["requirement"], acc["risk"] - acc["net_option_value"])


# -- bad input ------------------------------------------------------------------------------------
BAD = [
    (fut("NOSUCH", "201605S0", 1, "B"), "product", "unknown product"),
    (fut("AKBNKE", "209912S0", 1, "B"), "period", "unknown period"),
    (opt("AKBNKE", "201605S0", "C", 6.1, 1, "B"), "strike", "unknown strike"),
    (opt("AKBNKE", "201605S0", "X", 7.0, 1, "B"), "right", "is not C or P"),
    (fut("AKBNKE", "201605S0", np.nan, "B"), "quantity", "not a finite number"),
    (fut("AKBNKE", "201605S0", np.inf, "B"), "quantity", "not a finite number"),
]


@pytest.mark.parametrize("row,column,why", BAD)
def test_bad_row_raises_naming_account_and_contract(takas, row, column, why):
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1, "A"), row])
    with pytest.raises(InputError) as err:
        pmfast.span_margin(pos, takas)
    msg = str(err.value)
    assert "account B" in msg and row["product"] in msg and why in msg


@pytest.mark.parametrize("row,column,why", BAD)
def test_bad_row_collected_rejects_only_its_account(takas, row, column, why):
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1, "A"), row,
                        fut("AKBNKE", "201605S0", 2, "B")]
                       if row["product"] != "AKBNKE" or row["kind"] != "future" else
                       [fut("AKBNKE", "201605S0", 1, "A"), row])
    res = pmfast.span_margin(pos, takas, errors="collect")
    acc = res.accounts.set_index("account")
    assert list(acc.index) == ["A", "B"]
    assert acc.loc["A", "status"] == "ok" and acc.loc["A", "requirement"] == pytest.approx(90)
    assert acc.loc["B", "status"] == "rejected" and np.isnan(acc.loc["B", "requirement"])
    assert list(res.errors["account"]) == ["B"] and list(res.errors["column"]) == [column]


def test_duplicated_row(takas):
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1, "A"), fut("AKBNKE", "201605S0", 1, "B"),
                        fut("AKBNKE", "201605S0", 2, "B")])
    with pytest.raises(InputError, match="account B: AKBNKE future 201605S0.*duplicated"):
        pmfast.span_margin(pos, takas)
    res = pmfast.span_margin(pos, takas, errors="collect")
    assert res.accounts["status"].tolist() == ["ok", "rejected"]
    assert "duplicated" in res.errors["reason"].iloc[0]


def test_bad_arguments(takas):
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1)])
    with pytest.raises(InputError, match="errors must be"):
        pmfast.span_margin(pos, takas, errors="ignore")
    with pytest.raises(InputError, match="unknown key"):
        pmfast.span_margin(pos, takas, rules={"round": True})
    with pytest.raises(InputError, match="missing required column"):
        pmfast.span_margin(pos.drop(columns="period"), takas)


def test_positions_from_csv_and_path_params(tmp_path, takas):
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1), opt("AKBNKE", "201605S0", "C", 7.0, -1)])
    pos.to_csv(tmp_path / "p.csv", index=False)
    a = pmfast.span_margin(tmp_path / "p.csv", TAKAS).accounts
    b = pmfast.span_margin(pos, takas).accounts
    pd.testing.assert_frame_equal(a, b)


def test_sorted_search_fallback_maps_the_same(takas, book, monkeypatch):
    """Files whose key space is too large for the dense lookup tables use a sorted search."""
    import pmfast.span.positions as positions
    from pmfast.span.params import SpanParams
    dense = pmfast.span_margin(book, takas).accounts
    monkeypatch.setattr(positions, "DENSE_BASE_MAX", 0)
    monkeypatch.setattr(positions, "_fast_contracts", lambda tbl, params: None)
    fresh = SpanParams(**{f: getattr(takas, f) for f in SpanParams.__dataclass_fields__})
    sparse = pmfast.span_margin(book, fresh).accounts
    assert not fresh._keys["dense"]
    pd.testing.assert_frame_equal(sparse, dense, check_exact=True)
    bad = book.iloc[:1].assign(strike=[123.456], kind=["option"], right=["C"])
    with pytest.raises(InputError, match="unknown"):
        pmfast.span_margin(bad, fresh)


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_scanning_tiers_are_added_not_offset(engine):
    """With scanning tiers (front month, back months) a +1/-1 calendar spread is scanned per
    tier and the tiers added: 100 + 100, not the 0 of a single scan."""
    p = two_month_cc(100, 100, 0.0)
    p.ccs[0].scan_tiers = [Tier(1, "202501", "202501"), Tier(2, "202502", "202512")]
    row = one(pmfast.span_margin(pd.DataFrame([fut("F", "202501", 1), fut("F", "202502", -1)]),
                                 p, engine=engine))
    assert row["scan_risk"] == 200.0
    one_tier = one(pmfast.span_margin(pd.DataFrame([fut("F", "202501", 1),
                                                    fut("F", "202502", -1)]),
                                      two_month_cc(100, 100, 0.0), engine=engine))
    assert one_tier["scan_risk"] == 0.0


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_cap_anov_limits_long_option_value_to_own_risk(engine):
    """A long option worth 500 (price 5 x cvf 100) in a CC whose scan risk is 120: without the
    cap the requirement is 120 - 500 = -380 (a credit); with capAnov it is 120 - 120 = 0."""
    cc = CombinedCommodity(code="O", currency="USD")
    cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    arr = np.full(16, -10.0)
    arr[3] = 120.0
    rows = [("OP", "option", "202503", 50.0, "C", "O", arr, 0.5, 5.0, 100.0, True)]
    pos = pd.DataFrame([opt("OP", "202503", "C", 50.0, 1)])
    free = one(pmfast.span_margin(pos, synthetic_params(rows, [cc]), engine=engine))
    assert (free["risk"], free["net_option_value"], free["requirement"]) == (120, 500, -380)
    cc.cap_anov = True
    capped = one(pmfast.span_margin(pos, synthetic_params(rows, [cc]), engine=engine))
    assert (capped["net_option_value"], capped["requirement"]) == (120, 0)


@pytest.mark.parametrize("engine", ["core", "twin"])
def test_period_legs_walk_in_priority_order(engine):
    """Month legs (XML pLeg): spread 1 = months 1/3 at 50, spread 2 = months 1/2 at 80.
    +2 / -1 / -1 forms one of each: 130. Swapping the priorities cannot change the count here,
    but a book of +1 / -1 / -1 forms only the first-priority spread: 50."""
    cc = CombinedCommodity(code="P", currency="USD", intra_spreads=[
        Spread(1, 50.0, [SpreadLeg("P", -1, "A", 1.0, "202501"),
                         SpreadLeg("P", -1, "B", 1.0, "202503")]),
        Spread(2, 80.0, [SpreadLeg("P", -1, "A", 1.0, "202501"),
                         SpreadLeg("P", -1, "B", 1.0, "202502")])])
    cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
    rows = [("F", "future", pe, np.nan, "", "P", linear_future(100), 1.0, 0, 1, False)
            for pe in ("202501", "202502", "202503")]
    p = synthetic_params(rows, [cc])
    two = pd.DataFrame([fut("F", "202501", 2), fut("F", "202502", -1), fut("F", "202503", -1)])
    assert one(pmfast.span_margin(two, p, engine=engine))["intra_charge"] == 130.0
    single = pd.DataFrame([fut("F", "202501", 1), fut("F", "202502", -1),
                           fut("F", "202503", -1)])
    assert one(pmfast.span_margin(single, p, engine=engine))["intra_charge"] == 50.0


def test_categorical_and_arrow_dictionary_columns(takas, book):
    """Pre-encoded columns (pandas Categorical, Arrow dictionary) take the no-hashing path and
    give the same numbers; integer-looking periods read from CSV as numbers are text again."""
    import pyarrow as pa
    base = pmfast.span_margin(book, takas).accounts
    cat = book.astype({c: "category" for c in ("account", "product", "kind", "period",
                                                "right")})
    pd.testing.assert_frame_equal(pmfast.span_margin(cat, takas).accounts, base,
                                  check_exact=True)
    table = pa.Table.from_pandas(book, preserve_index=False)
    enc = pa.table({c: table[c].dictionary_encode() if c in ("product", "period") else table[c]
                    for c in table.column_names})
    pd.testing.assert_frame_equal(pmfast.span_margin(enc, takas).accounts, base,
                                  check_exact=True)


def test_takasbank_option_delta_spreads_against_a_future(takas):
    """Long 1 May 7.00 call (composite delta d from the file) against short 1 June future: the
    tier-0 spread forms d spreads (the call's delta is the smaller leg), charging d x 90 TRY;
    the scan is the two arrays' sum."""
    pc, ac, d = raw_contract(10813)     # AKBNKE 201605S0 C 7.00
    _, af, _ = raw_contract(12064)      # AKBNKE 201606S0 future
    assert 0 < d < 1
    pos = pd.DataFrame([opt("AKBNKE", "201605S0", "C", 7.0, 1), fut("AKBNKE", "201606S0", -1)])
    row = one(pmfast.span_margin(pos, takas))
    assert row["intra_charge"] == pytest.approx(d * 90.0, rel=1e-12)
    assert row["scan_risk"] == pytest.approx(max(0.0, (ac - af).max()), rel=1e-12)
    assert row["som"] == 0.0 and row["net_option_value"] == pytest.approx(pc * 100)


def test_empty_book_and_exchange_column(takas):
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in
                          ("account", "product", "kind", "period")}).assign(
        quantity=pd.Series([], dtype=float))
    res = pmfast.span_margin(empty, takas)
    assert len(res.accounts) == 0 and len(res.combined) == 0
    pos = pd.DataFrame([fut("AKBNKE", "201605S0", 1)]).assign(exchange=["BIST"])
    assert one(pmfast.span_margin(pos, takas))["requirement"] == pytest.approx(90.0)
    with pytest.raises(InputError, match="account A: AKBNKE future 201605S0: unknown exchange"):
        pmfast.span_margin(pos.assign(exchange=["XX"]), takas)

"""Each stated formula of docs/crypto.md against a hand computation: the time-scaled vol
shock, the P&L offset and its cap, the extended-table dampener, the roll shock (per expiry,
with the annualised-move term), the delta shock, the option contingency, the correlation
contingency, the tie rule of the worst case; and the rule sets as data."""

import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.crypto.addons import tie_order
from pmfast.crypto.grid import pair_table, shocked_vols
from pmfast.crypto.rules import CryptoRules
from pmfast.errors import InputError
from crypto_books import AS_OF, INDEX, book

UND = {"underlying": ["BTC", "ETH"], "price": [INDEX, 3500.0],
       "group_type": ["crypto", "crypto"]}


def _margin(positions, instruments, rules="deribit", und=UND):
    ins = pd.DataFrame(instruments)
    if "settlement" not in ins:
        ins["settlement"] = "inverse"
    return pmfast.portfolio_margin(book(pd.DataFrame(positions), ins, und), rules=rules)


def _perp(name="P", und="BTC", price=INDEX, settlement="inverse"):
    return {"instrument": name, "kind": "perpetual", "underlying": und, "price": price,
            "settlement": settlement}


def _future(name, expiry, price=INDEX, und="BTC"):
    return {"instrument": name, "kind": "future", "underlying": und, "price": price,
            "expiry": expiry}


def test_vol_shock_is_time_scaled_with_the_floor():
    rules = CryptoRules.preset("deribit")
    params = pair_table(rules, pd.DataFrame({"underlying": ["BTC"]}))
    T = np.array([10, 10, 100, 0.2]) / 365
    vol = np.array([0.6, 0.3, 0.6, 0.6])
    up, down = shocked_vols(rules, params, np.zeros(4, int), vol, T)
    s10, s100, s1 = 3 ** 0.30, 0.3 ** 0.13, 30 ** 0.30     # days floored at 1
    np.testing.assert_allclose(up, [0.6 * (1 + 0.5 * s10), 0.3 + 0.5 * 0.5 * s10,
                                    0.6 * (1 + 0.5 * s100), 0.6 * (1 + 0.5 * s1)], rtol=1e-15)
    np.testing.assert_allclose(down, [0.6 * (1 - 0.25 * s10), 0.3 * (1 - 0.25 * s10),
                                      0.6 * (1 - 0.25 * s100), 0.6 * (1 - 0.25 * s1)],
                               rtol=1e-15)


def test_extended_dampener_and_offset():
    # short deep OTM calls: a loss far beyond the range, damped by 100,000 USD
    call = {"instrument": "C", "kind": "option", "underlying": "BTC", "right": "C",
            "strike": 150000.0, "expiry": "2024-09-27", "implied_vol": 0.7}
    pm = _margin([{"account": "A", "instrument": "C", "quantity": -40.0}], [call])
    rv = pm.risk_vectors("A")
    raw, adj = rv["pnl"].to_numpy(), rv["adjusted"].to_numpy()
    damp = 100000.0 / INDEX
    want_ext = np.where(raw[27:] < 0, np.minimum(raw[27:] + damp, 0.0), 0.0)
    np.testing.assert_allclose(adj[27:], want_ext, rtol=0, atol=1e-15)
    assert (adj[27:] < 0).any()                  # the loss goes beyond the dampener
    np.testing.assert_array_equal(adj[:27], np.minimum(raw[:27], 0.0))   # pnl_offset 0
    row = pm.accounts.iloc[0]
    assert row["worst_case"] == pytest.approx(-adj.min(), abs=0)
    assert row["worst_scenario"].startswith("extended")


def test_pnl_offset_and_its_cap():
    # ETH: pnl_offset 0.6, max_offsetable_pnl 2e7 USD (not binding here)
    pm = _margin([{"account": "A", "instrument": "E", "quantity": 5.0}],
                 [_perp("E", "ETH", 3500.0)])
    rv = pm.risk_vectors("A")
    raw, adj = rv["pnl"].to_numpy(), rv["adjusted"].to_numpy()

    def losses(x):     # standard losses as they are; extended ones damped (200,000 USD)
        return np.r_[x[:27], np.minimum(x[27:] + 200000.0 / 3500.0, 0.0)]
    np.testing.assert_allclose(adj, np.where(raw > 0, 0.6 * raw, losses(raw)), rtol=1e-15)
    rules = CryptoRules.preset("deribit")
    cur = {**rules.currencies["eth"], "max_offsetable_pnl": 1000.0}   # cap 1000 USD
    capped = rules.replace(currencies={**rules.currencies, "eth": cur})
    pm = _margin([{"account": "A", "instrument": "E", "quantity": 5.0}],
                 [_perp("E", "ETH", 3500.0)], rules=capped)
    adj = pm.risk_vectors("A")["adjusted"].to_numpy()
    np.testing.assert_allclose(adj, np.where(raw > 0, np.minimum(0.6 * raw, 1000 / 3500),
                                             losses(raw)), rtol=1e-15)


def test_roll_shock_nets_per_expiry_and_grows_with_time():
    T = (pd.Timestamp("2025-03-28") - pd.Timestamp(AS_OF)).days / 365
    ins = [_future("F1", "2025-03-28"), _future("F2", "2025-03-28", INDEX * 1.05),
           _future("F3", "2024-06-21")]
    pm = _margin([{"account": "A", "instrument": "F1", "quantity": 2.0},
                  {"account": "A", "instrument": "F2", "quantity": -0.5},
                  {"account": "A", "instrument": "F3", "quantity": -1.0}], ins)
    want = 1.5 * max(0.01, 0.075 * T) + 1.0 * max(0.01, 0.075 * 4 / 365)
    assert 0.075 * T > 0.01
    assert pm.accounts["roll_shock"].iloc[0] == pytest.approx(want, rel=1e-14)


def test_delta_shock_beyond_the_threshold():
    q = 400.0          # 400 BTC x 65,666 = 26.3M USD of delta, threshold 20M
    pm = _margin([{"account": "A", "instrument": "P", "quantity": q}], [_perp()])
    want = 0.1 * (q * INDEX - 2e7) / INDEX
    assert pm.accounts["delta_shock"].iloc[0] == pytest.approx(want, rel=1e-13)
    small = _margin([{"account": "A", "instrument": "P", "quantity": 300.0}], [_perp()])
    assert small.accounts["delta_shock"].iloc[0] == 0.0
    linear = _margin([{"account": "A", "instrument": "P", "quantity": q}],
                     [_perp(settlement="linear")])
    assert linear.accounts["delta_shock"].iloc[0] == pytest.approx(want * INDEX, rel=1e-13)
    assert linear.accounts["currency"].iloc[0] == "USD"


def test_option_contingency_of_the_2019_model():
    ins = [{"instrument": f"O{k}", "kind": "option", "underlying": "BTC", "right": r,
            "strike": s, "expiry": "2024-09-27", "implied_vol": 0.6}
           for k, (r, s) in enumerate([("C", 70000.0), ("P", 60000.0), ("C", 80000.0)])]
    pos = [{"account": "A", "instrument": "O0", "quantity": -2.0},
           {"account": "A", "instrument": "O1", "quantity": -0.5},
           {"account": "A", "instrument": "O2", "quantity": 4.0}]
    old = _margin(pos, ins, rules="deribit-2019").accounts.iloc[0]
    assert old["option_contingency"] == pytest.approx(0.01 * 2.5, rel=1e-15)
    assert old["requirement"] == pytest.approx(old["worst_case"] + old["roll_shock"]
                                               + old["option_contingency"], rel=1e-15)
    new = _margin(pos, ins, rules="deribit").accounts.iloc[0]
    assert new["option_contingency"] == 0 and new["worst_case"] != old["worst_case"]


def test_correlation_contingency():
    rules = CryptoRules.preset("deribit")
    usd = {**rules.currencies["usd"], "correlation_set": True, "correlation_factor": 0.25}
    corr = rules.replace(currencies={**rules.currencies, "usd": usd})
    ins = [_perp("B", "BTC", settlement="linear"), _perp("E", "ETH", 3500.0, "linear")]
    both = [{"account": "A", "instrument": "B", "quantity": 1.0},
            {"account": "A", "instrument": "E", "quantity": -10.0}]
    sep = [_margin([p], ins, rules=rules).accounts.iloc[0] for p in both]
    plain = _margin(both, ins, rules=rules).accounts.iloc[0]
    joint = _margin(both, ins, rules=corr).accounts.iloc[0]
    assert plain["worst_case"] == pytest.approx(sep[0]["worst_case"] + sep[1]["worst_case"])
    assert plain["correlation_contingency"] == 0
    # the worst scenario is the pair with the larger worst case: BTC (10,507 vs 6,300 USD)
    assert plain["worst_underlying"] == "BTC" and plain["worst_scenario"] == "-16% vol unchanged"
    # the two coins offset scenario by scenario; a quarter of the offset is charged back
    btc = 1.0 * INDEX * np.repeat(np.linspace(-0.16, 0.16, 9), 3)
    eth = -10.0 * 3500.0 * np.repeat(np.linspace(-0.18, 0.18, 9), 3)
    jw = -min((btc + eth).min(), 0.0)
    assert joint["worst_case"] == pytest.approx(jw, rel=1e-12)
    sep_w = sep[0]["worst_case"] + sep[1]["worst_case"]
    assert joint["correlation_contingency"] == pytest.approx(0.25 * (sep_w - jw), rel=1e-12)
    assert joint["requirement"] == pytest.approx(
        jw + 0.25 * (sep_w - jw) + joint["roll_shock"] + joint["delta_shock"], rel=1e-12)


def test_ties_prefer_the_unchanged_vol_entry():
    order = tie_order(27, 35)
    assert list(order[:4]) == [1, 4, 7, 10] and sorted(order) == list(range(35))


def test_presets_are_data():
    new, old = CryptoRules.preset("deribit"), CryptoRules.preset("deribit-2019")
    assert new.pair("BTC")["price_range"] == 0.16 and old.pair("BTC")["price_range"] == 0.10
    assert old.pair("BTC")["volatility_range_up"] == old.pair("BTC")["volatility_range_down"] \
        == 0.38
    assert new.extended_moves == (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert old.extended_moves == ()
    pos = [{"account": "A", "instrument": "P", "quantity": 1.0}]
    a = _margin(pos, [_perp()], rules="deribit").accounts.iloc[0]
    b = _margin(pos, [_perp()], rules="deribit-2019").accounts.iloc[0]
    assert a["worst_case"] == pytest.approx(-(1 - 1 / 0.84))
    assert b["worst_case"] == pytest.approx(-(1 - 1 / 0.90))


def test_a_toml_file_with_method_crypto_dispatches(tmp_path):
    from importlib.resources import files
    text = (files("pmfast") / "rules" / "deribit.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text.replace("price_range = 0.16", "price_range = 0.20"))
    pm = _margin([{"account": "A", "instrument": "P", "quantity": 1.0}], [_perp()],
                 rules=str(path))
    assert pm.accounts["worst_case"].iloc[0] == pytest.approx(-(1 - 1 / 0.80))


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["currency_pair"]["btc_usd"].pop("price_range"),
     "currency_pair.btc_usd.price_range: missing"),
    (lambda d: d["general"].update(vol_scenarios_count=5), "general.vol_scenarios_count"),
    (lambda d: d["currency"]["btc"].update(pnl_offset=-1), "currency.btc.pnl_offset"),
    (lambda d: d["extended_table"].update(moves=[0.1]), "extended_table.moves"),
    (lambda d: d.update(method="tims"), "method"),
    (lambda d: d["general"].update(buckets_count=0), "general.buckets_count"),
])
def test_rule_validation_names_the_key(edit, message):
    import tomllib
    from importlib.resources import files
    data = tomllib.loads((files("pmfast") / "rules" / "deribit.toml").read_text())
    edit(data)
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        CryptoRules.from_dict(data)

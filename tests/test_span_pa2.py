"""CME pa2 records decoded field by field on the real lines of pa2-fixtures.txt (expected values
from the fixture's hand decoding notes, not from the parser), and a small file margined."""
import re

import pandas as pd
import pytest

import pmfast
from pmfast import InputError
from pmfast.span.pa2 import decode_price, decode_record
from span_helpers import PA2_FIXTURES, need


@pytest.fixture(scope="module")
def lines():
    out = {}
    for line in need(PA2_FIXTURES).read_text(encoding="latin-1").splitlines():
        m = re.match(r"^(\S+)\s+\|(.*)\|", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_header_and_currency(lines):
    r = decode_record(lines["A0"])
    assert (r["complex"], r["business_date"], r["settlement"], r["file_id"]) == \
        ("CME", "20250620", "S", "E")
    assert (r["created_date"], r["created_time"], r["format"], r["flags"]) == \
        ("20250620", "1407", "U2", "YN")
    assert r["function"].startswith("CLR") and "M MAINT" in r["function"]
    t = decode_record(lines["AT"])
    assert (t["from_currency"], t["to_currency"], t["rate"]) == ("CLP", "USD", 0.001063)


def test_combined_commodity_and_tiers(lines):
    r = decode_record(lines["A2"])
    assert (r["exchange"], r["cc"], r["currency"], r["option_style"]) == ("CBT", "26", "USD", "P")
    assert [(r[f"slot{k}_product"], r[f"slot{k}_type"]) for k in range(1, 7)] == \
        [("26", "FUT"), ("26", "OOF"), ("59", "OOF"), ("WT1", "OOF"), ("VT1", "OOF"),
         ("GT1", "OOF")]
    r = decode_record(lines["A3"])
    assert (r["cc"], r["method"]) == ("06", "10")
    assert [(r[f"tier{k}_tn"], r[f"tier{k}_start"], r[f"tier{k}_end"]) for k in range(1, 5)] == \
        [("01", "202507", "202507"), ("02", "202508", "202508"), ("03", "202509", "202509"),
         ("04", "202510", "202511")]
    assert (r["im_member"], r["im_hedger"], r["im_speculator"]) == (1.0, 1.0, 1.1)


def test_intra_spread_delivery_som(lines):
    r = decode_record(lines["AC"])
    assert (r["cc"], r["method"], r["priority"], r["n_legs"], r["rate"]) == ("06", "10", 1, 3, 100)
    assert [(r[f"leg{k}_no"], r[f"leg{k}_tier"], r[f"leg{k}_ratio"], r[f"leg{k}_side"])
            for k in range(1, 4)] == [("01", "14", "01", "A"), ("02", "15", "02", "B"),
                                      ("03", "16", "01", "A")]
    r = decode_record(lines["A4"])
    assert (r["cc"], r["method"], r["n_months"], r["m1_month"]) == ("YM", "10", "01", "202506")
    assert (r["m1_spread_rate"], r["m1_outright_rate"], r["som_rate"]) == (1, 0, 170)
    assert (r["adj_member"], r["adj_hedger"], r["adj_speculator"], r["som_method"]) == \
        (1.0, 1.0, 1.0, "1")


def test_array_parameters_and_price_conversion(lines):
    r = decode_record(lines["AB"])
    assert (r["exchange"], r["product"], r["product_type"], r["future_month"]) == \
        ("CBT", "ZSC", "OOC", "202507")
    assert (r["vol_scan_range"], r["price_scan_range"]) == (25000000, 600)
    assert (r["extreme_multiplier"], r["extreme_fraction"]) == (3.0, 0.33)
    assert (r["expiry"], r["underlying"], r["pricing_model"]) == ("20250620", "ZSC", "BC")
    assert r["delta_scaling"] == 1.0
    es = decode_record(lines["BP_ES"])
    assert (es["product"], es["settle_dl"], es["cvf"], es["currency"]) == ("ES", 2, 50.0, "USD")
    assert es["valuation"] == "FUT" and es["settlement_method"] == "CASH"
    zn = decode_record(lines["BP_ZN"])
    assert (zn["settle_dl"], zn["settle_align"], zn["cvf"]) == (3, "C", 1000.0)


def test_groups_and_inter_spreads(lines):
    r = decode_record(lines["A5"])
    assert r["group"] == "CME" and [r[f"cc{k}"] for k in range(1, 11)] == \
        ["06", "07", "14", "31", "3CC", "71", "76", "7CC", "AUW", "BCF"]
    r = decode_record(lines["A6"])
    assert (r["group"], r["priority"], r["credit_rate"]) == ("ALL", 1, 98.0)
    assert (r["leg1_exchange"], r["leg1_cc"], r["leg1_ratio"], r["leg1_side"]) == \
        ("NYM", "NY-HH", 1.0, "A")
    assert (r["leg2_cc"], r["leg2_ratio"], r["leg2_side"]) == ("NY-HP", 1.0, "B")
    assert (r["method"], r["target_cc"]) == ("04", "NY-NG")
    r = decode_record(lines["AS"])
    assert (r["cc"], r["method"], r["n_tiers"]) == ("07", "20", "02")
    assert (r["tier2_start"], r["tier2_end"]) == ("202508", "202812")


def test_risk_array_records(lines):
    a81 = decode_record(lines["A81"])
    assert [a81[f"a{j}"] for j in range(1, 10)] == [0, 0, -567, -567, 567, 567, -1133, -1133,
                                                    1133]
    assert (a81["hp_settlement"], a81["hp_flag"]) == (284100, "N")
    es81, es82 = decode_record(lines["B81ES"]), decode_record(lines["B82ES"])
    arr = [es81[f"a{j}"] for j in range(1, 10)] + [es82[f"a{j}"] for j in range(10, 17)]
    assert arr == [0, 0, -2000, -2000, 2000, 2000, -4000, -4000, 4000, 4000, -6000, -6000, 6000,
                   6000, -5940, 5940]
    assert es82["composite_delta"] == 1.0
    assert decode_price(int(es82["settlement"]), 2, "") == 2511.00
    zn = decode_record(lines["B82ZN"])
    assert [zn[f"a{j}"] for j in range(10, 17)] == [700, -1050, -1050, 1050, 1050, -1040, 1040]
    assert decode_price(int(zn["settlement"]), 3, "C") == 122.1875     # 122-06/32
    zc = decode_record(lines["B82ZC"])
    assert [zc[f"a{j}"] for j in range(10, 17)] == [533, -800, -800, 800, 800, -792, 792]
    a82 = decode_record(lines["A82"])
    assert (a82["right"], a82["option_month"], a82["strike"]) == ("C", "202507", 145)
    assert (a82["implied_vol"], a82["settlement"], a82["current_delta"]) == (0.25, 139100, 1.0)


def test_unknown_and_malformed_records(lines):
    with pytest.raises(InputError, match="line 7: unknown record type 'Q '"):
        decode_record("Q whatever", 7)
    bad = lines["B81ES"][:60] + "x" + lines["B81ES"][61:]
    with pytest.raises(InputError, match="line 3: record 81 field a2"):
        decode_record(bad, 3)


def test_small_file_margined(lines, tmp_path):
    """B0 + the real ES P/81/82 lines + a type 2 record we write for ES (the fixtures hold
    none): long 1 ESH9 scans 6,000; short 1 too; settlement 2,511.00, cvf 50."""
    cc2 = "2 CME ES    0USD$PN   ES        FUT   "
    path = tmp_path / "es.pa2"
    path.write_text("\n".join([lines["B0"], cc2, lines["BP_ES"], lines["B81ES"],
                               lines["B82ES"]]) + "\n", encoding="latin-1")
    p = pmfast.span.load(path)
    assert p.file_format.startswith("CME pa2") and p.business_date == "20190102"
    c = p.contracts.iloc[0]
    assert (c["product"], c["kind"], c["period"], c["price"], c["cvf"]) == \
        ("ES", "future", "201903", 2511.0, 50.0)
    pos = pd.DataFrame({"account": ["L", "S"], "product": ["ES", "ES"], "kind": ["future"] * 2,
                        "period": ["201903", "201903"], "quantity": [1, -1]})
    res = pmfast.span_margin(pos, p)
    assert res.accounts["scan_risk"].tolist() == [6000.0, 6000.0]
    assert res.combined["worst_scenario"].tolist() == [13, 11]
    assert res.scenario_losses("L").loc["ES", 16] == 5940.0
    # a file starting with anything but a type 0 header is refused
    path.write_text("\n".join([cc2, lines["B0"]]) + "\n", encoding="latin-1")
    with pytest.raises(InputError, match="nor a CME pa2 file"):
        pmfast.span.load(path)


def test_unsupported_methods_are_refused_with_the_line(lines, tmp_path):
    """No guessing: a scanning-based inter spread (method 04, the fixture's A6) is refused."""
    cc2 = "2 CME ES    0USD$PN   ES        FUT   "
    path = tmp_path / "x.pa2"
    path.write_text("\n".join([lines["B0"], cc2, lines["A6"], lines["BP_ES"], lines["B81ES"],
                               lines["B82ES"]]) + "\n", encoding="latin-1")
    with pytest.raises(InputError, match="line 3: record 6 spread 1: inter-commodity method '04'"):
        pmfast.span.load(path)

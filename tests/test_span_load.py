"""SPAN XML loader on the real Takasbank file, and its errors (element, contract, line)."""
import numpy as np
import pytest

import pmfast
from pmfast import InputError
from span_helpers import TAKAS, need, raw_contract


@pytest.fixture(scope="module")
def takas():
    return pmfast.span.load(need(TAKAS))


def test_loads_the_whole_file(takas):
    text = TAKAS.read_text(encoding="latin-1")
    c = takas.contracts
    # every risk array of the file becomes a contract (counted independently of the loader)
    assert len(c) == text.count("<ra>") == 2811
    assert (c["kind"] == "option").sum() == text.count("<opt>") == 2628
    assert (c["kind"] == "future").sum() == text.count("<fut>") == 146
    assert (c["kind"] == "physical").sum() == text.count("<phy>") == 37
    assert len(takas.ccs) == text.count("<ccDef>") == 40
    assert len(takas.inter_spreads) == 56
    assert takas.fx == {("USD", "TRY"): 2.9765}
    assert takas.base_currency == "TRY"
    assert takas.business_date == "20160517" and takas.clearing_org == "TAKASBANK"
    assert takas.risk_arrays.shape == (2811, 16)
    assert np.isfinite(takas.risk_arrays).all()
    # scenario pairs from pointDef: (1,2) ... (13,14); 15 and 16 paired with themselves
    assert takas.paired.tolist() == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 14, 15]


def test_contract_values_match_the_file(takas):
    c = takas.contracts
    for cid, (product, kind, period, right, strike) in {
            10651: ("AKBNKE", "future", "201605S0", "", np.nan),
            10813: ("AKBNKE", "option", "201605S0", "C", 7.0),
            10824: ("AKBNKE", "option", "201605S0", "P", 7.0)}.items():
        price, arr, delta = raw_contract(cid)
        sel = (c["product"] == product) & (c["kind"] == kind) & (c["period"] == period) & \
              (c["right"] == right)
        if kind == "option":
            sel &= c["strike"] == strike
        (i,) = np.flatnonzero(sel)
        assert takas.risk_arrays[i].tolist() == arr.tolist()
        assert c["price"][i] == price and c["delta"][i] == delta
    opt = c[(c["product"] == "AKBNKE") & (c["kind"] == "option")]
    assert opt["premium_style"].all() and (opt["cvf"] == 100.0).all()


def test_combined_commodity_parameters(takas):
    cc = takas.ccs[takas.cc_index()["AKBNKE"]]
    assert cc.maintenance_ratio == 0.75 and cc.som_method == "GROSS"
    assert [t.rate for t in cc.som_tiers] == [15.0]
    (sp,) = cc.intra_spreads
    assert sp.rate == 90.0 and sorted(l.side for l in sp.legs) == ["A", "B"]
    inter3 = next(s for s in takas.inter_spreads if s.priority == 3)
    assert inter3.rate == 0.6
    assert [(l.cc, l.side, l.ratio) for l in inter3.legs] == [("AKBNKE", "A", 12.75),
                                                              ("XU030", "B", 1.0)]


def test_load_from_bytes_and_path_str(takas):
    again = pmfast.span.load(TAKAS.read_bytes())
    assert np.array_equal(again.risk_arrays, takas.risk_arrays)


def _broken(tmp_path, old, new, count=1):
    text = need(TAKAS).read_text(encoding="latin-1")
    assert old in text
    path = tmp_path / "broken.spn"
    path.write_text(text.replace(old, new, count), encoding="latin-1")
    return path, text


def _line(text, marker, nth=0):
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(marker, pos + 1)
    return text.count("\n", 0, pos) + 1


def test_malformed_xml_names_the_line(tmp_path):
    path, text = _broken(tmp_path, "<p>7.58</p>", "<p>7.58</q>")
    with pytest.raises(InputError, match=rf"line {_line(text, '<p>7.58</p>')}"):
        pmfast.span.load(path)


def test_short_risk_array_names_contract_and_line(tmp_path):
    old = "<ra><r>1</r><a>-0.000000</a><a>-0.000000</a><a>-29.999969</a>"
    path, text = _broken(tmp_path, old, "<ra><r>1</r><a>-0.000000</a><a>-29.999969</a>")
    with pytest.raises(InputError) as err:
        pmfast.span.load(path)
    msg = str(err.value)
    assert "future AKBNKE 201605S0" in msg and "15 <a> values" in msg
    assert f"line {_line(text, old)}" in msg


def test_unknown_som_method_is_rejected_not_guessed(tmp_path):
    path, text = _broken(tmp_path, "<somMeth>GROSS</somMeth>", "<somMeth>NETX</somMeth>")
    with pytest.raises(InputError, match=r"line \d+.*combined commodity AKBNKE: somMeth 'NETX'"):
        pmfast.span.load(path)


def test_non_numeric_value_names_the_element(tmp_path):
    path, _ = _broken(tmp_path, "<k>6.00</k>", "<k>six</k>")
    with pytest.raises(InputError, match=r"<k> of option AKBNKE 201605S0 C six is not a number"):
        pmfast.span.load(path)


def test_not_a_span_file(tmp_path):
    path = tmp_path / "x.spn"
    path.write_text("hello")
    with pytest.raises(InputError, match="neither SPAN XML"):
        pmfast.span.load(path)
    with pytest.raises(InputError, match="does not exist"):
        pmfast.span.load(tmp_path / "missing.spn")


def test_period_legs_load_and_margin(tmp_path):
    """The AKBNKE spread rewritten with period legs (pLeg, May vs June): a May/June calendar
    pays the 90 TRY rate, a May/July one (no such spread) pays nothing."""
    import pandas as pd
    text = need(TAKAS).read_text(encoding="latin-1")
    old = ("<tLeg>\n<cc>AKBNKE</cc>\n<tn>0</tn>\n<rs>B</rs>\n<i>1.000000</i>\n</tLeg>\n\n"
           "<tLeg>\n<cc>AKBNKE</cc>\n<tn>0</tn>\n<rs>A</rs>\n<i>1.000000</i>\n</tLeg>")
    new = ("<pLeg>\n<cc>AKBNKE</cc>\n<pe>201606S0</pe>\n<rs>B</rs>\n<i>1.000000</i>\n</pLeg>\n\n"
           "<pLeg>\n<cc>AKBNKE</cc>\n<pe>201605S0</pe>\n<rs>A</rs>\n<i>1.000000</i>\n</pLeg>")
    assert text.count(old) == 1
    path = tmp_path / "pleg.spn"
    path.write_text(text.replace(old, new), encoding="latin-1")
    p = pmfast.span.load(path)
    legs = p.ccs[p.cc_index()["AKBNKE"]].intra_spreads[0].legs
    assert [(l.period, l.side) for l in legs] == [("201606S0", "B"), ("201605S0", "A")]

    def cal(back):
        pos = pd.DataFrame({"account": ["A", "A"], "product": ["AKBNKE"] * 2,
                            "kind": ["future"] * 2, "period": ["201605S0", back],
                            "quantity": [1, -1]})
        return pmfast.span_margin(pos, p).accounts["intra_charge"].iloc[0]
    assert cal("201606S0") == 90.0 and cal("201607S0") == 0.0

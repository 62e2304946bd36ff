"""CME positional SPAN "pa2" (expanded unpacked, format code U2) loader, driven by layout tables.

``LAYOUTS`` holds, per record type, the fields as ``(name, first byte, last byte, type,
decimals)`` with 1-based inclusive byte positions from reference/span-crypto.md §1.11. Types:
``s`` text (stripped), ``i`` integer, ``n`` unsigned number with implied decimals, ``sn`` the
same followed by a sign byte (``+``/``-``) at ``last + 1``. Record lines are not padded in
practice: a field past the end of a short line reads as blank. The contract value factor has 7
implied decimals (ES ``00000500000000`` = 50.0; the reference's "2 implied decimals" contradicts
its own example). Every record type a file may hold
is either decoded here, listed in ``IGNORED`` (known and not needed for margin), or an error
naming the line: no guessing on unknown codes.
"""
import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.span.params import (N_SCEN, CombinedCommodity, SpanParams, Spread, SpreadLeg,
                                SpotRate, Tier)

F = tuple  # (name, first, last, type, decimals)

LAYOUTS = {
    "0 ": [F(("complex", 3, 8, "s", 0)), F(("business_date", 9, 16, "s", 0)),
           F(("settlement", 17, 17, "s", 0)), F(("file_id", 18, 19, "s", 0)),
           F(("business_time", 20, 23, "s", 0)), F(("created_date", 24, 31, "s", 0)),
           F(("created_time", 32, 35, "s", 0)), F(("format", 36, 37, "s", 0)),
           F(("flags", 38, 39, "s", 0)), F(("function", 40, 200, "s", 0))],
    "1 ": [F(("exchange", 3, 5, "s", 0)), F(("legacy_code", 8, 9, "s", 0))],
    "T ": [F(("from_currency", 3, 5, "s", 0)), F(("from_code", 6, 6, "s", 0)),
           F(("to_currency", 7, 9, "s", 0)), F(("to_code", 10, 10, "s", 0)),
           F(("rate", 11, 20, "n", 6))],
    "P ": [F(("exchange", 3, 5, "s", 0)), F(("product", 6, 15, "s", 0)),
           F(("product_type", 16, 18, "s", 0)), F(("name", 19, 33, "s", 0)),
           F(("settle_dl", 34, 36, "i", 0)), F(("strike_dl", 37, 39, "i", 0)),
           F(("settle_align", 40, 40, "s", 0)), F(("strike_align", 41, 41, "s", 0)),
           F(("cvf", 42, 55, "n", 7)), F(("cabinet", 56, 63, "n", 0)),
           F(("quoted_qty", 64, 65, "i", 0)), F(("currency", 66, 68, "s", 0)),
           F(("currency_code", 69, 69, "s", 0)), F(("quote_method", 70, 72, "s", 0)),
           F(("cvf_exponent", 73, 75, "s", 0)), F(("exercise", 76, 79, "s", 0)),
           F(("long_name", 80, 114, "s", 0)), F(("positionable", 115, 115, "s", 0)),
           F(("money_method", 116, 116, "s", 0)), F(("valuation", 117, 121, "s", 0)),
           F(("settlement_method", 122, 126, "s", 0))],
    "2 ": [F(("exchange", 3, 5, "s", 0)), F(("cc", 7, 12, "s", 0)),
           F(("risk_exponent", 13, 13, "s", 0)), F(("currency", 14, 16, "s", 0)),
           F(("currency_code", 17, 17, "s", 0)), F(("option_style", 18, 18, "s", 0)),
           F(("limit_option_value", 19, 19, "s", 0)), F(("combination_method", 20, 20, "s", 0))]
    + [F((f"slot{k}_{name}", s + off, s + off + w - 1, "s", 0))
       for k, s in enumerate((23, 39, 55, 71, 87, 103), 1)
       for name, off, w in (("product", 0, 10), ("type", 10, 3), ("ra_dl", 13, 1),
                            ("ra_dl_sign", 14, 1))],
    "3 ": [F(("cc", 3, 8, "s", 0)), F(("method", 9, 10, "s", 0))]
    + [F((f"tier{k}_{name}", s + off, s + off + w - 1, t, 0))
       for k, s in enumerate((11, 25, 39, 53), 1)
       for name, off, w, t in (("tn", 0, 2, "s"), ("start", 2, 6, "s"), ("end", 8, 6, "s"))]
    + [F(("im_member", 69, 72, "n", 3)), F(("im_hedger", 73, 76, "n", 3)),
       F(("im_speculator", 77, 80, "n", 3))],
    "C ": [F(("cc", 3, 8, "s", 0)), F(("method", 9, 10, "s", 0)), F(("priority", 11, 12, "i", 0)),
           F(("n_legs", 13, 14, "i", 0)), F(("rate", 15, 21, "n", 0))]
    + [F((f"leg{k}_{name}", 22 + 7 * (k - 1) + off, 22 + 7 * (k - 1) + off + w - 1, t, 0))
       for k in range(1, 9)
       for name, off, w, t in (("no", 0, 2, "s"), ("tier", 2, 2, "s"), ("ratio", 4, 2, "s"),
                               ("side", 6, 1, "s"))],
    "E ": [F(("cc", 3, 8, "s", 0)), F(("priority", 9, 10, "s", 0)), F(("rate", 11, 17, "n", 0)),
           F(("body", 18, 200, "s", 0))],
    "4 ": [F(("cc", 3, 8, "s", 0)), F(("method", 9, 10, "s", 0)),
           F(("n_months", 11, 12, "s", 0)),
           F(("m1_no", 13, 14, "s", 0)), F(("m1_month", 15, 20, "s", 0)),
           F(("m1_spread_rate", 21, 27, "n", 0)), F(("m1_outright_rate", 28, 34, "n", 0)),
           F(("m2_no", 35, 36, "s", 0)), F(("m2_month", 37, 42, "s", 0)),
           F(("m2_spread_rate", 43, 49, "n", 0)), F(("m2_outright_rate", 50, 56, "n", 0)),
           F(("som_rate", 63, 69, "n", 0)), F(("adj_member", 70, 72, "n", 2)),
           F(("adj_hedger", 73, 75, "n", 2)), F(("adj_speculator", 76, 78, "n", 2)),
           F(("som_method", 79, 79, "s", 0))],
    "5 ": [F(("group", 3, 5, "s", 0))] + [F((f"cc{k}", 13 + 6 * (k - 1), 18 + 6 * (k - 1), "s",
                                              0)) for k in range(1, 11)],
    "6 ": [F(("group", 3, 5, "s", 0)), F(("priority", 6, 9, "i", 0)),
           F(("credit_rate", 10, 16, "n", 4))]
    + [F((f"leg{k}_{name}", s + off, s + off + w - 1, t, d))
       for k, s in enumerate((17, 35, 53, 71), 1)
       for name, off, w, t, d in (("exchange", 0, 3, "s", 0), ("required", 3, 1, "s", 0),
                                  ("cc", 4, 6, "s", 0), ("ratio", 10, 7, "n", 4),
                                  ("side", 17, 1, "s", 0))]
    + [F(("method", 89, 90, "s", 0)), F(("target_exchange", 91, 93, "s", 0)),
       F(("target_required", 94, 94, "s", 0)), F(("target_cc", 95, 100, "s", 0)),
       F(("credit_method", 101, 101, "s", 0))]
    + [F((f"leg{k}_tier", 102 + 2 * (k - 1), 103 + 2 * (k - 1), "s", 0)) for k in range(1, 5)],
    "S ": [F(("cc", 3, 8, "s", 0)), F(("method", 9, 10, "s", 0)), F(("n_tiers", 11, 12, "s", 0))]
    + [F((f"tier{k}_{name}", 13 + 14 * (k - 1) + off, 13 + 14 * (k - 1) + off + w - 1, "s", 0))
       for k in range(1, 6) for name, off, w in (("tn", 0, 2), ("start", 2, 6), ("end", 8, 6))]
    + [F(("wfpr_method", 83, 83, "s", 0))],
    "B ": [F(("exchange", 3, 5, "s", 0)), F(("product", 6, 15, "s", 0)),
           F(("product_type", 16, 18, "s", 0)), F(("future_month", 19, 24, "s", 0)),
           F(("future_day", 25, 26, "s", 0)), F(("option_month", 28, 33, "s", 0)),
           F(("option_day", 34, 35, "s", 0)), F(("base_volatility", 37, 44, "n", 0)),
           F(("vol_scan_range", 45, 52, "n", 0)), F(("price_scan_range", 53, 57, "n", 0)),
           F(("extreme_multiplier", 58, 62, "n", 3)), F(("extreme_fraction", 63, 67, "n", 4)),
           F(("interest_rate", 68, 72, "n", 0)), F(("time_to_expiry", 73, 79, "n", 0)),
           F(("look_ahead", 80, 85, "n", 0)), F(("delta_scaling", 86, 91, "n", 4)),
           F(("expiry", 92, 99, "s", 0)), F(("underlying", 100, 109, "s", 0)),
           F(("pricing_model", 110, 111, "s", 0))],
}
_ARRAY_KEY = [F(("exchange", 3, 5, "s", 0)), F(("product", 6, 15, "s", 0)),
              F(("underlying", 16, 25, "s", 0)), F(("product_type", 26, 28, "s", 0)),
              F(("right", 29, 29, "s", 0)), F(("future_month", 30, 35, "s", 0)),
              F(("future_day", 36, 37, "s", 0)), F(("option_month", 39, 44, "s", 0)),
              F(("option_day", 45, 46, "s", 0)), F(("strike", 48, 54, "i", 0))]
LAYOUTS["81"] = _ARRAY_KEY + [F((f"a{j}", 55 + 6 * (j - 1), 59 + 6 * (j - 1), "sn", 0))
                              for j in range(1, 10)] + \
    [F(("hp_settlement", 109, 122, "i", 0)), F(("hp_flag", 123, 123, "s", 0))]
LAYOUTS["82"] = _ARRAY_KEY + [F((f"a{j}", 55 + 6 * (j - 10), 59 + 6 * (j - 10), "sn", 0))
                              for j in range(10, 17)] + \
    [F(("composite_delta", 97, 101, "sn", 4)), F(("implied_vol", 103, 110, "n", 6)),
     F(("settlement", 111, 117, "sn", 0)), F(("strike_sign", 119, 119, "s", 0)),
     F(("current_delta", 120, 124, "sn", 4)), F(("current_delta_flag", 126, 126, "s", 0))]
# Known record types a margin run does not need (value maintenance, combinations,
# redefinitions, debt securities); read past, never guessed at.
IGNORED = ("V ", "X ", "Y ", "Z ", "R ", "91", "92", "93", "94", "95", "96")
_KINDS = {"FUT": "future", "OOF": "option", "OOP": "option", "OOC": "option",
          "PHY": "physical", "CMB": "future"}


class _Bad(Exception):
    pass


def _field(line, first, last, kind, dec):
    raw = line[first - 1:last]
    if kind == "s":
        return raw.strip()
    text = raw.strip()
    if kind == "i":
        if not text:
            return 0
        if not text.isdigit():
            raise _Bad(f"bytes {first}-{last} {raw!r} are not digits")
        return int(text)
    if not text:
        value = 0.0
    elif not text.isdigit():
        raise _Bad(f"bytes {first}-{last} {raw!r} are not digits")
    else:
        value = int(text) / 10 ** dec
    if kind == "sn":
        sign = line[last:last + 1]
        if sign not in ("+", "-", " ", ""):
            raise _Bad(f"byte {last + 1} {sign!r} is not a sign")
        value = -value if sign == "-" else value
    return value


def decode_record(line, lineno=None):
    """Decode one pa2 record line into a dict of its fields (``type`` included).

    Raises
    ------
    pmfast.InputError
        Unknown record type or a malformed field, naming the record and the line.
    """
    rtype = line[:2]
    where = f"line {lineno}: " if lineno is not None else ""
    if rtype in IGNORED:
        return {"type": rtype}
    layout = LAYOUTS.get(rtype)
    if layout is None:
        raise InputError(f"pa2: {where}unknown record type {rtype!r}")
    out = {"type": rtype}
    for name, first, last, kind, dec in layout:
        try:
            out[name] = _field(line, first, last, kind, dec)
        except _Bad as exc:
            raise InputError(f"pa2: {where}record {rtype.strip()} field {name}: {exc}") from None
    return out


def decode_price(raw, decimals, alignment):
    """A settlement or strike price from its integer digits, decimal locator and alignment
    code: blank = plain decimals; ``C`` = 32nds (``0122060``, locator 3 -> 122 + 6.0/32).
    Other alignment codes return NaN (not decoded here: see docs/span.md)."""
    if alignment == "":
        return raw / 10 ** decimals
    if alignment == "C" and decimals >= 2:
        whole, frac = divmod(raw, 10 ** decimals)
        return whole + frac / 10 ** (decimals - 2) / 32.0
    return float("nan")


def parse_pa2(raw, source):
    """Parse pa2 bytes into ``SpanParams`` (see ``pmfast.span.load``)."""
    text = raw.decode("latin-1")
    recs = {}
    arrays = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        rec = decode_record(line.rstrip("\r\n"), lineno)
        rec["_line"] = lineno
        recs.setdefault(rec["type"], []).append(rec)
        if rec["type"] in ("81", "82"):
            key = tuple(rec[k] for k in ("exchange", "product", "product_type", "right",
                                          "future_month", "future_day", "option_month",
                                          "option_day", "strike"))
            arrays.setdefault(key, {})[rec["type"]] = rec
    header = recs.get("0 ", [])
    if len(header) != 1 or header[0]["_line"] != min(r["_line"] for v in recs.values()
                                                    for r in v):
        raise InputError(f"pa2: {source}: the first record must be the only type 0 header")
    head = header[0]
    if head["format"] != "U2":
        raise InputError(f"pa2: {source}: line 1: format code {head['format']!r}; only U2 "
                         "(expanded unpacked) is read")
    return _build(source, head, recs, arrays)


def _build(source, head, recs, arrays):
    fx = {(r["from_currency"], r["to_currency"]): r["rate"] for r in recs.get("T ", [])}
    pinfo = {(r["exchange"], r["product"], r["product_type"]): r for r in recs.get("P ", [])}
    dsf = {(r["exchange"], r["product"], r["product_type"], r["future_month"],
            r["option_month"]): r["delta_scaling"] for r in recs.get("B ", [])}
    ccs, slot_of = [], {}
    for r in recs.get("2 ", []):
        cc = CombinedCommodity(code=r["cc"], currency=r["currency"], maintenance_ratio=1.0,
                               cap_anov=r["limit_option_value"] == "Y")
        cc.intra_tiers = cc.inter_tiers = cc.scan_tiers = cc.som_tiers = [Tier(0)]
        ccs.append(cc)
        for k in range(1, 7):
            prod = r[f"slot{k}_product"]
            if prod:
                loc = r[f"slot{k}_ra_dl"]
                if loc and not loc.isdigit():
                    raise InputError(f"pa2: line {r['_line']}: record 2 slot {k}: risk-array "
                                     f"decimal locator {loc!r} is not a digit")
                dec = int(loc or 0) * (-1 if r[f"slot{k}_ra_dl_sign"] == "-" else 1)
                slot_of[(r["exchange"], prod, r[f"slot{k}_type"])] = (len(ccs) - 1, dec,
                                                                       r["option_style"])
    cc_pos = {cc.code: i for i, cc in enumerate(ccs)}
    _tiers_and_spreads(recs, ccs, cc_pos)
    rows, arrs = [], []
    for key, pair in arrays.items():
        exch, prod, ptype, right, fmon, fday, omon, oday, strike = key
        line = min(p["_line"] for p in pair.values())
        if set(pair) != {"81", "82"}:
            raise InputError(f"pa2: line {line}: {prod} {ptype} {fmon}{omon}: risk array has "
                             f"record {'/'.join(pair)} only (81 and 82 are needed)")
        if ptype not in _KINDS:
            raise InputError(f"pa2: line {line}: product type {ptype!r} is not one of "
                             f"{', '.join(_KINDS)}")
        slot = slot_of.get((exch, prod, ptype))
        if slot is None:
            raise InputError(f"pa2: line {line}: product {exch} {prod} {ptype} belongs to no "
                             "combined commodity (no type 2 record names it)")
        k, dec, style = slot
        a81, a82 = pair["81"], pair["82"]
        arr = np.array([a81[f"a{j}"] for j in range(1, 10)] + [a82[f"a{j}"] for j in
                                                                range(10, 17)]) / 10.0 ** dec
        p = pinfo.get((exch, prod, ptype), {})
        kind = _KINDS[ptype]
        period = (omon + oday) if kind == "option" else (fmon + fday)
        price = decode_price(a82["settlement"], p.get("settle_dl", 0), p.get("settle_align", ""))
        k_price = decode_price(strike, p.get("strike_dl", 0), p.get("strike_align", "")) \
            if kind == "option" else np.nan
        sc = dsf.get((exch, prod, ptype, fmon, omon), 1.0) or 1.0
        rows.append({"exchange": exch, "product": prod, "kind": kind, "pf_type": ptype,
                     "period": period, "strike": k_price, "right": right if kind == "option"
                     else "", "cc": k, "price": price, "cvf": p.get("cvf", np.nan),
                     "delta": a82["composite_delta"] * sc,
                     "premium_style": kind == "option" and style != "F", "psr": np.nan})
        arrs.append(arr)
    for r in recs.get("4 ", []):
        if r["method"] not in ("", "10"):
            raise InputError(f"pa2: line {r['_line']}: record 4 of {r['cc']}: delivery charge "
                             f"method {r['method']!r} is not margined (only 10, table driven)")
        if r["cc"] in cc_pos:
            cc = ccs[cc_pos[r["cc"]]]
            cc.som_tiers = [Tier(0, rate=r["som_rate"])]
            if r["method"] == "10":
                for m in ("m1", "m2"):
                    if r[f"{m}_month"]:
                        cc.spot_rates.append(SpotRate(r[f"{m}_month"], r[f"{m}_spread_rate"],
                                                      r[f"{m}_outright_rate"]))
    contracts = pd.DataFrame(rows, columns=["exchange", "product", "kind", "pf_type", "period",
                                            "strike", "right", "cc", "price", "cvf", "delta",
                                            "premium_style", "psr"])
    contracts["cc"] = contracts["cc"].astype(np.int32)
    currencies = [cc.currency for cc in ccs]
    base = max(sorted(set(currencies)), key=currencies.count) if currencies else "USD"
    params = SpanParams(source=source, file_format="CME pa2 (U2)",
                        business_date=head["business_date"], clearing_org=head["complex"],
                        contracts=contracts.drop(columns=["pf_type"]),
                        risk_arrays=np.asarray(arrs, np.float64).reshape(-1, N_SCEN),
                        ccs=ccs, inter_spreads=_inter(recs, cc_pos), fx=fx, base_currency=base)
    for cc in ccs:
        try:
            params.fx_to_base(cc.currency)
        except KeyError:
            raise InputError(f"pa2: {source}: combined commodity {cc.code} is in {cc.currency} "
                             f"and no T record converts it to {base}") from None
    return params


def _tiers_and_spreads(recs, ccs, cc_pos):
    for r in recs.get("3 ", []):
        if r["cc"] not in cc_pos:
            continue
        tiers = [Tier(int(r[f"tier{k}_tn"]), r[f"tier{k}_start"] or None,
                      r[f"tier{k}_end"] or None) for k in range(1, 5) if r[f"tier{k}_tn"]]
        if tiers:
            ccs[cc_pos[r["cc"]]].intra_tiers = tiers
    for r in recs.get("S ", []):
        if r["cc"] in cc_pos and r["method"] in ("10", "21", "22"):
            tiers = [Tier(int(r[f"tier{k}_tn"]), r[f"tier{k}_start"] or None,
                          r[f"tier{k}_end"] or None) for k in range(1, 6) if r[f"tier{k}_tn"]]
            if tiers:
                ccs[cc_pos[r["cc"]]].scan_tiers = tiers
                if r["method"] == "21":
                    ccs[cc_pos[r["cc"]]].inter_tiers = tiers
    for r in recs.get("C ", []):
        if r["cc"] not in cc_pos:
            continue
        legs = [SpreadLeg(r["cc"], int(r[f"leg{k}_tier"]), r[f"leg{k}_side"],
                          float(r[f"leg{k}_ratio"] or 0)) for k in range(1, r["n_legs"] + 1)]
        for leg in legs:
            if leg.side not in ("A", "B") or leg.ratio <= 0:
                raise InputError(f"pa2: line {r['_line']}: record C: leg side {leg.side!r} / "
                                 f"ratio {leg.ratio} invalid")
        ccs[cc_pos[r["cc"]]].intra_spreads.append(Spread(r["priority"], r["rate"], legs))
    for cc in ccs:
        cc.intra_spreads.sort(key=lambda s: s.priority)
    if recs.get("E "):
        r = recs["E "][0]
        raise InputError(f"pa2: line {r['_line']}: series-to-series intra spreads (record E) "
                         "are decoded but not margined yet: their byte layout is unverified")


def _inter(recs, cc_pos):
    out = []
    for r in recs.get("6 ", []):
        if r["method"] not in ("", "20"):
            raise InputError(f"pa2: line {r['_line']}: record 6 spread {r['priority']}: "
                             f"inter-commodity method {r['method']!r} is not margined (only 20, "
                             "delta-based; 04 scanning-based spreads are not)")
        if r["credit_method"] not in ("", "W"):
            raise InputError(f"pa2: line {r['_line']}: record 6 credit method "
                             f"{r['credit_method']!r}: only weighted futures price risk is "
                             "margined")
        legs = []
        for k in range(1, 5):
            if not r[f"leg{k}_cc"]:
                continue
            if r[f"leg{k}_cc"] not in cc_pos:
                break   # a leg on a CC this file does not hold: the spread cannot form
            legs.append(SpreadLeg(r[f"leg{k}_cc"], int(r[f"leg{k}_tier"] or 0),
                                  r[f"leg{k}_side"], r[f"leg{k}_ratio"]))
        else:
            if legs:
                out.append(Spread(r["priority"], r["credit_rate"] / 100.0, legs, "W"))
    out.sort(key=lambda s: s.priority)
    return out

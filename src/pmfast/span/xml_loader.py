"""SPAN XML (``fileFormat 4.00``) loader.

Streaming by pieces (see ``parse_xml``): expat (the C accelerator) parses one product family or
combined commodity at a time; every number lands in flat lists turned into numpy arrays at the
end. Errors name the element, the contract or combined commodity, and the line in the file
(found by a second expat pass over the piece only when an error is raised).
"""
import math
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat

import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.span.params import (N_SCEN, CombinedCommodity, SpanParams, Spread, SpreadLeg,
                                SpotRate, Tier, default_paired)

# product-family element -> (contract element(s), kind); the option families nest series/opt.
_FAMILIES = {"phyPf": "physical", "futPf": "future", "oofPf": "option", "oopPf": "option"}
# families the schema allows that no SPAN engine here margins: rejected, never skipped silently
_UNSUPPORTED_FAMILIES = ("fwdPf", "IRSwapPf", "CDSwapPf", "cmbPf", "oocPf", "debtPf",
                         "stockPf", "fxPf")
_PF_TYPES = {"phyPf": "PHY", "futPf": "FUT", "oofPf": "OOF", "oopPf": "OOP"}
_VALUE_METHODS = ("EQTY", "FUT")
_SOM_METHODS = ("GROSS",)
_WFPR_METHODS = ("NORMAL",)
_INTRA_CHARGE_METHODS = ("F",)
_INTER_CHARGE_METHODS = ("W",)


class _Located(Exception):
    """Internal: an error about one element; ``load`` adds the line and raises InputError."""

    def __init__(self, elem, message):
        super().__init__(message)
        self.elem = elem


def _line_of(raw, tag, rank):
    """1-based line of the ``rank``-th (0-based, document order) ``<tag>`` in ``raw``, found by
    a second expat pass (only on the error path)."""
    parser = xml.parsers.expat.ParserCreate()
    seen = [0]
    found = []

    def start(name, attrs):
        if name == tag:
            if seen[0] == rank:
                found.append(parser.CurrentLineNumber)
                raise StopIteration
            seen[0] += 1

    parser.StartElementHandler = start
    try:
        parser.Parse(raw, True)
    except StopIteration:
        pass
    return found[0] if found else None


def _text(elem, tag, what):
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise _Located(elem, f"<{elem.tag}> of {what} has no <{tag}>")
    return child.text.strip()


def _opt_text(elem, tag, default=None):
    child = elem.find(tag)
    if child is None or child.text is None:
        return default
    text = child.text.strip()
    return text if text else default


def _float(elem, tag, what, default=None):
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if default is not None:
            return default
        raise _Located(elem, f"<{elem.tag}> of {what} has no <{tag}>")
    try:
        value = float(child.text)
    except ValueError:
        raise _Located(child, f"<{tag}> of {what} is not a number: {child.text!r}") from None
    if not np.isfinite(value):
        raise _Located(child, f"<{tag}> of {what} is not finite: {child.text!r}")
    return value


def _risk_array(elem, what):
    """The first ``ra`` of a contract: 16 scenario losses and the composite delta.

    ``parse_xml`` has already turned every ``<a>v</a>`` into `` v`` (``a`` is the schema's
    risk-array value element and nothing else), so the 16 values are the text between the
    ``ra``'s other children: half the elements of a file never become Python objects."""
    ra = elem.find("ra")
    if ra is None:
        raise _Located(elem, f"{what} has no risk array <ra>")
    text = "".join([ra.text or ""] + [c.tail or "" for c in ra])
    try:
        arr = [float(x) for x in text.split()]
    except ValueError:
        raise _Located(ra, f"risk array of {what} holds a value that is not a number") from None
    if len(arr) != N_SCEN:
        raise _Located(ra, f"risk array of {what} has {len(arr)} <a> values, expected {N_SCEN}")
    if not all(map(math.isfinite, arr)):
        raise _Located(ra, f"risk array of {what} holds a non-finite value")
    return arr, _float(ra, "d", what)


def _tiers(parent, tag, cc):
    out = []
    node = parent.find(tag)
    if node is None:
        return out
    for t in node.findall("tier"):
        tn = int(_text(t, "tn", f"{tag} of {cc}"))
        rate = t.find("rate")
        out.append(Tier(tn=tn, start=_opt_text(t, "sPe"), end=_opt_text(t, "ePe"),
                        rate=_float(rate, "val", f"{tag} tier {tn} of {cc}") if rate is not None
                        else 0.0))
    return out


def _leg(leg, what):
    """A tier leg (``tLeg``: cc, tn) or a period leg (``pLeg``: cc, pe), with side and ratio."""
    side = _text(leg, "rs", what)
    if side not in ("A", "B"):
        raise _Located(leg, f"{what}: leg side <rs> {side!r} is not A or B")
    ratio = _float(leg, "i", what)
    if ratio <= 0:
        raise _Located(leg, f"{what}: delta ratio <i> must be > 0")
    if leg.tag == "tLeg":
        return SpreadLeg(cc=_text(leg, "cc", what), tier=int(_text(leg, "tn", what)), side=side,
                         ratio=ratio)
    return SpreadLeg(cc=_text(leg, "cc", what), tier=-1, side=side, ratio=ratio,
                     period=_text(leg, "pe", what))


def _spread(ds, where, allowed_methods):
    priority = int(_text(ds, "spread", where))
    meth = _opt_text(ds, "chargeMeth", "")
    if meth not in allowed_methods:
        raise _Located(ds, f"{where} spread {priority}: chargeMeth {meth!r} is not supported "
                           f"(known here: {', '.join(allowed_methods)})")
    rate = ds.find("rate")
    if rate is None:
        raise _Located(ds, f"{where} spread {priority} has no <rate>")
    what = f"{where} spread {priority}"
    legs = [_leg(leg, what) for leg in ds if leg.tag in ("tLeg", "pLeg")]
    return Spread(priority=priority, rate=_float(rate, "val", f"{where} spread {priority}"),
                  legs=legs, charge_meth=meth)


def _cc_def(el):
    code = _text(el, "cc", "a combined commodity")
    what = f"combined commodity {code}"
    cc = CombinedCommodity(code=code, currency=_text(el, "currency", what),
                           cap_anov=_opt_text(el, "capAnov", "0") == "1",
                           som_method=_opt_text(el, "somMeth", "GROSS"),
                           wfpr_method=_opt_text(el, "wfprMeth", "NORMAL"))
    if cc.som_method not in _SOM_METHODS:
        raise _Located(el.find("somMeth"), f"{what}: somMeth {cc.som_method!r} is not supported "
                                           f"(known here: {', '.join(_SOM_METHODS)})")
    if cc.wfpr_method not in _WFPR_METHODS:
        raise _Located(el.find("wfprMeth"), f"{what}: wfprMeth {cc.wfpr_method!r} is not "
                                            f"supported (known: {', '.join(_WFPR_METHODS)})")
    adj = el.findall("adjRate")
    if adj:  # the ratio for rate id 1 (the only one Takasbank ships): maintenance = ratio x risk
        first = next((a for a in adj if _opt_text(a, "r") == "1"), adj[0])
        cc.maintenance_ratio = _float(first, "val", what)
    cc.intra_tiers = _tiers(el, "intraTiers", code) or [Tier(0)]
    cc.inter_tiers = _tiers(el, "interTiers", code) or [Tier(0)]
    cc.scan_tiers = _tiers(el, "scanTiers", code) or [Tier(0)]
    cc.som_tiers = _tiers(el, "somTiers", code) or [Tier(0)]
    for ds in el.findall("dSpread"):
        sp = _spread(ds, what, _INTRA_CHARGE_METHODS)
        for leg in sp.legs:
            if leg.cc != code:
                raise _Located(ds, f"{what}: intra spread {sp.priority} has a leg on {leg.cc}")
        cc.intra_spreads.append(sp)
    cc.intra_spreads.sort(key=lambda s: s.priority)
    for sr in el.findall("spotRate"):
        cc.spot_rates.append(SpotRate(period=_text(sr, "pe", what),
                                      spread_rate=_float(sr, "sprd", what, 0.0),
                                      outright_rate=_float(sr, "outr", what, 0.0)))
    return cc


class _Contracts:
    """Column lists of the contract table, filled while walking the file."""

    def __init__(self):
        self.cols = {k: [] for k in ("exchange", "product", "kind", "pf_type", "pf_id", "period",
                                     "strike", "right", "price", "cvf", "delta",
                                     "premium_style", "psr")}
        self.arrays = []

    def add(self, arr, **values):
        for k, v in values.items():
            self.cols[k].append(v)
        self.arrays.append(arr)


def _scan_psr(elem):
    sr = elem.find("scanRate")
    if sr is None:
        return np.nan
    ps = sr.findtext("priceScan")
    return float(ps) if ps not in (None, "") else np.nan


def _family(pf, exch, out):
    code = _text(pf, "pfCode", f"a <{pf.tag}> of exchange {exch}")
    pf_id = _text(pf, "pfId", f"product {code}")
    kind = _FAMILIES[pf.tag]
    value_meth = _opt_text(pf, "valueMeth", "EQTY" if kind == "option" else "FUT")
    if value_meth not in _VALUE_METHODS:
        raise _Located(pf, f"product {code} ({pf.tag}): valueMeth {value_meth!r} is not one "
                           f"of {', '.join(_VALUE_METHODS)}")
    premium = kind == "option" and value_meth == "EQTY"
    pf_cvf = _float(pf, "cvf", f"product {code}", 0.0)
    base = dict(exchange=exch, product=code, kind=kind, pf_type=_PF_TYPES[pf.tag], pf_id=pf_id)
    if kind != "option":
        tag = "phy" if kind == "physical" else "fut"
        for c in pf.findall(tag):
            pe = _text(c, "pe", f"a <{tag}> of {code}")
            what = f"{kind} {code} {pe}"
            arr, d = _risk_array(c, what)
            sc = _float(c, "sc", what, 1.0)
            cvf = _float(c, "cvf", what, pf_cvf)
            out.add(arr, **base, period=pe, strike=np.nan, right="",
                    price=_float(c, "p", what), cvf=cvf, delta=d * sc,
                    premium_style=False, psr=_scan_psr(c))
        return
    for series in pf.findall("series"):
        pe = _text(series, "pe", f"a <series> of {code}")
        s_cvf = _float(series, "cvf", f"option series {code} {pe}", pf_cvf)
        sc = _float(series, "sc", f"option series {code} {pe}", 1.0)
        psr = _scan_psr(series)
        for opt in series.findall("opt"):
            right = _text(opt, "o", f"an option of {code} {pe}")
            k_text = _text(opt, "k", f"an option of {code} {pe}")
            what = f"option {code} {pe} {right} {k_text}"
            if right not in ("C", "P"):
                raise _Located(opt, f"{what}: right <o> {right!r} is not C or P")
            arr, d = _risk_array(opt, what)
            out.add(arr, **base, period=pe, strike=_float(opt, "k", what), right=right,
                    price=_float(opt, "p", what), cvf=_float(opt, "cvf", what, s_cvf),
                    delta=d * sc, premium_style=premium, psr=psr)


def _paired_points(point_def):
    paired = default_paired()
    if point_def is None:
        return paired
    for sp in point_def.findall("scanPointDef"):
        j = int(_text(sp, "point", "a scanPointDef")) - 1
        p = _opt_text(sp, "pairedPoint")
        if not 0 <= j < N_SCEN:
            raise _Located(sp, f"scanPointDef point {j + 1} is outside 1..{N_SCEN}")
        paired[j] = int(p) - 1 if p is not None else j
    return paired


_PIECES = tuple(_FAMILIES) + _UNSUPPORTED_FAMILIES + ("ccDef", "interSpreads", "curConv",
                                                     "pointDef")
_PIECE_RE = re.compile(rb"<(" + b"|".join(t.encode() for t in _PIECES) + rb")>")
_EXCHANGE_RE = re.compile(rb"<exchange>\s*<exch>([^<]*)</exch>")


def _header(raw, tag):
    m = re.search(rb"<" + tag.encode() + rb">([^<]*)</" + tag.encode() + rb">", raw)
    return m.group(1).decode("latin-1").strip() if m else None


class _Stream:
    """What the pieces of a file add up to (see ``parse_xml``)."""

    def __init__(self):
        self.fmt = self.date = self.ec = None
        self.fx = {}
        self.paired = None
        self.out = _Contracts()
        self.ccs, self.links = [], {}
        self.inter = []

    def piece(self, el, exch):
        tag = el.tag
        if tag in _FAMILIES:
            _family(el, exch, self.out)
        elif tag in _UNSUPPORTED_FAMILIES:
            raise _Located(el, f"product family <{tag}> {_opt_text(el, 'pfCode', '?')} is not "
                               "supported")
        elif tag == "ccDef":
            cc = _cc_def(el)
            self.ccs.append(cc)
            for link in el.findall("pfLink"):
                key = (_text(link, "exch", f"pfLink of {cc.code}"),
                       _text(link, "pfId", f"pfLink of {cc.code}"))
                self.links[key] = cc.code
        elif tag == "interSpreads":
            self.inter = [_spread(ds, "interSpreads", _INTER_CHARGE_METHODS)
                          for ds in el.findall("dSpread")]
            for sp, ds in zip(self.inter, el.findall("dSpread")):
                if any(leg.period is not None for leg in sp.legs):
                    raise _Located(ds.find("pLeg"), f"inter spread {sp.priority}: period legs "
                                                    "<pLeg> are not supported between "
                                                    "combined commodities (tier legs are)")
        elif tag == "curConv":
            self.fx[(_text(el, "fromCur", "curConv"), _text(el, "toCur", "curConv"))] = \
                _float(el, "factor", "curConv")
        elif tag == "pointDef" and self.paired is None:
            self.paired = _paired_points(el)


def parse_xml(raw, source):
    """Parse SPAN XML bytes into ``SpanParams`` (see ``pmfast.span.load``).

    Streaming by pieces: one handler-less expat pass checks the whole file is well-formed (and
    names the line of the first fault); then each top-level piece (a product family, a ccDef,
    interSpreads, a curConv, the pointDef) is cut out of the bytes, parsed on its own and
    dropped, so memory holds the bytes and one piece, never the file's tree. Errors inside a
    piece name its element and the line in the file."""
    raw = raw.replace(b"<a>", b" ").replace(b"</a>", b" ")  # see _risk_array; lines unchanged
    check = xml.parsers.expat.ParserCreate()
    try:
        check.Parse(raw, True)
    except xml.parsers.expat.ExpatError as exc:
        raise InputError(f"{source}: malformed SPAN XML at line {exc.lineno}, column "
                         f"{exc.offset}: {xml.parsers.expat.ErrorString(exc.code)}") from None
    first = re.search(rb"<([A-Za-z_][\w.-]*)", re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", raw[:4096],
                                                     flags=re.S))
    if first is None or first.group(1) != b"spanFile":
        raise InputError(f"{source}: the root element is not <spanFile>")
    st = _Stream()
    st.fmt = _header(raw, "fileFormat")
    if st.fmt is None or not st.fmt.startswith("4."):
        raise InputError(f"{source}: fileFormat {st.fmt!r}: only SPAN XML 4.x is read")
    if raw.count(b"<clearingOrg>") != 1:
        raise InputError(f"{source}: {raw.count(b'<clearingOrg>')} <clearingOrg> elements; one "
                         "is supported per file")
    pit = raw.find(b"<pointInTime>")
    st.date = _header(raw[pit:pit + 500], "date") if pit >= 0 else ""
    org = raw.find(b"<clearingOrg>")
    st.ec = _header(raw[org:org + 500], "ec") or ""
    exchanges = [(m.start(), m.group(1).decode("latin-1").strip())
                 for m in _EXCHANGE_RE.finditer(raw)]
    pos = 0
    while True:
        m = _PIECE_RE.search(raw, pos)
        if m is None:
            break
        tag = m.group(1)
        stop = raw.find(b"</" + tag + b">", m.end())
        piece = raw[m.start():stop + len(tag) + 3]
        pos = stop + len(tag) + 3
        el = ET.fromstring(piece)
        exch = next((e for at, e in reversed(exchanges) if at < m.start()), None)
        try:
            st.piece(el, exch)
        except _Located as exc:
            rank = next((k for k, e in enumerate(el.iter(exc.elem.tag)) if e is exc.elem), 0)
            inner = _line_of(piece, exc.elem.tag, rank) or 1
            line = raw.count(b"\n", 0, m.start()) + inner
            raise InputError(f"{source}: line {line}, <{exc.elem.tag}>: {exc}") from None
    try:
        return _finish(st, source)
    except _Located as exc:
        raise InputError(f"{source}: {exc}") from None


def _finish(st, source):
    st.inter.sort(key=lambda s: s.priority)
    return _assemble(st, source)


def _assemble(st, source):
    out, ccs, links, inter, fx = st.out, st.ccs, st.links, st.inter, st.fx
    paired = st.paired if st.paired is not None else default_paired()
    contracts = pd.DataFrame(out.cols)
    cc_pos = {cc.code: i for i, cc in enumerate(ccs)}
    keys = list(zip(contracts["exchange"], contracts["pf_id"]))
    cc_of = [cc_pos.get(links.get(k), -1) for k in keys]
    contracts["cc"] = np.asarray(cc_of, dtype=np.int32)
    orphans = contracts.loc[contracts["cc"] < 0, ["product", "kind"]].drop_duplicates()
    if len(orphans):
        row = orphans.iloc[0]
        raise _Located(None, f"product {row['product']} ({row['kind']}) belongs to no <ccDef> "
                            f"(no <pfLink> names it)")
    for sp in inter:
        for leg in sp.legs:
            if leg.cc not in cc_pos:
                raise _Located(None, f"inter spread {sp.priority} names unknown combined commodity "
                               f"{leg.cc}")
    key_cols = ["exchange", "product", "kind", "period", "strike", "right"]
    dup = contracts.duplicated(key_cols)
    if dup.any():
        row = contracts[dup].iloc[0]
        raise _Located(None, f"contract {row['product']} {row['kind']} {row['period']} "
                            f"{row['right']} {row['strike']} appears twice")
    currencies = [cc.currency for cc in ccs]
    base = max(sorted(set(currencies)), key=currencies.count) if currencies else "USD"
    params = SpanParams(source=source, file_format=f"SPAN XML {st.fmt}",
                        business_date=st.date or "", clearing_org=st.ec or "",
                        contracts=contracts.drop(columns=["pf_id"]),
                        risk_arrays=np.asarray(out.arrays, dtype=np.float64).reshape(-1, N_SCEN),
                        ccs=ccs, inter_spreads=inter, fx=fx, base_currency=base, paired=paired)
    for cc in ccs:
        try:
            params.fx_to_base(cc.currency)
        except KeyError:
            raise _Located(None, f"combined commodity {cc.code} is in {cc.currency} and the file "
                                f"has no <curConv> between {cc.currency} and {base}") from None
    return params

"""Shared helpers of the SPAN tests: the real Takasbank file, read independently of the loader."""
import pathlib
import re

import numpy as np
import pytest

DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "data"
TAKAS = DATA / "takas.spn"
PA2_FIXTURES = DATA / "pa2-fixtures.txt"


def need(path):
    if not path.is_file():
        pytest.skip(f"{path} is absent (real third-party test data lives in ../shared/spec/data)")
    return path


def raw_contract(cid):
    """Price and 16-value risk array of contract ``cId`` read with a regex straight from the
    file (not through pmfast's loader): the independent side of the hand checks."""
    text = need(TAKAS).read_text(encoding="latin-1")
    m = re.search(rf"<cId>{cid}</cId>(.*?)</ra>", text, re.S)
    assert m, cid
    block = m.group(1)
    price = float(re.search(r"<p>([^<]*)</p>", block).group(1))
    arr = np.array([float(x) for x in re.findall(r"<a>([^<]*)</a>", block)])
    delta = float(re.findall(r"<d>([^<]*)</d>", block)[-1])
    assert arr.shape == (16,)
    return price, arr, delta


def raw_price_scan(product, period):
    """``priceScan`` of a future straight from the file."""
    text = need(TAKAS).read_text(encoding="latin-1")
    pf = re.search(rf"<futPf>\s*<pfId>\d+</pfId>\s*<pfCode>{product}</pfCode>(.*?)</futPf>",
                   text, re.S).group(1)
    fut = re.search(rf"<pe>{period}</pe>(.*?)</fut>", pf, re.S).group(1)
    return float(re.search(r"<priceScan>([^<]*)</priceScan>", fut).group(1))


def linear_future(psr, extreme_mult=3.0, fraction=0.33):
    """Risk array of one long future with price scan range ``psr`` (the standard 16 points)."""
    moves = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1]
    arr = [-m * psr for m in moves] + [-extreme_mult * psr * fraction,
                                       extreme_mult * psr * fraction]
    return np.array(arr, dtype=np.float64) + 0.0


def synthetic_params(contracts, ccs, inter=(), fx=None, base="USD"):
    """A SpanParams from rows ``(product, kind, period, strike, right, cc, array, delta,
    price, cvf, premium_style)`` and CombinedCommodity objects."""
    import pandas as pd
    from pmfast.span.params import SpanParams
    cc_pos = {cc.code: i for i, cc in enumerate(ccs)}
    frame = pd.DataFrame([{"exchange": "X", "product": r[0], "kind": r[1], "period": r[2],
                           "strike": r[3], "right": r[4], "cc": cc_pos[r[5]], "price": r[8],
                           "cvf": r[9], "delta": r[7], "premium_style": r[10], "psr": np.nan,
                           "pf_type": "FUT"} for r in contracts])
    frame["cc"] = frame["cc"].astype(np.int32)
    return SpanParams(source="synthetic", file_format="test", business_date="", clearing_org="X",
                      contracts=frame, risk_arrays=np.array([r[6] for r in contracts]),
                      ccs=list(ccs), inter_spreads=list(inter), fx=dict(fx or {}),
                      base_currency=base)

"""Small crypto books shared by the tests/test_crypto_*.py files (the venue's example, an
option chain)."""
import json

import numpy as np
import pandas as pd

import pmfast

AS_OF = "2024-06-17"
INDEX = 65666.19


def example(spec_dir):
    return json.loads((spec_dir / "examples" / "deribit-pme-simulate.json").read_text())


def example_tables(ex):
    pos = ex["portfolio"]["position"]
    positions = {"account": ["A"] * len(pos), "instrument": list(pos),
                 "quantity": list(pos.values())}
    instruments = {"instrument": list(pos), "kind": ["perpetual", "future"],
                   "underlying": ["BTC", "BTC"],
                   "price": [ex["ticker"][i]["mark_price"] for i in pos],
                   "expiry": [None, "2024-06-28"]}
    underlyings = {"underlying": ["BTC"], "price": [ex["index_price"]["btc_usd"]],
                   "group_type": ["crypto"]}
    return positions, instruments, underlyings


def chain(settlement="inverse", seed=0, n_accounts=6, rate=0.0):
    """A BTC chain: perpetual, two futures, calls and puts over four expiries (one with no
    future: its forward is the index carried at the rate), and random accounts."""
    rng = np.random.default_rng(seed)
    expiries = ["2024-06-18", "2024-06-28", "2024-09-27", "2025-03-28"]
    futures = {"2024-06-28": 66100.0, "2024-09-27": 67400.0}
    ins = [{"instrument": "BTC-PERP", "kind": "perpetual", "underlying": "BTC",
            "price": 65700.0, "expiry": None, "right": None, "strike": np.nan,
            "implied_vol": np.nan}]
    for e, mark in futures.items():
        ins.append({"instrument": f"BTC-{e}", "kind": "future", "underlying": "BTC",
                    "price": mark, "expiry": e, "right": None, "strike": np.nan,
                    "implied_vol": np.nan})
    for e in expiries:
        for k in (40000.0, 60000.0, 65000.0, 70000.0, 90000.0):
            for r in "CP":
                ins.append({"instrument": f"BTC-{e}-{int(k)}-{r}", "kind": "option",
                            "underlying": "BTC", "price": np.nan, "expiry": e, "right": r,
                            "strike": k, "implied_vol": float(rng.uniform(0.35, 0.9))})
    instruments = pd.DataFrame(ins)
    instruments["settlement"] = settlement
    ids = instruments["instrument"].to_numpy()
    rows = []
    for a in range(n_accounts):
        for i in rng.choice(len(ids), size=6, replace=False):
            rows.append({"account": f"A{a}", "instrument": ids[i],
                         "quantity": float(np.round(rng.normal(0, 3), 3))})
    positions = pd.DataFrame(rows)
    underlyings = pd.DataFrame({"underlying": ["BTC"], "price": [INDEX],
                                "group_type": ["crypto"]})
    return positions, instruments, underlyings


def book(positions, instruments, underlyings, rate=0.0, **kw):
    return pmfast.Book(positions, instruments, underlyings, as_of=AS_OF, rate=rate, **kw)

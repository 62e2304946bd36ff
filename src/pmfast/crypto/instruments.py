"""The crypto instruments of a Book as columns: kind, settlement, forward of each expiry,
volatility, and the risk-matrix pair (index, settlement) each belongs to."""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmfast.scenarios import _np

PERPETUAL, FUTURE, OPTION = 0, 1, 2
_KIND_CODE = {"perpetual": PERPETUAL, "future": FUTURE, "option": OPTION}


@dataclass(frozen=True)
class CryptoInstruments:
    """One row per instrument of the book (non-crypto rows have ``pair = -1``)."""
    ids: np.ndarray          # str
    sort_key: np.ndarray     # int64 pair x n + rank of the id: positions' order in an account
    kind: np.ndarray         # int8 PERPETUAL / FUTURE / OPTION (-1: not crypto)
    inverse: np.ndarray      # bool: coin-settled
    right: np.ndarray        # int8 +1 call / -1 put (options)
    strike: np.ndarray
    T: np.ndarray            # years (ACT/365); 0 for perpetuals
    expiry_code: np.ndarray  # int64: 0 perpetual, k > 0 the k-th distinct expiry date
    multiplier: np.ndarray   # coin units per contract
    mark: np.ndarray         # the instrument's price (perpetual/future mark)
    forward: np.ndarray      # forward of the instrument's expiry (its own mark for delta-one)
    vol: np.ndarray          # options: implied_vol, else the underlying's volatility
    pair: np.ndarray         # int64 row of ``pairs`` (-1: not crypto)
    pairs: pd.DataFrame      # underlying, und_code, settlement, inverse, index, currency
    n_expiry_codes: int


def crypto_instruments(book, rules):
    """Read the crypto columns of ``book.instruments`` for ``rules`` (a ``CryptoRules``)."""
    ins, und = book.instruments, book.underlyings
    n = ins.num_rows
    kind_text = _np(ins.column("kind")).astype(object)
    kind = np.array([_KIND_CODE.get(k, -1) for k in kind_text], dtype=np.int8) if n else \
        np.zeros(0, np.int8)
    und_code = _np(ins.column("underlying_code")).astype(np.int64)
    gtype = _np(und.column("group_type")).astype(object)
    is_crypto = (gtype[und_code] == "crypto") if n else np.zeros(0, bool)
    kind = np.where(is_crypto, kind, -1).astype(np.int8)
    settlement = _np(ins.column("settlement")).astype(object)
    inverse = settlement == "inverse"
    index = _np(und.column("price")).astype(np.float64)
    und_ids = _np(und.column("underlying")).astype(str)
    T = _np(ins.column("T")).astype(np.float64)
    mark = _np(ins.column("price")).astype(np.float64)
    days = _np(ins.column("expiry").cast("int32").fill_null(-1)).astype(np.int64)
    # expiry codes: 0 for perpetuals, 1.. for the distinct expiry dates (sorted)
    dated = is_crypto & (kind != PERPETUAL)
    uniq = np.unique(days[dated])
    expiry_code = np.where(dated, np.searchsorted(uniq, days) + 1, 0).astype(np.int64)

    forward = np.where(kind == OPTION, np.nan, mark)
    opt = np.flatnonzero(kind == OPTION)
    if opt.size:
        ids = _np(ins.column("instrument")).astype(str)
        fut = np.flatnonzero(kind == FUTURE)
        # the mark of the future of the same index and expiry (the smallest id when several)
        futures = pd.DataFrame({"und": und_code[fut], "day": days[fut], "id": ids[fut],
                                "mark": mark[fut]}).sort_values("id", kind="stable")
        futures = futures.drop_duplicates(["und", "day"]).set_index(["und", "day"])["mark"]
        key = pd.MultiIndex.from_arrays([und_code[opt], days[opt]])
        fwd = futures.reindex(key).to_numpy(dtype=np.float64)
        carried = index[und_code[opt]] * np.exp(book.rate * T[opt])
        forward[opt] = np.where(np.isnan(fwd), carried, fwd)
    vol = _np(ins.column("implied_vol")).astype(np.float64)
    und_vol = _np(und.column("volatility")).astype(np.float64)
    vol = np.where(np.isnan(vol), und_vol[und_code] if n else vol, vol)

    # risk-matrix pairs: (index, settlement) held by some crypto instrument, ordered by the
    # index id (not the table's row order: results must not depend on it)
    sel = np.flatnonzero(is_crypto)
    pair = np.full(n, -1, dtype=np.int64)
    und_order = np.argsort(und_ids, kind="stable")
    und_rank = np.empty(len(und_ids), dtype=np.int64)
    und_rank[und_order] = np.arange(len(und_ids))
    code = und_rank[und_code[sel]] * 2 + (~inverse[sel]).astype(np.int64)
    keys, inv = np.unique(code, return_inverse=True)
    pair[sel] = inv
    p_und = und_order[keys // 2]
    p_inverse = keys % 2 == 0
    p_und_id = und_ids[p_und]
    currency = np.where(p_inverse, np.char.upper(np.array([u.split("_")[0].split("-")[0]
                                                            for u in p_und_id], dtype=str)),
                        rules.linear_currency.upper())
    pairs = pd.DataFrame({"underlying": p_und_id, "und_code": p_und,
                          "settlement": np.where(p_inverse, "inverse", "linear"),
                          "inverse": p_inverse, "index": index[p_und],
                          "currency": currency.astype(object)})
    ids = _np(ins.column("instrument")).astype(str)
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(n)
    return CryptoInstruments(
        ids=ids, sort_key=pair * max(n, 1) + id_rank, kind=kind, inverse=inverse,
        right=_np(ins.column("right_code")).astype(np.int8),
        strike=_np(ins.column("strike")).astype(np.float64), T=T, expiry_code=expiry_code,
        multiplier=_np(ins.column("multiplier")).astype(np.float64), mark=mark,
        forward=forward, vol=vol, pair=pair, pairs=pairs, n_expiry_codes=len(uniq) + 1)

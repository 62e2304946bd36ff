"""The Book's crypto columns and checks, kept here so ``pmfast.book`` needs two small hooks.

An instrument is a crypto instrument when its underlying has ``group_type = "crypto"`` (a coin
index, price = index price). Its ``kind`` is ``perpetual``, ``future`` or ``option``
(European, Black-76 on the forward of its expiry), its ``settlement`` ``inverse`` (P&L and
margin in the coin, the default) or ``linear`` (in the quote currency), its ``multiplier``
coin units per contract (default 1: quantities are in coin units).
"""
import numpy as np
import pyarrow as pa

CRYPTO = "crypto"
KINDS = ("perpetual", "future", "option")
SETTLEMENTS = ("inverse", "linear")


def crypto_rows(und, und_row):
    """Boolean per instrument row: its underlying is a crypto index."""
    gtype = np.asarray(und["group_type"].to_numpy(zero_copy_only=False), dtype=object)
    out = np.zeros(len(und_row), dtype=bool)
    linked = und_row >= 0
    out[linked] = gtype[und_row[linked]] == CRYPTO
    return out


def check_crypto_instruments(c, kind_np, is_crypto, und, und_row, exp_null, price,
                             implied_vol):
    """Flag the crypto-specific problems on the instruments checker ``c`` and return the
    ``settlement`` column (lower-case text; null for non-crypto rows)."""
    is_perp = kind_np == "perpetual"
    c.flag("kind", "a perpetual needs an underlying with group_type crypto", is_perp & ~is_crypto)
    c.flag("kind", f"must be one of {', '.join(KINDS)} on a crypto index",
           is_crypto & ~np.isin(kind_np, KINDS))
    c.flag("expiry", "a perpetual has no expiry", is_perp & ~exp_null)
    c.flag("price", "required for perpetuals and futures (the mark)",
           is_crypto & np.isin(kind_np, ("perpetual", "future")) & np.isnan(price))
    und_vol = np.full(c.n, np.nan)
    linked = und_row >= 0
    und_vol[linked] = und["volatility"][und_row[linked]]
    c.flag("implied_vol", "crypto option without a volatility (no implied_vol and no "
           "underlying volatility)", is_crypto & (kind_np == "option") & np.isnan(implied_vol)
           & np.isnan(und_vol))
    settlement = c.choice("settlement", SETTLEMENTS, c.string("settlement", required=False),
                          mask=is_crypto, default="inverse")
    return pa.array(np.where(is_crypto, np.asarray(
        settlement.to_numpy(zero_copy_only=False), dtype=object), None), pa.string())

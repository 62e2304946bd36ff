"""Positions of a SPAN run: read, validated and mapped to the file's contracts, vectorised.

Every string column is dictionary-encoded by Arrow once, so per-row work is integer lookups;
the slow path (naming the offending rows) runs only when something is wrong.
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pmfast.book import _fixed_width_keys
from pmfast.errors import InputError
from pmfast.io import to_arrow
from pmfast.span.params import KINDS

REQUIRED = ("account", "product", "kind", "period", "quantity")
# Above these sizes (entries) the dense contract lookup tables give way to a sorted search.
DENSE_BASE_MAX = 8_000_000
DENSE_TABLE_MAX = 32_000_000


@dataclass
class MappedPositions:
    account_ids: np.ndarray     # unique accounts, sorted
    acct: np.ndarray            # (n,) int32 code into account_ids
    contract: np.ndarray        # (n,) int32 contract row, -1 where bad
    quantity: np.ndarray        # (n,) float64
    table: pa.Table
    problems: list              # [(row, column, reason)] for bad rows
    account_array: pa.Array = None   # account_ids as Arrow strings (result tables built from it)


def _encode(col, table, name):
    """Codes (int64, -1 for null) and the distinct values (pyarrow Array) of one column read as
    text. A dictionary column (pandas Categorical, Arrow dictionary) is used as it comes: its
    codes are the encoding, so a pre-encoded table costs no hashing at all."""
    if isinstance(col, pa.ChunkedArray) and pa.types.is_dictionary(col.type):
        col = col.unify_dictionaries()
        dictionary = col.chunk(0).dictionary if col.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array([ch.indices for ch in col.chunks], col.type.index_type)
        indices = indices.combine_chunks() if col.num_chunks else pa.array([], pa.int32())
        if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
            dictionary = pc.cast(dictionary, pa.string())
    else:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            try:
                col = pc.cast(col, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"{table}.{name}: cannot read as text: {exc}") from None
        enc = pc.dictionary_encode(col).combine_chunks()
        indices, dictionary = enc.indices, enc.dictionary
    codes = indices.to_numpy(zero_copy_only=False)
    if indices.null_count:
        codes = np.where(indices.is_null().to_numpy(zero_copy_only=False), -1, codes)
    return np.asarray(codes, np.int64), dictionary


def _encode_accounts(col, table):
    """(distinct account ids sorted by bytes as an object array, int32 code per row).

    Sorted, so the output order never depends on the row order. Ids of one byte length (1 to
    8, as account numbers usually are) take the Book's radix path: read as big-endian integers
    they sort as the strings do, and the C++ core encodes and sorts them in one pass (about 3x
    Arrow's hash encoding plus a sort of the distinct ids). Anything else (nulls, mixed
    lengths, dictionary columns) is encoded by ``_encode``: the same codes and order."""
    if pa.types.is_large_string(col.type) or pa.types.is_string(col.type):
        plain = pc.cast(col, pa.string()) if pa.types.is_large_string(col.type) else col
        keys = _fixed_width_keys(plain) if plain.null_count == 0 else None
        if keys is not None:
            from pmfast import _core
            acct, first = _core.book_encode_sorted(keys, 1)
            ids = plain.take(pa.array(first))
            return ids.to_numpy(zero_copy_only=False).astype(object), acct, ids
    a_codes, a_dict = _encode(col, table, "account")
    if (a_codes < 0).any():
        row = int(np.flatnonzero(a_codes < 0)[0])
        raise InputError(f"{table}.account: missing account at row {row}")
    a_order = pc.sort_indices(a_dict).to_numpy()
    rank = np.empty(len(a_dict), np.int64)
    rank[a_order] = np.arange(len(a_dict))
    ids = a_dict.take(pa.array(a_order))
    return ids.to_numpy(zero_copy_only=False).astype(object), rank[a_codes].astype(np.int32), ids


def _lookup(codes, dictionary, mapping, transform=None):
    """Map encoded codes through ``mapping`` (value -> int); unknown / null -> -1."""
    values = dictionary.to_pylist()
    if transform is not None:
        values = [transform(v) for v in values]
    table = np.array([mapping.get(v, -1) for v in values] + [-1], np.int64)
    return table[codes]          # codes == -1 picks the trailing -1


def _contract_keys(params):
    """Integer keys of the file's contracts (cached on params)."""
    cached = getattr(params, "_keys", None)
    if cached is not None:
        return cached
    c = params.contracts
    products = {v: i for i, v in enumerate(sorted(c["product"].unique()))}
    periods = {v: i for i, v in enumerate(sorted(c["period"].unique()))}
    strikes = np.unique(c["strike"].to_numpy()[np.isfinite(c["strike"].to_numpy())])
    exchanges = {v: i for i, v in enumerate(sorted(c["exchange"].unique()))}
    kinds = {k: i for i, k in enumerate(KINDS)}
    rights = {"": 0, "C": 1, "P": 2}
    s_code = np.zeros(len(c), np.int64)
    fin = np.isfinite(c["strike"].to_numpy())
    s_code[fin] = np.searchsorted(strikes, c["strike"].to_numpy()[fin]) + 1
    dims = (len(exchanges), len(products), len(periods), len(kinds), 3)
    n_strikes = len(strikes) + 1
    base = _combine(dims, c["exchange"].map(exchanges).to_numpy(np.int64),
                    c["product"].map(products).to_numpy(np.int64),
                    c["period"].map(periods).to_numpy(np.int64),
                    c["kind"].map(kinds).to_numpy(np.int64),
                    c["right"].map(rights).to_numpy(np.int64))
    # Two dense tables when they are small (a few MB for any real file seen): (exchange,
    # product, period, kind, right) -> series, then (series, strike) -> contract; two gathers
    # per row instead of a binary search. Larger key spaces fall back to a sorted search.
    series_keys, series = np.unique(base, return_inverse=True)
    n_base = int(np.prod(dims, dtype=np.float64))
    dense = n_base <= DENSE_BASE_MAX and len(series_keys) * n_strikes <= DENSE_TABLE_MAX
    cached = dict(products=products, periods=periods, strikes=strikes, exchanges=exchanges,
                  kinds=kinds, rights=rights, dims=dims, n_strikes=n_strikes, dense=dense,
                  c_product=c["product"].map(products).to_numpy(np.int64),
                  c_period=c["period"].map(periods).to_numpy(np.int64),
                  c_kind=c["kind"].map(kinds).to_numpy(np.int64),
                  c_right=c["right"].map(rights).to_numpy(np.int64))
    if dense:
        base_to_series = np.full(n_base, -1, np.int32)
        base_to_series[series_keys] = np.arange(len(series_keys), dtype=np.int32)
        table = np.full(len(series_keys) * n_strikes, -1, np.int32)
        table[series * n_strikes + s_code] = np.arange(len(c), dtype=np.int32)
        cached.update(base_to_series=base_to_series, table=table)
    else:
        key = base * n_strikes + s_code
        order = np.argsort(key, kind="stable")
        cached.update(sorted_keys=key[order], order=order)
    params._keys = cached
    return cached


def _combine(dims, *parts):
    key = np.zeros_like(parts[0])
    for d, p in zip(dims, parts):
        key = key * d + p
    return key


def map_positions(positions, params, table="positions"):
    """Read and map ``positions``; bad rows are listed in ``problems`` (never dropped)."""
    tbl = to_arrow(positions, table)
    missing = [c for c in REQUIRED if c not in tbl.column_names]
    if missing:
        raise InputError(f"{table}: missing required column(s) {', '.join(missing)} (columns: "
                         f"{', '.join(tbl.column_names)})")
    account_ids, acct, account_array = _encode_accounts(tbl.column("account"), table)
    try:
        qty = pc.cast(tbl.column("quantity"), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(f"{table}.quantity: not numeric") from None
    qty = np.asarray(qty, np.float64)
    contract = _fast_contracts(tbl, params)
    if contract is None or (contract < 0).any() or not np.isfinite(qty).all():
        # anything unusual (dictionary columns, odd types, bad rows): the column-by-column
        # path, which also names the bad rows; it gives the same contracts (tested)
        contract, problems = _column_contracts(tbl, params, table, account_ids, acct, qty)
    else:
        problems = []
    return MappedPositions(account_ids=account_ids, acct=acct, contract=contract, quantity=qty,
                           table=tbl, problems=problems, account_array=account_array)


_NAME_COLUMNS = ("exchange", "product", "kind", "period", "right")


def _file_names(params):
    """The file's contracts as naming columns for ``_core.span_map_contracts`` (cached)."""
    cached = getattr(params, "_names", None)
    if cached is None:
        c = params.contracts
        cached = {name: pa.array(c[name].astype(object).to_numpy(), pa.string())
                  for name in _NAME_COLUMNS}
        cached["strike"] = np.ascontiguousarray(c["strike"].to_numpy(np.float64))
        params._names = cached
    return cached


def _fast_contracts(tbl, params):
    """Contract row per position (int32, -1 where none) in one C++ hashing pass over plain
    string columns, or None when the table does not fit that path (dictionary or non-string
    naming columns, a non-numeric strike, several exchanges without an ``exchange`` column):
    the caller then takes the column-by-column path."""
    from pmfast import _core
    names = tbl.column_names
    cols = {}
    for name in _NAME_COLUMNS:
        if name not in names:
            continue
        col = tbl.column(name)
        if pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        elif not pa.types.is_string(col.type):
            return None
        cols[name] = col
    n = tbl.num_rows
    if "exchange" not in cols and params.contracts["exchange"].nunique() > 1:
        return None
    if "right" not in cols or "strike" not in names:
        # futures-only tables need neither column; an option row then finds nothing, and the
        # column-by-column path names the missing column
        cols["right"] = pa.nulls(n, pa.string())
        strike = np.full(n, np.nan)
    else:
        try:
            strike = pc.cast(tbl.column("strike"), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    cols["strike"] = np.ascontiguousarray(strike, np.float64)
    return _core.span_map_contracts(_file_names(params), cols, 1)


def _column_contracts(tbl, params, table, account_ids, acct, qty):
    """(contract per row, problems): each naming column dictionary-encoded by Arrow, mapped to
    integer codes, combined and looked up in dense tables; bad rows described."""
    n = tbl.num_rows
    keys = _contract_keys(params)
    problems = []
    parts = {}
    for name, mapping in (("product", keys["products"]), ("period", keys["periods"]),
                          ("kind", keys["kinds"])):
        codes, values = _encode(tbl.column(name), table, name)
        parts[name] = _lookup(codes, values, mapping)
    if "exchange" in tbl.column_names:
        codes, values = _encode(tbl.column("exchange"), table, "exchange")
        parts["exchange"] = _lookup(codes, values, keys["exchanges"])
    elif len(keys["exchanges"]) == 1:
        parts["exchange"] = np.zeros(n, np.int64)
    else:
        raise InputError(f"{table}: the file holds exchanges {', '.join(keys['exchanges'])}: "
                         "an `exchange` column is needed")
    is_option = parts["kind"] == keys["kinds"]["option"]
    right = np.zeros(n, np.int64)
    strike = np.zeros(n, np.int64)
    if is_option.any():
        for col in ("strike", "right"):
            if col not in tbl.column_names:
                raise InputError(f"{table}: options need a `{col}` column")
        codes, values = _encode(tbl.column("right"), table, "right")
        r = _lookup(codes, values, keys["rights"],
                    transform=lambda v: v.upper() if v is not None else None)
        right = np.where(is_option, r, 0)
        try:
            k = pc.cast(tbl.column("strike"), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(f"{table}.strike: not numeric") from None
        rows = np.flatnonzero(is_option)            # strikes are looked up for options only
        k = np.asarray(k, np.float64)[rows]
        known = keys["strikes"]
        if len(known):
            at = np.minimum(np.searchsorted(known, np.where(np.isfinite(k), k, 0.0)),
                            len(known) - 1)
            strike[rows] = np.where(np.isfinite(k) & (known[at] == k), at + 1, -1)
        else:
            strike[rows] = -1
    bad_part = np.zeros(n, bool)
    for p in (parts["exchange"], parts["product"], parts["period"], parts["kind"], right, strike):
        bad_part |= p < 0
    base = _combine(keys["dims"], *(np.where(bad_part, 0, p) for p in
                                    (parts["exchange"], parts["product"], parts["period"],
                                     parts["kind"], right)))
    strike = np.where(bad_part, 0, strike)
    if keys["dense"]:
        series = keys["base_to_series"][base]
        contract = keys["table"][np.maximum(series, 0).astype(np.int64) * keys["n_strikes"] +
                                 strike]
        contract = np.where(bad_part | (series < 0), -1, contract).astype(np.int32)
        found = contract >= 0
    else:
        key = base * keys["n_strikes"] + strike
        sk = keys["sorted_keys"]
        at = np.minimum(np.searchsorted(sk, key), len(sk) - 1)
        found = ~bad_part & (sk[at] == key)
        contract = np.where(found, keys["order"][at], -1).astype(np.int32)
    bad_qty = ~np.isfinite(qty)
    if (~found).any() or bad_qty.any():
        problems = _describe(tbl, account_ids, acct, found, bad_qty, parts, keys, params, right)
    return contract, problems


def contract_label(tbl, row):
    """``AKBNKE option 201605S0 C 6.5`` for row ``row`` of the positions."""
    def get(col):
        return tbl.column(col)[row].as_py() if col in tbl.column_names else None
    label = f"{get('product')} {get('kind')} {get('period')}"
    if get("kind") == "option":
        label += f" {get('right')} {get('strike')}"
    return label


def _describe(tbl, account_ids, acct, found, bad_qty, parts, keys, params, right):
    """(account, column, reason) for each bad row, vectorised over the bad rows (a file of
    nothing but bad rows is described in seconds, not row by row)."""
    rows = np.flatnonzero(~found | bad_qty)
    cols = [c for c in ("product", "kind", "period", "right", "strike", "quantity")
            if c in tbl.column_names]
    sub = tbl.select(cols).take(pa.array(rows)).to_pandas()
    text = {c: sub[c].astype(object).where(sub[c].notna(), None).astype(str)
            for c in cols}
    label = text["product"] + " " + text["kind"] + " " + text["period"]
    is_opt = (sub["kind"] == "option").to_numpy()
    if "right" in text and "strike" in text:
        label = label.where(~is_opt, label + " " + text["right"] + " " + text["strike"])
    p = {k: v[rows] for k, v in parts.items()}
    r = right[rows]
    nk, nr = len(keys["kinds"]), 3
    pk = p["product"] * nk + p["kind"]
    c_pk = keys["c_product"] * nk + keys["c_kind"]
    pkp = pk * len(keys["periods"]) + p["period"]
    c_pkp = c_pk * len(keys["periods"]) + keys["c_period"]
    pkpr = pkp * nr + r
    c_pkpr = c_pkp * nr + keys["c_right"]
    kinds = ", ".join(KINDS)
    column = np.select(
        [bad_qty[rows], p["kind"] < 0, p["product"] < 0, p["exchange"] < 0, p["period"] < 0,
         ~np.isin(pk, c_pk), ~np.isin(pkp, c_pkp), is_opt & (r < 0), ~np.isin(pkpr, c_pkpr)],
        ["quantity", "kind", "product", "exchange", "period", "product", "period", "right",
         "right"], "strike")
    why = np.select(
        [bad_qty[rows], p["kind"] < 0, p["product"] < 0, p["exchange"] < 0, p["period"] < 0,
         ~np.isin(pk, c_pk), ~np.isin(pkp, c_pkp), is_opt & (r < 0), ~np.isin(pkpr, c_pkpr)],
        ["quantity is not a finite number", f"kind is not one of {kinds}", "unknown product",
         "unknown exchange", "unknown period", "no such kind on this product",
         "unknown period for this product", "right is not C or P",
         "no such right in this series"], "unknown strike for this series")
    accounts = account_ids[acct[rows]]
    src = params.source
    return [(a, col, f"account {a}: {lab}: {w} in {src}")
            for a, col, lab, w in zip(accounts, column, label.tolist(), why)]

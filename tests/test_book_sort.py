"""The Book's compiled sorting helpers against numpy: segment_sort is a stable argsort of
(group, key); net_positions sums duplicate (account, instrument) rows in input order."""
import numpy as np
import pytest

import pmfast
from pmfast import _core


def _rows(rng, n, n_groups, n_keys):
    return (rng.integers(0, n_groups, n).astype(np.int32),
            rng.integers(0, n_keys, n).astype(np.int64))


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n,n_groups,n_keys", [(0, 3, 5), (1, 1, 1), (500, 7, 4),
                                               (20_000, 3_000, 50), (20_000, 10, 20_000)])
def test_segment_sort_is_a_stable_argsort(n, n_groups, n_keys, n_threads):
    rng = np.random.default_rng(n + n_groups)
    group, key = _rows(rng, n, n_groups, n_keys)
    expected = np.lexsort((np.arange(n), key, group))
    got = _core.book_segment_sort(group, key, n_groups, n_threads)
    np.testing.assert_array_equal(got, expected)


def test_segment_sort_rejects_a_group_out_of_range():
    with pytest.raises(pmfast.InputError, match=r"group\[2\] = 5"):
        _core.book_segment_sort(np.array([0, 1, 5], np.int32), np.zeros(3, np.int64), 3, 1)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_net_positions_sums_duplicates_in_input_order(n_threads):
    rng = np.random.default_rng(7)
    n = 30_000
    acct = rng.integers(0, 2_000, n).astype(np.int32)
    inst = rng.integers(0, 40, n).astype(np.int32)
    qty = rng.normal(0, 10, n)   # non-integers: the summation order shows in the bits
    a, i, q = _core.book_net_positions(acct, inst, qty, 2_000, n_threads)
    order = np.lexsort((np.arange(n), inst, acct))
    key = acct[order].astype(np.int64) * 40 + inst[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = [sum(qty[order][s:e].tolist(), 0.0) for s, e in zip(starts, np.r_[starts[1:], n])]
    np.testing.assert_array_equal(a, acct[order][starts])
    np.testing.assert_array_equal(i, inst[order][starts])
    np.testing.assert_array_equal(q, np.array(sums))   # bit for bit: same order of additions


def test_net_positions_rejects_a_negative_instrument():
    with pytest.raises(pmfast.InputError, match=r"instrument\[1\] = -1"):
        _core.book_net_positions(np.zeros(2, np.int32), np.array([0, -1], np.int32),
                                 np.ones(2), 1, 1)


def test_net_positions_names_an_account_out_of_range():
    with pytest.raises(pmfast.InputError, match=r"account\[1\] = 3"):
        _core.book_net_positions(np.array([0, 3], np.int32), np.zeros(2, np.int32),
                                 np.ones(2), 2, 1)


def test_segment_sort_with_keys_too_wide_to_pack():
    """(group, key) beyond 63 bits takes the per-group fallback: same stable order."""
    rng = np.random.default_rng(3)
    group = rng.integers(0, 50, 2_000).astype(np.int32)
    key = rng.integers(0, 4, 2_000).astype(np.int64) * (2**61)
    expected = np.lexsort((np.arange(2_000), key, group))
    np.testing.assert_array_equal(_core.book_segment_sort(group, key, 50, 1), expected)


def test_segment_sort_rejects_a_negative_key():
    with pytest.raises(pmfast.InputError, match=r"key\[1\] = -4"):
        _core.book_segment_sort(np.zeros(2, np.int32), np.array([1, -4], np.int64), 1, 1)


@pytest.mark.parametrize("dictionary", [False, True])
def test_book_from_chunked_positions_equals_one_chunk(dictionary):
    """Positions read from a multi-row-group file arrive in chunks (and maybe dictionary-
    encoded): the Book encodes them chunk by chunk and must equal the one-buffer result."""
    import pyarrow as pa
    tables = pmfast.generate(accounts=300, seed=11)
    pos = tables["positions"]
    if not dictionary:
        pos = pa.table({"account": pos.column("account").cast(pa.string()),
                        "instrument": pos.column("instrument").cast(pa.string()),
                        "quantity": pos.column("quantity")})
    chunked = pa.Table.from_batches(pos.combine_chunks().to_batches(max_chunksize=777))
    assert chunked.column("account").num_chunks > 3
    rest = [tables[k] for k in ("instruments", "underlyings", "product_groups")]
    one = pmfast.Book(pos.combine_chunks(), *rest, as_of="2026-11-20")
    many = pmfast.Book(chunked, *rest, as_of="2026-11-20")
    np.testing.assert_array_equal(many.account_ids, one.account_ids)
    assert many.positions.equals(one.positions)


@pytest.mark.parametrize("ids", [
    ["A7", "A1", "B0", "A7", "A1", "a0", "Z9"],            # equal width: the integer path
    ["A7", "A10", "B", "A7", "A10", "a0", "Z9"],            # mixed widths: the hash path
    ["12345678", "00000001", "99999999", "00000001"],       # width 8, digits only
    ["123456789", "000000001", "123456789"],                # width 9: the hash path
    ["é1", "e2", "é1", "z1"],                               # UTF-8: 3 bytes and 2 bytes
])
def test_accounts_encoded_in_sorted_order(ids):
    import pyarrow as pa
    from pmfast.book import _encode_accounts, _fixed_width_keys
    column = pa.chunked_array([ids[:2], ids[2:]])
    expected = np.unique(np.array(ids))
    got_ids, codes = _encode_accounts(column)
    np.testing.assert_array_equal(got_ids, expected)
    np.testing.assert_array_equal(got_ids[codes], np.array(ids))
    widths = {len(i.encode()) for i in ids}
    assert (_fixed_width_keys(column) is not None) == (len(widths) == 1 and max(widths) <= 8)


def test_encode_sorted_against_numpy():
    rng = np.random.default_rng(5)
    key = rng.integers(0, 2**63, 5_000, dtype=np.uint64)[rng.integers(0, 700, 20_000)]
    codes, first = _core.book_encode_sorted(key)
    uniq, inverse = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(codes, inverse)
    np.testing.assert_array_equal(key[first], uniq)
    np.testing.assert_array_equal(first, [np.flatnonzero(key == u)[0] for u in uniq])

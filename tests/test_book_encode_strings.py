"""``_core.book_encode_strings`` (src/cpp/pmfast_core/book/encode_strings.cpp), the threaded encoder of
string ids of any length, against numpy: codes are each row's index among the distinct values
sorted by UTF-8 bytes, first rows the earliest row of each value; the same for any n_threads."""
import numpy as np
import pyarrow as pa
import pytest

import pmfast
from pmfast import _core

THREADS = [1, 2, 3]


def _expected(values):
    """Plain-Python reference (numpy's str dtype would drop trailing NULs): distinct values
    sorted by their UTF-8 bytes, first row of each, each row's rank."""
    first = {}
    for row, v in enumerate(values):
        first.setdefault(v, row)
    uniq = sorted(first, key=lambda v: v.encode())
    rank = {v: k for k, v in enumerate(uniq)}
    return (uniq, np.array([first[v] for v in uniq], dtype=np.int64),
            np.array([rank[v] for v in values], dtype=np.int64))


def _check(column, values, n_threads):
    codes, first = _core.book_encode_strings(column, "positions.account", n_threads)
    uniq, first_np, inverse = _expected(values)
    np.testing.assert_array_equal(codes, inverse)
    np.testing.assert_array_equal(first, first_np)
    assert codes.dtype == np.int32 and first.dtype == np.int64


def _mixed_ids(rng, n, n_distinct):
    lengths = rng.integers(0, 14, n_distinct)
    alphabet = np.array(list("0129AZaz-._") + ["é", "ß", "€", "𝄞"])
    pool = ["".join(rng.choice(alphabet, k)) for k in lengths]
    return [pool[k] for k in rng.integers(0, n_distinct, n)]


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("n,n_distinct", [(1, 1), (7, 3), (1_001, 50), (20_003, 20_003)])
def test_small_columns_against_numpy(n, n_distinct, n_threads):
    rng = np.random.default_rng(n)
    values = _mixed_ids(rng, n, n_distinct)
    _check(pa.array(values, pa.string()), values, n_threads)


@pytest.mark.parametrize("n_threads", THREADS)
def test_multi_block_chunked_column_is_the_same_for_any_thread_count(n_threads):
    """Enough rows for several blocks, chunks of unequal lengths, one of them sliced (a non-zero
    Arrow offset), and an empty chunk."""
    rng = np.random.default_rng(99)
    n = 3 * 65_536 + 1_234
    values = _mixed_ids(rng, n, 30_000)
    whole = pa.array(["pad", "pad"] + values[:50_000], pa.string()).slice(2)
    column = pa.chunked_array([whole, pa.array([], pa.string()), values[50_000:50_007],
                               values[50_007:]], pa.string())
    _check(column, values, n_threads)


@pytest.mark.parametrize("n_threads", THREADS)
def test_uniform_chunks(n_threads):
    rng = np.random.default_rng(5)
    values = _mixed_ids(rng, 4 * 70_000 + 3, 5_000)
    column = pa.chunked_array([values[k:k + 70_000] for k in range(0, len(values), 70_000)],
                              pa.string())
    _check(column, values, n_threads)


def test_long_shared_prefixes_and_edge_bytes():
    """Ids that tie on their first 8 bytes (the prefix key) are ordered by their full bytes; a
    prefix sorts before its extensions; the empty id and an embedded NUL are ordinary ids."""
    values = ["ACCOUNT-0000000012", "ACCOUNT-000000001", "ACCOUNT-0000000011", "ACCOUNT-",
              "ACCOUNT", "", "A\x00", "A", "A\x00\x01", "ACCOUNT-000000001", "", "é", "e"]
    for t in THREADS:
        _check(pa.array(values, pa.string()), values, t)


def test_empty_column():
    codes, first = _core.book_encode_strings(pa.array([], pa.string()), "x", 2)
    assert codes.size == 0 and first.size == 0
    codes, first = _core.book_encode_strings(pa.chunked_array([], pa.string()), "x", 2)
    assert codes.size == 0 and first.size == 0


@pytest.mark.parametrize("n_threads", THREADS)
def test_null_rejected_naming_the_column_and_first_row(n_threads):
    n = 3 * 65_536
    values = [f"A{k % 977}" for k in range(n)]
    values[n - 10] = None   # in the last block
    values[n - 3] = None
    column = pa.chunked_array([values[:1000], values[1000:]], pa.string())
    with pytest.raises(pmfast.InputError, match=rf"positions.account: missing \(null\) value at "
                                                 rf"row {n - 10}"):
        _core.book_encode_strings(column, "positions.account", n_threads)


def test_non_string_column_rejected():
    with pytest.raises(pmfast.InputError, match="string"):
        _core.book_encode_strings(pa.array([1, 2]), "positions.account", 1)


def test_book_with_mixed_length_account_ids():
    """The Book's account encoding through this kernel: ids sorted, codes consistent, and the
    same Book for any n_threads."""
    tables = pmfast.generate(accounts=200, seed=8)
    pos = tables["positions"]
    acct = pos.column("account").cast(pa.string()).to_pylist()
    mixed = [a.lstrip("A0") + ("é" if k % 3 == 0 else "") for k, a in enumerate(acct)]
    pos = pos.set_column(pos.schema.get_field_index("account"), "account",
                         pa.array(mixed, pa.string()))
    rest = [tables[k] for k in ("instruments", "underlyings", "product_groups")]
    books = [pmfast.Book(pos, *rest, as_of="2026-11-20", n_threads=t) for t in (1, 2)]
    np.testing.assert_array_equal(books[0].account_ids, np.unique(np.array(mixed)))
    for b in books[1:]:
        np.testing.assert_array_equal(b.account_ids, books[0].account_ids)
        assert b.positions.equals(books[0].positions)

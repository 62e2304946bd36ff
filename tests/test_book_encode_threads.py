"""The threaded radix sorts of the Book (segment_sort.cpp) at sizes that split into several
blocks (at least 2^16 rows per block): the same result as numpy for every n_threads, bit for bit;
and the threaded instrument lookup against pyarrow's index_in."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import pmfast
from pmfast import _core
from pmfast.book import _index_in

THREADS = [1, 2, 3, 4]
N = 3 * 65_536 * 2 + 17   # odd; enough rows for 4 blocks


@pytest.mark.parametrize("n_threads", THREADS)
def test_segment_sort_is_a_stable_argsort_for_any_thread_count(n_threads):
    rng = np.random.default_rng(21)
    group = rng.integers(0, 40_000, N).astype(np.int32)
    key = rng.integers(0, 300, N).astype(np.int64)
    expected = np.lexsort((np.arange(N), key, group))
    np.testing.assert_array_equal(_core.book_segment_sort(group, key, 40_000, n_threads),
                                  expected)


@pytest.mark.parametrize("n_threads", THREADS)
def test_net_positions_bit_identical_for_any_thread_count(n_threads):
    rng = np.random.default_rng(22)
    # few instruments per account: long duplicate runs, some crossing block boundaries
    acct = np.sort(rng.integers(0, 3_000, N)).astype(np.int32)
    inst = rng.integers(0, 3, N).astype(np.int32)
    qty = rng.normal(0, 10, N)
    a, i, q = _core.book_net_positions(acct, inst, qty, 3_000, n_threads)
    order = np.lexsort((np.arange(N), inst, acct))
    key = acct[order].astype(np.int64) * 3 + inst[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.array([sum(qty[order][s:e].tolist(), 0.0)
                     for s, e in zip(starts, np.r_[starts[1:], N])])
    np.testing.assert_array_equal(a, acct[order][starts])
    np.testing.assert_array_equal(i, inst[order][starts])
    np.testing.assert_array_equal(q, sums)


def test_net_positions_one_run_spanning_every_block():
    qty = np.random.default_rng(23).normal(0, 1, N)
    zeros = np.zeros(N, np.int32)
    results = [_core.book_net_positions(zeros, zeros, qty, 1, t) for t in THREADS]
    for a, i, q in results:
        assert len(q) == 1 and a[0] == 0 and i[0] == 0
        assert q[0] == sum(qty.tolist(), 0.0)


@pytest.mark.parametrize("n_threads", THREADS)
def test_encode_sorted_for_any_thread_count(n_threads):
    rng = np.random.default_rng(24)
    key = rng.integers(0, 2**64 - 1, 50_000, dtype=np.uint64)[rng.integers(0, 50_000, N)]
    codes, first = _core.book_encode_sorted(key, n_threads)
    uniq, first_np, inverse = np.unique(key, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(codes, inverse)
    np.testing.assert_array_equal(first, first_np)   # the earliest row of each key


@pytest.mark.parametrize("n_threads", THREADS)
def test_encode_sorted_empty_and_single(n_threads):
    codes, first = _core.book_encode_sorted(np.zeros(0, np.uint64), n_threads)
    assert codes.size == 0 and first.size == 0
    codes, first = _core.book_encode_sorted(np.array([7], np.uint64), n_threads)
    assert codes.tolist() == [0] and first.tolist() == [0]


def test_rejection_names_the_first_bad_row_for_any_thread_count():
    group = np.zeros(N, np.int32)
    group[N - 5] = -2    # in the last block
    group[N - 1] = 9
    for t in THREADS:
        with pytest.raises(pmfast.InputError, match=rf"group\[{N - 5}\] = -2"):
            _core.book_segment_sort(group, np.zeros(N, np.int64), 3, t)


@pytest.mark.parametrize("n_threads", THREADS)
def test_index_in_matches_pyarrow(n_threads):
    rng = np.random.default_rng(25)
    names = np.array([f"I{k}" for k in range(1_000)] + ["é", "ü9", "x" * 40], dtype=object)
    rows = rng.integers(0, len(names) + 5, N)          # some absent
    values = [names[r] if r < len(names) else f"missing{r}" for r in rows]
    values[3] = None
    column = pa.chunked_array([values[:1000], values[1000:]])
    value_set = pa.array(names[::2].tolist())
    expected = pc.fill_null(pc.index_in(column, value_set=value_set), -1).to_numpy()
    np.testing.assert_array_equal(_index_in(column, value_set, n_threads), expected)
    assert _index_in(column.slice(0, 0), value_set, n_threads).size == 0


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7, 8])
def test_fixed_width_ids_of_every_width(width):
    """Widths 1/2/4/8 are read as big-endian integers straight from the buffer, the others
    through a zero-padded copy: both must sort as the strings do."""
    from pmfast.book import _encode_accounts, _fixed_width_keys
    rng = np.random.default_rng(width)
    alphabet = np.array(list("09AZaz~\x01"))
    ids = ["".join(rng.choice(alphabet, width)) for _ in range(3_001)]
    column = pa.chunked_array([ids[:1000], ids[1000:1000], ids[1000:]])
    assert _fixed_width_keys(column) is not None
    got_ids, codes = _encode_accounts(column, 2)
    expected = np.unique(np.array(ids))
    np.testing.assert_array_equal(got_ids, expected)
    np.testing.assert_array_equal(got_ids[codes], np.array(ids))


def test_book_is_the_same_for_any_thread_count():
    tables = pmfast.generate(accounts=300, seed=5)
    args = [tables[k] for k in ("positions", "instruments", "underlyings", "product_groups")]
    books = [pmfast.Book(*args, as_of="2026-11-20", n_threads=t) for t in (1, 2, 3)]
    for b in books[1:]:
        np.testing.assert_array_equal(b.account_ids, books[0].account_ids)
        assert b.positions.equals(books[0].positions)


def test_book_rejects_a_bad_thread_count():
    tables = pmfast.generate(accounts=3, seed=5)
    args = [tables[k] for k in ("positions", "instruments", "underlyings", "product_groups")]
    with pytest.raises(pmfast.InputError, match="n_threads"):
        pmfast.Book(*args, as_of="2026-11-20", n_threads=0)

"""``Book.of_instruments``: instrument rows checked by the Book's own code with no positions
(what ``WhatIf.add_instruments`` validates with). The independent check is the ordinary Book
built on the same tables with positions holding every row."""
import pandas as pd
import pyarrow as pa
import pytest

import pmfast
from pmfast.book import Book

AS_OF, RATE = "2026-11-20", 0.045


@pytest.fixture(scope="module")
def tables():
    return pmfast.generate(accounts=20, seed=5, as_of=AS_OF, rate=RATE)


def holding_every_row(tables, instruments):
    """The ordinary Book of the same tables: one account holding one unit of every row."""
    ids = instruments["instrument"].astype(str).tolist()
    return Book({"account": ["A"] * len(ids), "instrument": ids, "quantity": [1.0] * len(ids)},
                instruments, tables["underlyings"], tables.get("product_groups"),
                as_of=AS_OF, rate=RATE)


def test_same_tables_as_a_book_holding_them(tables):
    ins = tables["instruments"].to_pandas()
    only = Book.of_instruments(ins, tables["underlyings"], tables.get("product_groups"),
                               as_of=AS_OF, rate=RATE)
    full = holding_every_row(tables, ins)
    assert only.n_accounts == 0 and only.positions.num_rows == 0
    assert not only.rejected.any() and only.errors.empty
    for name in ("instruments", "underlyings", "product_groups"):   # NaN-aware, bit for bit
        pd.testing.assert_frame_equal(getattr(only, name).to_pandas(),
                                      getattr(full, name).to_pandas(), check_exact=True)
    assert (only.as_of, only.rate) == (full.as_of, full.rate)


@pytest.mark.parametrize("column, value", [("strike", -1.0), ("underlying", "NOPE"),
                                           ("kind", "swap"), ("right", "X"),
                                           ("expiry", "2020-01-01"), ("multiplier", 0.0)])
def test_bad_row_raises_the_books_message(tables, column, value):
    ins = tables["instruments"].to_pandas()
    row = ins[ins["kind"] == "option"].iloc[:1].assign(**{column: value})
    with pytest.raises(pmfast.InputError) as want:
        holding_every_row(tables, row)
    with pytest.raises(pmfast.InputError) as got:
        Book.of_instruments(row, tables["underlyings"], as_of=AS_OF, rate=RATE)
    assert str(got.value) == str(want.value)
    assert f"instruments.{column}" in str(got.value)


def test_empty_instruments_table(tables):
    empty = pa.table({"instrument": pa.array([], pa.string()), "kind": pa.array([], pa.string()),
                      "underlying": pa.array([], pa.string())})
    only = Book.of_instruments(empty, tables["underlyings"], as_of=AS_OF)
    assert only.instruments.num_rows == 0 and only.n_accounts == 0


def test_whatif_add_instruments_builds_no_account(tables, monkeypatch):
    """add_instruments validates through Book.of_instruments (no fake account)."""
    book = Book(**tables, as_of=AS_OF, rate=RATE)
    session = pmfast.WhatIf(book, n_threads=1)
    seen = []
    real = Book.of_instruments.__func__

    def spy(cls, *args, **kwargs):
        out = real(cls, *args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(Book, "of_instruments", classmethod(spy))
    ins = tables["instruments"].to_pandas()
    row = ins[ins["kind"] == "option"].iloc[:1].assign(instrument="NEW1")
    row["strike"] = round(float(row["strike"].iloc[0]) * 1.01, 2)
    assert session.add_instruments(row) == ["NEW1"]
    assert len(seen) == 1 and seen[0].n_accounts == 0
    assert session.what_if(book.account_ids[0], {"NEW1": 1}).after.positions > 0

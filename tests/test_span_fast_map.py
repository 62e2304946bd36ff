"""The one-pass C++ contract mapping of plain string columns (``_fast_contracts``) names the
same contract as the column-by-column path (Arrow dictionary encoding + integer lookups, the
path that also describes bad rows) on every row, including the awkward ones; and span_margin
gives the same numbers whichever path a table takes."""
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import pmfast
from pmfast.span import positions as P
from span_helpers import TAKAS, need


@pytest.fixture(scope="module")
def takas():
    return pmfast.span.load(need(TAKAS))


@pytest.fixture(scope="module")
def book(takas):
    from pmfast.span.generate import generate_span_positions
    return generate_span_positions(takas, n_accounts=300, positions_per_account=10, seed=3)


def awkward_rows(takas):
    """Rows each path must agree on: lower-case right, a future carrying a right and strike
    (ignored), unknown names, nulls, non-finite and unknown strikes, a multi-letter right."""
    c = takas.contracts
    o = c[c["kind"] == "option"].iloc[0]
    f = c[c["kind"] == "future"].iloc[0]

    def row(**kw):
        base = dict(account="Z", product=o["product"], kind="option", period=o["period"],
                    strike=float(o["strike"]), right=o["right"], quantity=1.0)
        return {**base, **kw}
    return pd.DataFrame([
        row(), row(right=o["right"].lower()), row(right=o["right"] + "X"), row(right=None),
        row(strike=np.nan), row(strike=np.inf), row(strike=float(o["strike"]) + 1e-9),
        row(product="NOSUCH"), row(product=None), row(period="209912"), row(kind="swap"),
        row(kind=None), row(kind="future", product=f["product"], period=f["period"]),
        row(kind="future", product=f["product"], period=f["period"], right="Q", strike=-1.0),
        row(kind="future", product=f["product"], period=f["period"], right=None,
            strike=np.nan),
    ])


def both_paths(table, takas):
    tbl = pmfast.io.to_arrow(table, "positions")
    ids, acct, _ = P._encode_accounts(tbl.column("account"), "positions")
    qty = np.asarray(tbl.column("quantity").to_numpy(zero_copy_only=False), np.float64)
    fast = P._fast_contracts(tbl, takas)
    slow, _ = P._column_contracts(tbl, takas, "positions", ids, acct, qty)
    return fast, slow


def test_fast_mapping_equals_column_path(takas, book):
    table = pd.concat([book, awkward_rows(takas)], ignore_index=True)
    fast, slow = both_paths(table, takas)
    assert fast is not None and (fast >= 0).sum() > len(book) // 2
    np.testing.assert_array_equal(fast, slow)
    # the awkward rows: 3 found (as given, lower-case right, the plain future twice over)
    awk = fast[len(book):]
    assert list(awk >= 0) == [True, True] + [False] * 10 + [True, True, True]


def test_fast_mapping_on_chunked_large_strings_and_exchange(takas, book):
    """Columns chunked at different rows, large_string, and an exchange column."""
    exch = takas.contracts["exchange"].iloc[0]
    frame = book.assign(exchange=exch)
    frame.loc[frame.index[::7], "exchange"] = "XX"
    t = pa.Table.from_pandas(frame, preserve_index=False)
    parts = [t.slice(0, 1000), t.slice(1000, 17), t.slice(1017)]
    chunked = pa.concat_tables(parts)
    cols = {name: (pa.chunked_array([c.combine_chunks()]) if name == "product"
                   else c.cast(pa.large_string()) if name == "period" else c)
            for name, c in zip(chunked.column_names, chunked.columns)}
    mixed = pa.table(cols)
    fast, slow = both_paths(mixed, takas)
    assert fast is not None
    np.testing.assert_array_equal(fast, slow)
    assert (fast[::7] == -1).all() and (fast >= 0).any()


def test_span_margin_same_numbers_either_path(takas, book, monkeypatch):
    fast = pmfast.span_margin(book, takas)
    monkeypatch.setattr(P, "_fast_contracts", lambda tbl, params: None)
    slow = pmfast.span_margin(book, takas)
    pd.testing.assert_frame_equal(fast.accounts, slow.accounts, check_exact=True)
    pd.testing.assert_frame_equal(fast.combined, slow.combined, check_exact=True)


def test_options_without_strike_column_still_named(takas, book):
    """A table without ``right``/``strike`` maps its futures on the fast path; an option row
    then falls to the column path, which names the missing column."""
    fut = book[book["kind"] == "future"].drop(columns=["strike", "right"])
    tbl = pmfast.io.to_arrow(fut, "positions")
    assert (P._fast_contracts(tbl, takas) >= 0).all()
    with pytest.raises(pmfast.InputError, match="options need a `strike` column"):
        pmfast.span_margin(book.drop(columns=["strike"]), takas)


def test_result_tables_built_from_arrow_equal_the_object_build(takas, book, monkeypatch):
    """The accounts / combined text columns built straight from Arrow equal, dtype included,
    the tables pandas builds from Python strings."""
    import pmfast.span.engine as engine
    bad = book.copy()
    bad.loc[0, "product"] = "NOSUCH"               # one rejected account: status differs
    fast = pmfast.span_margin(bad, takas, errors="collect")
    monkeypatch.setattr(engine, "_ARROW_TEXT", False)
    slow = pmfast.span_margin(bad, takas, errors="collect")
    assert (fast.accounts["status"] == "rejected").sum() == 1
    pd.testing.assert_frame_equal(fast.accounts, slow.accounts, check_exact=True)
    pd.testing.assert_frame_equal(fast.combined, slow.combined, check_exact=True)

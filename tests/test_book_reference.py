"""``Book.reference`` + ``Book.of_reference``: the reference tables validated once, then many
Books of other positions on them (a distributed run's shards) - each the Book the ordinary
constructor gives for the same tables, attribute for attribute, in both error modes."""
import numpy as np
import pandas as pd
import pytest

import pmfast

AS_OF, RATE = "2026-11-20", 0.03


def _tables():
    t = pmfast.generate(accounts=300, seed=11, as_of=AS_OF, rate=RATE)
    out = {k: t[k].to_pandas() for k in ("positions", "instruments", "underlyings",
                                        "product_groups")}
    for frame in out.values():   # the generator's dictionary columns, as plain text
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(object)
    return out


def _same(a, b):
    for name in ("positions", "instruments", "underlyings", "product_groups"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.schema.equals(y.schema), name
        pd.testing.assert_frame_equal(x.to_pandas(), y.to_pandas(), check_exact=True)
    np.testing.assert_array_equal(a.account_ids, b.account_ids)
    np.testing.assert_array_equal(a.rejected, b.rejected)
    pd.testing.assert_frame_equal(a.errors, b.errors)
    assert (a.as_of, a.rate, a.error_mode) == (b.as_of, b.rate, b.error_mode)


def test_of_reference_is_the_ordinary_book():
    t = _tables()
    ref = pmfast.Book.reference(t["instruments"], t["underlyings"], t["product_groups"],
                                as_of=AS_OF, rate=RATE)
    pos = t["positions"]
    accounts = sorted(pos["account"].unique())
    # several Books on one reference (it must not be changed by use), disjoint and whole
    for part in (pos[pos["account"] < accounts[100]], pos[pos["account"] >= accounts[100]],
                 pos):
        want = pmfast.Book(part, t["instruments"], t["underlyings"], t["product_groups"],
                           as_of=AS_OF, rate=RATE, n_threads=1)
        _same(pmfast.Book.of_reference(part, ref, n_threads=1), want)
        assert want.positions.num_rows > 100


def test_collect_mode_carries_reference_problems_to_the_holders():
    """A bad instrument row (negative strike) and an unknown underlying are kept by the
    reference in collect mode, and reject exactly the accounts the ordinary Book rejects,
    with the same reasons; a bad position row too."""
    t = _tables()
    ins = t["instruments"].copy()
    opt = ins.index[ins["kind"] == "option"]
    ins.loc[opt[0], "strike"] = -5.0
    ins.loc[opt[1], "underlying"] = "NO_SUCH"
    pos = t["positions"].copy()
    pos = pd.concat([pos, pd.DataFrame({"account": ["ZZZ"], "instrument": ["NOPE"],
                                        "quantity": [1.0]})], ignore_index=True)
    pos.loc[pos.index[:2], "instrument"] = ins.loc[opt[:2], "instrument"].to_numpy()
    ref = pmfast.Book.reference(ins, t["underlyings"], t["product_groups"], as_of=AS_OF,
                                rate=RATE, errors="collect")
    assert len(ref.problems) >= 2
    want = pmfast.Book(pos, ins, t["underlyings"], t["product_groups"], as_of=AS_OF,
                       rate=RATE, errors="collect", n_threads=1)
    got = pmfast.Book.of_reference(pos, ref, errors="collect", n_threads=1)
    _same(got, want)
    assert want.rejected.sum() >= 2 and "ZZZ" in set(want.errors["account"])


def test_raise_mode_fails_on_a_bad_reference_row_nobody_holds():
    t = _tables()
    ins = t["instruments"].copy()
    ins.loc[ins.index[ins["kind"] == "option"][0], "strike"] = -5.0
    with pytest.raises(pmfast.InputError) as one:
        pmfast.Book(t["positions"].iloc[:0], ins, t["underlyings"], t["product_groups"],
                    as_of=AS_OF, rate=RATE)
    with pytest.raises(pmfast.InputError) as ref:
        pmfast.Book.reference(ins, t["underlyings"], t["product_groups"], as_of=AS_OF,
                              rate=RATE)
    assert str(ref.value) == str(one.value) and "strike" in str(one.value)

"""StrategyResult.strategies_for(accounts): pairing only those accounts' groups gives the rows
of the full ``strategies`` table for those accounts, row for row and bit for bit."""
import pandas as pd
import pyarrow as pa
import pytest

import pmfast


@pytest.fixture(scope="module")
def result():
    tables = pmfast.generate(accounts=200, seed=11)
    pos = tables["positions"].to_pandas()
    pos = pos.assign(account=pos["account"].astype(str), instrument=pos["instrument"].astype(str))
    ins = tables["instruments"]
    first = ins.column("instrument")[0].as_py()
    extra = pd.DataFrame({
        "account": ["EMPTY", "EMPTY", "REJ", "REJ"],          # EMPTY nets to nothing
        "instrument": [first, first, first, "NO_SUCH"],         # REJ holds an unknown id
        "quantity": [1.0, -1.0, 1.0, 1.0]})
    pos = pa.Table.from_pandas(pd.concat([pos, extra], ignore_index=True), preserve_index=False)
    book = pmfast.Book(pos, ins, tables["underlyings"], tables["product_groups"],
                       as_of="2026-11-20", errors="collect")
    r = pmfast.strategy_margin(book, n_threads=2)
    status = r.accounts.set_index("account")["status"]
    assert status["REJ"] == "rejected" and status["EMPTY"] == "ok"
    return r


@pytest.mark.parametrize("pick", [
    lambda ids: ids[:1],                      # one account
    lambda ids: ids[::7] + ["EMPTY", "REJ"],  # several, with an empty and a rejected account
    lambda ids: ids[::-3],                    # order of the request does not matter
    lambda ids: ["EMPTY", "REJ", "NOT_AN_ACCOUNT"],
    lambda ids: [],
])
def test_strategies_for_equals_the_full_table_filtered(result, pick):
    ids = result.accounts["account"].tolist()
    wanted = pick([a for a in ids if a not in ("EMPTY", "REJ")])
    full = result.strategies
    expected = full[full["account"].isin(wanted)].reset_index(drop=True)
    got = result.strategies_for(wanted)
    # an empty table's string columns stay object (pandas infers str only from values)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=len(got) > 0)
    assert len(got) == 0 or set(got["account"]) <= set(wanted)
    assert (len(got) > 0) == any(a in full["account"].values for a in wanted)


def test_strategies_for_one_id_as_a_string(result):
    acc = result.strategies["account"].iloc[-1]
    full = result.strategies
    pd.testing.assert_frame_equal(result.strategies_for(acc),
                                  full[full["account"] == acc].reset_index(drop=True),
                                  check_exact=True)

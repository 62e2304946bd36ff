"""The batch run's per-account table is assembled by account code (issue 10 seam 6); the
oracle here is the string-keyed pandas merge it replaced, which must give the same frame,
dtypes and bits included."""
import numpy as np
import pandas as pd
import pytest

import pmfast
from pmfast.batch import run_book
from pmfast.comparison import compare_accounts


def merge_join(book, pm, regt, rejected):
    """The join of main before the change: four merges on the account ids."""
    table = pd.DataFrame({"account": pd.Series(book.account_ids, dtype=object)})
    if pm is not None and regt is not None:
        table = table.merge(compare_accounts(pm.accounts, regt.accounts), on="account",
                            how="left", validate="one_to_one")
    if pm is not None:
        cols = pm.accounts.drop(columns=["requirement", "status"]).rename(
            columns={"risk": "pm_risk", "minimum": "pm_minimum"})
        if "pm_requirement" not in table:
            cols["pm_requirement"] = pm.accounts["requirement"]
        table = table.merge(cols, on="account", how="left", validate="one_to_one")
    if regt is not None:
        keep = ["gross_initial"] + ([] if pm is not None else
                                    ["initial", "maintenance", "unmargined_positions"])
        keep += ["pairing_optimal", "pairing_gap_initial", "pairing_gap_maintenance"]
        cols = regt.accounts[["account", *keep]].rename(columns={c: f"regt_{c}" for c in keep})
        table = table.merge(cols, on="account", how="left", validate="one_to_one")
    bad = table["account"].isin(rejected).to_numpy()
    table.loc[bad, [c for c in table.columns if table[c].dtype.kind == "f"]] = float("nan")
    for c in ("worst_scenario", "worst_group", "binding"):
        if c in table.columns:
            table.loc[bad, c] = None
    if "regt_pairing_optimal" in table.columns:
        table.loc[bad, "regt_pairing_optimal"] = False
    table.insert(1, "status", pd.Series(["rejected" if b else "ok" for b in bad], dtype=object))
    return table


@pytest.fixture(scope="module")
def books():
    tables = pmfast.generate(accounts=150, seed=3)
    clean = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                        tables["product_groups"], as_of="2026-11-20", rate=0.045)
    pos = tables["positions"].to_pandas()
    pos.loc[[4, 70], "quantity"] = np.nan
    dirty = pmfast.Book(pos, tables["instruments"], tables["underlyings"],
                        tables["product_groups"], as_of="2026-11-20", rate=0.045,
                        errors="collect")
    assert dirty.rejected.sum() == 2
    return clean, dirty


@pytest.mark.parametrize("method", ["pm", "regt", "both"])
@pytest.mark.parametrize("rules", ["finra-cpm", "house"])
def test_join_by_code_equals_the_string_merge(books, method, rules):
    for book in books:
        run = run_book(book, rules=rules, method=method, n_threads=1)
        expected = merge_join(book, run.pm, run.regt, set(run.errors["account"]))
        pd.testing.assert_frame_equal(run.accounts, expected, check_exact=True)

"""pmfast.generate: deterministic, valid, and shaped like the performance.md workloads."""
import numpy as np
import pyarrow.compute as pc
import pytest

import pmfast

CRR = pmfast.RuleSet(american_model="crr", crr_steps=25)


@pytest.fixture(scope="module")
def small():
    return pmfast.generate(accounts=1000, seed=5)


def test_deterministic_for_a_seed(small):
    again = pmfast.generate(accounts=1000, seed=5)
    for name, table in small.items():
        assert table.equals(again[name]), name
    other = pmfast.generate(accounts=1000, seed=6)
    assert not other["positions"].equals(small["positions"])


def test_small_workload_shape(small):
    pos, ins, und = small["positions"], small["instruments"], small["underlyings"]
    assert 9_000 <= pos.num_rows <= 11_000
    assert und.num_rows == 100
    options = ins.filter(pc.equal(ins["kind"], "option"))
    assert 2_500 <= options.num_rows <= 3_600
    european = pc.sum(pc.equal(options["style"], "european")).as_py() / options.num_rows
    assert 0.1 <= european <= 0.35                  # ~20% European index series
    assert len(set(pos["account"].to_pylist())) == 1000
    lev = und["leverage"].to_numpy()
    assert (lev > 1).any() and (lev < 0).any()      # leveraged and inverse ETFs
    sp = und.filter(pc.equal(und["product_group"], "SP500"))
    assert sp.num_rows >= 4
    T = (np.asarray(options["expiry"].cast("int32")) - np.datetime64("2026-11-20", "D").astype(
        int)) / 365
    assert T.min() < 0.02 and T.max() > 1.9
    iv = options["implied_vol"].to_numpy()
    assert iv.std() > 0.05


def test_account_sizes_heavy_tailed(small):
    counts = np.bincount(small["positions"]["account"].combine_chunks().indices.to_numpy())
    assert counts.min() >= 1 and counts.max() >= 10 * np.median(counts)
    assert counts.max() <= 1000


def test_book_is_valid_and_margins(small):
    book = pmfast.generate(accounts=200, seed=2, as_book=True)
    assert book.errors.empty and book.n_accounts == 200
    pm = pmfast.portfolio_margin(book, rules=CRR)
    acc = pm.accounts
    assert (acc["status"] == "ok").all() and (acc["requirement"] >= 0).all()
    assert (acc["requirement"] > 0).mean() > 0.9


def test_bad_accounts_argument():
    with pytest.raises(pmfast.InputError, match="accounts"):
        pmfast.generate(accounts=0)

"""Issue 15: the hostile-user probe's properties as hypothesis tests, on books drawn from one
generated universe (instruments, underlyings, product groups of ``pmfast.generate``): every
account appears once in every output, figures are finite, and portfolio margin and Reg T are
invariant under row permutation, row splitting, thread count and offsetting pairs; doubling
doubles portfolio margin exactly and never more than doubles Reg T; a what-if equals the batch
on the book with the trade appended. Then a fault-isolation test: a generated book with a
handful of accounts corrupted in each way; exactly those are rejected and every other figure is
bit-identical to the clean run.

Examples are few per property (each builds and margins a book twice); set
HYPOTHESIS_PROFILE=probe for the long run (60 examples each)."""
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pmfast

AS_OF = "2026-11-20"
RATE = 0.045
settings.register_profile("default-pmfast", max_examples=4, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("probe", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default-pmfast")
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def universe():
    tables = pmfast.generate(accounts=300, seed=5)
    pos = tables["positions"].to_pandas()
    pos["account"] = pos["account"].astype(str)
    pos["instrument"] = pos["instrument"].astype(str)
    return tables, pos


def _positions(frame):
    return pa.table({"account": pa.array(frame["account"].astype(str), pa.string()),
                     "instrument": pa.array(frame["instrument"].astype(str), pa.string()),
                     "quantity": pa.array(frame["quantity"], pa.float64())})


def _margins(tables, frame, n_threads=1, errors="raise"):
    book = pmfast.Book(_positions(frame), tables["instruments"], tables["underlyings"],
                       product_groups=tables["product_groups"], as_of=AS_OF, rate=RATE,
                       errors=errors)
    pm = pmfast.portfolio_margin(book, n_threads=n_threads).accounts
    regt = pmfast.strategy_margin(book, n_threads=n_threads).accounts
    return (pm.sort_values("account", ignore_index=True),
            regt.sort_values("account", ignore_index=True))


def _same(a, b, drop=()):
    a, b = a.drop(columns=list(drop)), b.drop(columns=list(drop))
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@st.composite
def books(draw, min_accounts=2, max_accounts=12):
    """A sub-book of the universe: some of its accounts with all their rows."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_accounts, max_accounts))
    return seed, n


def _draw(universe, seed, n):
    tables, pos = universe
    rng = np.random.default_rng(seed)
    ids = rng.choice(pos["account"].unique(), n, replace=False)
    return tables, pos[pos["account"].isin(ids)].reset_index(drop=True), rng


def _check_basic(frame, pm, regt):
    ids = sorted(frame["account"].unique())
    for table in (pm, regt):
        assert table["account"].tolist() == ids          # every account exactly once
        ok = table["status"] == "ok"
        money = table.select_dtypes("float").columns
        assert np.isfinite(table.loc[ok, money].drop(
            columns=[c for c in money if c.startswith("pairing_gap")]).to_numpy()).all()
    assert (pm["requirement"] >= 0).all()
    assert (regt["gross_initial"] >= 0).all() and (regt["gross_maintenance"] >= 0).all()


@settings(settings.get_profile(PROFILE))
@given(books())
def test_permutation_and_threads(universe, drawn):
    tables, frame, rng = _draw(universe, *drawn)
    pm, regt = _margins(tables, frame)
    _check_basic(frame, pm, regt)
    shuffled = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    pm2, regt2 = _margins(tables, shuffled, n_threads=2)
    _same(pm, pm2)
    _same(regt, regt2)


@settings(settings.get_profile(PROFILE))
@given(books())
def test_row_splitting(universe, drawn):
    tables, frame, rng = _draw(universe, *drawn)
    pm, regt = _margins(tables, frame)
    split = rng.random(len(frame)) < 0.5
    part = rng.integers(-5, 6, len(frame)).astype(np.float64)   # whole contracts / shares
    first = frame.copy()
    first.loc[split, "quantity"] = frame.loc[split, "quantity"] - part[split]
    second = frame[split].copy()
    second["quantity"] = part[split]
    pm2, regt2 = _margins(tables, pd.concat([first, second], ignore_index=True))
    _same(pm, pm2)
    _same(regt, regt2)


@settings(settings.get_profile(PROFILE))
@given(books())
def test_offsetting_pairs(universe, drawn):
    tables, frame, rng = _draw(universe, *drawn)
    pm, regt = _margins(tables, frame)
    instruments = tables["instruments"]["instrument"].to_numpy(zero_copy_only=False)
    k = 5
    acc = rng.choice(frame["account"].unique(), k)
    ins = rng.choice(instruments, k)
    q = rng.integers(1, 20, k).astype(np.float64)
    pairs = pd.DataFrame({"account": np.r_[acc, acc], "instrument": np.r_[ins, ins],
                          "quantity": np.r_[q, -q]})
    pm2, regt2 = _margins(tables, pd.concat([frame, pairs], ignore_index=True))
    _same(pm, pm2, drop=["positions"])   # the count of net rows may list the zero rows
    _same(regt, regt2)


@settings(settings.get_profile(PROFILE))
@given(books())
def test_doubling(universe, drawn):
    tables, frame, rng = _draw(universe, *drawn)
    pm, regt = _margins(tables, frame)
    doubled = frame.assign(quantity=2 * frame["quantity"])
    pm2, regt2 = _margins(tables, doubled)
    for col in ("requirement", "risk", "minimum"):   # positively homogeneous: exactly 2x
        np.testing.assert_array_equal(pm2[col].to_numpy(), 2 * pm[col].to_numpy())
    for col in ("gross_initial", "gross_maintenance"):
        # twice the pairing of the original is a pairing of the doubled book; the doubled book
        # may pair better (two bodies for a butterfly), never worse
        assert (regt2[col].to_numpy() <= 2 * regt[col].to_numpy() * (1 + 1e-12) + 1e-9).all()
    for col in ("short_option_proceeds", "long_option_value", "long_stock_value",
                "short_stock_value"):
        np.testing.assert_array_equal(regt2[col].to_numpy(), 2 * regt[col].to_numpy())


@settings(settings.get_profile(PROFILE))
@given(books(max_accounts=6))
def test_what_if_equals_batch(universe, drawn):
    tables, frame, rng = _draw(universe, *drawn)
    book = pmfast.Book(_positions(frame), tables["instruments"], tables["underlyings"],
                       product_groups=tables["product_groups"], as_of=AS_OF, rate=RATE)
    session = pmfast.WhatIf(book)
    account = str(rng.choice(frame["account"].unique()))
    held = frame.loc[frame["account"] == account, "instrument"].to_numpy()
    others = tables["instruments"]["instrument"].to_numpy(zero_copy_only=False)
    trade = {str(rng.choice(held)): float(rng.integers(-10, 11)),
             str(rng.choice(others)): float(rng.integers(1, 11))}
    got = session.what_if(account, trade)
    rows = pd.DataFrame({"account": account, "instrument": list(trade),
                         "quantity": list(trade.values())})
    pm_after, _ = _margins(tables, pd.concat([frame, rows], ignore_index=True))
    want = pm_after.set_index("account").loc[account, "requirement"]
    assert got.requirement_after == want
    assert got.requirement_before == session.requirement(account)


# -- fault isolation ---------------------------------------------------------------------------

WAYS = ("unknown instrument", "not a number", "missing quantity", "infinite quantity",
        "empty instrument id", "private instrument with a negative strike")


def test_fault_isolation(universe):
    """Corrupt two accounts in each way; under errors="collect" exactly those are rejected (by
    portfolio margin and Reg T alike) and every figure of every other account is bit-identical
    to the clean run. Reg T also rejects (only) the accounts holding a fraction of an option
    contract, which it cannot margin."""
    tables, pos = universe
    rng = np.random.default_rng(7)
    frame = pos.copy()
    frame["quantity"] = frame["quantity"].map(repr).astype(object)   # text: room for junk
    accounts = rng.choice(frame["account"].unique(), 2 * len(WAYS) + 2, replace=False)
    instruments = tables["instruments"].to_pandas()
    kind = dict(zip(instruments["instrument"], instruments["kind"]))
    extra_instruments = []
    for k, account in enumerate(accounts[:2 * len(WAYS)]):
        way = WAYS[k % len(WAYS)]
        row = frame.index[frame["account"] == account][0]
        if way == "unknown instrument":
            frame.loc[row, "instrument"] = "NO.SUCH.INSTRUMENT"
        elif way == "not a number":
            frame.loc[row, "quantity"] = "12x"
        elif way == "missing quantity":
            frame.loc[row, "quantity"] = None
        elif way == "infinite quantity":
            frame.loc[row, "quantity"] = "inf"
        elif way == "empty instrument id":
            frame.loc[row, "instrument"] = ""
        else:
            option = instruments[instruments["kind"] == "option"].iloc[[k]].copy()
            option["instrument"] = f"PRIVATE.{k}"
            option["strike"] = -1.0
            extra_instruments.append(option)
            frame = pd.concat([frame, pd.DataFrame({"account": [account],
                                                    "instrument": [f"PRIVATE.{k}"],
                                                    "quantity": ["1"]})], ignore_index=True)
    fractional = accounts[2 * len(WAYS):]
    for account in fractional:
        rows = frame.index[(frame["account"] == account)
                           & (frame["instrument"].map(kind) == "option")]
        frame.loc[rows[0], "quantity"] = "0.5"
    bad = set(accounts[:2 * len(WAYS)])
    dirty_ins = pa.concat_tables([tables["instruments"]] + [
        pa.Table.from_pandas(x, schema=tables["instruments"].schema, preserve_index=False)
        for x in extra_instruments])
    positions = pa.table({"account": frame["account"].astype(str),
                          "instrument": frame["instrument"].astype(str),
                          "quantity": pa.array(frame["quantity"], pa.string())})
    dirty = pmfast.Book(positions, dirty_ins, tables["underlyings"],
                        product_groups=tables["product_groups"], as_of=AS_OF, rate=RATE,
                        errors="collect")
    clean = pmfast.Book(tables["positions"], tables["instruments"], tables["underlyings"],
                        product_groups=tables["product_groups"], as_of=AS_OF, rate=RATE)
    pm_d = pmfast.portfolio_margin(dirty).accounts.set_index("account")
    pm_c = pmfast.portfolio_margin(clean).accounts.set_index("account")
    rg_d = pmfast.strategy_margin(dirty).accounts.set_index("account")
    rg_c = pmfast.strategy_margin(clean).accounts.set_index("account")
    assert set(pm_d.index) == set(pm_c.index) == set(rg_d.index)
    assert set(pm_d.index[pm_d["status"] == "rejected"]) == bad
    assert set(rg_d.index[rg_d["status"] == "rejected"]) == bad | set(fractional)
    untouched = sorted(set(pm_c.index) - bad - set(fractional))
    pd.testing.assert_frame_equal(pm_d.loc[untouched], pm_c.loc[untouched], check_exact=True)
    pd.testing.assert_frame_equal(rg_d.loc[untouched], rg_c.loc[untouched], check_exact=True)
    reasons = rg_d.index[rg_d["status"] == "rejected"]
    assert len(reasons) == 2 * len(WAYS) + 2
    errors = pmfast.strategy_margin(dirty).errors
    assert set(errors["account"]) == bad | set(fractional)

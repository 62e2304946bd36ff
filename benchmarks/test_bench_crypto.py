"""Crypto portfolio margin benchmarks (pytest-benchmark). Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_crypto.py --benchmark-only -s

* the issue-12 goal: a synthetic book of 100,000 accounts x 20 positions over one coin's full
  chain (perpetual, 8 futures, 12 expiries x 40 strikes x calls and puts, inverse) margined
  with ``rules="deribit"`` on one thread (goal <= 1 s). The Book is built once outside the
  timing (``Book`` construction is the same for every method). Two baselines in the same run:
  the numpy gather of the same aggregation (``q x risk vector`` summed per account with
  ``np.add.reduceat``: the cost a pure-numpy engine pays on top of the same add-ons) and two
  threads;
* the what-if latency on one account of that book (one added trade), against re-margining a
  one-account Book with ``portfolio_margin`` (what a tool without a session does).
"""
import time

import numpy as np
import pyarrow as pa
import pytest

import pmfast

AS_OF = "2024-06-17"
INDEX = 65666.19
N_ACCOUNTS, PER_ACCOUNT = 100_000, 20
_cache = {}


def chain_tables(n_accounts=N_ACCOUNTS, per_account=PER_ACCOUNT, seed=12):
    rng = np.random.default_rng(seed)
    expiries = np.datetime64(AS_OF) + np.array([1, 2, 4, 11, 18, 25, 46, 74, 102, 193, 284,
                                                 466])
    ids, kind, expiry, right, strike, vol, price = [], [], [], [], [], [], []
    ids.append("BTC-PERPETUAL"), kind.append("perpetual"), expiry.append(None)
    right.append(None), strike.append(np.nan), vol.append(np.nan), price.append(INDEX * 1.001)
    for e in expiries[[3, 5, 6, 7, 8, 9, 10, 11]]:
        T = (e - np.datetime64(AS_OF)).astype(int) / 365
        ids.append(f"BTC-{e}"), kind.append("future"), expiry.append(str(e)), right.append(None)
        strike.append(np.nan), vol.append(np.nan), price.append(INDEX * np.exp(0.08 * T))
    for e in expiries:
        for k in np.linspace(0.4, 2.0, 40) * INDEX:
            for r in "CP":
                ids.append(f"BTC-{e}-{int(k)}-{r}"), kind.append("option"), expiry.append(str(e))
                right.append(r), strike.append(round(k, -2)), price.append(np.nan)
                vol.append(0.45 + 0.3 * abs(np.log(k / INDEX)))
    instruments = pa.table({"instrument": ids, "kind": kind, "underlying": ["BTC"] * len(ids),
                            "expiry": pa.array(expiry, pa.string()),
                            "right": pa.array(right, pa.string()), "strike": strike,
                            "implied_vol": vol, "price": price,
                            "settlement": ["inverse"] * len(ids)})
    n = n_accounts * per_account
    account = np.repeat(np.arange(n_accounts), per_account)
    # 20 distinct instruments per account: a random start and stride through the chain
    start = rng.integers(0, len(ids), n_accounts)
    step = rng.integers(1, 40, n_accounts)
    inst = (start[:, None] + step[:, None] * np.arange(per_account)[None, :]) % len(ids)
    width = len(str(n_accounts - 1))
    positions = pa.table({
        "account": pa.array(np.char.add("ACC", np.char.zfill(account.astype(str), width))),
        "instrument": pa.array(np.asarray(ids, dtype=object)[inst.ravel()]),
        "quantity": np.round(rng.normal(0, 2, n), 2)})
    underlyings = pa.table({"underlying": ["BTC"], "price": [INDEX], "group_type": ["crypto"]})
    return positions, instruments, underlyings


def big_book():
    if "book" not in _cache:
        _cache["tables"] = chain_tables()
        _cache["book"] = pmfast.Book(*_cache["tables"], as_of=AS_OF, rate=0.0)
    return _cache["book"]


def _median(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def test_crypto_batch_100k_accounts(benchmark):
    book = big_book()
    pm = benchmark.pedantic(lambda: pmfast.portfolio_margin(book, rules="deribit",
                                                            n_threads=1),
                            rounds=5, iterations=1)
    assert len(pm.accounts) == N_ACCOUNTS and (pm.accounts["status"] == "ok").all()
    # baselines, same run: two threads; the numpy gather of the same aggregation
    two = _median(lambda: pmfast.portfolio_margin(book, rules="deribit", n_threads=2), 3)
    eng = pm._engine
    lay = pm._layout

    def numpy_gather():
        vec = lay.quantity[:, None] * eng.pnl[lay.instrument]
        return np.add.reduceat(vec, lay.group_start[:-1], axis=0)
    gather = _median(numpy_gather, 3)
    np.testing.assert_allclose(numpy_gather(), pm._g["raw"], rtol=1e-9, atol=1e-12)
    one = benchmark.stats.stats.median
    benchmark.extra_info.update({"median_s": one, "two_threads_s": two,
                                 "numpy_gather_only_s": gather})
    benchmark.extra_info["summary"] = (
        f"crypto batch {N_ACCOUNTS:,} x {PER_ACCOUNT}: 1 thread {one:.3f} s, 2 threads "
        f"{two:.3f} s ({one / two:.2f}x); numpy gather+sum alone {gather:.3f} s "
        f"({gather / one:.2f}x the whole compiled batch)")


def test_crypto_what_if_latency(benchmark):
    book = big_book()
    session = pmfast.WhatIf(book, rules="deribit", n_threads=1)
    account = str(book.account_ids[12345])
    trade = {"BTC-PERPETUAL": 0.5, f"BTC-{np.datetime64(AS_OF) + 46}": -0.25}
    session.margin(account)
    benchmark.pedantic(lambda: session.what_if(account, trade), rounds=200, iterations=1)
    positions, instruments, underlyings = _cache["tables"]
    pos = positions.to_pandas()
    mine = pos[pos["account"] == account]
    used = set(mine["instrument"]) | set(trade)
    ins = instruments.to_pandas()
    # the account's instruments, and every delta-one one (the options' forwards)
    ins = ins[ins["instrument"].isin(used) | (ins["kind"] != "option")]

    def rebuild():
        rows = {"account": list(mine["account"]) + [account] * len(trade),
                "instrument": list(mine["instrument"]) + list(trade),
                "quantity": list(mine["quantity"]) + list(trade.values())}
        b = pmfast.Book(rows, ins, underlyings, as_of=AS_OF)
        return pmfast.portfolio_margin(b, rules="deribit", n_threads=1)
    base = _median(rebuild, 20)
    med = benchmark.stats.stats.median
    assert rebuild().accounts["requirement"].iloc[0] == pytest.approx(
        session.what_if(account, trade).requirement_after, rel=1e-12)
    benchmark.extra_info["summary"] = (
        f"crypto what-if: {med * 1e6:.0f} us per trade; one-account Book + "
        f"portfolio_margin {base * 1e6:.0f} us ({base / med:.1f}x)")

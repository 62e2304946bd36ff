"""What-if benchmarks (pytest-benchmark). Run:

    PYTHONPATH=src python -m pytest benchmarks/test_bench_whatif.py --benchmark-only

* latency of ``WhatIf.what_if`` on the account closest to 50 positions of the ``small``
  workload (``finra-cpm`` and ``house``) and of the ``medium`` one (``finra-cpm``), one added
  trade, from Python (performance.md goal: <= 50 us); the trade either changes a position the account holds or opens a series of a
  group the account does not hold (a new position, class and group row: the longest path);
* the baseline, timed in the same test: what a tool without a session does, build a
  one-account Book (the account's rows plus the trade) and run ``portfolio_margin`` on it,
  with the book's whole instruments table and with only the instruments involved;
* session construction on the ``small`` and ``medium`` workloads against the batch
  ``portfolio_margin`` on the same Book (same run).

Each latency test stores its median and the baselines' medians (microseconds) and the
speed-up in ``extra_info`` (``--benchmark-json``) and prints them (``-s``).
"""
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import pmfast

AS_OF, RATE = "2026-11-20", 0.045
WORKLOADS = {"small": 1_000, "medium": 100_000}
_cache = {}


def tables(name):
    if name not in _cache:
        _cache[name] = pmfast.generate(accounts=WORKLOADS[name], seed=2026, as_of=AS_OF,
                                       rate=RATE)
    return _cache[name]


def book_of(t, positions=None, instruments=None):
    return pmfast.Book(t["positions"] if positions is None else positions,
                       t["instruments"] if instruments is None else instruments,
                       t["underlyings"], t["product_groups"], as_of=AS_OF, rate=RATE)


def account_case(name):
    """The book, its account closest to 50 positions, and two trades on it (cached)."""
    key = ("case", name)
    if key not in _cache:
        _cache[key] = _account_case(name)
    return _cache[key]


def _account_case(name):
    t = tables(name)
    book = book_of(t)
    counts = np.bincount(book.positions.column("account_code").to_numpy(),
                         minlength=book.n_accounts)
    code = int(np.argmin(np.abs(counts - 50)))
    account = str(book.account_ids[code])
    ins = t["instruments"].to_pandas()
    rows = book.positions.column("account_code").to_numpy() == code
    held_codes = book.positions.column("instrument_code").to_numpy()[rows]
    held = book.instruments.column("instrument").to_numpy(zero_copy_only=False)[held_codes]
    held_options = [i for i in held if ins.set_index("instrument").loc[i, "kind"] == "option"]
    held_classes = set(ins.set_index("instrument").loc[list(held), "underlying"])
    fresh = ins[(ins["kind"] == "option") & ~ins["underlying"].isin(held_classes)]
    trades = {"held": {held_options[0]: -5.0},
              "new-group": {fresh["instrument"].iloc[0]: -5.0}}
    return t, book, account, int(counts[code]), trades


def one_account_book(t, account, trade, trimmed):
    """The baseline's input: the account's rows plus the trade, as a new Book."""
    pos = t["positions"]
    mine = pos.filter(pc.equal(pos.column("account").cast(pa.string()), account))
    extra = pa.table({"account": [account] * len(trade), "instrument": list(trade),
                      "quantity": list(trade.values())})
    positions = pa.concat_tables([mine.cast(extra.schema), extra])
    instruments = None
    if trimmed:   # only the instruments involved, and the futures their options deliver
        ins = t["instruments"]
        ids = pc.unique(positions.column("instrument"))
        want = pc.is_in(ins.column("instrument"), ids)
        futures = pc.drop_null(ins.filter(want).column("future"))
        instruments = ins.filter(pc.or_(want, pc.is_in(ins.column("instrument"), futures)))
    return book_of(t, positions, instruments)


def baseline(t, account, trade, rules, trimmed):
    book = one_account_book(t, account, trade, trimmed)
    return pmfast.portfolio_margin(book, rules=rules, n_threads=1).accounts


def median_us(fn, rounds):
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e6


_sessions = {}


@pytest.mark.parametrize("kind", ["held", "new-group"])
@pytest.mark.parametrize("name,rules", [("small", "finra-cpm"), ("small", "house"),
                                        ("medium", "finra-cpm")])
def test_what_if_latency(benchmark, name, rules, kind):
    t, book, account, n_positions, trades = account_case(name)
    trade = trades[kind]
    if (name, rules) not in _sessions:
        _sessions[(name, rules)] = pmfast.WhatIf(book, rules=rules, n_threads=1)
    session = _sessions[(name, rules)]
    session.requirement(account)          # the "before" is cached per account
    benchmark.group = f"what-if latency ({name}, {rules})"
    result = benchmark.pedantic(session.what_if, args=(account, trade), rounds=2000,
                                iterations=5, warmup_rounds=100)
    # the same answer as the batch on a one-account book with the trade appended
    full = baseline(t, account, trade, rules, trimmed=False).set_index("account")
    assert result.after.requirement == full.loc[account, "requirement"]
    median = benchmark.stats.stats.median * 1e6
    info = {"positions": n_positions, "trade": kind, "what_if_us": median}
    for trimmed in (False, True):
        label = "one_account_book_trimmed_us" if trimmed else "one_account_book_us"
        rounds = 3 if name == "medium" and not trimmed else 7
        info[label] = median_us(lambda: baseline(t, account, trade, rules, trimmed), rounds)
        info["speedup_vs_" + label[:-3]] = info[label] / median
    benchmark.extra_info.update(info)
    print(f"\n{name} {rules} {kind}: what_if {median:.1f} us on {n_positions} positions; one-account "
          f"Book + portfolio_margin {info['one_account_book_us']:,.0f} us "
          f"({info['speedup_vs_one_account_book']:,.0f}x), trimmed instruments "
          f"{info['one_account_book_trimmed_us']:,.0f} us "
          f"({info['speedup_vs_one_account_book_trimmed']:,.0f}x)")


@pytest.mark.parametrize("what", ["WhatIf", "portfolio_margin"])
@pytest.mark.parametrize("name,rules", [("small", "finra-cpm"), ("small", "house"),
                                        ("medium", "finra-cpm")])
def test_session_construction(benchmark, name, rules, what):
    book = book_of(tables(name))
    benchmark.group = f"session construction: {name}, {rules} (1 thread)"
    if what == "WhatIf":
        run = lambda: pmfast.WhatIf(book, rules=rules, n_threads=1)  # noqa: E731
    else:
        run = lambda: pmfast.portfolio_margin(book, rules=rules, n_threads=1).accounts  # noqa
    benchmark.pedantic(run, rounds=3 if name == "medium" else 7, warmup_rounds=1)
    benchmark.extra_info["positions"] = book.positions.num_rows

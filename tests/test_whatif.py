"""pmfast.WhatIf: every account's margin equals the batch engine's, and a what-if equals the
batch run on a Book with the trade appended to its positions (the independent check)."""
import math

import numpy as np
import pandas as pd
import pytest

import pmfast

AS_OF, RATE = "2026-11-20", 0.045
RULES = ("finra-cpm", "house")
FIELDS = ("requirement", "risk", "minimum", "worst_scenario", "worst_group", "positions")


@pytest.fixture(scope="module")
def tables():
    return pmfast.generate(accounts=80, seed=3, as_of=AS_OF, rate=RATE)


@pytest.fixture(scope="module")
def book(tables):
    return pmfast.Book(**tables, as_of=AS_OF, rate=RATE)


@pytest.fixture(scope="module", params=RULES)
def case(request, book):
    rules = request.param
    return rules, pmfast.WhatIf(book, rules=rules, n_threads=1), pmfast.portfolio_margin(
        book, rules=rules).accounts.set_index("account")


def batch_with(tables, rules, trades, then=None):
    """The batch engine on a new Book whose positions have the trades (and then those of
    ``then``) appended as rows."""
    pos = tables["positions"].to_pandas()
    rows = [(a, i, q) for step in (trades, then or {}) for a, trade in step.items()
            for i, q in trade.items()]
    extra = pd.DataFrame(rows, columns=["account", "instrument", "quantity"])
    positions = pd.concat([pos.astype({"account": str, "instrument": str}), extra],
                          ignore_index=True)
    book = pmfast.Book(positions, tables["instruments"], tables["underlyings"],
                       tables["product_groups"], as_of=AS_OF, rate=RATE)
    return pmfast.portfolio_margin(book, rules=rules).accounts.set_index("account")


def assert_row(margin, row, rules):
    """Bit-identical: the same compiled aggregation on the same rows in the same order (the
    quantities are whole numbers, so netting order cannot change a sum either)."""
    for field in FIELDS:
        got, want = getattr(margin, field), row[field]
        if isinstance(want, float) and math.isnan(want) and field.startswith("worst"):
            want = None          # pandas shows a missing label as NaN
        assert got == want, (field, got, want)
    if rules == "house":
        assert margin.binding == row["binding"]
        for name, value in margin.set_requirements.items():
            column = name if name == "concentration" else f"{name}_requirement"
            assert value == row[column], name
        assert margin.requirement == max(margin.set_requirements.values())


def held(book, account):
    """Instrument ids the account holds (net rows, zero included)."""
    code = int(np.flatnonzero(book.account_ids == account)[0])
    pos = book.positions
    rows = pos.column("account_code").to_numpy() == code
    ids = book.instruments.column("instrument").to_numpy(zero_copy_only=False)
    inst = pos.column("instrument_code").to_numpy()[rows]
    return list(ids[inst]), pos.column("quantity").to_numpy()[rows]


# -- the session's margin of every account is the batch's ---------------------------------------
def test_every_account_equals_batch(case):
    rules, session, batch = case
    assert len(batch) == len(session.accounts)
    for account, row in batch.iterrows():
        margin = session.margin(account)
        assert margin.account == account
        assert session.requirement(account) == row["requirement"]
        assert_row(margin, row, rules)


# -- a what-if equals the batch on a Book with the trade appended -------------------------------
def random_trades(book, rng, accounts):
    ids = book.instruments.column("instrument").to_numpy(zero_copy_only=False)
    trades = {}
    for account in accounts:
        mine, qty = held(book, account)
        trade = {}
        for _ in range(rng.integers(1, 4)):
            pick = rng.random()
            if pick < 0.4:      # change or close a held position
                k = rng.integers(len(mine))
                trade[mine[k]] = -qty[k] if rng.random() < 0.5 else float(rng.integers(-20, 21))
            else:               # open a position in an instrument the account does not hold
                trade[str(rng.choice(ids))] = float(rng.integers(-50, 51)) * (
                    100 if pick > 0.9 else 1)
        trades[account] = trade
    return trades


@pytest.mark.parametrize("seed", [0, 1])
def test_random_trades_equal_batch_with_trade_appended(case, tables, book, seed):
    rules, session, batch = case
    rng = np.random.default_rng(seed)
    accounts = list(rng.choice(book.account_ids, 40, replace=False))
    trades = random_trades(book, rng, accounts)
    after = batch_with(tables, rules, trades)
    changed = 0
    for account, trade in trades.items():
        result = session.what_if(account, trade)
        assert_row(result.before, batch.loc[account], rules)
        assert_row(result.after, after.loc[account], rules)
        assert result.change == result.after.requirement - result.before.requirement
        changed += result.after.requirement != result.before.requirement
    assert changed > len(trades) // 2          # the trades did move the requirements


def test_trade_in_each_layout_branch(case, tables, book):
    """An instrument of a class the account holds, of another class of a product group it
    holds, and of a group it does not hold at all: every way the layout grows."""
    rules, session, _ = case
    ins = tables["instruments"].to_pandas()
    und = tables["underlyings"].to_pandas().set_index("underlying")
    group_of = und["product_group"].fillna(pd.Series(und.index, index=und.index))
    trades = {}
    for account in book.account_ids:
        mine, _ = held(book, account)
        classes = set(ins.set_index("instrument").loc[mine, "underlying"])
        groups = {group_of[c] for c in classes}
        pool = ins[~ins["instrument"].isin(mine)]
        same_class = pool[pool["underlying"].isin(classes)]
        other_class = pool[~pool["underlying"].isin(classes)
                           & pool["underlying"].map(group_of).isin(groups)]
        new_group = pool[~pool["underlying"].map(group_of).isin(groups)]
        kinds = [("same", same_class), ("sibling", other_class), ("new", new_group)]
        for kind, rows in kinds:       # one kind per account, each kind once
            if len(rows) and not any(k[1] == kind for k in trades):
                trades[(account, kind)] = {rows["instrument"].iloc[0]: -3.0}
                break
    assert {k[1] for k in trades} == {"same", "sibling", "new"}
    after = batch_with(tables, rules, {a: t for (a, _), t in trades.items()})
    for (account, kind), trade in trades.items():
        result = session.what_if(account, trade)
        assert result.after.positions == result.before.positions + 1, kind
        assert_row(result.after, after.loc[account], rules)


def test_trade_opening_a_product_group_uses_its_offset(case, tables, book):
    """SPY against IVV in an account holding nothing of the SP500 product group: the new group
    row's offset (0.9 of the gains) is what keeps the requirement small."""
    rules, session, _ = case
    ins = tables["instruments"].to_pandas()
    sp500 = set(ins.loc[ins["underlying"].isin(["SPX", "XSP", "SPY", "IVV"]), "instrument"])
    account = next(a for a in book.account_ids if not sp500 & set(held(book, a)[0]))
    trade = {"SPY": 1000.0, "IVV": -1000.0}
    result = session.what_if(account, trade)
    assert_row(result.after, batch_with(tables, rules, {account: trade}).loc[account], rules)
    if rules == "finra-cpm":   # SPY 598 and IVV 601 at -8%, 10% of the SPY-side gain kept
        unhedged = session.what_if(account, {"SPY": 1000.0}).change
        assert 0 < result.change < 0.25 * unhedged


def test_trade_that_closes_positions(case, book):
    rules, session, batch = case
    account = batch["positions"].idxmax()
    mine, qty = held(book, account)
    one = session.what_if(account, {mine[0]: -qty[0]})
    # a closed position is not counted (issue 15 item 9), in the batch as in the what-if
    assert one.after.positions == one.before.positions - 1
    # closing every position leaves nothing at risk and no minimum
    flat = session.what_if(account, dict(zip(mine, -qty)))
    assert (flat.after.requirement, flat.after.risk, flat.after.minimum) == (0.0, 0.0, 0.0)
    assert flat.after.worst_scenario is None and flat.change == -flat.before.requirement


def test_session_is_not_changed_by_what_ifs(case, book):
    rules, session, batch = case
    account = book.account_ids[5]
    mine, qty = held(book, account)
    first = session.what_if(account, {mine[0]: 7})
    session.what_if(account, {mine[0]: -1000, book.instruments["instrument"][0].as_py(): 9})
    assert session.what_if(account, {mine[0]: 7}) == first
    assert session.requirement(account) == batch.loc[account, "requirement"]


def test_apply_books_trades_into_the_session(case, tables, book):
    """Two fills applied one after the other, then a what-if: each equals the batch on a Book
    with the fills appended so far."""
    rules, _, batch = case
    session = pmfast.WhatIf(book, rules=rules, n_threads=1)
    account, other = book.account_ids[11], book.account_ids[12]
    mine, qty = held(book, account)
    fills = [{mine[0]: -qty[0] / 2 if qty[0] % 2 == 0 else 1.0}, {"SPY": -300.0, "IVV": 300.0}]
    booked = {}
    for fill in fills:
        result = session.apply(account, fill)
        for name, q in fill.items():
            booked[name] = booked.get(name, 0.0) + q
        want = batch_with(tables, rules, {account: booked}).loc[account]
        assert_row(result.after, want, rules)
        assert_row(session.margin(account), want, rules)
    probe = {mine[-1]: 2.0}
    want = batch_with(tables, rules, {account: booked}, then={account: probe}).loc[account]
    assert_row(session.what_if(account, probe).after, want, rules)
    assert session.requirement(other) == batch.loc[other, "requirement"]


def test_trade_as_pairs_sums_repeated_ids(case, book):
    _, session, _ = case
    account = book.account_ids[7]
    mine, _ = held(book, account)
    pairs = session.what_if(account, [(mine[0], 4), (mine[0], -1), ("SPY", 100)])
    assert pairs == session.what_if(account, {mine[0]: 3.0, "SPY": 100.0})
    assert pairs.trade == {mine[0]: 3.0, "SPY": 100.0}


# -- seed examples by hand ----------------------------------------------------------------------
def test_covered_call_from_shares():
    """100 shares at $500 (7,500 at -15%); selling the 510 call (premium $5, 30 days) makes
    the published covered call of about $7,000 (portfolio-margin.md seed example)."""
    book = pmfast.Book(
        {"account": ["A"], "instrument": ["ACME"], "quantity": [100.0]},
        {"instrument": ["ACME", "ACME C510"], "kind": ["equity", "option"],
         "underlying": ["ACME", "ACME"], "right": [None, "C"], "strike": [None, 510.0],
         "expiry": [None, "2026-12-20"], "price": [None, 5.0]},
        {"underlying": ["ACME"], "price": [500.0]}, as_of=AS_OF)
    result = pmfast.WhatIf(book).what_if("A", {"ACME C510": -1})
    assert result.before.requirement == pytest.approx(7_500.0, rel=1e-12)
    assert result.after.requirement == pytest.approx(7_000.0, abs=1.0)
    assert result.after.worst_scenario == "-15%" and result.after.worst_group == "ACME"
    assert result.change == pytest.approx(-500.0, abs=1.0)


# -- instruments that are not in the book ------------------------------------------------------
def new_series(tables):
    """New rows: an American and a European option with a shifted strike, a future option on
    a future of the book, and one option with no implied_vol (solved from its price)."""
    ins = tables["instruments"].to_pandas()
    rows = []
    for kind, style in (("option", "american"), ("option", "european"),
                        ("future_option", "european")):
        row = ins[(ins["kind"] == kind) & (ins["style"] == style)].iloc[0].copy()
        row["strike"] = round(row["strike"] * 1.013, 2)
        row["instrument"] = f"NEW.{kind}.{style}"
        rows.append(row)
    solved = rows[0].copy()
    solved["instrument"], solved["implied_vol"] = "NEW.solved", None
    return pd.DataFrame(rows + [solved])


def test_added_instruments_equal_batch_holding_them(case, tables, book):
    rules, _, batch = case
    session = pmfast.WhatIf(book, rules=rules, n_threads=1)
    rows = new_series(tables)
    assert session.add_instruments(rows) == rows["instrument"].tolist()
    rng = np.random.default_rng(4)
    accounts = list(rng.choice(book.account_ids, 12, replace=False))
    old_ids = book.instruments.column("instrument").to_numpy(zero_copy_only=False)
    trades = {a: {rows["instrument"].iloc[k % 4]: float(rng.integers(-9, 10) or 1),
                  str(rng.choice(old_ids)): float(rng.integers(-9, 10))}
              for k, a in enumerate(accounts)}
    tables2 = dict(tables, instruments=pd.concat([tables["instruments"].to_pandas(), rows],
                                                 ignore_index=True))
    after = batch_with(tables2, rules, trades)
    for account, trade in trades.items():
        result = session.what_if(account, trade)
        assert result.before.requirement == batch.loc[account, "requirement"]
        want = after.loc[account]
        got = result.after
        # the new rows are priced in a batch of their own: the last bits may differ
        assert got.requirement == pytest.approx(want["requirement"], rel=1e-9)
        assert got.risk == pytest.approx(want["risk"], rel=1e-9, abs=1e-9)
        assert got.minimum == pytest.approx(want["minimum"], rel=1e-9, abs=1e-9)
        assert (got.worst_scenario, got.positions) == (
            None if pd.isna(want["worst_scenario"]) else want["worst_scenario"],
            want["positions"])


def test_add_instruments_errors(tables, book):
    session = pmfast.WhatIf(book, n_threads=1)
    rows = new_series(tables)
    existing = rows.iloc[:1].assign(instrument=book.instruments["instrument"][0].as_py())
    with pytest.raises(pmfast.InputError, match="already in the session"):
        session.add_instruments(existing)
    with pytest.raises(pmfast.InputError, match="strike.*'NEW.option.american'"):
        session.add_instruments(rows.iloc[:1].assign(strike=-1.0))
    with pytest.raises(pmfast.InputError, match="instruments.underlying: unknown underlying.*'NEW.option.american'"):
        session.add_instruments(rows.iloc[:1].assign(underlying="NOPE"))
    with pytest.raises(pmfast.InputError, match="'NEW.option.american'.*add_instruments"):
        session.what_if(book.account_ids[0], {"NEW.option.american": 1})
    # a failed add leaves the session as it was
    assert session.add_instruments(rows.iloc[:1]) == ["NEW.option.american"]
    assert session.what_if(book.account_ids[0], {"NEW.option.american": 1}).after.positions > 0


# -- bad input ----------------------------------------------------------------------------------
def test_unknown_account(case):
    _, session, _ = case
    with pytest.raises(pmfast.InputError, match="'NOPE'"):
        session.what_if("NOPE", {"SPY": 1})
    with pytest.raises(pmfast.InputError, match="'NOPE'"):
        session.requirement("NOPE")
    with pytest.raises(pmfast.InputError, match="account"):
        session.requirement(["A0000001"])


def test_unknown_instrument(case, book):
    _, session, _ = case
    with pytest.raises(pmfast.InputError, match="'ZZZ.C1'") as err:
        session.what_if(book.account_ids[0], {"SPY": 1, "ZZZ.C1": 5})
    assert "SPY" not in str(err.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_quantity(case, book, bad):
    _, session, _ = case
    with pytest.raises(pmfast.InputError, match="'SPY'.*|finite"):
        session.what_if(book.account_ids[0], {"SPY": bad})


def test_non_numeric_quantity(case, book):
    _, session, _ = case
    with pytest.raises(pmfast.InputError, match="trade"):
        session.what_if(book.account_ids[0], {"SPY": "ten"})
    with pytest.raises(pmfast.InputError, match="trade"):
        session.what_if(book.account_ids[0], ["SPY"])


def bad_vol_book():
    """Account B holds an option with no price, no implied_vol and no underlying volatility."""
    return pmfast.Book(
        {"account": ["A", "B"], "instrument": ["X", "X C50"], "quantity": [100.0, 1.0]},
        {"instrument": ["X", "X C50"], "kind": ["equity", "option"], "underlying": ["X", "X"],
         "right": [None, "C"], "strike": [None, 50.0], "expiry": [None, "2026-12-20"]},
        {"underlying": ["X"], "price": [50.0]}, as_of=AS_OF)


def test_rejected_account_and_unpriceable_instrument():
    book = bad_vol_book()
    with pytest.raises(pmfast.InputError, match="X C50"):
        pmfast.WhatIf(book)
    session = pmfast.WhatIf(book, errors="collect")
    assert session.requirement("A") == pytest.approx(750.0, rel=1e-12)
    with pytest.raises(pmfast.InputError, match="'B'.*rejected.*X C50"):
        session.requirement("B")
    with pytest.raises(pmfast.InputError, match="'X C50'"):
        session.what_if("A", {"X C50": -1})

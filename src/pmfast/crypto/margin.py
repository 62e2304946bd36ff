"""``portfolio_margin`` for crypto rule sets: positions laid out by (account, pair), risk
vectors aggregated by the compiled core, worst case and add-ons per risk matrix, summed per
(account, settlement currency)."""
import numpy as np
import pandas as pd

from pmfast import _core
from pmfast._threads import resolve_n_threads
from pmfast.crypto.engine import CryptoEngine
from pmfast.errors import InputError
from pmfast.scenarios import _np
from pmfast.schema import format_ids

ERROR_COLUMNS = ["account", "table", "column", "reason"]
NOT_CRYPTO = "not a crypto instrument (its underlying's group_type is not crypto)"
ACCOUNT_COLUMNS = ["account", "currency", "requirement", "maintenance", "worst_case",
                   "worst_scenario", "roll_shock", "delta_shock", "correlation_contingency",
                   "option_contingency", "worst_underlying", "worst_index", "status",
                   "positions"]


def position_key(ci, inst):
    """Sort key of positions inside an account: pair, then instrument id rank."""
    return ci.sort_key[inst]


class CryptoLayout:
    """Net positions of the accepted accounts sorted by (account, pair), one group per
    (account, pair) with CSR offsets."""

    def __init__(self, book, engine, rejected, n_threads):
        pos = book.positions
        acct = _np(pos.column("account_code")).astype(np.int32)
        inst = _np(pos.column("instrument_code")).astype(np.int32)
        qty = _np(pos.column("quantity")).astype(np.float64)
        keep = ~rejected[acct] if rejected.any() else None
        if keep is not None:
            acct, inst, qty = acct[keep], inst[keep], qty[keep]
        pair = engine.ci.pair[inst] if inst.size else np.zeros(0, np.int64)
        # inside an account: by pair, then instrument id (sums in an order no table's row
        # order changes; the what-if sorts the same way)
        key = position_key(engine.ci, inst)
        if key.size and np.any((key[1:] < key[:-1]) & (acct[1:] == acct[:-1])):
            order = _core.book_segment_sort(acct, key, book.n_accounts, n_threads)
            acct, inst, qty, pair = acct[order], inst[order], qty[order], pair[order]
        new = np.r_[True, (acct[1:] != acct[:-1]) | (pair[1:] != pair[:-1])] if acct.size \
            else np.zeros(0, bool)
        starts = np.flatnonzero(new)
        self.instrument = np.ascontiguousarray(inst)
        self.quantity = np.ascontiguousarray(qty)
        self.group_start = np.r_[starts, acct.size].astype(np.int64)
        self.group_pair = pair[starts].astype(np.int64)
        self.group_account = acct[starts].astype(np.int64)
        self.account_start = np.searchsorted(self.group_account,
                                             np.arange(book.n_accounts + 1)).astype(np.int64)
        self.positions_per_account = np.bincount(acct, minlength=book.n_accounts)


def _not_crypto_errors(book, engine, rejected):
    """Accounts holding a non-crypto instrument under a crypto rule set -> error rows."""
    pos = book.positions
    acct = _np(pos.column("account_code"))
    inst = _np(pos.column("instrument_code"))
    hit = (engine.ci.kind[inst] < 0) & ~rejected[acct] if inst.size else np.zeros(0, bool)
    acct, inst = acct[hit], inst[hit]
    frame = pd.DataFrame({"account": book.account_ids[acct], "table": "instruments",
                          "column": "kind",
                          "reason": [f"instruments.kind: {NOT_CRYPTO} (instrument "
                                     f"{format_ids([i])})" for i in engine.ci.ids[inst]]})
    bad = np.zeros(book.n_accounts, dtype=bool)
    bad[acct] = True
    return frame.drop_duplicates(), bad, engine.ci.ids[inst]


def prepare(book, rules, n_threads, errors):
    """(engine, rejected accounts, error rows): shared by the batch and the what-if."""
    nt = resolve_n_threads(n_threads)
    if errors is None:
        errors = "collect" if len(book.errors) else "raise"
    if errors not in ("raise", "collect"):
        raise InputError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    engine = CryptoEngine(book, rules, nt)
    rejected = book.rejected.copy()
    frame, bad, ids = _not_crypto_errors(book, engine, rejected)
    if errors == "raise" and bad.any():
        raise InputError(f"instruments.kind: {NOT_CRYPTO} for instrument(s) {format_ids(ids)} "
                         f"(rule set {rules.name!r} margins crypto instruments only)")
    rejected |= bad
    all_errors = pd.concat([book.errors, frame], ignore_index=True)[ERROR_COLUMNS]
    return engine, rejected, all_errors, nt


def account_frame(engine, layout_accounts, group_pair, g, rows, account_ids, rejected,
                  positions):
    """The ``accounts`` table: one row per (account, settlement currency) of the groups, plus
    one row per account without any (rejected, or no positions)."""
    rules = engine.rules
    best = rows["best_group"]
    bp = group_pair[best] if len(best) else np.zeros(0, np.int64)
    index = np.where(rows["joint_index"] >= -1, rows["joint_index"], g["worst_index"][best]) \
        if len(best) else np.zeros(0, np.int64)
    label = np.full(len(best), None, dtype=object)
    has = index >= 0
    label[has] = engine.labels[bp[has], index[has]]
    requirement = (rows["worst_case"] + rows["roll_shock"] + rows["delta_shock"]
                   + rows["correlation_contingency"] + rows["option_contingency"])
    und = engine.ci.pairs["underlying"].to_numpy(object)
    frame = pd.DataFrame({
        "account": account_ids[rows["account"]], "currency": rows["currency"].astype(object),
        "requirement": requirement, "maintenance": rules.mm_factor * requirement,
        "worst_case": rows["worst_case"], "worst_scenario": label,
        "roll_shock": rows["roll_shock"], "delta_shock": rows["delta_shock"],
        "correlation_contingency": rows["correlation_contingency"],
        "option_contingency": rows["option_contingency"],
        "worst_underlying": np.where(has, und[bp] if len(bp) else bp, None),
        "worst_index": np.where(has, index, -1).astype(np.int64),
        "status": "ok", "positions": positions[rows["account"]]})
    missing = np.ones(len(account_ids), dtype=bool)
    missing[rows["account"]] = False
    if missing.any():
        codes = np.flatnonzero(missing)
        empty = pd.DataFrame({"account": account_ids[codes], "currency": None,
                              "requirement": 0.0, "maintenance": 0.0, "worst_case": 0.0,
                              "worst_scenario": None, "roll_shock": 0.0, "delta_shock": 0.0,
                              "correlation_contingency": 0.0, "option_contingency": 0.0,
                              "worst_underlying": None, "worst_index": -1, "status": "ok",
                              "positions": positions[codes]})
        bad = rejected[codes]
        num = ["requirement", "maintenance", "worst_case", "roll_shock", "delta_shock",
               "correlation_contingency", "option_contingency"]
        empty.loc[bad, num] = np.nan
        empty.loc[bad, "status"] = "rejected"
        frame = pd.concat([frame, empty], ignore_index=True) if len(frame) else empty
        frame = frame.sort_values(["account", "currency"], kind="stable", na_position="first")
    return frame[ACCOUNT_COLUMNS].reset_index(drop=True)


class CryptoMargin:
    """Result of ``portfolio_margin(book, rules=<crypto rule set>)``.

    ``accounts``: one row per (account, settlement currency), and one row for an account that
    holds nothing (or was rejected); columns ``account``, ``currency``, ``requirement`` (the
    risk-matrix initial margin ``worst_case + roll_shock + delta_shock +
    correlation_contingency + option_contingency``), ``maintenance`` (``mm_factor x
    requirement``), ``worst_case``, ``worst_scenario``, the add-ons, ``worst_underlying``,
    ``worst_index`` (into the risk vector), ``status``, ``positions``. ``groups``: one row per
    risk matrix (account, index, settlement). ``risk_vectors(account)``: the aggregated
    vectors. ``errors``: rejected accounts and why.
    """

    def __init__(self, book, rules, engine, layout, g, rows, rejected, errors):
        self.book = book
        self.rules = rules
        self.errors = errors
        self._engine = engine
        self._layout = layout
        self._g = g
        self.accounts = account_frame(engine, layout.group_account, layout.group_pair, g, rows,
                                      book.account_ids, rejected, layout.positions_per_account)

    @property
    def groups(self):
        """One row per risk matrix: account, underlying, settlement, currency, worst case,
        worst scenario, roll shock, delta shock, option contingency, net delta (coins)."""
        lay, g, eng = self._layout, self._g, self._engine
        pairs = eng.ci.pairs
        p = lay.group_pair
        idx = g["worst_index"]
        label = np.full(len(p), None, dtype=object)
        label[idx >= 0] = eng.labels[p[idx >= 0], idx[idx >= 0]]
        return pd.DataFrame({
            "account": self.book.account_ids[lay.group_account],
            "underlying": pairs["underlying"].to_numpy(object)[p],
            "settlement": pairs["settlement"].to_numpy(object)[p],
            "currency": pairs["currency"].to_numpy(object)[p],
            "worst_case": g["worst_case"], "worst_scenario": label, "worst_index": idx,
            "roll_shock": g["roll_shock"], "delta_shock": g["delta_shock"],
            "option_contingency": g["option_contingency"], "net_delta": g["net_delta"]})

    def risk_vectors(self, account):
        """The aggregated vectors of one account, long: underlying, settlement, index,
        scenario label, move, raw P&L (sum over instruments), adjusted P&L (after the offset
        and the dampener: what the worst case is taken on)."""
        lay, g, eng = self._layout, self._g, self._engine
        code = np.flatnonzero(self.book.account_ids == str(account))
        if code.size == 0:
            raise InputError(f"account {account!r} is not in the book")
        rows = np.flatnonzero(lay.group_account == code[0])
        frames = []
        move = _moves(eng)
        for r in rows:
            p = lay.group_pair[r]
            frames.append(pd.DataFrame({
                "underlying": eng.ci.pairs["underlying"].iloc[p],
                "settlement": eng.ci.pairs["settlement"].iloc[p],
                "index": np.arange(eng.n_scenarios),
                "table": np.where(np.arange(eng.n_scenarios) < eng.n_std, "standard",
                                  "extended"),
                "scenario": eng.labels[p], "move": move[p], "pnl": g["raw"][r],
                "adjusted": g["adjusted"][r]}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def position_vectors(self, account):
        """{instrument id: net quantity x its risk vector} of one account: the venue's
        ``initial_risk_vectors`` (standard entries, then extended)."""
        lay, eng = self._layout, self._engine
        code = np.flatnonzero(self.book.account_ids == str(account))
        if code.size == 0:
            raise InputError(f"account {account!r} is not in the book")
        g0, g1 = lay.account_start[code[0]], lay.account_start[code[0] + 1]
        rows = range(lay.group_start[g0], lay.group_start[g1])
        return {str(eng.ci.ids[lay.instrument[k]]): lay.quantity[k] * eng.pnl[lay.instrument[k]]
                for k in rows}

    def __repr__(self):
        ok = int((self.accounts["status"] == "ok").sum())
        return f"CryptoMargin({len(self.accounts)} account rows, {ok} margined)"


def _moves(engine):
    from pmfast.crypto.grid import scenario_moves
    return scenario_moves(engine.rules, engine.params["price_range"])[0]


def portfolio_margin(book, rules, n_threads=None, errors=None):
    """Crypto portfolio margin of every account of ``book`` (``rules``: a ``CryptoRules``).

    Reached through ``pmfast.portfolio_margin(book, rules="deribit")``; see ``CryptoMargin``
    for the tables and docs/crypto.md for the formulas.

    Examples
    --------
    >>> import pmfast
    >>> book = pmfast.Book(
    ...     {"account": ["A"], "instrument": ["BTC-PERPETUAL"], "quantity": [1.0]},
    ...     {"instrument": ["BTC-PERPETUAL"], "kind": ["perpetual"], "underlying": ["BTC"],
    ...      "price": [50000.0]},
    ...     {"underlying": ["BTC"], "price": [50000.0], "group_type": ["crypto"]},
    ...     as_of="2024-06-17")
    >>> row = pmfast.portfolio_margin(book, rules="deribit").accounts.iloc[0]
    >>> round(float(row["worst_case"]), 6), round(float(row["roll_shock"]), 6), row["currency"]
    (0.190476, 0.01, 'BTC')
    """
    engine, rejected, all_errors, nt = prepare(book, rules, n_threads, errors)
    layout = CryptoLayout(book, engine, rejected, nt)
    g = engine.margin_of(layout.instrument, layout.quantity, layout.group_start,
                         layout.group_pair, layout.account_start)
    rows = engine.currency_rows(layout.group_account, layout.group_pair, g)
    return CryptoMargin(book, rules, engine, layout, g, rows, rejected, all_errors)

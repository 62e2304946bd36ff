"""One batch run, as the command line and schedulers drive it: read the book, margin it by
portfolio margin and/or Reg T, join the per-account results, write files and the report.

Kept apart from cli.py so that a scheduler (or a test) can call it without click.
"""
import dataclasses
import pathlib
import time

import numpy as np
import pandas as pd

import pmfast
from pmfast.comparison import savings
from pmfast.errors import InputError
from pmfast.finite import reject_non_finite
from pmfast.output import write_table
from pmfast.schema import format_ids
from pmfast.stages import stage

GENERATED_TABLES = ("positions", "instruments", "underlyings", "product_groups")
# Reg T's pairing quality, joined as regt_* (see StrategyResult.accounts)
REGT_PAIRING_COLUMNS = ("pairing_optimal", "pairing_gap_initial", "pairing_gap_maintenance")
# text columns that describe figures: cleared with them when an account is rejected
LABEL_COLUMNS = ("worst_scenario", "worst_group", "binding", "sim_worst_scenario")


class StageClock:
    """Times the named stages of a run and reports each to an optional progress callback,
    ``progress(stage, done, total)``: called with ``done = i`` when stage ``i`` starts and
    ``done = total`` at the end. The library never draws anything itself."""

    def __init__(self, names, progress=None):
        self.names = list(names)
        self.times = {}
        self._progress = progress

    def run(self, name, func, *args, **kwargs):
        if self._progress is not None:
            self._progress(name, len(self.times), len(self.names))
        start = time.perf_counter()
        with stage(name):       # listeners (pmfast.stages) see the run-level stages too
            result = func(*args, **kwargs)
        self.times[name] = time.perf_counter() - start
        return result

    def close(self):
        if self._progress is not None:
            self._progress("done", len(self.names), len(self.names))


@dataclasses.dataclass
class BatchRun:
    """Everything one run produced."""
    book: object
    pm: object  # pmfast portfolio-margin result, or None with method="regt"
    regt: object  # strategy-margin result, or None with method="pm"
    accounts: pd.DataFrame  # one row per account: the joined per-account output
    errors: pd.DataFrame  # rejected accounts and reasons (empty unless errors="collect")
    rules: str
    parameters: dict
    stage_times: dict
    sim: object = None  # simulation-margin result (method "sim" / "all"), see simulation/run.py

    @property
    def n_accounts(self):
        return len(self.accounts)

    @property
    def n_rejected(self):
        return int(self.errors["account"].nunique())


def _join_accounts(book, pm, regt, rejected):
    """One row per account of the book: the comparison (when both ran) plus each method's
    own columns, prefixed. An account rejected by either method gets ``status = "rejected"``
    and no figures at all, so no total ever mixes a partial account in.

    Both methods return one row per ``book.account_ids`` in that order (by account code), so
    the table is assembled column by column: no join on the string ids."""
    n = book.n_accounts
    for name, result in (("portfolio margin", pm), ("Reg T", regt)):
        if result is not None and not _same_accounts(result.accounts["account"], book):
            raise RuntimeError(f"{name} returned accounts out of the Book's order")  # never
    cols = {"account": pd.Series(book.account_ids, dtype=object)}
    if pm is not None and regt is not None:
        pm_req = pm.accounts["requirement"].astype(float)
        cols["pm_requirement"] = pm_req
        for c in ("initial", "maintenance", "unmargined_positions"):
            cols[f"regt_{c}"] = regt.accounts[c]
        cols["savings"], cols["savings_maintenance"] = savings(
            pm_req, regt.accounts["initial"], regt.accounts["maintenance"],
            regt.accounts["unmargined_positions"])
    if pm is not None:
        renamed = {"risk": "pm_risk", "minimum": "pm_minimum"}
        for c in pm.accounts.columns:
            if c not in ("account", "requirement", "status"):
                cols[renamed.get(c, c)] = pm.accounts[c]
        if regt is None:
            cols["pm_requirement"] = pm.accounts["requirement"]
    if regt is not None:
        keep = ["gross_initial"] + ([] if pm is not None else
                                    ["initial", "maintenance", "unmargined_positions"])
        keep += [c for c in REGT_PAIRING_COLUMNS if c in regt.accounts.columns]
        for c in keep:
            cols[f"regt_{c}"] = regt.accounts[c]
    table = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                          for k, v in cols.items()})
    assert len(table) == n
    table.insert(1, "status", pd.Series(["ok"] * n, dtype=object))
    return mark_rejected(table, rejected)


def mark_rejected(table, rejected):
    """``status = "rejected"`` and no figures (NaN; no worst scenario, group or binding
    requirement; pairing not proven) for the accounts in ``rejected``, whichever method
    rejected them."""
    bad = table["account"].isin(rejected).to_numpy()
    table.loc[bad, [c for c in table.columns if table[c].dtype.kind == "f"]] = float("nan")
    for c in LABEL_COLUMNS:
        if c in table.columns:
            table.loc[bad, c] = None
    if "regt_pairing_optimal" in table.columns:
        table.loc[bad, "regt_pairing_optimal"] = False
    table["status"] = pd.Series(np.where(bad, "rejected", "ok"), dtype=object,
                                index=table.index)
    return table


def _one_row_per_account(accounts, book):
    """A crypto result has one row per (account, settlement currency) in its own order; the
    batch table holds one row per account in the Book's order. An account margined in two
    currencies cannot be one row (coins and dollars do not add): the API gives its rows."""
    dup = accounts["account"].duplicated(keep=False)
    if dup.any():
        raise InputError(f"positions.account: {format_ids(accounts['account'][dup])} hold both "
                         "inverse and linear contracts: margined per settlement currency, they "
                         "have one row per currency; use pmfast.portfolio_margin(book, "
                         "rules=...).accounts for them")
    return accounts.set_index("account").reindex(book.account_ids).reset_index()


def _same_accounts(column, book):
    ids = column.to_numpy()
    return len(ids) == book.n_accounts and (ids is book.account_ids or
                                            np.array_equal(ids.astype(str), book.account_ids))


def _run_errors(book, pm, regt):
    """Every rejected account with every method's reasons: the Book's, the instruments the
    market snapshot cannot value (the same for both methods: they share one snapshot), and
    each method's own (Reg T: a fraction of an option contract; either: a non-finite
    figure). A reason both methods give is listed once."""
    tables = [t for t in (book.errors, getattr(pm, "errors", None),
                          getattr(regt, "errors", None)) if t is not None and len(t)]
    if not tables:
        return book.errors
    return pd.concat(tables, ignore_index=True).drop_duplicates(ignore_index=True)


def _batch_safety_net(run, errors):
    """The joined table's figures (e.g. savings) are finite for every account "ok", else the
    account is rejected with the figure named (pmfast.finite); the methods' own figures are
    checked where each finalises them."""
    from pmfast.portfolio import error_mode
    table = run.accounts
    floats = [c for c in table.columns if table[c].dtype.kind == "f"]
    nan_allowed = [c for c in floats if c.startswith("savings") or "pairing_gap" in c]
    already = (table["status"] == "rejected").to_numpy()
    rejected, run.errors = reject_non_finite(table, floats, already, run.errors,
                                             error_mode(run.book, errors), "batch",
                                             nan_allowed=nan_allowed)
    if rejected is not already:
        run.accounts = mark_rejected(table, set(run.errors["account"]))


def strategy_margin_on(book, rules, market, n_threads, errors, pairing="optimal"):
    """Reg T on the run's market snapshot (resolved under the portfolio-margin rule set
    ``rules`` when portfolio margin did not run); ``pairing`` is its method (optimal|greedy)."""
    if market is None:
        from pmfast.market import resolve_market
        from pmfast.portfolio import check_book
        from pmfast.rules import RuleSet
        check_book(book, "strategy_margin")
        market = resolve_market(book, RuleSet.load(rules), n_threads=n_threads)
    return pmfast.strategy_margin(book, n_threads=n_threads, market=market, errors=errors,
                                  method=pairing)


def run_book(book, *, rules="finra-cpm", method="both", n_threads=None, progress=None,
             parameters=None, stages=None, errors=None, pairing="optimal", simulation=None,
             market=None, revaluation=None):
    """Margin an existing Book; return a BatchRun. ``progress(stage, done, total)`` is called
    as each stage starts (see StageClock); ``errors`` ("raise"/"collect") is passed to both
    methods, which share one market snapshot and so reject the same accounts (default: the
    Book's own mode). ``market``, ``revaluation``: the book's market snapshot and portfolio
    margin's risk arrays priced already (a distributed run's shards; see
    ``portfolio_margin``), else resolved and priced here."""
    own_clock = stages is None
    if own_clock:
        stages = StageClock(["portfolio margin", "reg t", "join"], progress)
    pm = regt = None     # one market snapshot, shared: both methods reject the same accounts
    if method in ("pm", "both", "all"):
        pm = stages.run("portfolio margin", pmfast.portfolio_margin, book, rules=rules,
                        n_threads=n_threads, errors=errors, market=market,
                        revaluation=revaluation)
        market = getattr(pm, "market", None)   # a crypto result has no equity snapshot
        if not _same_accounts(pm.accounts["account"], book):
            pm.accounts = _one_row_per_account(pm.accounts, book)
    if method in ("regt", "both", "all"):
        regt = stages.run("reg t", strategy_margin_on, book, rules, market, n_threads, errors,
                          pairing)
    run_errors = _run_errors(book, pm, regt)
    accounts = stages.run("join", _join_accounts, book, pm, regt, set(run_errors["account"]))
    run = BatchRun(book=book, pm=pm, regt=regt, accounts=accounts, errors=run_errors,
                   rules=str(rules), parameters=dict(parameters or {}, method=method),
                   stage_times=dict(stages.times))
    if simulation is not None:      # method "sim" / "all": pmfast.simulation.run joins sim_*
        from pmfast.simulation import run as sim_run
        stages.run("simulation margin", sim_run.attach, run, n_threads=n_threads,
                   errors=errors, market=market, **simulation)
        run.stage_times = dict(stages.times)
    _batch_safety_net(run, errors)
    if own_clock:
        stages.close()
    return run


def run_files(positions, instruments, underlyings, *, product_groups=None, as_of=None,
              rate=0.0, rules="finra-cpm", method="both", n_threads=None, errors="raise",
              progress=None, pairing="optimal", simulation=None):
    """Read the tables from files, build the Book, and margin it."""
    stages = StageClock(["load", "portfolio margin", "reg t", "join"], progress)
    as_of = as_of or pd.Timestamp.today().date().isoformat()
    book = stages.run("load", pmfast.Book, positions, instruments, underlyings,
                      product_groups=product_groups, as_of=as_of, rate=rate, errors=errors)
    if simulation is not None:
        from pmfast.simulation import run as sim_run
        simulation = sim_run.from_options(simulation)
    run = run_book(book, rules=rules, method=method, n_threads=n_threads, stages=stages,
                   errors=errors, pairing=pairing, simulation=simulation,
                   parameters={"as_of": str(as_of), "rate": rate, "errors": errors,
                               "pairing": pairing})
    stages.close()
    return run


def run_demo(*, accounts=100_000, seed=0, out_dir=pathlib.Path("pmfast-demo"), n_threads=None,
             rules="finra-cpm", progress=None):
    """Generate a book, margin it both ways, write results and the report into out_dir."""
    stages = StageClock(["generate", "portfolio margin", "reg t", "join", "write + report"],
                        progress)
    book = stages.run("generate", pmfast.generate, accounts=accounts, seed=seed, as_book=True)
    from pmfast.simulation import run as sim_run
    run = run_book(book, rules=rules, method="all", n_threads=n_threads, stages=stages,
                   simulation={"scenarios": sim_run.demo_set(book, seed=seed)},
                   parameters={"accounts": accounts, "seed": seed, "as_of": str(book.as_of),
                               "rate": book.rate})
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stages.run("write + report", write_outputs, run, out_dir / "accounts.parquet",
               report=out_dir / "report.html")
    run.stage_times = dict(stages.times)
    stages.close()
    return run


def errors_path(out):
    out = pathlib.Path(out)
    return out.with_name(out.stem + ".errors" + out.suffix)


def write_outputs(run, out, *, report=None):
    """Write the per-account table (Parquet or CSV by extension), the rejected accounts next to
    it when there are any, and the HTML report if asked."""
    write_table(run.accounts, out)
    if run.n_rejected:
        write_table(run.errors, errors_path(out))
    if report is not None:
        from pmfast import report as pm_report
        pm_report.write_report(run, report)


def write_generated(accounts, seed, out_dir, fmt="parquet", history_days=None):
    """Write a synthetic book's tables (and with ``history_days`` its history and rates) into
    out_dir; return the paths."""
    tables = pmfast.generate(accounts=accounts, seed=seed, history_days=history_days)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in GENERATED_TABLES + (("history", "rates") if history_days else ()):
        path = out_dir / f"{name}.{fmt}"
        write_table(tables[name], path)
        paths.append(path)
    return paths


def summary_text(run):
    """A short human summary: accounts, totals, saving, time per stage."""
    lines = [f"accounts: {run.n_accounts:,}" + (f" ({run.n_rejected:,} rejected)"
                                                 if run.n_rejected else "")]
    acc = run.accounts
    if "pm_requirement" in acc:
        lines.append(f"portfolio margin ({run.rules}): ${acc['pm_requirement'].sum():,.0f}")
    if "regt_initial" in acc:
        lines.append(f"Reg T initial: ${acc['regt_initial'].sum():,.0f}   maintenance: "
                     f"${acc['regt_maintenance'].sum():,.0f}")
    if "savings" in acc:
        regt = acc.loc[acc["savings"].notna(), "regt_initial"].sum()  # comparable accounts
        saving = acc["savings"].sum()
        share = f" ({saving / regt:.0%} of Reg T)" if regt else ""
        lines.append(f"saving of portfolio margin vs Reg T initial: ${saving:,.0f}{share}")
    if getattr(run, "sim", None) is not None:     # a distributed run has no sim (yet)
        from pmfast.simulation import run as sim_run
        lines.append(sim_run.summary_line(run))
    times = ", ".join(f"{k} {v:.2f}s" for k, v in run.stage_times.items())
    lines.append(f"time: {times} (total {sum(run.stage_times.values()):.2f}s)")
    return "\n".join(lines)

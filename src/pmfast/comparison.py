"""Portfolio margin against the Reg T strategy-based baseline, per account."""
from __future__ import annotations

import pandas as pd

from pmfast.errors import PmfastError


def compare(book, pm_rules="finra-cpm", regt_rules="regt", n_threads=None):
    """Portfolio margin vs Reg T for every account, with what portfolio margin saves.

    Parameters
    ----------
    book : pmfast.Book
    pm_rules, regt_rules : str, path or rule set
        Passed to :func:`pmfast.portfolio_margin` and :func:`pmfast.strategy_margin`.
    n_threads : int, optional

    Returns
    -------
    pandas.DataFrame
        ``account``, ``pm_requirement``, ``regt_initial``, ``regt_maintenance``, ``savings``
        (``regt_initial - pm_requirement``: what a portfolio-margin account needs less to
        open the book) and ``savings_maintenance`` (``regt_maintenance - pm_requirement``);
        ``regt_unmargined_positions`` counts futures positions outside Reg T, and where it is
        not 0 the savings are NaN (see :func:`compare_accounts`).
    """
    from pmfast.portfolio import portfolio_margin
    from pmfast.strategy import strategy_margin

    pm = portfolio_margin(book, rules=pm_rules, n_threads=n_threads)
    # Reg T on the same market snapshot: the same marks, the same rejected accounts
    regt = strategy_margin(book, rules=regt_rules, n_threads=n_threads, market=pm.market)
    return compare_accounts(pm.accounts, regt.accounts)


def compare_accounts(pm_accounts, regt_accounts):
    """Join already computed ``portfolio_margin(...).accounts`` and
    ``strategy_margin(...).accounts`` tables into the :func:`compare` table.

    Futures and future options are outside Reg T (SPAN margins them), so for an account holding
    any (``regt_unmargined_positions > 0``) the two requirements do not cover the same positions
    and no saving is claimed: ``savings`` and ``savings_maintenance`` are NaN there.
    """
    pm, regt = pm_accounts, regt_accounts
    left = pd.DataFrame({"account": pm["account"].astype(str),
                         "pm_requirement": pm["requirement"].astype(float)})
    right = pd.DataFrame({"account": regt["account"].astype(str),
                          "regt_initial": regt["initial"], "regt_maintenance": regt["maintenance"],
                          "regt_unmargined_positions": regt["unmargined_positions"]})
    out = left.merge(right, on="account", how="outer", indicator=True, sort=True)
    missing = out[out["_merge"] != "both"]
    if len(missing):
        raise PmfastError("compare: portfolio margin and Reg T disagree on the accounts, e.g. "
                          f"{missing['account'].head(3).tolist()}")
    out = out.drop(columns="_merge")
    out["savings"], out["savings_maintenance"] = savings(
        out["pm_requirement"], out["regt_initial"], out["regt_maintenance"],
        out["regt_unmargined_positions"])
    return out.reset_index(drop=True)


def savings(pm_requirement, regt_initial, regt_maintenance, unmargined_positions):
    """(savings, savings_maintenance): Reg T initial / maintenance less the portfolio-margin
    requirement, NaN where Reg T leaves positions unmargined (the one rule, shared by
    :func:`compare_accounts` and the batch run's per-account table)."""
    comparable = pd.Series(unmargined_positions).reset_index(drop=True) == 0
    pm_requirement = pd.Series(pm_requirement).reset_index(drop=True)
    return ((pd.Series(regt_initial).reset_index(drop=True) - pm_requirement).where(comparable),
            (pd.Series(regt_maintenance).reset_index(drop=True) - pm_requirement).where(
                comparable))

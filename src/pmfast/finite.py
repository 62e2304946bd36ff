"""The safety net on finalised figures: an account whose figures come out inf or NaN (absurd but
individually valid inputs, e.g. a price of 1e300 times a large quantity) is rejected with a
reason naming the account and the figure, never reported with status "ok".

One function, called once per method where its per-account table is finalised
(``PortfolioMargin._accounts_frame``, ``StrategyResult``) and once on the batch's joined table.
"""
import numpy as np
import pandas as pd

from pmfast.errors import InputError
from pmfast.schema import format_ids


def reject_non_finite(frame, columns, rejected, errors, mode, method, nan_allowed=()):
    """Reject the accounts of ``frame`` not yet rejected whose ``columns`` hold inf or NaN.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account, with an ``account`` column.
    columns : sequence of str
        The figures checked.
    rejected : numpy.ndarray of bool or None
        Accounts already rejected (not checked: their figures are NaN by design).
    errors : pandas.DataFrame or None
        The errors table (``account, table, column, reason``) to extend.
    mode : {"raise", "collect"}
        ``"raise"`` raises :class:`pmfast.InputError` instead of rejecting.
    method : str
        Named in the reason (``"portfolio margin"``, ``"Reg T"``, ``"batch"``).
    nan_allowed : sequence of str
        Columns NaN by design for some accounts (e.g. the pairing gap under greedy): only
        ``±inf`` is rejected there.

    Returns
    -------
    (numpy.ndarray of bool, pandas.DataFrame or None)
        ``rejected`` and ``errors``, extended (the inputs themselves are not modified).
    """
    n = len(frame)
    done = np.zeros(n, bool) if rejected is None else np.asarray(rejected, bool)
    columns = [c for c in columns if c in frame.columns]
    if not n or not columns:
        return rejected, errors
    values = frame[columns].to_numpy(np.float64)
    allowed = np.isin(columns, list(nan_allowed))
    bad_cell = np.where(allowed, np.isinf(values), ~np.isfinite(values)) & ~done[:, None]
    bad = bad_cell.any(axis=1)
    if not bad.any():
        return rejected, errors
    rows, cols = np.nonzero(bad_cell)
    first = np.unique(rows, return_index=True)[1]      # the first bad figure of each account
    rows, cols = rows[first], cols[first]
    accounts = frame["account"].to_numpy()[rows].astype(str)
    reasons = [f"{method}: the {columns[c]} figure is not finite ({float(values[r, c])!r}); "
               f"an input is too large to margin (check prices, quantities and multipliers)"
               for r, c in zip(rows, cols)]
    if mode == "raise":
        raise InputError(f"{method}: account {format_ids(accounts)}: {reasons[0]}")
    new = pd.DataFrame({"account": accounts.astype(object), "table": "accounts",
                        "column": [columns[c] for c in cols], "reason": reasons})
    errors = new if errors is None or not len(errors) else pd.concat([errors, new],
                                                                     ignore_index=True)
    return done | bad, errors

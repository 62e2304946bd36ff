"""Checks of a what-if question's inputs, shared by the equity and crypto what-if sessions."""
import math
from collections.abc import Mapping

from pmfast.errors import InputError
from pmfast.schema import format_ids


def account_code(codes, rejected, errors, account):
    """The account's code in ``codes`` (id -> code); InputError if it is unknown or was rejected
    (with the reasons from ``errors``)."""
    try:
        code = codes.get(account)
    except TypeError:           # unhashable
        code = None
    if code is None:
        raise InputError(f"account: {format_ids([str(account)])} is not in the book")
    if rejected[code]:
        reasons = errors.loc[errors["account"] == account, "reason"].tolist()
        raise InputError(f"account {format_ids([account])} was rejected and cannot be "
                         f"margined: {'; '.join(reasons) or 'see errors'}")
    return code


def summed_trade(trade):
    """{instrument id: summed quantity} of a trade given as a mapping or (id, quantity) pairs;
    InputError for anything not numeric or not finite."""
    items = trade.items() if isinstance(trade, Mapping) else trade
    summed = {}
    try:
        for name, qty in items:
            summed[name] = summed.get(name, 0.0) + float(qty)
    except (TypeError, ValueError):
        raise InputError("trade: must map instrument ids to numeric quantities, got "
                         f"{trade!r}") from None
    bad = [n for n, q in summed.items() if not math.isfinite(q)]
    if bad:
        raise InputError(f"trade.quantity: must be finite for instrument(s) {format_ids(bad)}")
    return summed

"""The one test ``portfolio_margin`` and ``WhatIf`` make before their own work."""
import numpy as np

from pmfast.crypto.book_checks import CRYPTO
from pmfast.crypto.rules import crypto_rules
from pmfast.errors import InputError
from pmfast.schema import format_ids


def crypto_dispatch(book, rules):
    """``rules`` as a ``CryptoRules`` when it is a crypto rule set (``method = "crypto"``),
    else None; a book holding crypto indices under any other rule set is an InputError."""
    crypto = crypto_rules(rules)
    if crypto is None:
        gtype = np.asarray(book.underlyings.column("group_type").to_numpy(zero_copy_only=False),
                           dtype=object)
        if np.any(gtype == CRYPTO):
            ids = book.underlyings.column("underlying").to_numpy(zero_copy_only=False)
            raise InputError(f"underlyings.group_type: crypto index "
                             f"{format_ids(ids[gtype == CRYPTO])} needs a crypto rule set "
                             f"(rules='deribit'), not {rules!r}")
    return crypto

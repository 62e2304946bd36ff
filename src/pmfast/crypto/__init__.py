"""Crypto portfolio margin (issue 12): a Deribit-style rule set on the scenario engine.

``pmfast.portfolio_margin(book, rules="deribit")`` and ``pmfast.WhatIf(book, rules="deribit")``
dispatch here when the rule set has ``method = "crypto"`` (``crypto_rules``). Modules:
``rules`` (TOML -> CryptoRules), ``book_checks`` (the Book's crypto columns), ``instruments``
(forwards, pairs), ``grid`` (scenarios, risk vectors), ``addons`` (offset, dampener, worst
case, roll/delta shock, contingencies), ``engine`` (aggregation), ``margin`` (batch),
``whatif``. Formulas and their provenance: docs/crypto.md.

Imports are lazy: ``pmfast.book`` imports ``book_checks`` from here.
"""
import importlib

_LAZY = {"CryptoRules": "pmfast.crypto.rules", "crypto_rules": "pmfast.crypto.rules",
         "portfolio_margin": "pmfast.crypto.margin", "CryptoMargin": "pmfast.crypto.margin",
         "CryptoWhatIf": "pmfast.crypto.whatif"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pmfast.crypto' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

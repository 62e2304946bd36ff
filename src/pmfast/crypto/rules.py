"""Crypto rule sets as data: ``method = "crypto"`` TOML files (presets ``deribit`` and
``deribit-2019`` in ``src/pmfast/rules/``, or a user's file) loaded into a frozen
``CryptoRules``. Validation names the key path (``currency_pair.btc_usd.price_range: ...``).
"""
import dataclasses
import importlib.resources
import pathlib
import types
from dataclasses import dataclass

from pmfast.errors import InputError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

METHOD = "crypto"
PRESETS = ("deribit", "deribit-2019")

# key -> (low, low_open) bound; every key is required in each table
PAIR_KEYS = {
    "price_range": (0.0, True), "volatility_range_up": (0.0, False),
    "volatility_range_down": (0.0, False), "short_term_vega_power": (0.0, False),
    "long_term_vega_power": (0.0, False), "min_volatility_for_shock_up": (0.0, False),
    "extended_table_factor": (0.0, False), "max_delta_shock": (0.0, False),
    "delta_total_liq_shock_threshold": (0.0, False), "m_inc": (0.0, False),
}
CURRENCY_KEYS = {
    "min_annualised_move": (0.0, False), "annualised_move_risk": (0.0, False),
    "extended_dampener": (0.0, False), "pnl_offset": (0.0, False),
    "max_offsetable_pnl": (0.0, False), "correlation_factor": (0.0, False),
    "option_contingency": (0.0, False),
}
GENERAL_KEYS = ("mm_factor", "buckets_count", "vol_scenarios_count", "linear_currency",
                "min_days", "min_volatility")


def _fail(path, message):
    raise InputError(f"rules: {path}: {message}")


def _number(value, path, low=None, low_open=False, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value in (float("inf"), float("-inf")):
        _fail(path, f"must be a finite number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        _fail(path, f"must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        _fail(path, f"must be <= {high}, got {value!r}")
    return float(value)


def _table(data, path, keys, extra=()):
    if not isinstance(data, dict):
        _fail(path, f"must be a table, got {type(data).__name__}")
    for key in data:
        if key not in keys and key not in extra:
            _fail(f"{path}.{key}", f"unknown key (expected one of {', '.join(keys)})")
    out = {}
    for key, (low, low_open) in keys.items():
        if key not in data:
            _fail(f"{path}.{key}", "missing")
        out[key] = _number(data[key], f"{path}.{key}", low, low_open)
    return out


@dataclass(frozen=True)
class CryptoRules:
    """A crypto portfolio-margin rule set (see ``rules/deribit.toml`` for every key).

    ``pairs`` maps a currency-pair key (``"btc_usd"``, ``"default"``) to its parameters,
    ``currencies`` a settlement-currency key (``"btc"``, ``"usd"``, ``"default"``) to its.
    """
    name: str
    description: str
    mm_factor: float
    buckets_count: int
    linear_currency: str
    min_days: float
    min_volatility: float
    extended_moves: tuple
    pairs: types.MappingProxyType
    currencies: types.MappingProxyType
    method: str = METHOD

    # -- lookups ---------------------------------------------------------------------------------
    def pair_key(self, underlying):
        """Parameters key of an index id: ``BTC`` -> ``btc_usd`` (else ``default``)."""
        low = str(underlying).lower().replace("-", "_")
        for key in (low, f"{low}_usd"):
            if key in self.pairs:
                return key
        return "default"

    def currency_key(self, currency):
        low = str(currency).lower()
        return low if low in self.currencies else "default"

    def pair(self, underlying):
        key = self.pair_key(underlying)
        if key not in self.pairs:
            raise InputError(f"rules: currency_pair: no entry for underlying {underlying!r} and "
                             "no currency_pair.default")
        return self.pairs[key]

    def currency(self, currency):
        key = self.currency_key(currency)
        if key not in self.currencies:
            raise InputError(f"rules: currency: no entry for {currency!r} and no "
                             "currency.default")
        return self.currencies[key]

    @property
    def standard_moves(self):
        """The 2 x buckets_count + 1 price moves of one pair, as fractions of its range."""
        b = self.buckets_count
        return tuple(k / b for k in range(-b, b + 1))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data, name="custom"):
        top = ("method", "name", "description", "general", "extended_table", "currency_pair",
               "currency")
        for key in data:
            if key not in top:
                _fail(key, f"unknown key (expected one of {', '.join(top)})")
        if data.get("method") != METHOD:
            _fail("method", f"must be {METHOD!r} for a crypto rule set")
        general = data.get("general", {})
        for key in general:
            if key not in GENERAL_KEYS:
                _fail(f"general.{key}", f"unknown key (expected one of {', '.join(GENERAL_KEYS)})")
        for key in GENERAL_KEYS:
            if key not in general:
                _fail(f"general.{key}", "missing")
        buckets = general["buckets_count"]
        if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= 50:
            _fail("general.buckets_count", f"must be an integer in [1, 50], got {buckets!r}")
        if general["vol_scenarios_count"] != 3:
            _fail("general.vol_scenarios_count", "must be 3 (vol up, unchanged, down)")
        if not isinstance(general["linear_currency"], str) or not general["linear_currency"]:
            _fail("general.linear_currency", "must be a currency name")
        moves = data.get("extended_table", {}).get("moves", [])
        if not isinstance(moves, list) or len(moves) > 64:
            _fail("extended_table.moves", "must be an array of at most 64 moves")
        moves = tuple(_number(m, f"extended_table.moves[{k}]", low=-1.0, low_open=True)
                      for k, m in enumerate(moves))
        pairs = {k: _table(v, f"currency_pair.{k}", PAIR_KEYS)
                 for k, v in data.get("currency_pair", {}).items()}
        currencies = {}
        for k, v in data.get("currency", {}).items():
            table = _table(v, f"currency.{k}", CURRENCY_KEYS, extra=("correlation_set",))
            flag = v.get("correlation_set", False)
            if not isinstance(flag, bool):
                _fail(f"currency.{k}.correlation_set", "must be true or false")
            table["correlation_set"] = flag
            if table["correlation_factor"] > 1:
                _fail(f"currency.{k}.correlation_factor", "must be <= 1")
            currencies[k] = types.MappingProxyType(table)
        for k, p in pairs.items():
            for m in moves:
                if abs(m) <= p["price_range"]:
                    _fail("extended_table.moves", f"move {m} lies inside currency_pair.{k}."
                          f"price_range {p['price_range']}")
        return cls(
            name=str(data.get("name", name)), description=str(data.get("description", "")),
            mm_factor=_number(general["mm_factor"], "general.mm_factor", 0.0, False, 1.0),
            buckets_count=buckets, linear_currency=general["linear_currency"].lower(),
            min_days=_number(general["min_days"], "general.min_days", 0.0, True),
            min_volatility=_number(general["min_volatility"], "general.min_volatility", 0.0),
            extended_moves=moves,
            pairs=types.MappingProxyType({k: types.MappingProxyType(v) for k, v in pairs.items()}),
            currencies=types.MappingProxyType(currencies))

    @classmethod
    def from_toml(cls, path):
        path = pathlib.Path(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise InputError(f"rules: file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"rules: {str(path)!r} is not valid TOML: {exc}") from None
        return cls.from_dict(data, name=path.stem)

    @classmethod
    def preset(cls, name):
        with importlib.resources.as_file(
                importlib.resources.files("pmfast") / "rules" / f"{name}.toml") as path:
            return cls.from_toml(path)


def crypto_rules(rules):
    """``rules`` as a ``CryptoRules`` when it names a crypto rule set (a ``CryptoRules``, a
    crypto preset name, or a TOML file with ``method = "crypto"``), else None. The one test
    ``portfolio_margin`` and ``WhatIf`` make to dispatch here."""
    if isinstance(rules, CryptoRules):
        return rules
    if isinstance(rules, str) and rules in PRESETS:
        return CryptoRules.preset(rules)
    if isinstance(rules, (str, pathlib.Path)) and str(rules).endswith(".toml"):
        try:
            with open(rules, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            return None     # the caller's own loader reports it
        if isinstance(data, dict) and data.get("method") == METHOD:
            return CryptoRules.from_dict(data, name=pathlib.Path(rules).stem)
    return None

"""The Reg T rule set: TOML (``tomllib``, or ``tomli`` on Python 3.10) into frozen dataclasses.

``load_regt_rules("regt")`` reads the preset ``pmfast/rules/regt.toml``; a path reads that file;
a :class:`RegtRules` passes through. Every error names the key path, e.g.
``regt.toml: naked.equity.rate must be a number in [0, 10]``.
"""
from __future__ import annotations

import dataclasses
import pathlib

from pmfast.errors import InputError
from pmfast.rules import GROUP_TYPES, tomllib

PRESET_DIR = pathlib.Path(__file__).resolve().parents[1] / "rules"
TEMPLATES = (
    "vertical", "calendar", "diagonal", "short_straddle", "short_strangle", "covered_call",
    "covered_put", "protective_put", "protective_call", "collar", "conversion",
    "reverse_conversion", "long_butterfly", "short_butterfly", "long_condor", "iron_condor",
    "iron_butterfly", "box", "short_box",
)


@dataclasses.dataclass(frozen=True)
class AccountRules:
    minimum_equity: float


@dataclasses.dataclass(frozen=True)
class StockRules:
    long_initial: float
    long_maintenance: float
    short_initial: float
    short_maintenance: float
    short_floor_per_share: float
    low_price_threshold: float
    short_low_price_maintenance: float
    short_low_price_floor_per_share: float
    leverage_scales_maintenance: bool
    leverage_scales_initial: bool
    maintenance_rate_cap: float


@dataclasses.dataclass(frozen=True)
class OptionRules:
    long_requirement: float
    leaps_months: int
    leaps_requirement: float
    naked_floor_per_share: float
    leverage_scales_naked: bool


@dataclasses.dataclass(frozen=True)
class NakedRates:
    rate: float
    minimum: float


@dataclasses.dataclass(frozen=True)
class HedgeRules:
    protective_put_strike_rate: float
    protective_call_strike_rate: float
    collar_put_strike_rate: float
    conversion_strike_rate: float
    reverse_conversion_strike_rate: float


@dataclasses.dataclass(frozen=True)
class PairingRules:
    strategies: tuple
    max_nodes: int
    max_work: int
    max_templates: int


@dataclasses.dataclass(frozen=True)
class RegtRules:
    name: str
    description: str
    account: AccountRules
    stock: StockRules
    options: OptionRules
    naked: dict  # group_type -> NakedRates (read-only by convention)
    hedges: HedgeRules
    pairing: PairingRules

    def replace(self, **changes):
        """A copy with some values changed: ``rules.replace(naked__equity__rate=0.25)``."""
        return _replace_path(self, changes)


# ---- validation helpers -------------------------------------------------------------------

def _number(source, path, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InputError(f"{source}: {path} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def _integer(source, path, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{source}: {path} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _flag(source, path, value):
    if not isinstance(value, bool):
        raise InputError(f"{source}: {path} must be true or false, got {value!r}")
    return value


def _table(source, data, path):
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise InputError(f"{source}: missing table [{path}]")
        node = node[part]
    if not isinstance(node, dict):
        raise InputError(f"{source}: {path} must be a table")
    return node


def _fields(source, table, path, cls, kinds):
    """Build dataclass ``cls`` from ``table``: kinds maps field -> (parser, *bounds)."""
    unknown = sorted(set(table) - set(kinds))
    if unknown:
        raise InputError(f"{source}: unknown key {path}.{unknown[0]}")
    values = {}
    for field, (parser, *bounds) in kinds.items():
        if field not in table:
            raise InputError(f"{source}: missing key {path}.{field}")
        values[field] = parser(source, f"{path}.{field}", table[field], *bounds)
    return cls(**values)


def _rate(*bounds):
    return (_number, *(bounds or (0.0, 10.0)))


MONEY = (_number, 0.0, 1e6)
FLAG = (_flag,)


def parse_regt_rules(data, source="regt rules"):
    """Validate a parsed TOML document into :class:`RegtRules`."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: the rule set must be a TOML table")
    name = data.get("name", "regt")
    if not isinstance(name, str):
        raise InputError(f"{source}: name must be a string")
    account = _fields(source, _table(source, data, "account"), "account", AccountRules,
                      {"minimum_equity": MONEY})
    stock = _fields(source, _table(source, data, "stock"), "stock", StockRules, {
        "long_initial": _rate(), "long_maintenance": _rate(), "short_initial": _rate(),
        "short_maintenance": _rate(), "short_floor_per_share": MONEY,
        "low_price_threshold": MONEY, "short_low_price_maintenance": _rate(),
        "short_low_price_floor_per_share": MONEY, "leverage_scales_maintenance": FLAG,
        "leverage_scales_initial": FLAG, "maintenance_rate_cap": _rate()})
    options = _fields(source, _table(source, data, "options"), "options", OptionRules, {
        "long_requirement": _rate(0.0, 1.0), "leaps_months": (_integer, 0, 120),
        "leaps_requirement": _rate(0.0, 1.0), "naked_floor_per_share": MONEY,
        "leverage_scales_naked": FLAG})
    naked_table = _table(source, data, "naked")
    missing = [g for g in GROUP_TYPES if g not in naked_table]
    if missing:
        raise InputError(f"{source}: missing table [naked.{missing[0]}]")
    naked = {g: _fields(source, _table(source, data, f"naked.{g}"), f"naked.{g}", NakedRates,
                        {"rate": _rate(0.0, 1.0), "minimum": _rate(0.0, 1.0)})
             for g in GROUP_TYPES}
    hedges = _fields(source, _table(source, data, "hedges"), "hedges", HedgeRules,
                     {f.name: _rate(0.0, 1.0) for f in dataclasses.fields(HedgeRules)})
    pairing_table = _table(source, data, "pairing")
    strategies = pairing_table.get("strategies")
    if not isinstance(strategies, list) or any(s not in TEMPLATES for s in strategies):
        bad = strategies if not isinstance(strategies, list) else \
            next(s for s in strategies if s not in TEMPLATES)
        raise InputError(f"{source}: pairing.strategies must list names from "
                         f"{', '.join(TEMPLATES)}; got {bad!r}")
    pairing = PairingRules(
        strategies=tuple(strategies),
        max_nodes=_integer(source, "pairing.max_nodes", pairing_table.get("max_nodes"), 1,
                           10**12),
        max_work=_integer(source, "pairing.max_work", pairing_table.get("max_work"), 1,
                          10**15),
        max_templates=_integer(source, "pairing.max_templates",
                               pairing_table.get("max_templates"), 1, 10**9))
    unknown = sorted(set(pairing_table) - {"strategies", "max_nodes", "max_work",
                                           "max_templates"})
    if unknown:
        raise InputError(f"{source}: unknown key pairing.{unknown[0]}")
    return RegtRules(name=name, description=str(data.get("description", "")), account=account,
                     stock=stock, options=options, naked=naked, hedges=hedges, pairing=pairing)


def load_regt_rules(rules="regt"):
    """A :class:`RegtRules` from a preset name, a TOML path or an existing rule set."""
    if isinstance(rules, RegtRules):
        return rules
    try:
        str(rules).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"rules: {str(rules)!r} is not a valid name or path (not Unicode "
                         "text)") from None
    if isinstance(rules, str) and not rules.endswith(".toml") and "/" not in rules:
        path = PRESET_DIR / f"{rules}.toml"
        if not path.is_file():
            presets = sorted(p.stem for p in PRESET_DIR.glob("regt*.toml"))
            raise InputError(f"rules: unknown Reg T preset {rules!r}; presets: {presets} "
                             "(or pass a path to a .toml file)")
    elif isinstance(rules, (str, pathlib.Path)):
        path = pathlib.Path(rules)
        if not path.is_file():
            raise InputError(f"rules: file {str(path)!r} not found")
    else:
        raise InputError(f"rules must be a preset name, a .toml path or a RegtRules, got "
                         f"{type(rules).__name__}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"rules: cannot read {str(path)!r}: {exc}") from None
    return parse_regt_rules(data, source=path.name)


def _replace_path(rules, changes):
    """dataclasses.replace through nested paths written with double underscores, then the
    result is validated like a file."""
    for key, value in changes.items():
        parts = key.split("__")
        rules = _replace_one(rules, parts, value, key)
    data = dataclasses.asdict(rules)
    data["pairing"]["strategies"] = list(data["pairing"]["strategies"])
    return parse_regt_rules(data, source=f"{rules.name} (replaced)")


def _replace_one(node, parts, value, key):
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        if head not in node:
            raise InputError(f"rules.replace: unknown key {key.replace('__', '.')}")
        new = dict(node)
        new[head] = _replace_one(node[head], rest, value, key) if rest else value
        return new
    if not dataclasses.is_dataclass(node) or head not in {f.name for f in dataclasses.fields(node)}:
        raise InputError(f"rules.replace: unknown key {key.replace('__', '.')}")
    inner = getattr(node, head)
    return dataclasses.replace(node, **{head: _replace_one(inner, rest, value, key) if rest
                                        else value})

"""Portfolio-margin rule sets as data: TOML presets (``src/pmfast/rules/*.toml``), a user's TOML
file, or a ``RuleSet`` built in Python. Every number the engine uses (ranges, point counts,
volatility shifts, offsets, minimums, overlays) comes from here; the C++ core sees only numbers.

Validation errors name the key path, e.g. ``ranges.equity.down: must be < 0``.
"""
import dataclasses
import importlib.resources
import pathlib
import types
from dataclasses import dataclass, field

import numpy as np

from pmfast.errors import InputError
from pmfast.pricing import AMERICAN_MODELS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

GROUP_TYPES = ("equity", "narrow_index", "broad_index", "high_cap_index")
VOL_SHIFT_KINDS = ("relative", "absolute")
PRESETS = ("finra-cpm", "house")
DEFAULT_RULES = "finra-cpm"
REGT_PRESETS = ("regt",)   # rules/regt.toml: the Reg T rule set (pmfast.strategy), not a RuleSet

# Upper bounds that keep every run bounded in time and memory (docs/rules.md says why each).
MAX_POINTS = 1000            # scenario_sets[k].points
MAX_VOL_SHIFTS = 50          # entries of scenario_sets[k].vol_shifts
MAX_SCENARIO_SETS = 20
MAX_HORIZON_DAYS = 3660.0    # scenario_sets[k].horizon_days: ten years
MAX_RANGE_UP = 10.0          # ranges.*.up: +1000%
MAX_CRR_STEPS = 5000         # a 5,000-step tree prices one option in ~25 ms
MAX_LARGEST = 1_000_000      # concentration.largest: class groups taken at the large move


def _fail(path, message):
    raise InputError(f"rules: {path}: {message}")


def _number(value, path, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        _fail(path, f"must be a finite number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        _fail(path, f"must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        _fail(path, f"must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)


def _check_keys(table, allowed, path):
    if not isinstance(table, dict):
        _fail(path, f"must be a table, got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            _fail(f"{path}.{key}" if path else key,
                  f"unknown key (expected one of {', '.join(allowed)})")


def _regt_given(what):
    return InputError(f"rules: {what} is the Reg T (strategy-based) rule set, not a "
                      "portfolio-margin one: pass it to pmfast.strategy_margin(book, rules=...) "
                      "or load it with pmfast.strategy.load_regt_rules(...); portfolio-margin "
                      f"presets: {', '.join(PRESETS)}")


@dataclass(frozen=True)
class Range:
    """Range of the market move ``m``: ``down < 0 < up`` (fractions, -0.15 = -15%)."""
    down: float
    up: float

    def validate(self, path):
        _number(self.down, f"{path}.down", low=-1.0, high=0.0, high_open=True)
        _number(self.up, f"{path}.up", low=0.0, low_open=True, high=MAX_RANGE_UP)

    @classmethod
    def parse(cls, value, path):
        if isinstance(value, Range):
            rng = value
        elif isinstance(value, dict):
            _check_keys(value, ("down", "up"), path)
            for key in ("down", "up"):
                if key not in value:
                    _fail(f"{path}.{key}", "missing")
            rng = cls(value["down"], value["up"])
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            rng = cls(*value)
        else:
            _fail(path, f"must be {{down = ..., up = ...}}, got {value!r}")
        rng.validate(path)
        return cls(float(rng.down), float(rng.up))


@dataclass(frozen=True)
class ScenarioSet:
    """One grid of valuation points: ``points`` equidistant moves (half down, half up, 0 only
    if ``include_zero``), each at every volatility shift."""
    name: str = "regulatory"
    points: int = 10
    include_zero: bool = False
    vol_shifts: tuple = (0.0,)
    vol_shift_kind: str = "relative"
    horizon_days: float = 0.0

    def validate(self, path):
        if not isinstance(self.name, str) or not self.name:
            _fail(f"{path}.name", "must be a non-empty string")
        if (isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 2
                or self.points % 2 or self.points > MAX_POINTS):
            _fail(f"{path}.points", f"must be an even integer in [2, {MAX_POINTS}], got "
                  f"{self.points!r}")
        if not isinstance(self.include_zero, bool):
            _fail(f"{path}.include_zero", f"must be true or false, got {self.include_zero!r}")
        if not isinstance(self.vol_shifts, (list, tuple)):
            _fail(f"{path}.vol_shifts", f"must be an array of numbers, got {self.vol_shifts!r}")
        if not self.vol_shifts:
            _fail(f"{path}.vol_shifts", "must not be empty (use [0.0] for no shift)")
        if len(self.vol_shifts) > MAX_VOL_SHIFTS:
            _fail(f"{path}.vol_shifts", f"must hold at most {MAX_VOL_SHIFTS} shifts, got "
                  f"{len(self.vol_shifts)}")
        for k, shift in enumerate(self.vol_shifts):
            _number(shift, f"{path}.vol_shifts[{k}]")
        if self.vol_shift_kind not in VOL_SHIFT_KINDS:
            _fail(f"{path}.vol_shift_kind", f"must be one of {', '.join(VOL_SHIFT_KINDS)}")
        _number(self.horizon_days, f"{path}.horizon_days", low=0.0, high=MAX_HORIZON_DAYS)

    @property
    def n_moves(self):
        return self.points + int(self.include_zero)

    @property
    def n_scenarios(self):
        return self.n_moves * len(self.vol_shifts)

    def moves(self, down, up):
        """The market moves for a range: ``points/2`` equal steps down, the same up."""
        half = self.points // 2
        steps = np.arange(half, 0, -1, dtype=np.float64) / half
        parts = [down * steps]
        if self.include_zero:
            parts.append(np.zeros(1))
        parts.append(up * steps[::-1])
        return np.concatenate(parts)


@dataclass(frozen=True)
class Concentration:
    """The ±30% concentration overlay: the ``largest`` class groups with the biggest loss at
    ±``large_move`` are taken at that move, every other class group at ±``other_move``,
    summed without cross-class offsets; the requirement is at least that sum."""
    largest: int = 2
    large_move: float = 0.30
    other_move: float = 0.05

    def validate(self, path):
        if (isinstance(self.largest, bool) or not isinstance(self.largest, int)
                or not 0 <= self.largest <= MAX_LARGEST):
            _fail(f"{path}.largest", f"must be an integer in [0, {MAX_LARGEST}], got "
                  f"{self.largest!r}")
        _number(self.large_move, f"{path}.large_move", low=0.0, low_open=True, high=1.0)
        _number(self.other_move, f"{path}.other_move", low=0.0, low_open=True, high=1.0)


# FINRA 4210(g) defaults (portfolio-margin.md); a rule set that names only some group types
# keeps these for the others.
DEFAULT_RANGES = {"equity": Range(-0.15, 0.15), "narrow_index": Range(-0.15, 0.15),
                  "broad_index": Range(-0.10, 0.10), "high_cap_index": Range(-0.08, 0.06)}
DEFAULT_OFFSETS = {"equity": 0.50, "narrow_index": 0.50, "broad_index": 0.75,
                   "high_cap_index": 0.90}


def _frozen_map(mapping):
    return types.MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RuleSet:
    """A portfolio-margin rule set.

    Build it from a preset name (``RuleSet.load("house")``), a TOML file
    (``RuleSet.load("my_rules.toml")``) or directly in Python; fields not given keep the
    ``finra-cpm`` defaults.

    Examples
    --------
    >>> import pmfast
    >>> rules = pmfast.RuleSet(overrides={"ACME": (-0.30, 0.30)})
    >>> rules.range_for("equity"), rules.overrides["ACME"]
    (Range(down=-0.15, up=0.15), Range(down=-0.3, up=0.3))
    """
    name: str = "custom"
    description: str = ""
    ranges: types.MappingProxyType = field(default_factory=lambda: _frozen_map(DEFAULT_RANGES))
    offsets: types.MappingProxyType = field(default_factory=lambda: _frozen_map(DEFAULT_OFFSETS))
    scenario_sets: tuple = (ScenarioSet(),)
    minimum_per_contract: float = 0.375
    cap_long_at_market_value: bool = True
    overrides: types.MappingProxyType = field(default_factory=lambda: _frozen_map({}))
    concentration: Concentration = None
    american_model: str = "fixed_point"
    crr_steps: int = 200

    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.name, str):
            _fail("name", "must be a string")
        ranges = self.ranges if isinstance(self.ranges, (dict, types.MappingProxyType)) else None
        if ranges is None:
            _fail("ranges", "must be a table of group_type -> {down, up}")
        for gt in ranges:
            if gt not in GROUP_TYPES:
                _fail(f"ranges.{gt}", f"unknown group_type (expected {', '.join(GROUP_TYPES)})")
        ranges = {**DEFAULT_RANGES, **ranges}
        set_(self, "ranges", _frozen_map({gt: Range.parse(ranges[gt], f"ranges.{gt}")
                                          for gt in GROUP_TYPES}))
        offsets = self._table(self.offsets, "offsets", "group_type -> fraction")
        for gt in offsets:
            if gt not in GROUP_TYPES:
                _fail(f"offsets.{gt}", f"unknown group_type (expected {', '.join(GROUP_TYPES)})")
        offsets = {**DEFAULT_OFFSETS, **offsets}
        set_(self, "offsets", _frozen_map({gt: _number(offsets[gt], f"offsets.{gt}", 0.0, 1.0)
                                           for gt in GROUP_TYPES}))
        if not isinstance(self.scenario_sets, (list, tuple)):
            _fail("scenario_sets", "must be an array of tables ([[scenario_sets]])")
        sets = tuple(self.scenario_sets)
        if not sets:
            _fail("scenario_sets", "must hold at least one scenario set")
        if len(sets) > MAX_SCENARIO_SETS:
            _fail("scenario_sets", f"must hold at most {MAX_SCENARIO_SETS} sets, got {len(sets)}")
        for k, s in enumerate(sets):
            if not isinstance(s, (ScenarioSet, dict)):
                _fail(f"scenario_sets[{k}]", f"must be a table, got {s!r}")
        sets = tuple(s if isinstance(s, ScenarioSet) else ScenarioSet(**s) for s in sets)
        names = [s.name for s in sets]
        for k, s in enumerate(sets):
            s.validate(f"scenario_sets[{k}]")
            set_(s, "vol_shifts", tuple(float(v) for v in s.vol_shifts))
            if names.count(s.name) > 1:
                _fail(f"scenario_sets[{k}].name", f"duplicate name {s.name!r}")
        set_(self, "scenario_sets", sets)
        set_(self, "minimum_per_contract", _number(self.minimum_per_contract,
                                                   "minimum.per_contract", low=0.0))
        if not isinstance(self.cap_long_at_market_value, bool):
            _fail("minimum.cap_long_at_market_value", "must be true or false")
        overrides = self._table(self.overrides, "overrides", "underlying -> {down, up}")
        set_(self, "overrides", _frozen_map({str(u): Range.parse(r, f"overrides.{u}")
                                             for u, r in overrides.items()}))
        if self.concentration is not None:
            conc = self.concentration
            if isinstance(conc, dict):
                _check_keys(conc, tuple(f.name for f in dataclasses.fields(Concentration)),
                            "concentration")
                conc = Concentration(**conc)
            if not isinstance(conc, Concentration):
                _fail("concentration", f"must be a table, got {conc!r}")
            conc.validate("concentration")
            set_(self, "concentration", conc)
        if not isinstance(self.american_model, str) or self.american_model not in AMERICAN_MODELS:
            _fail("american_model", f"must be one of {', '.join(AMERICAN_MODELS)}, got "
                  f"{self.american_model!r}")
        if (isinstance(self.crr_steps, bool) or not isinstance(self.crr_steps, int)
                or not 1 <= self.crr_steps <= MAX_CRR_STEPS):
            _fail("crr_steps", f"must be an integer in [1, {MAX_CRR_STEPS}], got "
                  f"{self.crr_steps!r}")

    @staticmethod
    def _table(value, path, what):
        """``value`` as a dict (a TOML table or a mapping); anything else names the key."""
        if not isinstance(value, (dict, types.MappingProxyType)):
            _fail(path, f"must be a table of {what}, got {value!r}")
        return dict(value)

    # -- lookups -------------------------------------------------------------------------------
    def range_for(self, group_type):
        return self.ranges[group_type]

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data, name="custom"):
        """Build from the TOML layout (see ``rules/finra-cpm.toml``)."""
        top = ("name", "description", "american_model", "crr_steps", "ranges", "offsets",
               "minimum", "scenario_sets", "overrides", "concentration")
        if isinstance(data, dict) and "pairing" in data and "naked" in data:
            raise _regt_given(repr(name))
        _check_keys(data, top, "")
        kwargs = {"name": data.get("name", name), "description": data.get("description", "")}
        for key in ("american_model", "crr_steps", "ranges", "offsets", "overrides"):
            if key in data:
                kwargs[key] = data[key]
        if "minimum" in data:
            minimum = data["minimum"]
            _check_keys(minimum, ("per_contract", "cap_long_at_market_value"), "minimum")
            if "per_contract" in minimum:
                kwargs["minimum_per_contract"] = minimum["per_contract"]
            if "cap_long_at_market_value" in minimum:
                kwargs["cap_long_at_market_value"] = minimum["cap_long_at_market_value"]
        if "scenario_sets" in data:
            sets = data["scenario_sets"]
            if not isinstance(sets, list):
                _fail("scenario_sets", "must be an array of tables ([[scenario_sets]])")
            allowed = tuple(f.name for f in dataclasses.fields(ScenarioSet))
            for k, s in enumerate(sets):
                _check_keys(s, allowed, f"scenario_sets[{k}]")
            kwargs["scenario_sets"] = tuple(ScenarioSet(**s) for s in sets)
        if "concentration" in data:
            conc = data["concentration"]
            _check_keys(conc, tuple(f.name for f in dataclasses.fields(Concentration)),
                        "concentration")
            kwargs["concentration"] = Concentration(**conc)
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path):
        path = pathlib.Path(path)
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"rules: {str(path)!r} is not a valid path (not Unicode text)") \
                from None
        if path.is_dir():
            raise InputError(f"rules: {str(path)!r} is a folder, not a rule file (presets: "
                             f"{', '.join(PRESETS)}; or give a .toml path)")
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise InputError(f"rules: file {str(path)!r} does not exist (presets: "
                             f"{', '.join(PRESETS)})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"rules: {str(path)!r} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise InputError(f"rules: cannot read {str(path)!r}: {exc}") from None
        return cls.from_dict(data, name=path.stem)

    @classmethod
    def preset(cls, name):
        if name not in PRESETS:
            raise InputError(f"rules: unknown preset {name!r} (presets: {', '.join(PRESETS)}; "
                             "or give a .toml path)")
        with importlib.resources.as_file(
                importlib.resources.files("pmfast") / "rules" / f"{name}.toml") as path:
            return cls.from_toml(path)

    @classmethod
    def load(cls, rules=None):
        """A preset name, a TOML path, or a RuleSet -> RuleSet (``None``: finra-cpm)."""
        if rules is None:
            return cls.preset(DEFAULT_RULES)
        if isinstance(rules, RuleSet):
            return rules
        if isinstance(rules, str) and rules in PRESETS:
            return cls.preset(rules)
        if isinstance(rules, str) and rules in REGT_PRESETS:
            raise _regt_given(repr(rules))
        if isinstance(rules, (str, pathlib.Path)):
            return cls.from_toml(rules)
        raise InputError(f"rules: expected a preset name, a .toml path or a pmfast.RuleSet; got "
                         f"{type(rules).__name__}")

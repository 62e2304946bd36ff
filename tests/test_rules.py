"""Rule sets: presets, TOML files, Python construction, and validation naming the key path."""
import numpy as np
import pytest

import pmfast
from pmfast.rules import Range, ScenarioSet


def test_finra_preset_matches_the_spec_table():
    rules = pmfast.RuleSet.load()           # default = finra-cpm
    assert rules.name == "finra-cpm"
    assert rules.ranges["equity"] == Range(-0.15, 0.15)
    assert rules.ranges["narrow_index"] == Range(-0.15, 0.15)
    assert rules.ranges["broad_index"] == Range(-0.10, 0.10)
    assert rules.ranges["high_cap_index"] == Range(-0.08, 0.06)
    assert dict(rules.offsets) == {"equity": 0.5, "narrow_index": 0.5, "broad_index": 0.75,
                                   "high_cap_index": 0.9}
    assert rules.minimum_per_contract == 0.375 and rules.cap_long_at_market_value
    assert len(rules.scenario_sets) == 1 and rules.concentration is None
    assert rules.american_model == "fixed_point"


def test_grid_points_of_the_spec():
    grid = ScenarioSet()
    np.testing.assert_allclose(grid.moves(-0.15, 0.15) * 100,
                               [-15, -12, -9, -6, -3, 3, 6, 9, 12, 15], rtol=1e-14)
    np.testing.assert_allclose(grid.moves(-0.08, 0.06) * 100,
                               [-8, -6.4, -4.8, -3.2, -1.6, 1.2, 2.4, 3.6, 4.8, 6], rtol=1e-14)
    zero = ScenarioSet(points=4, include_zero=True)
    np.testing.assert_allclose(zero.moves(-0.1, 0.1), [-0.1, -0.05, 0, 0.05, 0.1])
    assert zero.n_scenarios == 5


def test_house_preset():
    rules = pmfast.RuleSet.load("house")
    names = [s.name for s in rules.scenario_sets]
    assert names == ["regulatory", "vol_scan"]
    assert rules.scenario_sets[1].vol_shifts == (0.0, 0.25, -0.25)
    assert rules.scenario_sets[1].n_scenarios == 30
    assert rules.concentration.large_move == 0.30 and rules.concentration.largest == 2
    assert rules.concentration.other_move == 0.05


def test_user_toml_and_python(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("""
[overrides]
ACME = { down = -0.3, up = 0.25 }
[[scenario_sets]]
name = "wide"
points = 20
vol_shifts = [0.0, 0.05]
vol_shift_kind = "absolute"
""")
    rules = pmfast.RuleSet.load(str(path))
    assert rules.name == "mine" and rules.overrides["ACME"] == Range(-0.3, 0.25)
    assert rules.scenario_sets[0].n_scenarios == 40
    assert rules.ranges["equity"] == Range(-0.15, 0.15)      # unspecified keys keep defaults
    built = pmfast.RuleSet(minimum_per_contract=0.5, american_model="crr", crr_steps=100)
    assert built.minimum_per_contract == 0.5
    assert built.replace(crr_steps=50).crr_steps == 50


@pytest.mark.parametrize("text,pattern", [
    ("[ranges]\nequity = { down = 0.1, up = 0.15 }", r"ranges\.equity\.down: must be < 0"),
    ("[ranges]\nequity = { down = -0.1 }", r"ranges\.equity\.up: missing"),
    ("[ranges]\nmega = { down = -0.1, up = 0.1 }", r"ranges\.mega: unknown group_type"),
    ("[offsets]\nequity = 1.5", r"offsets\.equity: must be <= 1"),
    ("[minimum]\nper_contract = -1", r"minimum\.per_contract: must be >= 0"),
    ("[minimum]\nper_kontract = 1", r"minimum\.per_kontract: unknown key"),
    ("[[scenario_sets]]\npoints = 9", r"scenario_sets\[0\]\.points: must be an even integer"),
    ("[[scenario_sets]]\nvol_shift_kind = 'sideways'", r"scenario_sets\[0\]\.vol_shift_kind"),
    ("[[scenario_sets]]\nvol_shifts = []", r"scenario_sets\[0\]\.vol_shifts: must not be empty"),
    ("[[scenario_sets]]\nhorizon_days = -1", r"scenario_sets\[0\]\.horizon_days: must be >= 0"),
    ("[[scenario_sets]]\ncolour = 1", r"scenario_sets\[0\]\.colour: unknown key"),
    ("american_model = 'magic'", r"american_model: must be one of"),
    ("crr_steps = 0", r"crr_steps: must be an integer in \[1, "),
    ("[overrides]\nACME = { down = -0.2, up = -0.1 }", r"overrides\.ACME\.up: must be > 0"),
    ("[concentration]\nlarge_move = 0", r"concentration\.large_move: must be > 0"),
    ("rangez = 1", r"rangez: unknown key"),
    ("[ranges", r"not valid TOML"),
])
def test_validation_names_the_key_path(tmp_path, text, pattern):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(pmfast.InputError, match=pattern):
        pmfast.RuleSet.load(path)


def test_unknown_preset_and_type():
    with pytest.raises(pmfast.InputError, match="does not exist"):
        pmfast.RuleSet.load("no-such-preset")
    with pytest.raises(pmfast.InputError, match="expected a preset name"):
        pmfast.RuleSet.load(42)

"""The crypto grid as the shared ScenarioSet: moves per index, 30-day vol shifts, labels; per
series the shifts are time-scaled on top (shocked_vols)."""
import numpy as np
import pandas as pd

from pmfast.crypto.grid import pair_table, scenario_set, shocked_vols
from pmfast.crypto.rules import CryptoRules


def test_grid_as_a_scenario_set():
    rules = CryptoRules.preset("deribit")
    s = scenario_set(rules, ["BTC", "ETH"])
    assert s.n_scenarios == 35 and s.underlyings == ("BTC", "ETH")
    np.testing.assert_allclose(s.returns[:27:3, 0], np.linspace(-0.16, 0.16, 9), rtol=1e-15)
    np.testing.assert_allclose(s.returns[:27:3, 1], np.linspace(-0.18, 0.18, 9), rtol=1e-15)
    np.testing.assert_array_equal(s.returns[27:, 0], rules.extended_moves)
    assert s.labels[0] == "-4/4 vol up" and s.labels[13] == "+0/4 vol unchanged"
    assert s.labels[-1] == "extended +500% vol up"
    # at exactly 30 days (and a vol above the up-shock floor) the per-series shocks are the
    # set's shifts
    params = pair_table(rules, pd.DataFrame({"underlying": ["BTC"]}))
    up, down = shocked_vols(rules, params, np.zeros(1, int), np.array([0.8]),
                            np.array([30 / 365]))
    assert up[0] == 0.8 * (1 + s.vol_shifts[0, 0])
    assert np.isclose(down[0], 0.8 * (1 + s.vol_shifts[2, 0]), rtol=1e-15)

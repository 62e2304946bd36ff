"""ScenarioSet: validation naming ids, concatenation, selection for a book."""
import numpy as np
import pytest

from pmfast import InputError
from pmfast.scenario_set import ScenarioSet, concat


def _set(labels=("a", "b"), und=("X", "Y"), **kw):
    r = np.array([[0.01, -0.02], [0.03, 0.04]])[: len(labels), : len(und)]
    return ScenarioSet(und, r, labels=labels, horizon_days=2, **kw)


def test_fields_and_defaults():
    s = _set()
    assert s.n_scenarios == 2 and s.n_underlyings == 2
    assert s.vol_shifts is None and np.array_equal(s.vol_shifts_or_zero(), np.zeros((2, 2)))
    assert np.array_equal(s.rate_shifts_or_zero(), [0.0, 0.0])
    with pytest.raises(ValueError):
        s.returns[0, 0] = 1.0          # immutable


@pytest.mark.parametrize("returns, match", [
    ([[0.01, -1.0], [0, 0]], r"return: must be > -1.*'a/Y'"),
    ([[0.01, np.nan], [0, 0]], r"return: must be a finite number.*'a/Y'"),
    ([[0.01, 0.02], [np.inf, 0]], r"'b/X'"),
])
def test_bad_returns_name_the_cell(returns, match):
    with pytest.raises(InputError, match=match):
        ScenarioSet(["X", "Y"], returns, labels=["a", "b"])


def test_bad_shapes_and_ids():
    with pytest.raises(InputError, match="duplicated 'X'"):
        ScenarioSet(["X", "X"], [[0, 0]])
    with pytest.raises(InputError, match="duplicated 'a'"):
        ScenarioSet(["X"], [[0], [0]], labels=["a", "a"])
    with pytest.raises(InputError, match="vol_shift: not a finite.*'b/X'|vol_shift: must be a"):
        ScenarioSet(["X"], [[0], [0]], vol_shifts=[[0], [np.nan]], labels=["a", "b"])
    with pytest.raises(InputError, match="rate_shift.*'b'"):
        ScenarioSet(["X"], [[0], [0]], rate_shifts=[0, np.inf], labels=["a", "b"])
    with pytest.raises(InputError, match="horizon_days"):
        ScenarioSet(["X"], [[0]], horizon_days=-1)


def test_append_reorders_columns_and_fills_missing_shifts():
    a = _set()
    b = ScenarioSet(["Y", "X"], [[-0.2, -0.1]], vol_shifts=[[1.0, 0.5]], rate_shifts=[-0.01],
                    labels=["crash"], horizon_days=2, source="stress")
    c = a + b
    assert c.labels == ("a", "b", "crash")
    assert np.array_equal(c.returns[2], [-0.1, -0.2])
    assert np.array_equal(c.vol_shifts, [[0, 0], [0, 0], [0.5, 1.0]])
    assert np.array_equal(c.rate_shifts, [0, 0, -0.01])
    assert concat(a, b).labels == c.labels
    with pytest.raises(InputError, match="only in the first: 'Y'"):
        a + ScenarioSet(["X"], [[0.0]], labels=["z"], horizon_days=2)
    with pytest.raises(InputError, match="1.0-day set to a 2.0-day"):
        a + ScenarioSet(["X", "Y"], [[0.0, 0.0]], labels=["z"], horizon_days=1)
    with pytest.raises(InputError, match="duplicated 'a'"):
        a + a


def test_select_for_a_book():
    s = _set()
    t = s.select(["Y", "X"])
    assert np.array_equal(t.returns, s.returns[:, ::-1])
    with pytest.raises(InputError, match="underlyings 'Z' are missing"):
        s.select(["X", "Z"])
    z = s.select(["X", "Z"], missing="zero")
    assert np.array_equal(z.returns[:, 1], [0, 0]) and "held unchanged: 'Z'" in z.source

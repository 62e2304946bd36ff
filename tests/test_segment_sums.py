"""The generic aggregation step (segment_sums) and a per-method reduction
(segment_worst_loss): against the fused TIMS kernel (bit for bit: the same arithmetic), the
numpy twin, and for any thread count."""
import numpy as np
import pytest

import pmfast
from pmfast import _core
from pmfast._reference import portfolio as twin
from pmfast.errors import InputError
from pmfast.portfolio import Layout, prepare
from pmfast.revaluation import revalue


@pytest.fixture(scope="module")
def case():
    book = pmfast.generate(accounts=400, seed=12, as_book=True)
    run = prepare(book, "house")
    layout = Layout(book, run.groups, run.rejected)
    reval = revalue(book, run)
    return layout, reval


@pytest.mark.parametrize("k", [0, 1])
def test_class_sums_are_the_fused_kernels_class_pnl(case, k):
    layout, reval = case
    pnl = reval.sets[k].pnl
    fused = _core.margin_aggregate(*layout.args(), pnl, *reval.minimum, True, True, 1)
    for nt in (1, 2):
        sums = _core.segment_sums(layout.instrument, layout.quantity, layout.class_start, pnl,
                                  nt)
        assert np.array_equal(sums, fused["class_pnl"])
    np.testing.assert_allclose(sums, twin.segment_sums(layout.instrument, layout.quantity,
                                                       layout.class_start, pnl),
                               rtol=1e-12, atol=1e-6)
    # the reduction of the group nets is the kernel's group risk and worst scenario
    loss, worst = _core.segment_worst_loss(fused["group_net"], 2)
    assert np.array_equal(loss, fused["group_risk"])
    assert np.array_equal(worst, fused["group_worst"])
    t_loss, t_worst = twin.segment_worst_loss(fused["group_net"])
    assert np.array_equal(loss, t_loss) and np.array_equal(worst, t_worst)


def test_account_level_sums_match_the_twin(case):
    """A SPAN- or simulation-style use: one P&L vector per account, no class nesting."""
    layout, reval = case
    acct_pos = layout.class_start[layout.group_start[layout.account_start]]
    pnl = reval.sets[1].pnl
    sums = _core.segment_sums(layout.instrument, layout.quantity, acct_pos, pnl, 2)
    np.testing.assert_allclose(sums, twin.segment_sums(layout.instrument, layout.quantity,
                                                       acct_pos, pnl), rtol=1e-12, atol=1e-6)
    assert sums.shape == (len(acct_pos) - 1, pnl.shape[1])


def test_bad_inputs_are_input_errors():
    pnl = np.zeros((2, 3))
    with pytest.raises(InputError, match="instrument"):
        _core.segment_sums(np.array([0, 2], np.int32), np.ones(2), np.array([0, 2]), pnl, 1)
    with pytest.raises(InputError, match="start"):
        _core.segment_sums(np.array([0, 1], np.int32), np.ones(2), np.array([0, 2, 1, 2]),
                           pnl, 1)
    with pytest.raises(InputError, match="quantity"):
        _core.segment_sums(np.array([0, 1], np.int32), np.array([1.0, np.inf]),
                           np.array([0, 2]), pnl, 1)
    with pytest.raises(InputError, match="NaN"):
        _core.segment_worst_loss(np.array([[1.0, np.nan]]), 1)

"""The compiled aggregation kernel (``_core.margin_aggregate``, ``_core.margin_concentration``)
against independent numpy/Python computations of every output, on every code path:
scenario counts 1..64 (one to five 8-lane registers, the compiled-in 10, 11, 30 and 33, the
scalar path beyond 40), NaN scenarios (the sequential worst-scenario scan), ties, empty accounts, groups and
classes, 1 and 2 threads, and the concentration overlay's short list and full sort.

With integer-valued quantities and risk arrays every class sum is exact, so the kernel (which
accumulates with fused multiply-adds) must equal the references bit for bit; with real-valued
input it must agree to 1e-12 of the size of the terms.
"""
import numpy as np
import pytest

import pmfast
from pmfast import _core
from pmfast._reference.portfolio import aggregate_numpy
from pmfast.portfolio import Layout
from pmfast.scenarios import build_groups

SCENARIO_COUNTS = [1, 2, 3, 4, 7, 8, 9, 10, 11, 16, 17, 24, 25, 30, 32, 33, 40, 41, 64]
OUTPUTS = ["class_pnl", "group_net", "group_risk", "group_minimum", "group_requirement",
           "group_worst", "account_risk", "account_minimum", "account_requirement",
           "account_worst_group"]


def random_layout(rng, n_accounts=120, n_instruments=50, empty=True):
    """A CSR layout with a few very wide accounts and, if `empty`, empty accounts, groups and
    classes (which `Layout` never makes, and the numpy twin's reduceat cannot take)."""
    def offsets(counts):
        return np.r_[0, np.cumsum(counts)].astype(np.int64)

    lo = 0 if empty else 1
    groups_per_account = rng.integers(lo, 5, n_accounts)
    groups_per_account[rng.choice(n_accounts, 3, replace=False)] = 14   # > the short list
    n_groups = int(groups_per_account.sum())
    classes_per_group = rng.choice([lo, 1, 1, 1, 2, 3], n_groups)
    n_classes = int(classes_per_group.sum())
    positions_per_class = rng.choice([lo, 1, 1, 2, 2, 3, 7], n_classes)
    n_positions = int(positions_per_class.sum())
    instrument = rng.integers(0, n_instruments, n_positions).astype(np.int32)
    quantity = rng.integers(-20, 21, n_positions).astype(float)
    offset = rng.choice([0.0, 0.5, 0.75, 0.9, 1.0], n_groups)
    return (instrument, quantity, offsets(positions_per_class), offsets(classes_per_group),
            offsets(groups_per_account), offset)


def generated_layout(accounts=400, seed=9):
    book = pmfast.generate(accounts=accounts, seed=seed, as_book=True)
    layout = Layout(book, build_groups(book, pmfast.RuleSet.load("finra-cpm")), book.rejected)
    return layout.args(), book.instruments.num_rows


def minimum_inputs(rng, n_instruments, integer):
    per_unit = (rng.integers(0, 40, n_instruments).astype(float) if integer
                else rng.uniform(0, 40, n_instruments))
    cap = np.where(rng.random(n_instruments) < 0.5,
                   rng.integers(0, 60, n_instruments) if integer
                   else rng.uniform(0, 60, n_instruments), np.nan)
    return per_unit, cap


def reference(args, pnl, per_unit, cap):
    """Every output of the kernel, from its definition (sequential sums in position, class and
    group order; the first scenario / group attaining the extreme)."""
    instrument, quantity, class_start, group_start, account_start, offset = args
    n_cls, n_grp, n_acc = len(class_start) - 1, len(group_start) - 1, len(account_start) - 1
    S = pnl.shape[1]
    class_pnl = np.zeros((n_cls, S))
    terms = quantity[:, None] * pnl[instrument]
    pos_class = np.repeat(np.arange(n_cls), np.diff(class_start))
    np.add.at(class_pnl, pos_class, terms)                    # in position order
    class_group = np.repeat(np.arange(n_grp), np.diff(group_start))
    haircut = np.where(class_pnl < 0, class_pnl, offset[class_group][:, None] * class_pnl)
    net = np.zeros((n_grp, S))
    np.add.at(net, class_group, haircut)                     # in class order
    worst = np.zeros(n_grp, np.int32)
    loss = np.zeros(n_grp)
    for g in range(n_grp):                                   # the sequential scan, NaN-aware
        w, best = 0, -net[g, 0]
        for s in range(1, S):
            if -net[g, s] > best:
                w, best = s, -net[g, s]
        worst[g], loss[g] = w, best
    risk = np.where(loss > 0, loss, 0.0)
    charge = per_unit[instrument] * np.abs(quantity)
    capped = quantity * cap[instrument]
    charge = np.where((quantity > 0) & (capped < charge), capped, charge)
    minimum = np.bincount(class_group[pos_class], weights=charge, minlength=n_grp) \
        if len(charge) else np.zeros(n_grp)
    requirement = np.where(risk < minimum, minimum, risk)
    group_account = np.repeat(np.arange(n_acc), np.diff(account_start))
    worst_group = np.full(n_acc, -1, np.int32)
    for a in range(n_acc):
        best = 0.0
        for g in range(account_start[a], account_start[a + 1]):
            if risk[g] > best:
                best, worst_group[a] = risk[g], g

    def per_account(x):
        return np.bincount(group_account, weights=x, minlength=n_acc)

    return dict(class_pnl=class_pnl, group_net=net, group_risk=risk, group_minimum=minimum,
                group_requirement=requirement, group_worst=worst,
                account_risk=per_account(risk), account_minimum=per_account(minimum),
                account_requirement=per_account(requirement), account_worst_group=worst_group)


def run(args, pnl, per_unit, cap, n_threads=1, keep=True):
    return _core.margin_aggregate(*args, np.ascontiguousarray(pnl), per_unit, cap, keep, keep,
                                  n_threads)


def assert_outputs(got, want, exact, scale=1.0):
    for name in OUTPUTS:
        if exact or name in ("group_worst", "account_worst_group"):
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        else:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12 * scale,
                                       err_msg=name)


@pytest.mark.parametrize("empty", [True, False])
@pytest.mark.parametrize("S", SCENARIO_COUNTS)
def test_every_output_exact_on_integer_input(S, empty):
    rng = np.random.default_rng(S)
    args = random_layout(rng, empty=empty)
    pnl = rng.integers(-50, 51, (50, S)).astype(float)
    pnl[rng.random(pnl.shape) < 0.2] = 0.0                   # ties and zero nets
    per_unit, cap = minimum_inputs(rng, 50, integer=True)
    got = run(args, pnl, per_unit, cap)
    assert_outputs(got, reference(args, pnl, per_unit, cap), exact=True)
    if empty:
        return
    # the twin's reduceat may add a group's haircut class sums (alpha * integer) in another
    # order, so it agrees to rounding only
    req, risk, minimum = aggregate_numpy(*args, pnl, per_unit, cap)
    np.testing.assert_allclose(got["account_requirement"], req, rtol=1e-12)
    np.testing.assert_allclose(got["account_risk"], risk, rtol=1e-12)
    np.testing.assert_array_equal(got["account_minimum"], minimum)


@pytest.mark.parametrize("S", [4, 7, 10, 11, 30, 33, 40, 41])
def test_real_valued_generated_book_matches_twin(S):
    args, n_ins = generated_layout()
    rng = np.random.default_rng(100 + S)
    pnl = rng.normal(0, 100, (n_ins, S))
    per_unit, cap = minimum_inputs(rng, n_ins, integer=False)
    got = run(args, pnl, per_unit, cap)
    # size of the terms summed: the tolerance is relative to it, not to a cancelled result
    scale = float(np.abs(args[1][:, None] * pnl[args[0]]).sum(axis=1).max())
    want = reference(args, pnl, per_unit, cap)
    assert_outputs(got, want, exact=False, scale=scale)
    # no fused multiply-add in the minimum: exact even on real-valued input
    np.testing.assert_array_equal(got["group_minimum"], want["group_minimum"])
    np.testing.assert_array_equal(got["account_minimum"], want["account_minimum"])
    req, risk, minimum = aggregate_numpy(*args, pnl, per_unit, cap)
    for name, want in (("account_requirement", req), ("account_risk", risk),
                       ("account_minimum", minimum)):
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-12 * scale, err_msg=name)


@pytest.mark.parametrize("S", [4, 10, 30, 40])
def test_small_batch_reads_the_minimum_directly_with_the_same_bits(S):
    """Fewer positions than half the risk-array rows (a what-if against the whole book) skip
    the per-instrument minimum table; both routes give the same bits."""
    rng = np.random.default_rng(50 + S)
    args = random_layout(rng, n_accounts=8)
    n_pos = len(args[0])
    pnl = rng.normal(0, 100, (50, S))
    per_unit = rng.uniform(0, 40, 50)
    cap = np.where(rng.random(50) < 0.7, rng.uniform(0, 60, 50), np.nan)
    args = args[:1] + (args[1] * rng.uniform(0.3, 3.0, n_pos),) + args[2:]  # inexact products
    assert 2 * n_pos >= 50                                    # the table route
    pad = 2 * n_pos + 10                                      # the direct route
    wide = run(args, np.vstack([pnl, rng.normal(0, 1, (pad, S))]),
               np.r_[per_unit, np.ones(pad)], np.r_[cap, np.ones(pad)])
    narrow = run(args, pnl, per_unit, cap)
    for name in OUTPUTS:
        assert wide[name].tobytes() == narrow[name].tobytes(), name
    want = reference(args, pnl, per_unit, cap)
    np.testing.assert_array_equal(narrow["group_minimum"], want["group_minimum"])
    np.testing.assert_array_equal(narrow["group_requirement"] >= want["group_minimum"], True)


@pytest.mark.parametrize("S", [3, 10, 11, 30, 33, 41])
def test_nan_scenarios_follow_the_sequential_scan(S):
    rng = np.random.default_rng(7 * S)
    args = random_layout(rng)
    pnl = rng.integers(-50, 51, (50, S)).astype(float)
    pnl[rng.random(pnl.shape) < 0.03] = np.nan               # NaN at scenario 0 and elsewhere
    pnl[:5, 0] = np.nan
    per_unit, cap = minimum_inputs(rng, 50, integer=True)
    got = run(args, pnl, per_unit, cap)
    want = reference(args, pnl, per_unit, cap)
    assert np.isnan(want["group_net"]).any(axis=1).sum() > 10
    assert_outputs(got, want, exact=True)


@pytest.mark.parametrize("S", [4, 10, 30, 33, 41])
def test_threads_and_optional_outputs_do_not_change_results(S):
    args, n_ins = generated_layout(accounts=3000, seed=4)
    rng = np.random.default_rng(S)
    pnl = rng.normal(0, 100, (n_ins, S))
    per_unit, cap = minimum_inputs(rng, n_ins, integer=False)
    one = run(args, pnl, per_unit, cap, n_threads=1, keep=True)
    two = run(args, pnl, per_unit, cap, n_threads=2, keep=True)
    bare = run(args, pnl, per_unit, cap, n_threads=2, keep=False)
    assert bare["class_pnl"].shape == (0, S) and bare["group_net"].shape == (0, S)
    for name in OUTPUTS:
        assert one[name].tobytes() == two[name].tobytes(), name
        if name not in ("class_pnl", "group_net"):
            assert one[name].tobytes() == bare[name].tobytes(), name


def concentration_reference(args, pnl4, largest):
    instrument, quantity, class_start, group_start, account_start, _ = args
    out = np.zeros(len(account_start) - 1)
    for a in range(len(out)):
        c0, c1 = group_start[account_start[a]], group_start[account_start[a + 1]]
        large, other = [], []
        for c in range(c0, c1):
            acc = np.zeros(4)
            for p in range(class_start[c], class_start[c + 1]):
                acc = acc + quantity[p] * pnl4[instrument[p]]
            large.append(max(0.0, -min(acc[0], acc[1])))
            other.append(max(0.0, -min(acc[2], acc[3])))
        chosen = set(np.argsort(-np.array(large), kind="stable")[:largest].tolist())
        total = 0.0
        for k in range(len(large)):
            total += large[k] if k in chosen else other[k]
        out[a] = total
    return out


@pytest.mark.parametrize("largest", [0, 1, 2, 3, 8, 9, 40])
def test_concentration_overlay_exact(largest):
    rng = np.random.default_rng(largest)
    args = random_layout(rng)
    pnl4 = rng.integers(-30, 31, (50, 4)).astype(float)      # exact sums, many tied losses
    got = _core.margin_concentration(*args, pnl4, largest, 1)
    np.testing.assert_array_equal(got, concentration_reference(args, pnl4, largest))
    assert got.tobytes() == _core.margin_concentration(*args, pnl4, largest, 2).tobytes()


@pytest.mark.parametrize("column,index,value,pattern", [
    ("instrument", 7000, -1, r"instrument\[7000\] = -1: must index a risk-array row"),
    ("instrument", 4095, 50, r"instrument\[4095\] = 50: must index"),
    ("quantity", 7192, np.nan, r"quantity\[7192\] = nan: must be finite"),
    ("quantity", 5, -np.inf, r"quantity\[5\] = -inf: must be finite"),
    ("class_start", 7000, None, r"class_start\[7000\] = .*: offsets must not decrease"),
    ("group_offset", 4096, 1.5, r"group_offset\[4096\] = 1.5: must be in \[0, 1\]"),
])
def test_layout_errors_name_the_first_offending_index(column, index, value, pattern):
    """The checks scan blocks of 4096 and rescan a failing one: the first bad index is named,
    whichever block it is in, and a second bad value later does not change the message."""
    n = 10_000
    cols = dict(instrument=np.zeros(n, np.int32), quantity=np.ones(n),
                class_start=np.arange(n + 1), group_start=np.arange(n + 1),
                account_start=np.array([0, n]), group_offset=np.full(n, 0.5))
    arr = cols[column]
    if column == "class_start":
        arr[index] = arr[index - 1] - 1
        arr[index + 1000] = 0
    else:
        arr[index] = value
        arr[min(index + 2000, n - 1)] = value
    with pytest.raises(pmfast.InputError, match=pattern):
        _core.margin_aggregate(*cols.values(), np.zeros((50, 10)), np.zeros(50),
                               np.full(50, np.nan), False, False, 1)


def test_outputs_are_disjoint_contiguous_vectors():
    """The binding carves the per-group and per-account outputs out of two allocations: each
    must still be its own contiguous array of the right shape and dtype, overlapping no other."""
    rng = np.random.default_rng(3)
    args = random_layout(rng)
    n_grp, n_acc = len(args[3]) - 1, len(args[4]) - 1
    res = run(args, rng.normal(0, 1, (50, 10)), *minimum_inputs(rng, 50, integer=False))
    shapes = dict(group=(n_grp,), account=(n_acc,))
    for name in OUTPUTS[2:]:
        arr = res[name]
        assert arr.flags.c_contiguous and arr.shape == shapes[name.split("_")[0]], name
        assert arr.dtype == (np.int32 if "worst" in name else np.float64), name
    for i, a in enumerate(OUTPUTS[2:]):
        for b in OUTPUTS[2 + i + 1:]:
            assert not np.shares_memory(res[a], res[b]), (a, b)


def test_concentration_errors_keep_their_order():
    """Layout errors are reported before the overlay's own argument errors."""
    args = (np.array([0, 7], np.int32), np.array([1.0, 2.0]), np.array([0, 1, 2]),
            np.array([0, 2]), np.array([0, 1]), np.array([0.5]))
    with pytest.raises(pmfast.InputError, match=r"instrument\[1\] = 7"):
        _core.margin_concentration(*args, np.zeros((2, 3)), 2, 1)
    good = (np.array([0, 1], np.int32),) + args[1:]
    with pytest.raises(pmfast.InputError, match="must have 4 scenarios"):
        _core.margin_concentration(*good, np.zeros((2, 3)), 2, 1)
    with pytest.raises(pmfast.InputError, match="largest must be >= 0"):
        _core.margin_concentration(*good, np.zeros((2, 4)), -1, 1)
    with pytest.raises(pmfast.InputError, match=r"instrument\[1\] = 7"):
        _core.margin_concentration(*args, np.zeros((2, 4)), 2, 2)
    # a group offset outside [0, 1] is no concern of the overlay
    odd = good[:5] + (np.array([7.0]),)
    np.testing.assert_array_equal(_core.margin_concentration(*odd, np.ones((2, 4)), 1, 1), [0.0])

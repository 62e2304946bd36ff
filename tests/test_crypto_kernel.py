"""The compiled per-group step (_core.crypto_group_margin): bad layouts are refused naming
the argument and index; an empty batch is fine; any n_threads gives the same bits."""
import numpy as np
import pytest

from pmfast import _core
from pmfast.crypto.addons import tie_order
from pmfast.errors import InputError


def _args(**change):
    rng = np.random.default_rng(4)
    G, S, n_ins = 3000, 35, 7
    counts = rng.integers(0, 5, G)
    n_pos = int(counts.sum())
    args = dict(raw=rng.normal(size=(G, S)), n_standard=27,
                group_pair=rng.integers(0, 2, G).astype(np.int64),
                group_start=np.r_[0, np.cumsum(counts)].astype(np.int64),
                instrument=rng.integers(0, n_ins, n_pos).astype(np.int32),
                quantity=rng.normal(size=n_pos), tie_order=tie_order(27, S),
                expiry_code=rng.integers(0, 3, n_ins).astype(np.int64),
                roll_weight=rng.normal(size=n_ins), delta=rng.normal(size=n_ins),
                short_weight=rng.random(n_ins), offset=np.array([0.0, 0.6]),
                offset_cap=np.array([0.0, 0.5]), dampener=np.array([1.0, 0.2]),
                ext_factor=np.array([1.0, 0.5]), rate=rng.random((2, 3)), n_threads=1)
    args.update(change)
    return args


def test_any_threads_same_bits():
    one = _core.crypto_group_margin(**_args())
    two = _core.crypto_group_margin(**_args(n_threads=2))
    for k in one:
        np.testing.assert_array_equal(one[k], two[k])


@pytest.mark.parametrize("change,needle", [
    ({"group_pair": np.full(3000, 2, np.int64)}, "group_pair[0]"),
    ({"instrument": None}, "instrument["),
    ({"expiry_code": np.full(7, 3, np.int64)}, "expiry_code[0]"),
    ({"tie_order": np.full(35, 40, np.int64)}, "tie_order[0]"),
])
def test_bad_input_names_the_argument(change, needle):
    args = _args()
    if change.get("instrument", 0) is None:
        change = {"instrument": np.full_like(args["instrument"], 9)}
    args.update(change)
    with pytest.raises(InputError, match=needle.replace("[", r"\[")):
        _core.crypto_group_margin(**args)


def test_empty():
    out = _core.crypto_group_margin(**_args(raw=np.zeros((0, 35)),
                                            group_pair=np.zeros(0, np.int64),
                                            group_start=np.zeros(1, np.int64),
                                            instrument=np.zeros(0, np.int32),
                                            quantity=np.zeros(0)))
    assert out["worst_case"].shape == (0,)

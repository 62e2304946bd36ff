"""Ctrl-C during simulation margin's long C++ revaluation stops it within a block."""
import sys

import pytest
from interrupt_helpers import assert_ctrl_c_stops

# 4,000 American series x 2,000 scenarios with a distinct volatility each: ~8 million
# boundaries, minutes on one thread; a block is 4 series (~60 ms).
_LONG_CALL = """
import numpy as np
from pmfast import _core
n, ns = 4000, 2000
rng = np.random.default_rng(0)
args = (np.zeros(n, np.int8), np.full(n, -1, np.int8), np.full(n, 100.0), np.full(n, 100.0),
        np.full(n, 1.0), np.zeros(n), np.full(n, 0.3), np.full(n, 100.0),
        np.zeros(n, np.int32), 0.05, 5, 200, rng.normal(0, 0.02, (1, ns)),
        rng.normal(0, 0.1, (1, ns)), None, 0.0, 1)
print("ready", flush=True)
_core.sim_revalue(*args)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_full_revaluation():
    assert_ctrl_c_stops(_LONG_CALL, what="the revaluation")

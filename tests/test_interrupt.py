"""Ctrl-C during a long C++ call: the core stops at its next block and Python sees
KeyboardInterrupt (not a hang until the call ends, not a PmfastError)."""
import signal
import sys

import pytest
from interrupt_helpers import assert_ctrl_c_stops

# A CRR call of 20,000 options x 4,000 steps runs for minutes single-threaded; a block is 64
# options, well under a second.
_LONG_CALL = """
import numpy as np
from pmfast import pricing
print("ready", flush=True)
pricing.crr(np.full(20_000, "P"), 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, steps=4000, n_threads=1)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_long_core_call():
    assert_ctrl_c_stops(_LONG_CALL)


def test_handler_restored_after_a_call():
    """The core installs its SIGINT handler only for the duration of a call."""
    import numpy as np
    from pmfast import pricing
    before = signal.getsignal(signal.SIGINT)
    pricing.bsm(np.array(["C"]), 100.0, 100.0, 1.0, 0.05, 0.0, 0.3)
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)   # Python's own handler still answers

"""Ctrl-C during a long C++ call: the core stops at its next block and Python sees
KeyboardInterrupt (not a hang until the call ends, not a PmfastError)."""
import signal
import subprocess
import sys
import time

import pytest

# A CRR call of 20,000 options x 4,000 steps runs for minutes single-threaded; a block is 64
# options, well under a second.
_LONG_CALL = """
import sys, time
import numpy as np
from pmfast import pricing
n = 20_000
print("ready", flush=True)
try:
    pricing.crr(np.full(n, "P"), 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, steps=4000, n_threads=1)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(42)
print("finished", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_long_core_call():
    proc = subprocess.Popen([sys.executable, "-c", _LONG_CALL], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)                       # inside the C++ call by now
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)   # the uninterrupted call takes minutes
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the core call did not stop after SIGINT")
    assert proc.returncode == 42, out
    assert "interrupted" in out


def test_handler_restored_after_a_call():
    """The core installs its SIGINT handler only for the duration of a call."""
    import numpy as np
    from pmfast import pricing
    before = signal.getsignal(signal.SIGINT)
    pricing.bsm(np.array(["C"]), 100.0, 100.0, 1.0, 0.05, 0.0, 0.3)
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)   # Python's own handler still answers

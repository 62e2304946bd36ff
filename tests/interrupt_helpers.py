"""One way to test that Ctrl-C stops a long core call: run it in a subprocess, send SIGINT once
it is inside the call, and expect KeyboardInterrupt within the timeout (the uninterrupted call
runs for minutes)."""
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def assert_ctrl_c_stops(body, timeout=30, what="the core call"):
    """``body``: Python source that prints "ready" right before its long C++ call (a SIGINT
    during imports or set-up would be caught by Python itself and prove nothing)."""
    script = ("import sys\ntry:\n" + textwrap.indent(textwrap.dedent(body), "    ") +
              "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n    sys.exit(42)\n"
              "print('finished', flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)                       # inside the C++ call by now
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{what} did not stop after SIGINT")
    assert proc.returncode == 42, out
    assert "interrupted" in out

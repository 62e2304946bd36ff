"""Issue 15 item 7: Ctrl-C stops the long single calls that no parallel_for block boundary
breaks up: one option under a huge CRR tree, implied vols solved under a deep tree, and the Reg T
pairing search of one big account (with an unlimited budget). Each runs for minutes when not
interrupted; KeyboardInterrupt must arrive within seconds of SIGINT."""
import pathlib
import sys
import textwrap

import pytest
from interrupt_helpers import assert_ctrl_c_stops

pytestmark = pytest.mark.heavy
BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
_CASES = {
    # 3,000,000 steps: 4.5e12 node updates, hours
    "one option, huge tree": """
        from pmfast import pricing
        print('ready', flush=True)
        pricing.crr("P", 100.0, 100.0, 1.0, 0.05, 0.0, 0.3, steps=3_000_000, n_threads=1)
    """,
    # one block of 64 options x ~20 tree valuations x 4.5e6 nodes each: minutes
    "implied vol under a tree": """
        import numpy as np
        from pmfast import pricing
        n = 2000
        print('ready', flush=True)
        pricing.implied_vol(np.full(n, 12.0), np.full(n, "P"), 100.0, 100.0, 1.0, 0.05, 0.0,
                            style="american", model="crr", steps=3000, n_threads=1)
    """,
    # the market maker (benchmarks/_market_maker.py) with an unlimited pairing budget
    "pairing of one big account": f"""
        sys.path.insert(0, {str(BENCHMARKS)!r})
        import pmfast
        from pmfast.strategy.rules import load_regt_rules
        from _market_maker import market_maker_book
        book = market_maker_book()
        rules = load_regt_rules().replace(pairing__max_work=10**15, pairing__max_nodes=10**12)
        print('ready', flush=True)
        pmfast.strategy_margin(book, rules=rules, n_threads=1)
    """,
}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("case", list(_CASES))
def test_ctrl_c_stops_a_long_single_call(case):
    assert_ctrl_c_stops("import sys\n" + textwrap.dedent(_CASES[case]), timeout=20, what=case)

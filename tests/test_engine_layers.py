"""The engine's seams (issue 10): one mirror of the C++ codes, the stage hook, the RiskArrays
shared by batch and what-if, std::bad_alloc as MemoryError."""
import pathlib
import re

import numpy as np
import pytest

import pmfast
import pmfast.batch
from pmfast import _core, kinds
from pmfast.errors import PmfastError
from pmfast.stages import ENGINE_STAGES, listen

CPP = pathlib.Path(__file__).resolve().parents[1] / "src" / "cpp" / "pmfast_core"


def test_model_codes_mirror_the_cpp_enum():
    """kinds.MODELS read against the C++ header text, not against itself."""
    text = (CPP / "pricing" / "options.hpp").read_text()
    body = text[text.index("enum class Model"):]
    body = body[:body.index("};")]
    cpp = {name: int(code) for name, code in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
    assert cpp == kinds.MODELS
    assert pmfast.pricing.MODELS is kinds.MODELS


def test_leg_codes_mirror_the_cpp_constants():
    text = (CPP / "regt" / "regt_types.hpp").read_text()
    cpp = {name: int(code) for name, code in
           re.findall(r"constexpr int8_t kLeg(\w+) = (-?\d+);", text)}
    assert cpp == {"Stock": kinds.LEG_STOCK, "Call": kinds.LEG_CALL, "Put": kinds.LEG_PUT}
    assert kinds.LEG_OTHER not in cpp.values()


def test_book_encodes_kind_codes_once():
    book = pmfast.generate(accounts=30, seed=1, as_book=True)
    kind = np.asarray(book.instruments.column("kind").to_pylist())
    codes = book.instruments.column("kind_code").to_numpy()
    assert [kinds.KINDS[c] for c in codes] == kind.tolist()


def test_stage_hook_reports_every_engine_stage():
    seen = []

    class Listener:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            seen.append(self.name)

        def __exit__(self, *exc):
            return False

    tables = pmfast.generate(accounts=40, seed=4)
    # one option left without implied_vol so that the solver runs
    ins = tables["instruments"].to_pandas()
    row = ins.index[ins["kind"] == "option"][0]
    ins.loc[row, "implied_vol"] = np.nan
    with listen(Listener):
        book = pmfast.Book(tables["positions"], ins, tables["underlyings"],
                           tables["product_groups"], as_of="2026-11-20", rate=0.045)
        pmfast.batch.run_book(book, rules="house", method="both", n_threads=1)
    assert set(ENGINE_STAGES) <= set(seen)
    assert {"portfolio margin", "reg t", "join"} <= set(seen)   # batch.StageClock's stages
    seen.clear()
    pmfast.portfolio_margin(book)     # no listener: nothing reported, nothing fails
    assert seen == []


@pytest.mark.parametrize("rules", ["finra-cpm", "house"])
def test_what_if_on_the_batchs_risk_arrays_equals_a_fresh_session(rules):
    book = pmfast.generate(accounts=60, seed=8, as_book=True)
    pm = pmfast.portfolio_margin(book, rules=rules)
    shared = pmfast.WhatIf.from_result(pm)
    fresh = pmfast.WhatIf(book, rules=rules)
    assert shared._pnl[0] is pm.revaluation.sets[0].pnl       # not priced again
    for account in book.account_ids[:20]:
        assert shared.margin(account) == fresh.margin(account)
        assert shared.margin(account).requirement == pm.accounts.set_index("account").loc[
            account, "requirement"]


def test_bad_alloc_reaches_python_as_memory_error():
    """A counting sort over 2**50 groups asks for 8 PiB: std::bad_alloc in C++."""
    with pytest.raises(MemoryError) as info:
        _core.book_segment_sort(np.zeros(3, np.int32), np.array([2**40, 1, 5], np.int64),
                                2**50, 1)
    assert not isinstance(info.value, PmfastError)


@pytest.mark.parametrize("set_index", [0, 1])
def test_tims_grid_is_an_explicit_scenario_set(set_index):
    """The grid written as explicit joint scenarios (scenario_set.ScenarioSet), revalued one
    scenario at a time, gives the grid's risk array: the grid is the compact special case."""
    from pmfast import pricing
    from pmfast.kinds import VALUATION_LINEAR, pricing_model
    from pmfast.portfolio import prepare
    from pmfast.revaluation import grid_as_explicit, revalue
    book = pmfast.generate(accounts=15, seed=6, as_book=True)
    run = prepare(book, "house")
    risk = revalue(book, run).sets[set_index]
    explicit = grid_as_explicit(book, run.groups, risk.scenario_set)
    assert explicit.n_scenarios == risk.n_scenarios
    assert list(explicit.underlyings) == book.underlyings.column("underlying").to_pylist()
    m = run.market
    und = m.inputs["und_code"]
    rng = np.random.default_rng(0)
    rows = rng.choice(len(und), size=min(40, len(und)), replace=False)
    for k in range(explicit.n_scenarios):
        ret = explicit.returns[k, und[rows]]
        shift = explicit.vol_shifts[k, und[rows]]
        for i, r, s in zip(rows, ret, shift):
            if m.valuation[i] == VALUATION_LINEAR:
                want = m.multiplier[i] * m.linear_spot[i] * r
            else:
                style, model = pricing_model(int(m.valuation[i]), m.american_model)
                q = m.dividend_yield[i] if model != "black76" else 0.0
                args = (m.right[i:i + 1], m.spot[i:i + 1], m.strike[i:i + 1], m.T[i:i + 1],
                        m.rate, q, m.vol[i:i + 1])
                kw = dict(style=style, model=model, steps=m.crr_steps)
                value = pricing.reprice_grid(*args, [r], [s], vol_shift_kind="relative",
                                             horizon_days=explicit.horizon_days, **kw)[0, 0]
                want = m.multiplier[i] * (value - risk.value0[i])
            assert risk.pnl[i, k] == pytest.approx(want, rel=1e-12, abs=1e-9)

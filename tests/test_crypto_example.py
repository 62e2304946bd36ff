"""The venue's own published example (Deribit private/pme/simulate, BTC, 2024-06-17)
reproduced to 1e-9 BTC: per-instrument 27 + 8 risk vectors, aggregated vectors, worst case and
its bucket, roll shock, risk-matrix margin, maintenance."""
import numpy as np
import pytest

import pmfast
from crypto_books import book, example, example_tables

TOL = 1e-9


@pytest.fixture(scope="module")
def ex(spec_dir):
    return example(spec_dir)


@pytest.fixture(scope="module")
def pm(ex):
    return pmfast.portfolio_margin(book(*example_tables(ex)), rules="deribit")


def test_per_instrument_risk_vectors(ex, pm):
    vectors = pm.position_vectors("A")
    for name, venue in ex["initial_risk_vectors"].items():
        expected = np.r_[venue["standard"], venue["extended"]]
        assert vectors[name].shape == (35,)
        np.testing.assert_allclose(vectors[name], expected, rtol=0, atol=TOL)


def test_aggregated_vectors(ex, pm):
    rv = pm.risk_vectors("A")
    venue = ex["aggregated_risk_vectors"]["btc_btc"]
    np.testing.assert_allclose(rv["adjusted"], np.r_[venue["standard"], venue["extended"]],
                               rtol=0, atol=TOL)
    # before the offset and the dampener: the transcription's recomputed raw sums
    raw_ext = ex["checks_recomputed"]["raw_extended_sum"]
    np.testing.assert_allclose(rv["pnl"].to_numpy()[27:], raw_ext, rtol=0, atol=TOL)
    assert list(rv["table"]) == ["standard"] * 27 + ["extended"] * 8


def test_margins(ex, pm):
    row = pm.accounts.iloc[0]
    details = ex["margins"]["btc"]["initial_margin_details"]["risk_matrix_margin_details"]
    assert row["currency"] == "BTC" and row["status"] == "ok"
    assert abs(row["worst_case"] - details["worst_case"]) < TOL
    assert abs(row["roll_shock"] - details["roll_shock"]) < TOL
    assert row["delta_shock"] == details["delta_shock"] == 0
    assert row["correlation_contingency"] == details["correlation_contingency"] == 0
    rmm = ex["margins"]["btc"]["initial_margin_details"]["risk_matrix_margin"]
    assert abs(row["requirement"] - rmm) < TOL
    assert abs(row["maintenance"] - ex["margins"]["btc"]["maintenance_margin"]) < TOL


def test_worst_case_bucket(ex, pm):
    bucket = ex["margins"]["btc"]["initial_margin_details"]["risk_matrix_margin_details"][
        "worst_case_bucket"]
    row = pm.accounts.iloc[0]
    # the venue's index is the 0-based entry of the 27-vector: -16%, the middle of three ties
    assert bucket["source"] == "standard" and row["worst_index"] == bucket["index"] == 1
    assert row["worst_scenario"] == "-16% vol unchanged"


def test_example_matches_the_reference_twin(ex):
    from pmfast._reference.crypto import portfolio_margin as twin
    tables = example_tables(ex)
    out = twin(*tables, as_of="2024-06-17")[("A", "BTC")]
    details = ex["margins"]["btc"]["initial_margin_details"]
    assert abs(out["requirement"] - details["risk_matrix_margin"]) < TOL

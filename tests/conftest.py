import pathlib

import pytest

SPEC = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "spec"


@pytest.fixture(scope="session")
def spec_dir():
    if not SPEC.is_dir():
        pytest.fail(f"the specification folder {SPEC} is missing (../shared beside the repo)")
    return SPEC


def pytest_configure(config):
    # property and fault-isolation tests of issue 15 (tests/test_properties.py): a few seconds
    # each by default; deselect with -m "not heavy", lengthen with HYPOTHESIS_PROFILE=probe
    config.addinivalue_line("markers", "heavy: builds and margins many books (seconds)")

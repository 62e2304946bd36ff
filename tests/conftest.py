import pathlib

import pytest

SPEC = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "spec"


@pytest.fixture(scope="session")
def spec_dir():
    if not SPEC.is_dir():
        pytest.fail(f"the specification folder {SPEC} is missing (../shared beside the repo)")
    return SPEC

"""Fixtures every suite may use. Library code the suites share is in tests/support."""

import pytest

from tests.simulator import Simulator


@pytest.fixture
def simulator(tmp_path):
    """A started simulator with default switches, its state in a fresh temporary folder: its own CA, tokens, data
    and request log, so that tests are independent and can run in parallel."""
    with Simulator(state_dir=tmp_path / "simulator") as running:
        yield running

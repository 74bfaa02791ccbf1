"""Fixtures of the ecosystem tests: the built collection artifact (the simulator fixture is in tests/conftest.py)."""

import pytest

from tests.ecosystem.tools import build_collection


@pytest.fixture(scope="session")
def artifact(tmp_path_factory):
    """The collection as ansible-galaxy builds it from the working tree (once per test process)."""
    return build_collection(tmp_path_factory.mktemp("artifact"))

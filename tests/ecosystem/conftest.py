"""Fixtures of the ecosystem tests: the built collection artifact, and the integration tests' simulator."""

import pytest

# The same simulator fixture as the integration tests (a fresh simulator per test).
from tests.integration.conftest import simulator  # noqa: F401  pylint: disable=unused-import
from tests.ecosystem.tools import build_collection


@pytest.fixture(scope="session")
def artifact(tmp_path_factory):
    """The collection as ansible-galaxy builds it from the working tree (once per test process)."""
    return build_collection(tmp_path_factory.mktemp("artifact"))

"""Fixtures of the integration tests: real ansible-playbook runs against the test's simulator (tests/conftest.py),
and what the reliability suites record and share."""

import pytest

from tests.support.ansible_runner import AnsibleRunner
from tests.support.in_process import ModuleRunner
from tests.support.reliability import Refusals, WireTap, run_refusals


@pytest.fixture
def ansible(simulator, tmp_path):
    workdir = tmp_path / "ansible"
    workdir.mkdir()
    return AnsibleRunner(simulator, str(workdir))


@pytest.fixture
def modules(simulator, tmp_path):
    """A ModuleRunner: the collection's modules run in this process against the test's simulator (for variants)."""
    return ModuleRunner(simulator, str(tmp_path / "module-cache"))


@pytest.fixture
def wire(simulator):
    return WireTap(simulator)


@pytest.fixture
def measured(request):
    """Records what a test measured, for the results column of docs/reliability.md; tests record before they
    assert, so that a failing case still shows what happened."""
    def record(text):
        request.node.user_properties.append(("measured", text))
    return record


@pytest.fixture(scope="session")
def refusals(tmp_path_factory):
    """Every refusal case of the reliability suites, run once per test session (per pytest-xdist worker: in this
    process they take a second or so, less than sharing them between workers would)."""
    return Refusals(**run_refusals(tmp_path_factory.mktemp("refusals")))

"""Fixtures of the integration tests: real ansible-playbook runs against the test's simulator (tests/conftest.py),
and what the reliability suites record and share."""

import fcntl
import json

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
def refusals(tmp_path_factory, worker_id):
    """Every refusal case of the reliability suites, run once per test session. With pytest-xdist the first worker
    to get here runs them and the others read its results, from the folder all workers of this session share."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    with open(shared / "refusals.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "refusals.json"
        if not saved.exists():
            saved.write_text(json.dumps(run_refusals(tmp_path_factory.mktemp("refusals"))), encoding="utf-8")
        return Refusals(**json.loads(saved.read_text(encoding="utf-8")))

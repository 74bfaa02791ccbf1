"""End to end: ansible-rulebook runs extensions/eda/rulebooks/quarantine_on_alert.yml against the simulator.

Run by `make test-eda`, which builds .venv-eda (ansible-rulebook, ansible-core, requests, msal), installs Java 17
from the Debian packages when `java` is missing, and passes the venv's path in MDE_EDA_VENV. The simulator runs in
this process; ansible-rulebook and the playbooks it starts talk to it over HTTPS with the connection options in
environment variables, as an EDA Controller credential would set them. The playbooks' modules run with this
process's Python, as in the integration tests.
"""

import json
import os
import subprocess
import time

import pytest

from tests.support.ansible_runner import AnsibleRunner

QUARANTINE_ROUTE = "machines.StopAndQuarantineFile"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
# Guards against a hung run only: the JVM start and every playbook run fit in it many times over.
GIVE_UP_SECONDS = 600


@pytest.fixture(name="eda_venv")
def fixture_eda_venv():
    venv = os.environ.get("MDE_EDA_VENV")
    if not venv or not os.path.exists(os.path.join(venv, "bin", "ansible-rulebook")):
        pytest.fail("MDE_EDA_VENV must name a virtualenv with ansible-rulebook: run `make test-eda`")
    return venv


def rulebook_environment(simulator, eda_venv, workdir):
    """The integration tests' environment for ansible-playbook (the connection in the modules' variables), with
    ansible-rulebook's venv first on PATH and the source's settings."""
    return AnsibleRunner(simulator, workdir).environment(
        PATH=os.path.join(eda_venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
        MDE_TEST_RESULTS=os.path.join(workdir, "playbook-results.jsonl"),
        MDE_ALERTS_INTERVAL=1,
        MDE_ALERTS_LOOKBACK="1h",
        MDE_ALERTS_STATE_FILE=os.path.join(workdir, "alerts-state.json"),
    )


def write_inventory(workdir):
    with open(os.path.join(workdir, "inventory.yml"), "w", encoding="utf-8") as stream:
        stream.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")


def quarantined_machines(simulator):
    return sorted(entry["params"]["machine_id"] for entry in simulator.log_for(route=QUARANTINE_ROUTE))


def playbook_runs(log_path):
    """(playbooks started, playbooks finished) according to ansible-rulebook's output."""
    with open(log_path, encoding="utf-8", errors="replace") as stream:
        output = stream.read()
    return output.count("PLAY [Stop and quarantine files"), output.count("PLAY RECAP")


def wait_for(condition, process, log_path, what):
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    with open(log_path, encoding="utf-8", errors="replace") as stream:
        output = stream.read()
    raise AssertionError("%s did not happen; ansible-rulebook output:\n%s" % (what, output[-8000:]))


def test_a_high_severity_file_alert_quarantines_once_per_machine(simulator, eda_venv, tmp_path):
    first = simulator.add_machine("desktop-1.contoso.local")
    second = simulator.add_machine("desktop-2.contoso.local")
    third = simulator.add_machine("desktop-3.contoso.local")
    alert = simulator.alerts.raise_alert(first["id"], files=[SHA1])
    simulator.alerts.raise_alert(second["id"], files=[{"sha1": SHA1, "fileName": "invoice.exe"}])
    simulator.alerts.raise_alert(first["id"], files=[OTHER_SHA1], severity="Low")       # not high: no action
    simulator.alerts.raise_alert(third["id"], severity="High")                          # no file: no action

    workdir = str(tmp_path)
    log_path = os.path.join(workdir, "ansible-rulebook.log")
    write_inventory(workdir)
    # The command docs/eda.md shows, the rulebook found by its name in the collection.
    command = [os.path.join(eda_venv, "bin", "ansible-rulebook"), "--rulebook", "mde.response.quarantine_on_alert",
               "-i", "inventory.yml", "--verbose"]
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=rulebook_environment(simulator, eda_venv, workdir), cwd=workdir,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: quarantined_machines(simulator) == sorted([first["id"], second["id"]]), process, log_path,
                 "a quarantine on both alerted machines")
        # The same alert seen again (it changed), then a new alert on a third machine: once that one has acted, the
        # rulebook has dealt with the repeat, since it handles events in order.
        listings_before = len(simulator.log_for(route="alerts.list"))
        updated = simulator.alerts.update_alert(alert["id"], status="InProgress")
        wait_for(lambda: len(simulator.log_for(route="alerts.list")) > listings_before + 1, process, log_path,
                 "a poll after the update")
        sentinel = simulator.alerts.raise_alert(third["id"], files=[SHA1])
        wait_for(lambda: third["id"] in quarantined_machines(simulator), process, log_path, "the third machine's quarantine")
        # Stopped only once no playbook runs: ansible-runner starts each in a session of its own.
        wait_for(lambda: len(set(playbook_runs(log_path))) == 1, process, log_path, "the end of the last playbook")
    finally:
        process.terminate()
        process.wait(timeout=120)

    # The source did send the changed alert again (its state file says so); the rulebook did not act on it twice.
    with open(os.path.join(workdir, "alerts-state.json"), encoding="utf-8") as stream:
        assert json.load(stream)["delivered"][alert["id"]] == updated["lastUpdateTime"]
    assert quarantined_machines(simulator) == sorted([first["id"], second["id"], third["id"]])
    assert playbook_runs(log_path) == (3, 3)         # one run per alert acted on, none for the repeat
    posts = simulator.log_for(route=QUARANTINE_ROUTE)
    assert all(entry["status"] == 201 and entry["body"]["Sha1"] == SHA1 for entry in posts)
    comments = {entry["params"]["machine_id"]: entry["body"]["Comment"] for entry in posts}
    assert alert["id"] in comments[first["id"]]
    assert sentinel["id"] in comments[third["id"]]
    assert [action["status"] for action in simulator.actions()].count("Cancelled") == 0
    assert len(simulator.actions()) == 3

"""End to end: ansible-rulebook runs extensions/eda/rulebooks/quarantine_on_alert.yml against the simulator.

Run by `make test-eda`, which builds .venv-eda (ansible-rulebook, ansible-core, requests, msal), installs Java 17
from the Debian packages when `java` is missing, and passes the venv's path in MDE_EDA_VENV. The simulator runs in
this process; ansible-rulebook and the playbooks it starts talk to it over HTTPS with the connection options in
environment variables, as an EDA Controller credential would set them. The inventory and the command are the ones
docs/eda.md prints, read from it: the playbooks' modules run with the Python the documented inventory names, not
one the test chooses. Two things stand in for the guide's set-up steps: .venv-eda first on PATH for the activated
virtualenv, and ANSIBLE_COLLECTIONS_PATH for `ansible-galaxy collection install`.
"""

import json
import os
import re
import subprocess
import time

import pytest

from tests.support.ansible_runner import AnsibleRunner

QUARANTINE_ROUTE = "machines.StopAndQuarantineFile"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
# Guards against a hung run only: the JVM start and every playbook run fit in it many times over.
GIVE_UP_SECONDS = 600
GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "eda.md")
POWERSHELL_SHA1 = "04c6f0d2c2b0e7a6b1e1f1f8a2b63c3a9f2a1a10"
RESEND_INTERVAL = 60


@pytest.fixture(name="eda_venv")
def fixture_eda_venv():
    venv = os.environ.get("MDE_EDA_VENV")
    if not venv or not os.path.exists(os.path.join(venv, "bin", "ansible-rulebook")):
        pytest.fail("MDE_EDA_VENV must name a virtualenv with ansible-rulebook: run `make test-eda`")
    return venv


def rulebook_environment(simulator, eda_venv, workdir):
    """The integration tests' environment for ansible-playbook (the connection in the modules' variables), with
    ansible-rulebook's venv first on PATH, no interpreter chosen for the modules, and the source's settings."""
    return AnsibleRunner(simulator, workdir).environment(
        PATH=os.path.join(eda_venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
        ANSIBLE_PYTHON_INTERPRETER=None,
        MDE_TEST_RESULTS=os.path.join(workdir, "playbook-results.jsonl"),
        MDE_ALERTS_INTERVAL=1,
        MDE_ALERTS_LOOKBACK="1h",
        # Longer than two playbook runs take on a busy machine: a shorter one sends again while the run is queued.
        MDE_ALERTS_RESEND_INTERVAL=RESEND_INTERVAL,
        MDE_ALERTS_STATE_FILE=os.path.join(workdir, "alerts-state.json"),
    )


def documented_setup(workdir):
    """Write docs/eda.md's inventory.yml into ``workdir``; return its ansible-rulebook and replay command lines."""
    with open(GUIDE, encoding="utf-8") as stream:
        guide = stream.read()
    [inventory] = re.findall(r"```yaml\n# inventory.yml\n(.*?)```", guide, re.DOTALL)
    with open(os.path.join(workdir, "inventory.yml"), "w", encoding="utf-8") as stream:
        stream.write(inventory)
    command = re.search(r"^\$ (ansible-rulebook --rulebook .*)$", guide, re.MULTILINE).group(1)
    replay = re.search(r"^\$ (MDE_ALERTS_REPLAY=\S+ ansible-rulebook .*)$", guide, re.MULTILINE).group(1)
    return command, replay


def start_rulebook(command, simulator, eda_venv, workdir, log_path):
    with open(log_path, "w", encoding="utf-8") as log:
        return subprocess.Popen(command, shell=True, env=rulebook_environment(simulator, eda_venv, workdir), cwd=workdir,
                                stdout=log, stderr=subprocess.STDOUT)


def stop(process):
    process.terminate()
    process.wait(timeout=120)


def quarantined_machines(simulator):
    """The machines on which a quarantine of the dropped file was created (refused POSTs left out)."""
    return sorted(entry["params"]["machine_id"] for entry in simulator.log_for(route=QUARANTINE_ROUTE)
                  if entry["status"] == 201 and entry["body"]["Sha1"] == SHA1)


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


def pending_alerts(workdir):
    try:
        with open(os.path.join(workdir, "alerts-state.json"), encoding="utf-8") as stream:
            return json.load(stream)["pending"]
    except (OSError, ValueError, KeyError):
        return None


def test_a_high_severity_file_alert_quarantines_its_file_once_per_machine_even_after_a_failed_run(simulator, eda_venv, tmp_path):
    first = simulator.add_machine("desktop-1.contoso.local")
    second = simulator.add_machine("desktop-2.contoso.local")
    third = simulator.add_machine("desktop-3.contoso.local")
    # The dropper ran as a child of Microsoft's powershell.exe, which the evidence lists as a Process.
    alert = simulator.alerts.raise_alert(first["id"], files=[SHA1], processes=[{"sha1": POWERSHELL_SHA1}])
    simulator.clock.advance(1)
    simulator.alerts.raise_alert(second["id"], files=[{"sha1": SHA1, "fileName": "invoice.exe"}])
    simulator.alerts.raise_alert(first["id"], files=[OTHER_SHA1], severity="Low")       # not high: no action
    simulator.alerts.raise_alert(third["id"], severity="High")                          # no file: no action
    # The first alert's playbook run fails: its write is refused.
    simulator.faults.add(QUARANTINE_ROUTE, "status", times=1, status=400)

    workdir = str(tmp_path)
    log_path = os.path.join(workdir, "ansible-rulebook.log")
    command, replay = documented_setup(workdir)
    process = start_rulebook(command, simulator, eda_venv, workdir, log_path)
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
        # Every alert's action seen by the source: nothing is sent again from now on.
        wait_for(lambda: pending_alerts(workdir) == {}, process, log_path, "the source seeing every alert's action")
        # Stopped only once no playbook runs: ansible-runner starts each in a session of its own.
        wait_for(lambda: len(set(playbook_runs(log_path))) == 1, process, log_path, "the end of the last playbook")
        time.sleep(3)         # a few polls: nothing is pending, so nothing may be sent again
    finally:
        stop(process)
    writes_before_replay = len(simulator.log_for(route=QUARANTINE_ROUTE))

    # The guide's replay command, with the first alert's id: the restarted rulebook runs the playbook for it once
    # more, which finds the quarantine and writes nothing.
    replay_log = os.path.join(workdir, "replay.log")
    process = start_rulebook(re.sub(r"MDE_ALERTS_REPLAY=\S+", "MDE_ALERTS_REPLAY=" + alert["id"], replay), simulator,
                             eda_venv, workdir, replay_log)
    try:
        wait_for(lambda: playbook_runs(replay_log) == (1, 1), process, replay_log, "the replayed alert's playbook run")
    finally:
        stop(process)
    with open(replay_log, encoding="utf-8", errors="replace") as stream:
        assert "sent alert %s (replay, attempt 1)" % alert["id"] in stream.read()
    assert len(simulator.log_for(route=QUARANTINE_ROUTE)) == writes_before_replay

    # The source did send the changed alert again (its state file says so); the rulebook did not act on it twice.
    with open(os.path.join(workdir, "alerts-state.json"), encoding="utf-8") as stream:
        assert json.load(stream)["delivered"][alert["id"]] == updated["lastUpdateTime"]
    assert quarantined_machines(simulator) == sorted([first["id"], second["id"], third["id"]])
    # One run per alert acted on and one more for the alert whose run failed, none for the repeat (a resend that
    # came before a slow run had written would be one more run, which creates nothing: the POSTs below).
    started, finished = playbook_runs(log_path)
    assert started == finished and started >= 4
    posts = simulator.log_for(route=QUARANTINE_ROUTE)
    # Only the dropped file, never the powershell.exe of the evidence; the refused write came again and was created.
    assert [(entry["params"]["machine_id"], entry["status"]) for entry in posts][:1] == [(first["id"], 400)]
    assert [entry["body"]["Sha1"] for entry in posts] == [SHA1] * 4 and [entry["status"] for entry in posts[1:]] == [201] * 3
    with open(log_path, encoding="utf-8", errors="replace") as stream:
        output = stream.read()
    assert "sent alert %s (resend, attempt 2) because machine %s has no quarantine action yet" % (alert["id"], first["id"]) in output
    assert "left out %s (Process powershell.exe)" % POWERSHELL_SHA1 in output
    assert "alert %s is done" % alert["id"] in output
    comments = {entry["params"]["machine_id"]: entry["body"]["Comment"] for entry in posts[1:]}
    assert alert["id"] in comments[first["id"]]
    assert sentinel["id"] in comments[third["id"]]
    assert [action["status"] for action in simulator.actions()].count("Cancelled") == 0
    assert len(simulator.actions()) == 3

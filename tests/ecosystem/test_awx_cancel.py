"""An AWX job of mde.response.quarantine cancelled while it follows its background run: ansible-runner's cancel (what
AWX does when a user cancels a job without a container) kills ansible-playbook's process group with SIGKILL, which the
role's follower is not part of; it sees its controller gone, revokes the run's lease, and the run sends no further
write. A relaunch finishes the rest, one action per machine."""

import os
import sys
import time

import ansible_runner

from ansible_collections.mde.response.plugins.module_utils.mde_module import CONNECTION_ARGUMENT_SPEC
from tests.ecosystem.test_awx import endpoints, job_events, private_data_dir, stock_azure_credential, survey_answers
from tests.ecosystem.tools import REPO
from tests.support.quarantine import SHA1, WRITE, ids, seed, writes

FLEET = 300
# Simulated seconds each write is held, at ten simulated seconds a real second on both sides.
HELD_WRITE = 2.0
SPEED = 10
STOP_WITHIN = 3.0
QUIET = 5.0
CONNECTION_VARIABLES = {name for spec in CONNECTION_ARGUMENT_SPEC.values() for name in spec.get("fallback", (None, ()))[1]}


def run_job(directory, simulator, extra_vars, cancel_when, monkeypatch):
    """ansible-runner with a cancel callback, as AWX's job runs it; returns (status, rc)."""
    private_data_dir(directory, dict(stock_azure_credential(simulator.connection), **endpoints(simulator)), extra_vars, sys.executable)
    (directory / "env" / "settings").write_text("pexpect_timeout: 0.2\n", encoding="utf-8")
    for name in CONNECTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in {"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collection-tree"), "XDG_CACHE_HOME": str(directory / "cache"),
                        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_ASYNC_DIR": str(directory / "async"), "MDE_TIME_SCALE": str(SPEED),
                        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}.items():
        monkeypatch.setenv(name, value)
    seen = []

    def on_event(event):
        seen.append(event.get("stdout", ""))
        return True

    job = ansible_runner.run(private_data_dir=str(directory), playbook="quarantine.yml", ident="job", quiet=True,
                             event_handler=on_event, cancel_callback=lambda: cancel_when("\n".join(seen)))
    return job.status, job.rc


def test_a_cancelled_job_stops_the_background_run_and_a_relaunch_finishes_it(simulator, tmp_path, monkeypatch):
    machines = seed(simulator, FLEET)
    simulator.faults.add(WRITE, "latency", delay=HELD_WRITE)
    simulator.configure(clock_speed=SPEED)
    answers = dict(survey_answers(sha1=SHA1, comment="INC-4711: AWX job", machine_ids="\n".join(ids(machines))),
                   quarantine_file_progress_interval=1)
    cancelled_at = []

    def at_the_first_progress_line(output):
        if "/%d machines done" % FLEET in output and not cancelled_at:
            cancelled_at.append(len(writes(simulator)))
        return bool(cancelled_at)

    status, _rc = run_job(tmp_path / "job", simulator, answers, at_the_first_progress_line, monkeypatch)
    time.sleep(STOP_WITHIN)
    settled = len(writes(simulator))
    # Shorter than a lease: a run that stopped only when its lease lapsed was not told to stop, and shows as late.
    time.sleep(QUIET)
    sent = len(writes(simulator))
    landed = len(simulator.actions())
    events = job_events(tmp_path / "job")

    relaunch, _rc = run_job(tmp_path / "relaunch", simulator, answers, lambda _output: False, monkeypatch)

    assert status == "canceled" and cancelled_at
    assert sent == settled, "%d writes arrived more than %g s after the cancel" % (sent - settled, STOP_WITHIN)
    assert 0 < landed < FLEET, "the cancel did not come mid-run"
    assert "Ctrl-C (or cancelling the AWX job) stops their writes" in events
    assert relaunch == "successful"
    assert sorted(entry["path"].split("/")[3] for entry in writes(simulator) if entry["status"] == 201) == sorted(ids(machines))
    assert len(writes(simulator)) == sent + FLEET - landed

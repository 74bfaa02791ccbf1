"""Interruption: the run is killed while it writes, and run again."""

import time

from tests.support.quarantine import SHA1, WRITE, ids, outcomes, quarantine, seed
from tests.support.reliability import describe_actions, kill_group, one_action_each, start_playbook

MACHINES = 40
# Simulated (here: real) seconds each write is held before the service handles it, so that the run is still
# writing when it is killed.
WRITE_LATENCY = 0.5
KILL_AFTER_WRITES = 10


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_killed_mid_run_then_rerun_completes_without_duplicates(simulator, ansible, measured):
    """ansible-playbook, its worker and the module are killed (SIGTERM to the process group) once 10 of 40 writes
    have landed; nothing is written after that, and a second run finds what the first one did, writes only the
    rest (reusing the cached token) and leaves exactly one action per machine."""
    machines = seed(simulator, MACHINES)
    simulator.faults.add(WRITE, "latency", delay=WRITE_LATENCY)

    first = start_playbook(ansible, "quarantine.yml", {"sha1": SHA1, "machine_ids": ids(machines)})
    wait_for(lambda: simulator.counters.get(WRITE + " 201", 0) >= KILL_AFTER_WRITES, timeout=120)
    kill_group(first)
    # Writes the simulator was already holding still land; after that, nothing may arrive from a killed module.
    time.sleep(4 * WRITE_LATENCY)
    landed = len(simulator.actions())
    time.sleep(4 * WRITE_LATENCY)
    after_kill = len(simulator.actions())

    rerun, result = quarantine(ansible, machine_ids=ids(machines))

    summary = result["summary"]
    measured("killed with %d of %d actions created (return code %s); rerun: existing %d, created %d, failed %d; "
             "%s; token requests in all: %d" % (
                 landed, MACHINES, first.returncode, summary["existing"], summary["created"], summary["failed"],
                 describe_actions(simulator, ids(machines)), simulator.counters.get("token", 0)))
    assert KILL_AFTER_WRITES <= landed < MACHINES, "the kill did not come mid-run"
    assert after_kill == landed, "writes went on after the kill"
    assert rerun.rc == 0, rerun.output
    assert summary["existing"] == landed and summary["created"] == MACHINES - landed
    assert set(outcomes(result)) == set(ids(machines))
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert simulator.counters.get("token") == 1, "the killed run's cached token was not reused"

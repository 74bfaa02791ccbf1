"""Races: two people run the same playbook on the same machines and file at the same time."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support.ansible_runner import AnsibleRunner
from tests.support.quarantine import LIST_ACTIONS, ids, quarantine, seed, writes
from tests.support.reliability import describe_actions, one_action_each

MACHINES = 20
# Real seconds a held write waits for the other run's read at most, so that a run that never reads cannot hang the
# test (the assertions then say what happened).
GATE_TIMEOUT = 60


def hold_writes_until_both_have_read(simulator, runs=2):
    """The worst interleaving, every time: no write is served until each run has read the existing actions, so
    neither run can see the other's actions before it decides to write."""
    read = threading.Event()
    lock = threading.Lock()
    reads = []
    handle = simulator.handle

    def gated(request):
        if request.method == "POST" and request.path.endswith("/StopAndQuarantineFile"):
            read.wait(GATE_TIMEOUT)
        outcome = handle(request)
        if request.route == LIST_ACTIONS:
            with lock:
                reads.append(request.path)
                if len(reads) >= runs:
                    read.set()
        return outcome

    simulator.handle = gated


def test_two_runs_at_once_create_one_action_per_machine(simulator, ansible, tmp_path, measured):
    """Two ansible-playbook runs (each with its own token cache, as two people would have) start together on the
    same 20 machines and file, and both decide to write before either has written: each machine ends with one
    action (so never more than one in flight), both runs succeed, 20 are reported created and 20 existing."""
    machines = seed(simulator, MACHINES)
    (tmp_path / "second").mkdir()
    runners = [ansible, AnsibleRunner(simulator, str(tmp_path / "second"))]
    hold_writes_until_both_have_read(simulator)
    start = threading.Barrier(len(runners))

    def run(runner):
        start.wait()
        return quarantine(runner, machine_ids=ids(machines))

    with ThreadPoolExecutor(len(runners)) as pool:
        runs = list(pool.map(run, runners))

    summaries = [result["summary"] for _run, result in runs]
    refused = [entry for entry in writes(simulator) if entry["status"] == 400]
    measured("run 1: created %d, existing %d; run 2: created %d, existing %d; %d writes, %d answered as duplicates; %s" % (
        summaries[0]["created"], summaries[0]["existing"], summaries[1]["created"], summaries[1]["existing"],
        len(writes(simulator)), len(refused), describe_actions(simulator, ids(machines))))
    assert len(writes(simulator)) == 2 * MACHINES, "the runs did not race: one saw the other's actions before writing"
    # Actions are never deleted, so one per machine at the end means never two in flight at once.
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    for finished, result in runs:
        assert finished.rc == 0, finished.output
        assert len(result["actions"]) == MACHINES
    assert sum(summary["created"] for summary in summaries) == MACHINES
    assert sum(summary["created"] + summary["existing"] for summary in summaries) == 2 * MACHINES

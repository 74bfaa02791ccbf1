"""Races: two people run the same playbook on the same machines and file at the same time."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.support.ansible_runner import AnsibleRunner
from tests.support.quarantine import LIST_ACTIONS, SHA1, ids, outcomes, quarantine, seed, writes
from tests.support.reliability import describe_actions, one_action_each, outcome_counts

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


def test_duplicate_answered_with_the_pending_action_is_judged_by_the_servers_clock(simulator, ansible, measured):
    """The API's clock is an hour ahead of the client's; the list lags two minutes, so the pre-check misses two
    actions already pending (one created 30 s before the run with the same comment, one just before it by
    someone else), and the API answers their duplicates 201 with the pending action: both are reported existing
    (by the answer's Date against creationDateTimeUtc, and by the other comment), not created; a third machine's
    new action is created."""
    machines = seed(simulator, 3)
    simulator.configure(list_lag_seconds=120, duplicate_response="return_existing")
    simulator.clock.advance(3600)
    now = simulator.clock.now()
    same_comment = simulator.add_machine_action(machines[0]["id"], SHA1, created=(now - timedelta(seconds=30)).isoformat(),
                                                comment="integration test")
    other_comment = simulator.add_machine_action(machines[1]["id"], SHA1, created=now.isoformat(), comment="INC-1: someone else")

    run, result = quarantine(ansible, machine_ids=ids(machines))

    reported = outcomes(result)
    measured("%s (changed: %s); %d writes; %s" % (outcome_counts(result), result.get("changed"), len(writes(simulator)),
                                                  describe_actions(simulator, ids(machines))))
    assert run.rc == 0, run.output
    assert reported == {machines[0]["id"]: "existing", machines[1]["id"]: "existing", machines[2]["id"]: "created"}
    action_ids = {entry["machine_id"]: entry["action_id"] for entry in result["actions"]}
    assert (action_ids[machines[0]["id"]], action_ids[machines[1]["id"]]) == (same_comment["id"], other_comment["id"])
    assert len(writes(simulator)) == 3
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))

"""Lost answers: writes that reach the service and create their action, and whose answer never comes back."""

import pytest

from tests.support.quarantine import LIST_ACTIONS, WRITE, ids, quarantine, seed, writes
from tests.support.reliability import describe_actions, one_action_each, outcome_counts

MACHINES = 30
SPEED = 10
# Real seconds: the module gives up on an answer after TIMEOUT, the simulator sends it a second later.
TIMEOUT = 1


def lose_every_third_write(simulator):
    """Of the first MACHINES calls of the write route, calls 3, 6, 9, ... create their action, then lose the answer:
    503 by default, the connection dropped on calls 12, 21 and 30, a timeout on calls 15 and 24 (when several
    faults are due the one added first fires; every fault counts every call)."""
    simulator.faults.add(WRITE, "drop_after", every=9, start=4, times=3)
    simulator.faults.add(WRITE, "timeout_after", every=9, start=7, times=2, delay=TIMEOUT + 1)
    simulator.faults.add(WRITE, "status_after", every=3, times=5, status=503)


@pytest.mark.parametrize("list_lag, duplicate_response, found_by_look_up", [
    # Only the module's look-up stands between a lost answer and a second action.
    pytest.param(20, "create_new", True, id="list-lag-20s-api-accepts-duplicates"),
    # Longer than the action takes to succeed (15 s), so only the look-up (up to 120 s) can stop a second write.
    pytest.param(60, "active_request_exists", False, id="list-lag-60s"),
])
def test_every_third_answer_lost_one_action_per_machine(simulator, ansible, measured, list_lag, duplicate_response,
                                                        found_by_look_up):
    """Every third write creates its action and then fails (503, dropped connection, timeout): at the end every
    machine has exactly one action and is reported."""
    machines = seed(simulator, MACHINES)
    simulator.configure(list_lag_seconds=list_lag, duplicate_response=duplicate_response, clock_speed=SPEED)
    lose_every_third_write(simulator)

    run, result = quarantine(ansible, machine_ids=ids(machines), request_timeout=TIMEOUT, env={"MDE_TIME_SCALE": SPEED})

    lost = {fault["kind"]: fault["fired"] for fault in simulator.faults.faults()}
    reported = {entry["machine_id"]: entry["outcome"] for entry in result["actions"]}
    measured("%d/%d reported (%s), %s; %d answers lost (%s); %d writes, %d action look-ups" % (
        len(reported), MACHINES, outcome_counts(result),
        describe_actions(simulator, ids(machines)),
        sum(lost.values()), ", ".join("%s %d" % item for item in sorted(lost.items())),
        len(writes(simulator)), simulator.counters.get(LIST_ACTIONS, 0) - 1))

    assert sum(lost.values()) == MACHINES // 3
    assert sorted(reported) == sorted(ids(machines))
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert run.rc == 0, run.output
    assert set(reported.values()) <= {"created", "existing"}
    if found_by_look_up:
        assert len(writes(simulator)) == MACHINES, "a write was sent twice"
        assert set(reported.values()) == {"created"}

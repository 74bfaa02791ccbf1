"""Lost answers: writes that reach the service and create their action, and whose answer never comes back.

The module runs in this process (tests/support/in_process.py): what is tested is its engine's look-ups."""

import pytest

from tests.support.quarantine import LIST_ACTIONS, WRITE, ids, outcomes, quarantine_in_process, seed, writes
from tests.support.messages import WRITTEN_TWICE
from tests.support.reliability import arrival, describe_actions, one_action_each, outcome_counts
from tests.support.tags import BULK, converge, tag_client, tag_writes, tags_of

MACHINES = 30
SPEED = 10
# Real seconds: the module gives up on an answer after TIMEOUT, the simulator sends it a second later.
TIMEOUT = 1


def lose_every_third_write(simulator):
    """Of the first MACHINES calls of the write route, calls 3, 6, 9, ... create their action, then lose the answer:
    504 (a gateway timeout) by default, the connection dropped on calls 12, 21 and 30, a timeout on calls 15 and 24 (when several
    faults are due the one added first fires; every fault counts every call)."""
    simulator.faults.add(WRITE, "drop_after", every=9, start=4, times=3)
    simulator.faults.add(WRITE, "timeout_after", every=9, start=7, times=2, delay=TIMEOUT + 1)
    simulator.faults.add(WRITE, "status_after", every=3, times=5, status=504)


@pytest.mark.parametrize("list_lag, duplicate_response, found_by_look_up", [
    # Only the module's look-up stands between a lost answer and a second action.
    pytest.param(20, "create_new", True, id="list-lag-20s-api-accepts-duplicates"),
    # Longer than the action takes to succeed (15 s), so only the look-up (up to 120 s) can stop a second write.
    pytest.param(60, "active_request_exists", False, id="list-lag-60s"),
])
def test_every_third_answer_lost_one_action_per_machine(simulator, modules, measured, list_lag, duplicate_response,
                                                        found_by_look_up):
    """Every third write creates its action and then fails (504, dropped connection, timeout): at the end every
    machine has exactly one action and is reported."""
    machines = seed(simulator, MACHINES)
    simulator.configure(list_lag_seconds=list_lag, duplicate_response=duplicate_response, clock_speed=SPEED)
    lose_every_third_write(simulator)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), timeout=TIMEOUT, env={"MDE_TIME_SCALE": SPEED})

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
    assert not run.failed, run.result
    assert set(reported.values()) <= {"created", "existing"}
    if found_by_look_up:
        assert len(writes(simulator)) == MACHINES, "a write was sent twice"
        assert set(reported.values()) == {"created"}


LONG_LAG = 300
LAG_SPEED = 30


def test_a_list_lag_longer_than_two_minutes_is_learnt_from_the_runs_own_writes(simulator, modules, measured):
    """The list shows new actions only after 5 minutes and the API accepts duplicates; the 5th of 10 writes
    creates its action and loses its answer. The module looks for it as long as its own answered writes take to
    show in the list (not a fixed 2 minutes), finds it, and sends no second write: one action per machine."""
    machines = seed(simulator, 10)
    simulator.configure(list_lag_seconds=LONG_LAG, duplicate_response="create_new", clock_speed=LAG_SPEED)
    simulator.faults.add(WRITE, "status_after", start=5, times=1, status=504)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": LAG_SPEED})

    measured("%s; %d writes, %d list calls; %s; warnings: %s" % (
        outcome_counts(result), len(writes(simulator)), simulator.counters.get(LIST_ACTIONS, 0),
        describe_actions(simulator, ids(machines)), written_twice(run) or "none"))
    assert not run.failed, run.result
    assert len(writes(simulator)) == 10, "the lost write was sent again"
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert set(outcomes(result).values()) == {"created"}
    assert not written_twice(run)


def test_a_machine_written_twice_despite_the_grace_is_reported(simulator, modules, measured):
    """With nothing to learn the lag from (one machine, its only write's answer lost) and a list 5 minutes behind,
    the module re-posts after the 2-minute grace and the API accepts the duplicate: the run says, in a warning
    naming the machine, that it may have been written twice."""
    machines = seed(simulator, 1)
    simulator.configure(list_lag_seconds=LONG_LAG, duplicate_response="create_new", clock_speed=LAG_SPEED)
    simulator.faults.add(WRITE, "status_after", times=1, status=504)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": LAG_SPEED})

    warnings = written_twice(run)
    measured("%s; %d writes; %s; warnings: %s" % (
        outcome_counts(result), len(writes(simulator)), describe_actions(simulator, ids(machines)), warnings or "none"))
    assert not run.failed, run.result
    assert len(writes(simulator)) == 2
    assert len(warnings) == 1 and machines[0]["id"] in warnings[0], run.warnings


def written_twice(run):
    """The run's warnings that a machine was (or may have been) written twice."""
    return [warning for warning in run.warnings if WRITTEN_TWICE in warning]


# Simulated seconds per real second for the in-process cases below: the lost-answer grace (120 s) takes 1.2 s.
NOT_TAKEN_SPEED = 100
RETRY_AFTER = 3


@pytest.mark.parametrize("status, retry_after, processed", [
    pytest.param(503, RETRY_AFTER, False, id="503-retry-after-3"),
    pytest.param(503, None, False, id="503-no-retry-after"),
    pytest.param(429, RETRY_AFTER, False, id="429-retry-after-3"),
    # A 503 sent after the service did take the write: the re-post meets the API's own duplicate check.
    pytest.param(503, None, True, id="503-after-the-write"),
    pytest.param(504, RETRY_AFTER, False, id="504-retry-after-3-not-passed-on"),
    pytest.param(504, None, False, id="504-not-passed-on"),
    pytest.param(504, None, True, id="504-after-the-write"),
])
def test_a_503_is_sent_again_after_its_retry_after_and_a_504_is_a_lost_answer(
        simulator, modules, measured, status, retry_after, processed):
    """One of three writes is answered 503 or 429 (the request was not taken), with or without
    `Retry-After: 3`: it is sent again once the Retry-After has passed (at least a second without one), without
    reading the action list first. Answered 504 (a gateway timeout, which may have passed the write on), it is a lost
    answer: the action list is read before any re-post, and the write is sent again only when no action shows."""
    machines = seed(simulator, 3)
    simulator.configure(clock_speed=NOT_TAKEN_SPEED)
    simulator.faults.add(WRITE, "status_after" if processed else "status", start=2, times=1, status=status,
                         retry_after=retry_after)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": NOT_TAKEN_SPEED})

    # The writes go out in parallel: the machine is the one whose write met the fault.
    [target] = [machine for machine in ids(machines) for entry in writes(simulator) if entry["fault"] and machine in entry["path"]]
    log = [entry for entry in simulator.request_log if target in entry["path"] or entry["route"] == LIST_ACTIONS]
    posts = [entry for entry in log if entry["route"] == WRITE]
    gap = arrival(posts[1]) - arrival(posts[0]) if len(posts) > 1 else None
    reads_between = [entry for entry in log if entry["route"] == LIST_ACTIONS
                     and posts[0]["seq"] < entry["seq"] < (posts[1]["seq"] if len(posts) > 1 else float("inf"))]
    measured("%s; %d POSTs to the machine (%s), %s apart; %d action-list reads after its first POST and before any second; %s" % (
        outcome_counts(result), len(posts), ", ".join(str(entry["status"]) for entry in posts),
        "%.1f simulated s" % gap if gap is not None else "-", len(reads_between),
        describe_actions(simulator, ids(machines))))

    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert {entry["machine_id"]: entry["outcome"] for entry in result["actions"]}[target] in {"created", "existing"}
    assert posts[0]["status"] == status
    if status in (429, 503):
        assert len(posts) == 2 and posts[1]["status"] in (201, 400), posts
        assert gap >= (retry_after or 1), "sent again %.2f simulated s after the %d" % (gap, status)
        assert reads_between == [], "a %d was read as a lost answer" % status
    elif processed:
        assert len(posts) == 1, "the write was sent again although the action list showed it"
    else:
        assert len(posts) == 2 and reads_between, "a 504 was sent again without reading the action list first"


def test_a_tag_call_whose_answer_is_lost_is_sent_once_more(simulator, measured):
    """machine_tags, in process: the first bulk tag call tags its machines and its answer is lost (504), the second
    one's connection drops after it took effect: each is sent once more, which changes nothing on the machines, and
    every machine is reported added; a call whose answer is lost twice is failed, not guessed."""
    client = tag_client(simulator)
    ids = [machine["id"] for machine in simulator.seed_fleet(3)]
    simulator.faults.add(BULK, "status_after", times=1, status=504)
    simulator.faults.add(BULK, "drop_after", start=3, times=1)

    result = converge(client, tags=["a", "b"], machine_ids=ids)
    simulator.faults.add(BULK, "status_after", times=2, status=504)
    lost_twice = converge(client, tags=["c"], machine_ids=ids)

    measured("bulk calls %s; outcomes %s; lost twice: %s" % (
        [(tag, status) for _action, tag, _ids, status in tag_writes(simulator)], result.summary, lost_twice.summary))
    assert [entry["tags"] for entry in result.machines] == [{"a": "added", "b": "added"}] * 3
    # The log has no status for the call whose connection dropped.
    assert [(tag, status) for _action, tag, _ids, status in tag_writes(simulator)][:4] == [("a", 504), ("a", 200), ("b", None), ("b", 200)]
    assert [entry["outcome"] for entry in lost_twice.machines] == ["failed"] * 3
    assert lost_twice.machines[0]["error"]["code"] == "AmbiguousWrite" and "run the task again" in lost_twice.failure
    assert tags_of(simulator) == {machine_id: ["a", "b", "c"] for machine_id in ids}

"""Garbage from the network: a proxy's HTML error page, truncated JSON, a 200 of an unexpected shape.

The modules run in this process (tests/support/in_process.py): what is tested is how they read the answers."""

import pytest

from tests.support.quarantine import FAST, LIST_ACTIONS, SHA1, WRITE, ids, outcomes, quarantine_in_process, seed, writes
from tests.support.reliability import describe_actions, has_traceback, one_action_each, outcome_counts

# Server errors on reads are retried with backoff (about 90 s in all); the accelerated clock makes that quick.
SPEED = 60

GARBAGE = {
    # kind: the HTTP status the error must name
    "html": 502,
    "malformed": 200,
    "unexpected_shape": 200,
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_answer_to_the_pre_check_read(simulator, modules, measured, kind):
    """Every answer to the read of existing actions is garbage: the task fails with a message that names the
    route and the HTTP status, without a traceback, and nothing is written."""
    machines = seed(simulator, 3)
    simulator.configure(clock_speed=SPEED)
    simulator.faults.add(LIST_ACTIONS, kind)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": SPEED})

    measured("calls: %d; %s" % (simulator.counters.get(LIST_ACTIONS, 0), result.get("msg")))
    assert run.failed
    assert LIST_ACTIONS in result["msg"] and "HTTP %d" % GARBAGE[kind] in result["msg"], result["msg"]
    assert not has_traceback(result), result
    assert writes(simulator) == []


def test_garbage_answers_to_writes(simulator, modules, measured):
    """Writes 2, 4 and 6 of 6 get an HTML 502 page before reaching the service, a truncated 201, and a 200 of an
    unexpected shape after creating the action: every machine ends with exactly one action, and each is reported
    either with its action id or with an error naming the route and the HTTP status."""
    machines = seed(simulator, 6)
    simulator.configure(clock_speed=SPEED)
    for call, kind in ((2, "html"), (4, "malformed"), (6, "unexpected_shape")):
        simulator.faults.add(WRITE, kind, start=call, times=1)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), allow_partial=True, env={"MDE_TIME_SCALE": SPEED})

    reports = {entry["machine_id"]: entry for entry in result["actions"]}
    damaged = {entry["fault"]: reports[entry["path"].split("/")[3]] for entry in writes(simulator) if entry["fault"]}
    measured("; ".join("%s: %s" % (kind, "%s with its action id" % report["outcome"] if report["action_id"] else
                                   "%s, %s" % (report["outcome"], (report["error"] or {}).get("message")))
                       for kind, report in sorted(damaged.items())) + "; " + describe_actions(simulator, ids(machines)))
    assert not run.failed, run.result
    assert sorted(reports) == sorted(ids(machines))
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    accepted = sorted(entry["path"].split("/")[3] for entry in writes(simulator) if 200 <= (entry["status"] or 0) < 300)
    assert accepted == sorted(ids(machines)), "each machine's write must be accepted exactly once"
    for entry in result["actions"]:
        if entry["outcome"] in ("created", "existing"):
            assert entry["action_id"] and entry["error"] is None, entry
        else:
            assert WRITE in entry["error"]["message"] and entry["error"]["http_status"], entry


def test_garbage_dates_in_every_answer_never_give_a_traceback(simulator, modules, measured):
    """Every date in every API answer is impossible (`2025-13-45T00:00:00Z` in lastSeen, firstSeen,
    creationDateTimeUtc, lastUpdateDateTimeUtc, ...), with a name that two machines share, an action of the file
    already pending, and then with `wait`: the module, machine_info and machine_action_info complete without a traceback;
    each machine is reported and ends with exactly one action."""
    machines = seed(simulator, 3)
    # An older, offboarded namesake: choosing between the two reads their lastSeen.
    simulator.add_machine(machines[0]["computerDnsName"], onboarding_status="Offboarded")
    simulator.add_machine_action(machines[1]["id"], SHA1, status="Pending")
    simulator.configure(clock_speed=FAST)
    simulator.faults.add("*", "garbage_dates")
    names = [machine["computerDnsName"] for machine in machines]

    result = quarantine_in_process(modules, machine_names=names, env={"MDE_TIME_SCALE": FAST})[1]
    # Waiting reads every action's dates while it polls; the seeded action never moves on, so it is left out.
    waited_result = quarantine_in_process(modules, machine_ids=[machines[0]["id"], machines[2]["id"]], wait=True,
                                          wait_timeout=600, env={"MDE_TIME_SCALE": FAST})[1]
    found = modules.run("machine_info", machine_names=names).result
    listed = modules.run("machine_action_info", sha1=SHA1).result

    garbage = sum(fault["fired"] for fault in simulator.faults.faults())
    measured("%d answers with garbage dates; quarantine: %s; with wait: %s; machine_info: %s; machine_action_info: %s; %s" % (
        garbage, result.get("msg") or outcome_counts(result), waited_result.get("msg") or outcome_counts(waited_result),
        found.get("msg") or "%d machines" % len(found.get("machines", [])),
        listed.get("msg") or "%d actions" % len(listed.get("machine_actions", [])),
        describe_actions(simulator, ids(machines))))

    # A traceback would have ended the test at the module's run; a clean failure is caught here.
    for module_result in (result, waited_result, found, listed):
        assert not has_traceback(module_result) and not module_result.get("failed"), module_result
    assert outcomes(result) == {machines[0]["id"]: "created", machines[1]["id"]: "existing", machines[2]["id"]: "created"}
    assert {entry["status"] for entry in waited_result["actions"]} == {"Succeeded"}
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert len(found["machines"]) == 4  # the namesakes too

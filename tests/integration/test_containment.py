"""machine_isolation and app_restriction: once through ansible-playbook for both modules (outcomes, the request log,
reruns, check mode, protection, a crossing action), and their variants in process against the HTTPS simulator."""

from __future__ import annotations

import pytest

from tests.support.containment import CONTAINER, contain, history, outcomes, register_container, sent, states
from tests.support.quarantine import FAST


def fleet(simulator, count, **machine_options):
    return [simulator.add_machine("ws-%02d.contoso.local" % number, **machine_options) for number in range(count)]


def ids(machines):
    return [machine["id"] for machine in machines]


def test_isolation_and_restriction_through_ansible_playbook(simulator, ansible):
    register_container(simulator)
    released, isolated, crossing, protected, old = (
        simulator.add_machine("ws-0.contoso.local"), simulator.add_machine("ws-1.contoso.local"),
        simulator.add_machine("ws-2.contoso.local"), simulator.add_machine("dc-1.contoso.local", tags=("domain-controller",)),
        simulator.add_machine("ws-4.contoso.local", os_platform="Windows10", version="1607"))
    history(simulator, isolated, ("Unisolate", "Succeeded", 120), ("Isolate", "Succeeded", 60, "Selective"),
            ("RestrictCodeExecution", "Succeeded", 50))
    _isolate, release = history(simulator, crossing, ("Isolate", "Succeeded", 90), ("Unisolate", "Pending", 5))
    machines = [released, isolated, crossing, protected, old]

    run = ansible.playbook("containment.yml", {"machine_ids": ids(machines)}, env=CONTAINER)

    assert run.rc == 0, run.output
    predicted, isolating, again = run.result("Predict isolation"), run.result("Isolate"), run.result("Isolate again")
    expected = ["created", "existing", "failed", "protected", "unsupported"]
    assert outcomes(isolating) == expected
    # Check mode predicts the real run machine by machine.
    assert outcomes(predicted) == ["would_create"] + expected[1:]
    assert states(predicted, "state_before", "state_after", "isolation_type_after") == states(
        isolating, "state_before", "state_after", "isolation_type_after")
    assert states(isolating, "state_before", "isolation_type_before", "state_after", "isolation_type_after") == [
        ("released", None, "isolated", "Full"), ("isolated", "Selective", "isolated", "Selective"),
        ("isolated", "Full", "isolated", "Full"), (None, None, None, None), (None, None, None, None)]
    assert isolating["actions"][2]["error"]["code"] == "CrossingActionInFlight"
    assert release["id"] in isolating["actions"][2]["error"]["message"]
    assert isolating["actions"][3]["protected"]["reason"] == "it has the protected tag domain-controller"
    assert isolating["actions"][4]["unsupported"]["code"] == "ClientVersionNotSupported"
    assert isolating["changed"] is True and predicted["changed"] is True
    # The rerun finds the Isolate it sent in flight: nothing to do.
    assert outcomes(again) == ["existing"] + expected[1:] and again["changed"] is False
    assert again["actions"][0]["action_id"] == isolating["actions"][0]["action_id"]

    restricting, restricted_again = run.result("Restrict"), run.result("Restrict again")
    expected = ["created", "existing", "created", "protected", "unsupported"]
    assert outcomes(run.result("Predict restriction")) == ["would_create", "existing", "would_create", "protected", "unsupported"]
    assert outcomes(restricting) == expected and restricting["changed"] is True
    assert states(restricting) == [("unrestricted", "restricted"), ("restricted", "restricted"), ("unrestricted", "restricted"),
                                   (None, None), (None, None)]
    assert "isolation_type_after" not in restricting["actions"][0]
    assert outcomes(restricted_again) == ["existing", "existing", "existing", "protected", "unsupported"]
    assert restricted_again["changed"] is False
    # On the wire: one Isolate and two restrictions, nothing across the crossing action, nothing to the protected or
    # unsupported machines, nothing in check mode or in the reruns.
    written = [(action_type, machine_id, status) for action_type, machine_id, _body, status in sent(simulator)]
    # The writes of one task go out in parallel.
    assert written[:1] + sorted(written[1:]) == [("Isolate", released["id"], 201)] + sorted(
        [("RestrictCodeExecution", released["id"], 201), ("RestrictCodeExecution", crossing["id"], 201)])
    assert sent(simulator)[0][2] == {"Comment": "INC-4711: contain", "IsolationType": "Full"}
    # Each run read the machines' actions of both types with one list call.
    assert len(simulator.log_for(route="machineactions.list")) == 6


# The four action types, each with the module that sends it, its state option and the state it leaves.
ASKED = {"Isolate": ("machine_isolation", "isolated"), "Unisolate": ("machine_isolation", "released"),
         "RestrictCodeExecution": ("app_restriction", "restricted"), "UnrestrictCodeExecution": ("app_restriction", "unrestricted")}
OPPOSITE = {"Isolate": "Unisolate", "Unisolate": "Isolate", "RestrictCodeExecution": "UnrestrictCodeExecution",
            "UnrestrictCodeExecution": "RestrictCodeExecution"}
# Long enough that the pre-check never sees an action seeded at the start of the test.
HIDDEN = 3600


def ask(modules, action_type, machines, check=False, **options):
    module, state = ASKED[action_type]
    return contain(modules, module, check=check, state=state, machine_ids=ids(machines), **options)


def contained_before(simulator, action_type, machine, minutes=120):
    """A release needs a contained machine: its containing action succeeded ``minutes`` ago."""
    if action_type in ("Unisolate", "UnrestrictCodeExecution"):
        history(simulator, machine, (OPPOSITE[action_type], "Succeeded", minutes))


@pytest.mark.parametrize("action_type", sorted(ASKED))
@pytest.mark.parametrize("variant, status", [("active_request_exists", 201), ("already_in_progress", 201), ("return_existing", 201),
                                             ("return_existing", 200)])
def test_both_duplicate_answers_are_existing_when_the_list_hid_the_action(simulator, modules, action_type, variant, status):
    [machine] = fleet(simulator, 1)
    contained_before(simulator, action_type, machine)
    [pending] = history(simulator, machine, (action_type, "Pending", 0))
    simulator.configure(list_lag_seconds=HIDDEN, duplicate_response=variant, duplicate_existing_status=status)

    run = ask(modules, action_type, [machine])

    assert not run.failed and run.changed is False, run.result
    [entry] = run.result["actions"]
    assert entry["outcome"] == "existing" and entry["state_after"] == ASKED[action_type][1]
    # The 2xx carries the pending action; after a 400 the lagging list cannot show it, and a warning says so.
    assert entry["action_id"] == (pending["id"] if variant == "return_existing" else None)
    assert any("does not show yet" in warning for warning in run.warnings) == (variant != "return_existing")
    assert [entry[3] for entry in sent(simulator)] == [status if variant == "return_existing" else 400]


@pytest.mark.parametrize("action_type", sorted(ASKED))
@pytest.mark.parametrize("variant", ["out_of_order", "in_order", "refused", "return_pending"])
def test_a_crossing_action_is_never_sent_across_whatever_the_api_would_do(simulator, modules, action_type, variant):
    simulator.configure(crossed_request_response=variant)
    crossing, free = fleet(simulator, 2)
    for machine in (crossing, free):
        contained_before(simulator, action_type, machine)
    [running] = history(simulator, crossing, (OPPOSITE[action_type], "InProgress", 1))

    predicted = ask(modules, action_type, [crossing, free], check=True)
    run = ask(modules, action_type, [crossing, free])

    assert run.failed and "1 of 2 machines failed" in run.result["msg"]
    for result in (predicted.result, run.result):
        assert outcomes(result)[1:] == ["would_create" if result is predicted.result else "created"]
        error = result["actions"][0]["error"]
        assert result["actions"][0]["outcome"] == "failed" and error["code"] == "CrossingActionInFlight"
        for words in (running["id"], OPPOSITE[action_type], "InProgress", "wait: true"):
            assert words in error["message"]
        assert result["actions"][0]["state_after"] == result["actions"][0]["state_before"]
    assert [(written, machine_id) for written, machine_id, _body, _status in sent(simulator)] == [(action_type, free["id"])]


def test_a_crossed_request_the_lagging_list_hid_is_answered_with_the_opposite_action_and_fails(simulator, modules):
    simulator.configure(crossed_request_response="return_pending", list_lag_seconds=HIDDEN)
    [machine] = fleet(simulator, 1)
    # Isolated two hours ago, and again (as another type, say) a moment ago, which the list does not show yet.
    history(simulator, machine, ("Isolate", "Succeeded", 120))
    [running] = history(simulator, machine, ("Isolate", "Pending", 0, "Selective"))

    run = ask(modules, "Unisolate", [machine])

    [entry] = run.result["actions"]
    assert run.failed and (entry["outcome"], entry["error"]["code"]) == ("failed", "CrossingActionInFlight")
    assert running["id"] in entry["error"]["message"] and entry["state_after"] == "isolated"
    assert len(sent(simulator)) == 1


def test_actions_completed_out_of_order_are_read_by_completion_and_the_rerun_converges(simulator, modules):
    """#5903: the lagging list hid an Isolate in flight, so the release crossed it; the Isolate then completed last and
    left the machine isolated. The next run reads it so, and releases it again."""
    simulator.configure(crossed_request_response="out_of_order", list_lag_seconds=HIDDEN, clock_speed=FAST)
    [machine] = fleet(simulator, 1)
    history(simulator, machine, ("Isolate", "Succeeded", 120, "Selective"))
    [isolate] = history(simulator, machine, ("Isolate", "Pending", 0), outcome="Succeeded")

    first = ask(modules, "Unisolate", [machine], env={"MDE_TIME_SCALE": FAST})
    simulator.configure(list_lag_seconds=0)
    simulator.clock.sleep(120)
    by_id = {action["id"]: action for action in simulator.actions()}
    release = by_id[first.result["actions"][0]["action_id"]]
    rerun = ask(modules, "Unisolate", [machine], env={"MDE_TIME_SCALE": FAST})

    assert outcomes(first.result) == ["created"]
    assert by_id[isolate["id"]]["creationDateTimeUtc"] < release["creationDateTimeUtc"]
    assert by_id[isolate["id"]]["lastUpdateDateTimeUtc"] > release["lastUpdateDateTimeUtc"]
    assert (by_id[isolate["id"]]["status"], release["status"]) == ("Succeeded", "Succeeded")
    [entry] = rerun.result["actions"]
    assert (entry["outcome"], entry["state_before"], entry["isolation_type_before"]) == ("created", "isolated", "Full")
    assert [written for written, _id, _body, _status in sent(simulator)] == ["Unisolate", "Unisolate"]


@pytest.mark.parametrize("module, action_type", [("machine_isolation", "Isolate"), ("app_restriction", "RestrictCodeExecution")])
def test_wait_waits_for_a_crossing_action_then_decides_again_check_mode_does_not_wait(simulator, modules, module, action_type):
    simulator.configure(clock_speed=FAST)
    [machine] = fleet(simulator, 1)
    [running] = history(simulator, machine, (action_type, "Pending", 0), outcome="Succeeded")
    release = OPPOSITE[action_type]

    predicted = ask(modules, release, [machine], check=True, wait=True, env={"MDE_TIME_SCALE": FAST})
    run = ask(modules, release, [machine], wait=True, env={"MDE_TIME_SCALE": FAST})

    assert predicted.result["actions"][0]["error"]["code"] == "CrossingActionInFlight" and sent(simulator)[:-1] == []
    assert not run.failed, run.result
    [entry] = run.result["actions"]
    assert (entry["outcome"], entry["status"], entry["state_before"], entry["state_after"]) == (
        "created", "Succeeded", ASKED[action_type][1], ASKED[release][1])
    by_id = {action["id"]: action for action in simulator.actions()}
    # Sent only once the crossing action had completed.
    assert by_id[entry["action_id"]]["creationDateTimeUtc"] >= by_id[running["id"]]["lastUpdateDateTimeUtc"]
    assert [written for written, _id, _body, _status in sent(simulator)] == [release]


@pytest.mark.parametrize("ignores_scope", [True, False])
def test_an_isolation_of_another_type_in_flight_blocks_and_a_hidden_one_is_answered_as_the_switch_says(simulator, modules, ignores_scope):
    simulator.configure(duplicate_ignores_scope=ignores_scope, duplicate_response="return_existing")
    seen, hidden = fleet(simulator, 2)
    [selective] = history(simulator, seen, ("Isolate", "Pending", 90, "Selective"))
    [hidden_selective] = history(simulator, hidden, ("Isolate", "Pending", 0, "Selective"))
    simulator.configure(list_lag_seconds=HIDDEN / 60)

    run = ask(modules, "Isolate", [seen, hidden], isolation_type="Full", allow_partial=True)

    blocked, answered = run.result["actions"]
    assert (blocked["outcome"], blocked["error"]["code"], blocked["action_id"]) == ("failed", "CrossingActionInFlight", selective["id"])
    assert [(written, machine_id) for written, machine_id, _body, _status in sent(simulator)] == [("Isolate", hidden["id"])]
    if ignores_scope:
        # The API took the request as the duplicate of the Selective isolation: the machine ends up isolated so.
        assert (answered["outcome"], answered["action_id"], answered["isolation_type_after"]) == ("existing", hidden_selective["id"], "Selective")
    else:
        assert (answered["outcome"], answered["isolation_type_after"], answered["action"]["scope"]) == ("created", "Full", "Full")


@pytest.mark.parametrize("change", [False, True])
def test_changing_the_isolation_type_is_explicit(simulator, modules, change):
    [machine] = fleet(simulator, 1)
    [selective] = history(simulator, machine, ("Isolate", "Succeeded", 60, "Selective"))

    run = ask(modules, "Isolate", [machine], isolation_type="Full", change_isolation_type=change)

    [entry] = run.result["actions"]
    assert not run.failed and run.changed is change
    assert (entry["isolation_type_before"], entry["isolation_type_after"]) == ("Selective", "Full" if change else "Selective")
    if change:
        assert entry["outcome"] == "created" and sent(simulator)[0][2] == {"Comment": "INC-4711", "IsolationType": "Full"}
        assert run.warnings == []
    else:
        assert (entry["outcome"], entry["action_id"], sent(simulator)) == ("existing", selective["id"], [])
        [warning] = run.warnings
        assert "stays isolated as Selective" in warning and "change_isolation_type: true" in warning


def test_machines_that_cannot_run_the_action_are_unsupported_and_unsent_in_check_mode_and_for_real(simulator, modules):
    cases = [("machine_isolation", {"state": "isolated"}, ["created", "created", "created"]),
             ("machine_isolation", {"state": "isolated", "isolation_type": "Selective", "change_isolation_type": True},
              ["unsupported", "created", "unsupported"]),
             ("app_restriction", {"state": "restricted"}, ["unsupported", "created", "unsupported"])]
    written = []
    for number, (module, options, expected) in enumerate(cases):
        machines = [simulator.add_machine("old-%d.contoso.local" % number, os_platform="Windows10", version="1703"),
                    simulator.add_machine("new-%d.contoso.local" % number, os_platform="Windows10", version="1709"),
                    simulator.add_machine("tux-%d.contoso.local" % number, os_platform="Linux")]
        predicted = contain(modules, module, check=True, machine_ids=ids(machines), **options)
        run = contain(modules, module, machine_ids=ids(machines), **options)
        assert outcomes(run.result) == expected and outcomes(predicted.result) == [
            outcome.replace("created", "would_create") for outcome in expected]
        for entry in run.result["actions"]:
            assert (entry["outcome"] == "unsupported") == ("unsupported" in entry)
        assert any("cannot run" in warning for warning in run.warnings) == ("unsupported" in expected)
        written.append(sorted(machine_id for _type, machine_id, _body, _status in sent(simulator)[len(sum(written, [])):]))
        assert written[-1] == sorted(machine["id"] for machine, outcome in zip(machines, expected) if outcome == "created")
    codes = [entry["unsupported"]["code"] for entry in run.result["actions"] if entry["outcome"] == "unsupported"]
    assert codes == ["ClientVersionNotSupported", "OsPlatformNotSupported"]
    assert [action_type for action_type, _id, _body, _status in sent(simulator)] == ["Isolate"] * 4 + ["RestrictCodeExecution"]


@pytest.mark.parametrize("extra", [[], ["macOS"]])
def test_a_platform_no_page_lists_is_left_to_the_api_whose_refusal_is_unsupported(simulator, modules, extra):
    simulator.configure(extra_platforms_by_type={"Isolate": extra})
    [mac] = [simulator.add_machine("mac.contoso.local", os_platform="macOS")]

    predicted = contain(modules, check=True, state="isolated", machine_ids=ids([mac]))
    run = contain(modules, state="isolated", machine_ids=ids([mac]))

    assert outcomes(predicted.result) == ["would_create"]
    [entry] = run.result["actions"]
    if extra:
        assert entry["outcome"] == "created"
    else:
        assert (entry["outcome"], entry["unsupported"]["code"]) == ("unsupported", "OsPlatformNotSupported")
        assert "the API refused the action" in entry["unsupported"]["message"] and not run.failed
    assert len(sent(simulator)) == 1


@pytest.mark.parametrize("scope", ["not_onboarded_only", "any_machine"])
@pytest.mark.parametrize("other_actions", ["refused", "pending"])
def test_unmanaged_devices_are_contained_only_with_unmanaged_device_and_released_like_any_machine(simulator, modules, scope, other_actions):
    simulator.configure(unmanaged_isolation_scope=scope, unmanaged_device_actions=other_actions)
    onboarded = simulator.add_machine("ws-1.contoso.local")
    unmanaged = simulator.add_machine("printer-7.contoso.local", os_platform="Linux", onboarding_status="CanBeOnboarded")
    contained = simulator.add_machine("camera-2.contoso.local", os_platform="Linux", onboarding_status="CanBeOnboarded")
    history(simulator, contained, ("Isolate", "Succeeded", 30, "UnManagedDevice"))
    targets = [onboarded, unmanaged]

    predicted = contain(modules, check=True, state="isolated", isolation_type="UnManagedDevice", machine_ids=ids(targets))
    run = contain(modules, state="isolated", isolation_type="UnManagedDevice", machine_ids=ids(targets))
    full = contain(modules, state="isolated", machine_ids=ids([unmanaged]))
    released = contain(modules, state="released", machine_ids=ids([contained]))

    assert outcomes(predicted.result) == ["unsupported", "would_create"] and outcomes(run.result) == ["unsupported", "created"]
    assert run.result["actions"][0]["unsupported"]["code"] == "DeviceOnboarded"
    assert run.result["actions"][1]["isolation_type_after"] == "UnManagedDevice"
    [entry] = full.result["actions"]
    # The UnManagedDevice isolation of the run before is in flight, which serves a Full request for the same device
    # only in name: the onboarding status decides first.
    assert (entry["outcome"], entry["unsupported"]["code"]) == ("unsupported", "DeviceNotOnboarded")
    [entry] = released.result["actions"]
    assert (entry["outcome"], entry["state_before"], entry["isolation_type_before"]) == ("created", "isolated", "UnManagedDevice")
    assert [(action_type, machine_id) for action_type, machine_id, _body, _status in sent(simulator)] == [
        ("Isolate", unmanaged["id"]), ("Unisolate", contained["id"])]


@pytest.mark.parametrize("module, permission, state", [("machine_isolation", "Machine.Isolate", "isolated"),
                                                       ("machine_isolation", "Machine.Isolate", "released"),
                                                       ("app_restriction", "Machine.RestrictExecution", "restricted")])
def test_a_missing_permission_is_predicted_named_and_stops_the_writes(simulator, modules, module, permission, state):
    machines = fleet(simulator, 3)
    for machine in machines if state == "released" else ():
        history(simulator, machine, ("Isolate", "Succeeded", 60))
    roles = tuple(role for role in ("Machine.Read.All", "Machine.Isolate", "Machine.RestrictExecution") if role != permission)

    predicted = contain(modules, module, check=True, roles=roles, state=state, machine_ids=ids(machines))
    run = contain(modules, module, roles=roles, state=state, machine_ids=ids(machines))

    for result in (predicted.result, run.result):
        assert outcomes(result) == ["failed"] * 3, result
        assert {entry["error"]["missing_permission"] for entry in result["actions"]} == {permission}
    assert permission in run.result["msg"] and "admin consent" in run.result["msg"]
    # The first write goes alone; its 403 keeps the others unsent.
    assert [status for _type, _id, _body, status in sent(simulator)] == [403]


def test_a_lost_answer_is_looked_for_before_at_most_one_more_write(simulator, modules):
    simulator.configure(clock_speed=FAST)
    taken, not_taken = fleet(simulator, 2)
    simulator.faults.add("machines.isolate", "status_after", times=1, status=504)
    simulator.faults.add("machines.restrictCodeExecution", "status", times=1, status=504)

    isolated = contain(modules, state="isolated", machine_ids=ids([taken]), env={"MDE_TIME_SCALE": FAST})
    restricted = contain(modules, "app_restriction", state="restricted", machine_ids=ids([not_taken]), env={"MDE_TIME_SCALE": FAST})

    assert outcomes(isolated.result) == ["created"] and outcomes(restricted.result) == ["created"]
    assert [(action_type, status) for action_type, _id, _body, status in sent(simulator)] == [
        ("Isolate", 504), ("RestrictCodeExecution", 504), ("RestrictCodeExecution", 201)]
    assert len([action for action in simulator.actions() if action["type"] == "Isolate"]) == 1
    assert any("may have been written twice" in warning for warning in restricted.warnings)


def test_max_machines_and_protect_are_checked_before_any_write_and_releasing_ignores_protect(simulator, modules):
    machines = fleet(simulator, 26)
    dc = simulator.add_machine("dc-01.contoso.local", rbac_group_name="Tier 0")
    history(simulator, dc, ("Isolate", "Succeeded", 60))
    protect = {"device_groups": ["tier 0"], "name_patterns": ["ws-0?.contoso.local"]}

    refused = contain(modules, state="isolated", machine_ids=ids(machines))
    names = contain(modules, "app_restriction", state="restricted", machine_names=[machine["computerDnsName"] for machine in machines[:3]],
                    max_machines=2)
    guarded = contain(modules, state="isolated", machine_ids=ids(machines[8:12] + [dc]), protect=protect)
    released = contain(modules, state="released", machine_ids=ids([dc]), protect=protect)

    assert refused.failed and "more than max_machines (25): nothing was sent" in refused.result["msg"]
    assert "max_machines: 26" in refused.result["msg"] and names.failed and "max_machines: 3" in names.result["msg"]
    assert outcomes(guarded.result) == ["protected", "protected", "created", "created", "protected"]
    assert guarded.result["actions"][0]["protected"]["reason"] == "its name ws-08.contoso.local matches the protected pattern ws-0?.contoso.local"
    assert guarded.result["actions"][4]["protected"]["reason"] == "it is in the protected device group Tier 0"
    assert outcomes(released.result) == ["created"]
    assert [(action_type, machine_id) for action_type, machine_id, _body, _status in sorted(sent(simulator))] == sorted(
        [("Isolate", machines[10]["id"]), ("Isolate", machines[11]["id"]), ("Unisolate", dc["id"])])


@pytest.mark.parametrize("ending", ["Failed", "TimeOut"])
def test_with_wait_an_action_that_ends_badly_leaves_the_state_before_and_one_queued_the_asked_state(simulator, modules, ending):
    simulator.configure(clock_speed=FAST)
    ends_badly = simulator.add_machine("ws-1.contoso.local", action_outcomes={"RestrictCodeExecution": ending})
    offline = simulator.add_machine("laptop-7.contoso.local", health_status="Inactive", quarantine_outcome="Pending")

    run = contain(modules, "app_restriction", state="restricted", machine_ids=ids([ends_badly, offline]), wait=True, wait_timeout=120,
                  allow_partial=True, env={"MDE_TIME_SCALE": FAST})

    failed, queued = run.result["actions"]
    assert (failed["outcome"], failed["error"]["code"], failed["status"]) == ("failed", "Action%s" % ending, ending)
    assert (failed["state_before"], failed["state_after"]) == ("unrestricted", "unrestricted")
    assert (queued["outcome"], queued["queued"]["health_status"], queued["state_after"]) == ("queued", "Inactive", "restricted")
    assert run.changed and len(sent(simulator)) == 2


@pytest.mark.parametrize("module, options, words", [
    ("machine_isolation", {"state": "released", "isolation_type": "Full"}, "isolation_type applies to state isolated only"),
    ("machine_isolation", {"state": "released", "change_isolation_type": True}, "leave change_isolation_type out"),
    ("machine_isolation", {"state": "isolated", "machine_ids": ["ws-01"]}, "machine_ids[0] must be a Defender device id"),
    ("app_restriction", {"state": "restricted", "comment": "INC-1\x07"}, "control character U+0007"),
    ("app_restriction", {"state": "restricted", "protect": {"tags": [""]}}, "protect.tags[0] is empty"),
    ("app_restriction", {"state": "restricted", "machine_ids": ["a" * 40], "max_machines": 0}, "max_machines must be a whole number"),
])
def test_bad_input_is_refused_before_any_request(simulator, modules, module, options, words):
    options.setdefault("machine_ids", ["a" * 40])
    run = contain(modules, module, **options)

    assert run.failed and words in run.result["msg"], run.result
    assert simulator.request_log == []

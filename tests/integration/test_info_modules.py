"""machine_info and machine_action_info against the simulator: what they return and send.

One test per module runs it through ansible-playbook; the other filters and the input checks run the module in this
process (tests/support/in_process.py), which parses and checks its options as a task does."""

import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.quarantine import OTHER_SHA1, SHA1, ids, seed


def filters_sent(simulator, route):
    """The $filter of every call of ``route``, in order (None for a call without one)."""
    return [urllib.parse.parse_qs(urllib.parse.urlsplit("?" + entry["query"]).query, keep_blank_values=True).get("$filter", [None])[0]
            for entry in simulator.log_for(route=route)]


def api_methods(simulator):
    return {entry["method"] for entry in simulator.request_log if entry["route"] != "token"}


def machine_names(result):
    assert result["changed"] is False
    return [machine["computerDnsName"] for machine in result["machines"]]


def find_machines(modules, check=False, **options):
    run = modules.run("machine_info", check=check, **options)
    assert not run.failed, run.result
    return machine_names(run.result)


def find_actions(modules, **options):
    run = modules.run("machine_action_info", **options)
    assert not run.failed, run.result
    assert run.result["changed"] is False
    return run.result["machine_actions"]


def test_typed_filters_are_sent_as_one_quoted_filter(simulator, ansible):
    simulator.add_machine("fin-01.contoso.local", tags=("finance",), risk_score="High", rbac_group_id=7)
    simulator.add_machine("fin-02.contoso.local", tags=("finance",), risk_score="Low", rbac_group_id=7)
    simulator.add_machine("fin-03.contoso.local", tags=("finance",), risk_score="High", health_status="Inactive", rbac_group_id=7)
    simulator.add_machine("hr-01.contoso.local", tags=("hr",), risk_score="High", rbac_group_id=7)
    simulator.add_machine("old-01.contoso.local", tags=("finance",), risk_score="High", rbac_group_id=7,
                          last_seen=datetime.now(timezone.utc) - timedelta(days=30))

    run = ansible.playbook("machine_info.yml", extra_vars=dict(tag="finance", risk_score="High", health_status="Active", os_platform="Windows11",
                                                               rbac_group_id=7, last_seen_after="7d"))

    assert run.rc == 0, run.output
    names = machine_names(run.result("Find machines"))

    assert names == ["fin-01.contoso.local"]
    [sent] = filters_sent(simulator, "machines.list")
    assert sent.startswith("machineTags/any(tag: tag eq 'finance') and healthStatus eq 'Active' and osPlatform eq 'Windows11'"
                           " and riskScore eq 'High' and rbacGroupId eq 7 and lastSeen gt ")
    assert api_methods(simulator) == {"GET"}


def test_a_hostile_tag_is_only_ever_a_literal(simulator, modules):
    hostile = "x') or true or ('"
    simulator.add_machine("tagged.contoso.local", tags=(hostile,))
    simulator.add_machine("other.contoso.local", tags=("finance",))

    assert find_machines(modules, tag=hostile) == ["tagged.contoso.local"]
    assert filters_sent(simulator, "machines.list") == ["machineTags/any(tag: tag eq 'x'') or true or (''')"]


def test_ids_names_and_observed_machines_add_up_in_that_order(simulator, modules):
    machines = seed(simulator, 4)
    bystander = simulator.add_machine("ws-99.contoso.local")

    names = find_machines(modules, machine_ids=[machines[3]["id"].upper()], machine_names=["WS-02.contoso.local", bystander["computerDnsName"]],
                          observed_sha1=SHA1)

    assert names == ["ws-04.contoso.local", "ws-02.contoso.local", "ws-99.contoso.local", "ws-01.contoso.local", "ws-03.contoso.local"]
    assert simulator.counters.get("files.machines") == 1
    assert simulator.counters.get("machines.list") == 2


def test_observed_machines_are_narrowed_by_the_filters_in_check_mode_too(simulator, modules):
    machines = seed(simulator, 3)
    simulator.add_file(SHA1, observed_on=ids(machines))
    risky = simulator.add_machine("risky.contoso.local", risk_score="High", observed_files=[SHA1])
    simulator.add_machine("risky-unrelated.contoso.local", risk_score="High")

    assert find_machines(modules, check=True, observed_sha1=SHA1, risk_score="High") == [risky["computerDnsName"]]
    [sent] = filters_sent(simulator, "machines.list")
    assert sent.endswith(" and riskScore eq 'High'") and sent.count(" eq '") == 5
    assert api_methods(simulator) == {"GET"}


@pytest.mark.parametrize("module, options, message", [
    ("machine_info", {"observed_sha1": SHA1[:32]}, "observed_sha1 must be the SHA-1 of a file"),
    ("machine_info", {"machine_ids": ["ws-01.contoso.local"]}, "machine_ids[0] must be a Defender device id"),
    ("machine_info", {"health_status": "Healthy"}, "value of health_status must be one of"),
    ("machine_info", {"last_seen_after": "last week"}, "last_seen_after must be a date or date and time"),
    ("machine_action_info", {"status": ["Pending", "Done"]}, "value of status must be one or more of"),
    ("machine_action_info", {"action_ids": ["42"]}, "action_ids[0] must be a machine action id"),
    ("machine_action_info", {"sha1": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, "sha1 must be the SHA-1"),
])
def test_invalid_input_fails_before_any_request(simulator, modules, module, options, message):
    run = modules.run(module, **options)

    assert run.failed
    assert message in run.result["msg"]
    assert simulator.request_log == []


def test_actions_by_machine_status_and_file(simulator, ansible):
    machines = seed(simulator, 3)
    pending = simulator.add_machine_action(machines[0]["id"], SHA1, status="Pending")
    simulator.add_machine_action(machines[0]["id"], SHA1, status="Succeeded")
    simulator.add_machine_action(machines[0]["id"], OTHER_SHA1, status="Pending")
    simulator.add_machine_action(machines[1]["id"], SHA1, status="Pending")

    run = ansible.playbook("machine_action_info.yml", extra_vars=dict(machine_ids=[machines[0]["id"]], status=["Pending", "InProgress"],
                                                                      type="StopAndQuarantineFile", sha1=SHA1.upper()))

    assert run.rc == 0, run.output
    result = run.result("Find machine actions")
    assert result["changed"] is False
    found = result["machine_actions"]

    assert [action["id"] for action in found] == [pending["id"]]
    assert found[0]["relatedFileInfo"]["fileIdentifier"].lower() == SHA1
    assert filters_sent(simulator, "machineactions.list") == [
        "(machineId eq '%s') and type eq 'StopAndQuarantineFile' and (status eq 'Pending' or status eq 'InProgress')" % machines[0]["id"]]


def test_actions_by_id_and_creation_time_come_newest_first(simulator, modules):
    machines = seed(simulator, 3)
    now = datetime.now(timezone.utc)
    old = simulator.add_machine_action(machines[0]["id"], SHA1, status="Succeeded", created=now - timedelta(days=3))
    older = simulator.add_machine_action(machines[1]["id"], SHA1, status="Failed", created=now - timedelta(hours=2))
    newer = simulator.add_machine_action(machines[2]["id"], SHA1, status="Pending", created=now - timedelta(hours=1))

    by_id = find_actions(modules, action_ids=[old["id"], older["id"], newer["id"]])
    recent = find_actions(modules, created_after="1d")

    assert [action["id"] for action in by_id] == [newer["id"], older["id"], old["id"]]
    assert [action["id"] for action in recent] == [newer["id"], older["id"]]
    assert filters_sent(simulator, "machineactions.list")[1].startswith("creationDateTimeUtc gt ")

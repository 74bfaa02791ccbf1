# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The info modules' queries: validation, the $filter they build, and the calls they make.

Every $filter is evaluated by the simulator's strict OData parser, so a clause that is not valid, documented
OData (or a value that escapes its quotes) fails here as it would on the service.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.entities import parse_timestamp
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._model.odata import BATCH_SIZE, LOOKUP_LIMIT
from ansible_collections.mde.response.plugins.module_utils._info.queries import (
    MachineActionQuery,
    MachineQuery,
    find_machine_actions,
    find_machines,
    unmatched_selections,
)
from ansible_collections.mde.response.plugins.module_utils._model.validation import moment
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import OTHER_SHA1, SHA1, START
from tests.simulator.defender import MACHINE_ACTION_TYPE, MACHINE_TYPE
from tests.simulator.odata import compile_filter

NOW = START
HOSTILE = "x' or true or 'y"


def machine(number, name=None, **extra):
    entity = {
        "id": "%040x" % (0xA0000000 + number),
        "computerDnsName": name or "ws-%03d.contoso.local" % number,
        "machineTags": [],
        "healthStatus": "Active",
        "osPlatform": "Windows11",
        "riskScore": "Low",
        "rbacGroupId": None,
        "lastSeen": "2025-03-01T11:00:00.1234567Z",
    }
    entity.update(extra)
    return entity


def action(number, machine_entity, sha1=SHA1, created="2025-03-01T10:00:00.0000000Z", **extra):
    entity = {
        "id": "44cffc15-0e3d-4cbf-96aa-%012x" % number,
        "type": "StopAndQuarantineFile",
        "status": "Pending",
        "machineId": machine_entity["id"],
        "computerDnsName": machine_entity["computerDnsName"],
        "requestor": "analyst@contoso.com",
        "creationDateTimeUtc": created,
        "relatedFileInfo": {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"} if sha1 else None,
    }
    entity.update(extra)
    return entity


class FakeClient:
    """DefenderClient's read methods over lists of entities, filtering with the simulator's OData parser."""

    def __init__(self, machines=(), actions=(), file_machines=None):
        self.machines = list(machines)
        self.actions = list(actions)
        self.file_machines = file_machines or {}
        self.calls = []

    def list_machines(self, odata_filter=None):
        self.calls.append(("machines.list", odata_filter))
        return self._matching(self.machines, odata_filter, MACHINE_TYPE)

    def list_file_machines(self, sha1):
        self.calls.append(("files.machines", sha1))
        return list(self.file_machines.get(sha1, []))

    def list_machine_actions(self, odata_filter=None):
        self.calls.append(("machineactions.list", odata_filter))
        return self._matching(self.actions, odata_filter, MACHINE_ACTION_TYPE)

    @staticmethod
    def _matching(entities, odata_filter, entity_type):
        if not odata_filter:
            return list(entities)
        predicate = compile_filter(odata_filter, entity_type)
        return [entity for entity in entities if predicate(entity)]


def machine_query(**options):
    return MachineQuery.from_options(options, NOW)


def action_query(**options):
    return MachineActionQuery.from_options(options, NOW)


# -- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    ({"machine_ids": ["not-an-id"]}, "machine_ids[0] must be a Defender device id"),
    ({"machine_ids": "a" * 40}, "machine_ids must be a list"),
    ({"machine_names": ["ok.contoso.local", "bad\x00name"]}, "machine_names[1] contains the control character U+0000"),
    ({"machine_names": ["  "]}, "machine_names[0] must be a non-empty string"),
    ({"observed_sha1": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, "observed_sha1 must be the SHA-1 of a file"),
    ({"health_status": "active"}, "health_status must be one of Active, Inactive"),
    ({"risk_score": "Severe"}, "risk_score must be one of None, Informational"),
    ({"rbac_group_id": True}, "rbac_group_id must be a whole number"),
    ({"tag": "x" * 256}, "tag is longer than 255 characters"),
    ({"os_platform": ""}, "os_platform must be a non-empty string"),
    ({"last_seen_after": "yesterday"}, "last_seen_after must be a date or date and time"),
    ({"last_seen_after": "2025-02-30"}, "last_seen_after must be a date or date and time"),
])
def test_invalid_machine_options_are_refused(options, message):
    with pytest.raises(InputError) as raised:
        machine_query(**options)
    assert message in str(raised.value)


@pytest.mark.parametrize("options, message", [
    ({"action_ids": ["1234"]}, "action_ids[0] must be a machine action id"),
    ({"machine_ids": ["g" * 40]}, "machine_ids[0] must be a Defender device id"),
    ({"status": ["Pending", "Canceled"]}, "status[1] must be one of Pending, InProgress"),
    ({"status": "Pending"}, "status must be a list"),
    ({"type": "Quarantine"}, "type must be one of RunAntiVirusScan"),
    ({"sha1": "d41d8cd98f00b204e9800998ecf8427e"}, "sha1 must be the SHA-1 of a file"),
    ({"requestor": "bad\nname"}, "requestor contains the control character U+000A"),
    ({"created_after": "-5d"}, "created_after must be a date or date and time"),
])
def test_invalid_action_options_are_refused(options, message):
    with pytest.raises(InputError) as raised:
        action_query(**options)
    assert message in str(raised.value)


def test_ids_and_hashes_are_normalised_and_repeats_dropped():
    query = machine_query(machine_ids=["A" * 40, "a" * 40, " " + "b" * 40], machine_names=["WS-1", "ws-1"], observed_sha1=SHA1.upper())
    assert query.machine_ids == ("a" * 40, "b" * 40)
    assert query.machine_names == ("WS-1",)
    assert query.observed_sha1 == SHA1


# -- filters ----------------------------------------------------------------------------------------------------


def test_typed_machine_options_become_documented_filter_clauses():
    query = machine_query(tag="finance", health_status="Active", os_platform="Windows11", risk_score="High", rbac_group_id=42,
                          last_seen_after="2025-02-01T08:30:00+01:00")
    assert query.odata_filter == (
        "machineTags/any(tag: tag eq 'finance') and healthStatus eq 'Active' and osPlatform eq 'Windows11' and riskScore eq 'High'"
        " and rbacGroupId eq 42 and lastSeen gt 2025-02-01T07:30:00Z"
    )
    compile_filter(query.odata_filter, MACHINE_TYPE)


def test_typed_action_options_become_documented_filter_clauses():
    query = action_query(type="StopAndQuarantineFile", status=["Pending", "InProgress"], requestor="soc@contoso.com", created_after="24h")
    assert query.odata_filter == (
        "type eq 'StopAndQuarantineFile' and (status eq 'Pending' or status eq 'InProgress') and requestor eq 'soc@contoso.com'"
        " and creationDateTimeUtc gt 2025-02-28T12:00:00Z"
    )
    compile_filter(query.odata_filter, MACHINE_ACTION_TYPE)


def test_no_option_means_no_filter():
    assert machine_query().odata_filter is None
    assert action_query().odata_filter is None


@pytest.mark.parametrize("option", ["tag", "os_platform"])
def test_a_quote_in_a_machine_option_matches_only_that_literal_text(option):
    field = {"tag": "machineTags", "os_platform": "osPlatform"}[option]
    literal = [HOSTILE] if option == "tag" else HOSTILE
    target, other = machine(1, **{field: literal}), machine(2)
    client = FakeClient(machines=[target, other])

    assert find_machines(client, machine_query(**{option: HOSTILE})) == [target]


def test_a_quote_in_a_name_or_requestor_matches_only_that_literal_text():
    target, other = machine(1, name=HOSTILE), machine(2)
    assert find_machines(FakeClient(machines=[target, other]), machine_query(machine_names=[HOSTILE])) == [target]

    mine, theirs = action(1, other, requestor=HOSTILE), action(2, other)
    assert find_machine_actions(FakeClient(actions=[mine, theirs]), action_query(requestor=HOSTILE)) == [mine]


# -- dates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2025-02-01", datetime(2025, 2, 1, tzinfo=timezone.utc)),
    ("2025-02-01T08:30", datetime(2025, 2, 1, 8, 30, tzinfo=timezone.utc)),
    ("2025-02-01T08:30:15.1234567Z", datetime(2025, 2, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)),
    ("2025-02-01 08:30:15-05:00", datetime(2025, 2, 1, 13, 30, 15, tzinfo=timezone.utc)),
    ("2025-02-01T08:30:15+0530", datetime(2025, 2, 1, 3, 0, 15, tzinfo=timezone.utc)),
    ("2025-13-01", None),
    ("01/02/2025", None),
    (None, None),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("age, delta", [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("24H", timedelta(hours=24)),
                                        ("7d", timedelta(days=7)), ("0d", timedelta(0))])
def test_an_age_counts_back_from_now(age, delta):
    assert moment(age, "option", NOW) == NOW - delta


# -- machines: calls --------------------------------------------------------------------------------------------


def test_without_a_selection_one_filtered_listing_is_made():
    active, inactive = machine(1), machine(2, healthStatus="Inactive")
    client = FakeClient(machines=[active, inactive])

    assert find_machines(client, machine_query(health_status="Inactive")) == [inactive]
    assert client.calls == [("machines.list", "healthStatus eq 'Inactive'")]


def test_ids_are_looked_up_in_batches_with_the_filter_and_returned_in_the_order_given():
    fleet = [machine(number, riskScore="High" if number % 2 else "Low") for number in range(45)]
    wanted = [entity["id"] for entity in reversed(fleet)]
    client = FakeClient(machines=fleet)

    found = find_machines(client, machine_query(machine_ids=wanted, risk_score="High"))

    assert [entity["id"] for entity in found] == [entity["id"] for entity in reversed(fleet) if entity["riskScore"] == "High"]
    assert len(client.calls) == 3
    for route, odata_filter in client.calls:
        assert route == "machines.list"
        assert odata_filter.count("id eq ") <= BATCH_SIZE
        assert odata_filter.endswith(" and riskScore eq 'High'")


def test_many_ids_are_found_with_one_listing_instead_of_batches():
    fleet = [machine(number) for number in range(LOOKUP_LIMIT + 20)]
    wanted = [entity["id"] for entity in fleet[:LOOKUP_LIMIT + 1]]
    client = FakeClient(machines=fleet)

    found = find_machines(client, machine_query(machine_ids=wanted))

    assert [entity["id"] for entity in found] == wanted
    assert client.calls == [("machines.list", None)]


def test_names_match_ignoring_case_and_every_entry_of_a_name_is_returned():
    old = machine(1, name="ws-001.contoso.local", lastSeen="2024-01-01T00:00:00Z")
    new = machine(2, name="ws-001.contoso.local")
    other = machine(3, name="ws-002.contoso.local")
    client = FakeClient(machines=[old, new, other])

    found = find_machines(client, machine_query(machine_names=["WS-001.contoso.local"]))

    assert found == [old, new]
    assert client.calls == [("machines.list", "(computerDnsName eq 'WS-001.contoso.local' or computerDnsName eq 'ws-001.contoso.local')")]


def test_names_that_match_nothing_return_nothing():
    client = FakeClient(machines=[machine(1)])
    assert find_machines(client, machine_query(machine_names=["nowhere.contoso.local"])) == []


def test_names_and_ids_that_match_nothing_are_named_in_a_warning_that_says_what_to_check():
    known = machine(1)
    query = machine_query(machine_ids=[known["id"], "%040x" % 0xDEAD], machine_names=["WS-001.contoso.local", "ws-0042", "ws-7.contoso.local"])

    warnings = unmatched_selections(query, find_machines(FakeClient(machines=[known]), query))

    assert len(warnings) == 2
    assert warnings[0].startswith("machine_ids: no Defender machine has the ID %040x. Check the IDs" % 0xDEAD)
    assert warnings[1].startswith("machine_names: no Defender machine is named 'ws-0042', 'ws-7.contoso.local'. Names are compared")
    assert "computerDnsName" in warnings[1] and "no prefix search" in warnings[1] and "onboarded" in warnings[1]


def test_a_warning_for_a_name_says_when_the_other_options_may_have_left_it_out():
    query = machine_query(machine_names=["ws-001.contoso.local"], health_status="Inactive")

    warnings = unmatched_selections(query, find_machines(FakeClient(machines=[machine(1)]), query))

    assert warnings == [warnings[0]] and "or none of them matches the other options given (healthStatus eq 'Inactive')" in warnings[0]


def test_every_selection_found_means_no_warning():
    query = machine_query(machine_ids=[machine(2)["id"]], machine_names=["ws-001.contoso.local"])
    assert unmatched_selections(query, find_machines(FakeClient(machines=[machine(1), machine(2)]), query)) == []


def test_observed_machines_take_one_call_without_a_filter():
    seen = [machine(1), machine(2)]
    client = FakeClient(machines=seen + [machine(3)], file_machines={SHA1: seen})

    assert find_machines(client, machine_query(observed_sha1=SHA1)) == seen
    assert client.calls == [("files.machines", SHA1)]


def test_observed_machines_are_read_again_with_the_filter():
    tagged, untagged = machine(1, machineTags=["finance"]), machine(2)
    client = FakeClient(machines=[tagged, untagged, machine(3, machineTags=["finance"])], file_machines={SHA1: [tagged, untagged]})

    assert find_machines(client, machine_query(observed_sha1=SHA1, tag="finance")) == [tagged]
    assert client.calls == [
        ("files.machines", SHA1),
        ("machines.list", "(id eq '%s' or id eq '%s') and machineTags/any(tag: tag eq 'finance')" % (tagged["id"], untagged["id"])),
    ]


def test_ids_names_and_observed_machines_add_up_without_repeats():
    first, second, third = machine(1), machine(2), machine(3)
    client = FakeClient(machines=[first, second, third], file_machines={SHA1: [third, first]})

    found = find_machines(client, machine_query(machine_ids=[second["id"]], machine_names=[first["computerDnsName"]], observed_sha1=SHA1))

    assert found == [second, first, third]


# -- machine actions: calls -------------------------------------------------------------------------------------


def test_actions_by_id_filter_on_the_ids_and_match_the_machines_here():
    on_first, on_second = machine(1), machine(2)
    actions = [action(1, on_first), action(2, on_second), action(3, on_first)]
    client = FakeClient(actions=actions)

    found = find_machine_actions(client, action_query(action_ids=[actions[0]["id"].upper(), actions[1]["id"]], machine_ids=[on_first["id"]]))

    assert found == [actions[0]]
    assert client.calls == [("machineactions.list", "(id eq '%s' or id eq '%s')" % (actions[0]["id"], actions[1]["id"]))]


def test_actions_by_machine_are_filtered_by_machine_and_options():
    on_first, on_second = machine(1), machine(2)
    pending, done, elsewhere = action(1, on_first), action(2, on_first, status="Succeeded"), action(3, on_second)
    client = FakeClient(actions=[pending, done, elsewhere])

    assert find_machine_actions(client, action_query(machine_ids=[on_first["id"]], status=["Pending"])) == [pending]
    assert client.calls == [("machineactions.list", "(machineId eq '%s') and (status eq 'Pending')" % on_first["id"])]


def test_sha1_is_matched_on_the_client_ignoring_case_and_results_come_newest_first():
    host = machine(1)
    older = action(1, host, sha1=SHA1.upper(), created="2025-03-01T10:00:00.9000000Z")
    newer = action(2, host, created="2025-03-01T10:00:01Z")
    other_file = action(3, host, sha1=OTHER_SHA1, created="2025-03-01T11:00:00Z")
    isolation = action(4, host, sha1=None, type="Isolate", created="2025-03-01T12:00:00Z")
    client = FakeClient(actions=[older, other_file, isolation, newer])

    assert find_machine_actions(client, action_query(sha1=SHA1)) == [newer, older]
    assert client.calls == [("machineactions.list", None)]

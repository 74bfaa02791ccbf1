# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target resolution: ids, names (filtered batches or one listing), observed machines, duplicates, ambiguity."""

from __future__ import annotations

from datetime import timedelta

from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    SHA1,
    START,
    FakeClock,
    FakeDefenderApi,
    fleet,
    machine_id,
    make_machine,
    run_engine,
)


def name(number):
    return "ws-%05d.contoso.local" % number


def test_one_result_per_machine_in_input_order_across_sources():
    api = fleet(6)
    api.file_machines[SHA1] = [make_machine(4), make_machine(1), make_machine(5)]
    result = run_engine(api, check_mode=True, machine_ids=[machine_id(3), machine_id(1)],
                        machine_names=[name(2), name(3)], observed=True)
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(n) for n in (3, 1, 2, 4, 5)]
    # A machine reached by id and by name keeps its place and learns its name.
    assert result.actions[0]["machine_name"] == name(3)
    assert result.actions[2]["machine_name"] == name(2)
    assert result.actions[3]["machine_name"] == name(4)
    assert result.summary["would_create"] == 5


def test_unknown_name_fails_alone():
    api = fleet(2)
    result = run_engine(api, machine_names=[name(1), "ghost.contoso.local"])
    ghost = result.actions[1]
    assert ghost["machine_id"] is None and ghost["machine_name"] == "ghost.contoso.local"
    assert ghost["outcome"] == "failed" and ghost["error"]["code"] == "MachineNotFound"
    assert result.actions[0]["outcome"] == "created"
    assert len(api.writes()) == 1


def test_few_names_are_looked_up_in_filtered_batches_of_twenty():
    api = fleet(60)
    names = [name(number) for number in range(45)]
    result = run_engine(api, check_mode=True, machine_names=names)
    calls = api.calls("machines.list")
    assert len(calls) == 3
    assert [call["params"]["$filter"].count("computerDnsName eq") for call in calls] == [20, 20, 5]
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(number) for number in range(45)]


def test_name_case_does_not_matter_even_if_the_api_compares_case_sensitively():
    api = fleet(3)
    result = run_engine(api, check_mode=True, machine_names=["WS-00002.Contoso.Local"])
    assert result.actions[0]["machine_id"] == machine_id(2)
    assert "computerDnsName eq 'ws-00002.contoso.local'" in api.calls("machines.list")[0]["params"]["$filter"]


def test_many_names_cost_one_listing_of_the_fleet():
    api = fleet(150)
    run_engine(api, check_mode=True, machine_names=[name(number) for number in range(101)])
    calls = api.calls("machines.list")
    assert len(calls) == 1 and "$filter" not in calls[0]["params"]


def test_ten_thousand_names_cost_one_paged_listing():
    api = fleet(12000)
    result = run_engine(api, check_mode=True, machine_names=[name(number) for number in range(10000)])
    calls = api.calls("machines.list")
    assert [call["params"]["$skip"] for call in calls] == [0, 10000]
    assert all("$filter" not in call["params"] for call in calls)
    assert result.summary["would_create"] == 10000
    assert len(api.calls("machineactions.list")) == 1


def test_ten_thousand_ids_stop_the_listing_at_the_page_that_brings_the_last_of_them():
    # The whole fleet in one full page: the empty page that would confirm it was the last is not asked for.
    api = fleet(10000)
    result = run_engine(api, check_mode=True, machine_ids=[machine_id(number) for number in range(10000)])
    assert [call["params"]["$skip"] for call in api.calls("machines.list")] == [0]
    assert result.summary["would_create"] == 10000


def test_ids_beyond_the_first_page_or_unknown_read_the_fleet_to_its_end():
    api = fleet(10005)
    beyond = run_engine(api, check_mode=True, machine_ids=[machine_id(number) for number in range(5, 10005)])
    assert [call["params"]["$skip"] for call in api.calls("machines.list")] == [0, 10000]
    assert beyond.summary["would_create"] == 10000
    api = fleet(10000)
    run_engine(api, check_mode=True, machine_ids=[machine_id(number) for number in range(10001)])
    assert [call["params"]["$skip"] for call in api.calls("machines.list")] == [0, 10000]


def test_injection_attempt_in_a_name_stays_a_literal():
    hostile = "x' or machineId ne 'y"
    api = fleet(3)
    result = run_engine(api, machine_names=[hostile])
    # A name without a dot is looked up with startswith (it may be a short name); the quote stays doubled either way.
    assert "startswith(computerDnsName,'x'' or machineId ne ''y')" in api.calls("machines.list")[0]["params"]["$filter"]
    assert result.actions[0]["error"]["code"] == "MachineNotFound"
    assert api.writes() == []


def test_injection_attempt_matches_only_a_machine_with_exactly_that_name():
    hostile = "x' or machineId ne 'y"
    api = fleet(3)
    api.machines.append(make_machine(9, name=hostile))
    result = run_engine(api, machine_names=[hostile])
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(9)]
    assert [write["path"] for write in api.writes()] == ["/api/machines/%s/StopAndQuarantineFile" % machine_id(9)]


def test_reimaged_device_uses_the_most_recently_seen_onboarded_entry():
    host = "ws-dup.contoso.local"
    api = FakeDefenderApi(FakeClock(), machines=[
        make_machine(1, name=host, last_seen=START - timedelta(days=30)),
        make_machine(2, name=host, last_seen=START - timedelta(hours=1)),
        make_machine(3, name=host, onboarded=False, last_seen=START),
    ])
    result = run_engine(api, machine_names=[host])
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(2)]
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert host in warning and "using %s" % machine_id(2) in warning
    assert machine_id(1) in warning.split("ignoring")[1] and machine_id(3) in warning.split("ignoring")[1]
    assert len(api.writes()) == 1


def test_several_entries_none_onboarded_fail_clearly():
    host = "ws-dup.contoso.local"
    api = FakeDefenderApi(FakeClock(), machines=[
        make_machine(1, name=host, onboarded=False), make_machine(2, name=host, onboarded=False), make_machine(3),
    ])
    result = run_engine(api, machine_names=[host, name(3)])
    failed = result.actions[0]
    assert failed["outcome"] == "failed" and failed["machine_id"] is None
    assert failed["error"]["code"] == "AmbiguousMachineName"
    assert machine_id(1) in failed["error"]["message"] and machine_id(2) in failed["error"]["message"]
    assert [write["path"] for write in api.writes()] == ["/api/machines/%s/StopAndQuarantineFile" % machine_id(3)]


def test_single_entry_is_used_whatever_its_onboarding_status():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1, onboarded=False)])
    result = run_engine(api, check_mode=True, machine_names=[name(1)])
    assert result.actions[0]["machine_id"] == machine_id(1) and result.warnings == []


def test_observed_machines_are_targets():
    api = fleet(4)
    api.file_machines[SHA1] = [make_machine(2), make_machine(3)]
    result = run_engine(api, observed=True)
    assert [(entry["machine_id"], entry["outcome"]) for entry in result.actions] == [
        (machine_id(2), "created"), (machine_id(3), "created")]
    assert api.calls("files.machines")[0]["path"] == "/api/files/%s/machines" % SHA1


def test_nothing_observed_is_a_warning_and_no_further_call():
    api = fleet(2)
    result = run_engine(api, observed=True)
    assert result.actions == [] and result.changed is False
    assert "no machine" in result.warnings[0]
    assert [request["route"] for request in api.requests] == ["files.machines"]


def test_only_unknown_names_make_no_action_read():
    api = fleet(2)
    result = run_engine(api, machine_names=["ghost"])
    assert result.summary["failed"] == 1
    assert api.calls("machineactions.list") == []


def test_a_short_name_of_exactly_one_machine_is_used_and_the_choice_is_said():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1, name="desktop-01.contoso.local"),
                                                 make_machine(2, name="desktop-010.contoso.local")])
    result = run_engine(api, check_mode=True, machine_names=["DESKTOP-01"])
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(1)]
    assert result.warnings == ["'DESKTOP-01' is a short name: using desktop-01.contoso.local (%s); give the full name to name it "
                               "exactly" % machine_id(1)]
    # One look-up: the short name as given and lower-cased, with startswith, in the call that would find full names.
    assert [call["params"]["$filter"] for call in api.calls("machines.list")] == [
        "startswith(computerDnsName,'DESKTOP-01') or startswith(computerDnsName,'desktop-01')"]


def test_a_short_name_of_one_live_machine_and_an_old_one_elsewhere_is_the_live_one():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1, name="kiosk.contoso.local"),
                                                 make_machine(2, name="kiosk.fabrikam.local", onboarded=False)])
    result = run_engine(api, check_mode=True, machine_names=["kiosk"])
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(1)]
    assert "the only onboarded machine of 2 with that short name" in result.warnings[0]


def test_an_ambiguous_short_name_is_refused_with_the_candidates():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1, name="kiosk.contoso.local"), make_machine(2, name="kiosk.fabrikam.local"),
                                                 make_machine(3)])
    result = run_engine(api, machine_names=["kiosk", name(3)])
    failed = result.actions[0]
    assert failed["outcome"] == "failed" and failed["error"]["code"] == "AmbiguousMachineName"
    assert failed["error"]["message"] == (
        "'kiosk' is the short name of 2 Defender machines (kiosk.contoso.local (%s), kiosk.fabrikam.local (%s)) and 2 of them are "
        "onboarded; give the full name (computerDnsName) or the machine id" % (machine_id(1), machine_id(2)))
    assert [write["path"] for write in api.writes()] == ["/api/machines/%s/StopAndQuarantineFile" % machine_id(3)]


def test_a_bare_name_that_is_a_full_name_is_not_a_short_name():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1, name="kiosk"), make_machine(2, name="kiosk.contoso.local")])
    result = run_engine(api, check_mode=True, machine_names=["kiosk"])
    assert [entry["machine_id"] for entry in result.actions] == [machine_id(1)] and result.warnings == []

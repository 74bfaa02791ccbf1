# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine_action role's rules, from module results shaped as the machine-action modules return them."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import (
    ACTIONS, action_cap, build_request, output, plan, report)

ID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
NAMES = {"machine_action_allow_partial": "allow_partial", "machine_action_scan_type": "scan_type",
         "machine_action_machine_ids": "machine_ids", "machine_action_machine_names": "machine_names",
         "machine_action_fail_when_queued": "fail_when_queued", "machine_action_package_dir": "package_dir"}


def settings(**given):
    return dict({"action": "isolate", "comment": "INC-4711", "machine_names": "ws-01\nws-02, ws-03"}, **given)


def entry(number, outcome, **extra):
    return dict({"machine_id": "%040x" % number, "machine_name": "ws-%02d" % number, "outcome": outcome, "status": None,
                 "action_id": None, "error": None}, **extra)


def made(entries, action="isolate", check_mode=False, **given):
    summary: dict = {}
    for one in entries:
        summary[one["outcome"]] = summary.get(one["outcome"], 0) + 1
    return report({"changed": True, "summary": summary, "actions": entries}, build_request(settings(action=action, **given)),
                  check_mode=check_mode, generated="2026-03-02T09:00:00Z", waited=True)


@pytest.mark.parametrize("action, module, fixed", [
    ("isolate", "machine_isolation", {"state": "isolated"}), ("release", "machine_isolation", {"state": "released"}),
    ("restrict", "app_restriction", {"state": "restricted"}), ("unrestrict", "app_restriction", {"state": "unrestricted"}),
    ("scan", "antivirus_scan", {}), ("collect", "investigation_package", {"dest": "packages"}),
])
def test_each_action_is_its_module_with_the_options_that_make_it_that_action(action, module, fixed):
    request = build_request(settings(action=action, package_dir="packages" if action == "collect" else None))

    assert (request["module"], request["problems"]) == (module, [])
    assert {name: request["options"][name] for name in fixed} == fixed
    assert request["options"]["machine_names"] == ["ws-01", "ws-02", "ws-03"]
    assert request["permission"] == ACTIONS[action].spec.permission
    # Only the actions that cut a machine off take the protection list.
    assert ("protect" in request["options"]) is (action in ("isolate", "restrict"))
    assert request["always_waits"] is (action == "collect")


def test_survey_text_of_the_protection_list_is_split_and_only_settings_given_reach_the_module():
    request = build_request(settings(protect={"tags": "tier0, DC", "device_groups": None, "name_patterns": ["dc-*"]},
                                     max_machines="40", isolation_type="Selective", wait_timeout=None))

    assert request["options"]["protect"] == {"tags": ["tier0", "DC"], "device_groups": [], "name_patterns": ["dc-*"]}
    assert request["options"]["max_machines"] == 40 and request["options"]["isolation_type"] == "Selective"
    assert "wait_timeout" not in request["options"] and "scan_type" not in request["options"]


@pytest.mark.parametrize("given, problem", [
    ({"action": "nuke"}, "machine_action_action=nuke is not an action: use one of isolate, release, restrict"),
    ({"comment": "  "}, "machine_action_comment is empty"),
    ({"machine_names": "", "machine_ids": []}, "No target machine: give machine_ids or machine_names."),
    ({"scan_type": "Full"}, "scan_type applies only to the action scan, not to isolate: leave it out."),
    ({"action": "release", "isolation_type": "Full"}, "machine_action_isolation_type applies only to the action isolate"),
    ({"action": "collect"}, "package_dir is empty: give the folder on the controller"),
    ({"action": "scan", "package_dir": "p"}, "package_dir applies only to the action collect, not to scan"),
    ({"isolation_type": "Partial"}, "machine_action_isolation_type=Partial is not one of Full, Selective, UnManagedDevice."),
    ({"action": "scan", "scan_type": "quick"}, "scan_type=quick is not one of Quick, Full."),
])
def test_bad_settings_are_named_by_the_callers_variables_before_any_request(given, problem):
    problems = build_request(settings(**given), NAMES)["problems"]

    assert len(problems) == 1 and problem in problems[0], problems


def test_the_intro_names_the_module_the_targets_the_protection_and_the_limits():
    request = build_request(settings(protect={"tags": ["tier0"]}, machine_ids=ID))

    lines = plan(request, check_mode=True, wait=True)

    assert lines[0] == "Check mode: reading only, nothing is sent. isolate with mde.response.machine_isolation (state isolated)"
    assert "machine IDs (1): %s" % ID in lines and "machine names (3): ws-01, ws-02, ws-03" in lines
    assert "protected, never sent: tags tier0" in lines
    assert "at most the module's default number of machine(s) (max_machines)" in lines
    assert lines[-1] == "wait: yes, up to the module's wait_timeout"
    assert "protected" not in " ".join(plan(build_request(settings(action="scan"))))


def test_the_plan_counts_the_writes_names_the_protected_and_the_refused_and_gives_the_end():
    request = build_request(settings())
    check = {"actions": [entry(1, "would_create"), entry(2, "would_create"), entry(3, "existing"),
                         entry(4, "protected", protected={"reason": "it has the protected tag tier0"}),
                         entry(5, "failed", error={"code": "Forbidden", "message": "x", "missing_permission": "Machine.Isolate"})]}

    lines = plan(request, check_result=check, now="2026-03-02T09:00:00Z", wait_timeout=600)

    assert lines[0] == "Plan: 2 of 5 machine(s) need to be isolated; existing 1, failed 1, protected 1."
    assert lines[1] == "1 machine(s) are protected and get no request: ws-04 (it has the protected tag tier0)."
    assert "the access token lacks the application permission Machine.Isolate" in lines[2]
    assert lines[3].endswith("about 1 minute(s), then the wait of up to 600 s: expected end 2026-03-02 09:11 UTC.")


def test_a_plan_that_could_not_be_read_says_why():
    lines = plan(build_request(settings()), check_result={"failed": True, "msg": "more than max_machines (25)"}, now="2026-03-02T09:00:00Z")

    assert lines == ["Plan: the machines could not be read: more than max_machines (25) (the run below tries again and reports it)."]


def test_the_report_puts_failures_first_and_says_what_each_machine_got():
    rep = made([entry(1, "created", status="Succeeded", action_id="a-1", state_before="released", state_after="isolated"),
                entry(2, "failed", error={"code": "CrossingActionInFlight", "message": "Unisolate u-2 is in flight"}),
                entry(3, "protected", protected={"reason": "its name ws-03 matches the protected pattern ws-03"})])

    assert rep["summary"] == {"created": 1, "failed": 1, "protected": 1} and rep["waited"] is True
    assert [row["outcome"] for row in rep["machines"]] == ["failed", "created", "protected"]
    assert rep["failures"] == [{"machine_id": "%040x" % 2, "machine_name": "ws-02",
                                "error": {"code": "CrossingActionInFlight", "message": "Unisolate u-2 is in flight"}}]
    shown = output(rep, names=NAMES)
    assert shown["table"][0].split() == ["outcome", "machine", "status", "state", "action", "id", "detail"]
    assert shown["table"][2].split()[:5] == ["created", "ws-01", "Succeeded", "released", "->"]
    assert shown["table"][3].endswith("protected: its name ws-03 matches the protected pattern ws-03")
    assert shown["summary"][0] == "isolate on 3 machine(s): created 1, failed 1, protected 1"
    assert shown["summary"][1] == "failed: ws-02: CrossingActionInFlight: Unisolate u-2 is in flight"
    assert shown["failure"] == ("1 machine(s) failed: see the summary above; set allow_partial to true to accept failed machines.")
    assert output(rep, allow_partial=True)["failure"] == ""


def test_a_package_is_shown_with_its_path_size_and_checksum():
    rep = made([entry(1, "created", package={"path": "/p/ws-01.zip", "size": 12, "sha256": "ab" * 32})], action="collect", package_dir="/p")

    assert rep["machines"][0]["detail"] == "/p/ws-01.zip (12 bytes, sha256 %s)" % ("ab" * 32)


def test_a_run_not_handled_at_all_fails_even_with_allow_partial_and_says_what_to_fix():
    rep = report({"failed": True, "msg": "isolate targets 30 machines, more than max_machines (25)"}, build_request(settings()),
                 check_mode=False, generated="2026-03-02T09:00:00Z")

    assert rep["error"].startswith("isolate targets 30") and rep["machines"] == []
    failure = output(rep, allow_partial=True, report_path="/r/isolate.md")["failure"]
    assert failure.startswith("The isolate run could not be handled at all: isolate targets 30 machines")
    assert failure.endswith("see the summary above and the report /r/isolate.md.")


def test_a_missing_permission_says_what_to_grant_and_queued_actions_fail_only_when_asked():
    refused = {"code": "Forbidden", "message": "Missing application roles", "missing_permission": "Machine.Scan"}
    rep = made([entry(1, "failed", error=refused), entry(2, "queued", queued={"message": "ws-02 is offline"})], action="scan")

    shown = output(rep, fail_when_queued=True, names=NAMES)

    assert any(line.startswith("The application lacks the permission Machine.Scan (1 machine(s)") for line in shown["summary"])
    assert "because the application lacks the permission Machine.Scan: grant it" in shown["failure"]
    assert "1 action(s) are queued for offline machines and fail the run because fail_when_queued is true" in shown["failure"]
    assert "queued" not in output(rep)["failure"]


def test_the_table_counts_the_rows_it_leaves_out_and_names_the_statistic():
    rep = made([entry(number, "existing") for number in range(1, 6)])

    table = output(rep, shown=2)["table"]

    assert len(table) == 1 + 2 + 1
    assert table[-1].startswith("... 3 more rows (existing 3): every row is in the statistic machine_action_results")


def test_the_cap_counts_only_this_automations_actions_of_the_type():
    listed = [{"type": "Isolate", "requestorComment": "[eda-isolate] alert 1", "machineId": "a", "status": "Succeeded"},
              {"type": "Isolate", "requestorComment": "[eda-isolate] alert 2", "machineId": "b", "status": "Pending"},
              {"type": "Isolate", "requestorComment": "[eda-isolate] alert 3", "machineId": "c", "status": "Cancelled"},
              {"type": "Isolate", "requestorComment": "by hand", "machineId": "d", "status": "Succeeded"},
              {"type": "Unisolate", "requestorComment": "[eda-isolate] alert 1", "machineId": "a", "status": "Succeeded"}]

    assert action_cap(listed, "[eda-isolate]", 3) == {"count": 2, "machines": ["a", "b"], "refused": ""}
    refused = action_cap(listed, "[eda-isolate]", 2)["refused"]
    assert refused.startswith("2 Isolate action(s) with the comment marker [eda-isolate] in the last hour reach the cap of 2")
    assert "nothing was sent" in refused
    # The machine of a resent alert already has its isolation: nothing new would be sent, so nothing is refused.
    assert action_cap(listed, "[eda-isolate]", 2, machine_id="A")["refused"] == ""

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The quarantine_file role's report logic, on results shaped as the module and async_status return them."""

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import unknown_file_warning
from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import (
    NO_RESULT, failure_message, file_results, machine_rows, machine_table, markdown_cell, outcome_counts, quarantine_results,
    summary_lines, unknown_file_warnings)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
THIRD_SHA1 = "0123456789abcdef0123456789abcdef01234567"

CREATED = {"machine_id": "m1", "machine_name": "ws-01.contoso.local", "outcome": "created", "status": "Pending",
           "action_id": "a1", "error": None}
OFFLINE = {"code": "Forbidden", "message": "Machine is offline"}
NOT_PRESENT = {"machine_id": "m3", "machine_name": "ws-03.contoso.local", "outcome": "not_present", "status": None,
               "action_id": None, "error": None}
FAILED = {"machine_id": "m2", "machine_name": "ws-02.contoso.local", "outcome": "failed", "status": None,
          "action_id": None, "error": OFFLINE}
QUEUED = {"machine_id": "m3", "machine_name": "laptop-07.contoso.local", "outcome": "queued", "status": "Pending",
          "action_id": "a3", "error": None,
          "queued": {"health_status": "Inactive", "last_seen": "2026-11-20T08:00:00Z", "message": "machine laptop-07 is offline"}}


def module_result(sha1, *actions):
    summary = {"created": 0, "existing": 0, "failed": 0}
    for entry in actions:
        summary.setdefault(entry["outcome"], 0)
        summary[entry["outcome"]] += 1
    return {"item": sha1, "changed": True, "summary": summary, "actions": list(actions)}


def waited(result):
    """The async_status result for a module job: its item is the module task's result."""
    return dict(result, item={"item": result["item"], "ansible_job_id": "j1"})


def test_files_keep_the_loop_order_and_the_module_results():
    results = [module_result(SHA1, CREATED, FAILED), module_result(OTHER_SHA1)]
    assert file_results(results) == [
        {"sha1": SHA1, "error": None, "summary": {"created": 1, "existing": 0, "failed": 1}, "actions": [CREATED, FAILED],
         "file_known": None},
        {"sha1": OTHER_SHA1, "error": None, "summary": {"created": 0, "existing": 0, "failed": 0}, "actions": [],
         "file_known": None},
    ]


def test_files_carry_whether_defender_knows_them():
    unknown = dict(module_result(SHA1, NOT_PRESENT), file_known=False)
    results = [waited(unknown), dict(module_result(OTHER_SHA1, NOT_PRESENT), file_known=True), module_result(THIRD_SHA1, CREATED)]
    together = quarantine_results(results)
    assert [(file["sha1"], file["file_known"]) for file in together["files"]] == [(SHA1, False), (OTHER_SHA1, True), (THIRD_SHA1, None)]
    assert together["unknown_files"] == [SHA1]
    assert together["failures"] == []


def test_the_sha1_of_a_waited_job_comes_from_the_submitting_result():
    assert [file["sha1"] for file in file_results([waited(module_result(SHA1, CREATED))])] == [SHA1]


def test_a_file_without_actions_carries_the_module_message_or_says_there_was_none():
    files = file_results([{"item": SHA1, "failed": True, "msg": "No token: AADSTS7000215"}, {"item": OTHER_SHA1}])
    assert [(file["error"], file["summary"], file["actions"]) for file in files] == [
        ("No token: AADSTS7000215", {}, []), (NO_RESULT, {}, [])]


def test_totals_add_up_every_file_in_the_order_outcomes_first_appear():
    results = [{"item": SHA1, "summary": {"created": 2, "failed": 1}, "actions": []},
               {"item": OTHER_SHA1, "summary": {"existing": 4, "created": 1}, "actions": []}]
    summary = quarantine_results(results)["summary"]
    assert summary == {"created": 3, "failed": 1, "existing": 4}
    assert list(summary) == ["created", "failed", "existing"]


def test_failures_list_files_not_handled_first_then_failed_machines():
    results = [module_result(SHA1, CREATED, FAILED), {"item": OTHER_SHA1, "failed": True, "msg": "API unreachable"}]
    assert quarantine_results(results)["failures"] == [
        {"sha1": OTHER_SHA1, "machine_name": None, "machine_id": None, "error": {"code": "NotHandled", "message": "API unreachable"}},
        {"sha1": SHA1, "machine_name": "ws-02.contoso.local", "machine_id": "m2", "error": OFFLINE},
    ]


def test_results_put_summary_failures_and_files_together():
    results = [module_result(SHA1, CREATED)]
    assert quarantine_results(results) == {"summary": {"created": 1, "existing": 0, "failed": 0}, "failures": [],
                                           "files": file_results(results), "machines": machine_rows(file_results(results)),
                                           "unknown_files": []}


def test_outcome_counts_leave_out_what_did_not_happen():
    assert outcome_counts({"created": 2, "existing": 0, "failed": 1}) == "created 2, failed 1"
    assert outcome_counts({"created": 0}) == ""
    assert outcome_counts({}) == ""


def report(results, check_mode=False):
    return dict(quarantine_results(results), check_mode=check_mode)


def test_summary_names_the_totals_each_file_and_each_failed_machine():
    results = [module_result(SHA1, CREATED, FAILED), {"item": OTHER_SHA1, "msg": "API unreachable"}, module_result(THIRD_SHA1)]
    assert summary_lines(report(results), 20, "/reports/quarantine-1.md") == [
        "3 file(s): created 1, failed 1",
        "%s: created 1, failed 1" % SHA1,
        "%s: not handled: API unreachable" % OTHER_SHA1,
        "%s: no target" % THIRD_SHA1,
        "failed: %s on ws-02.contoso.local: Forbidden: Machine is offline" % SHA1,
        "Report: /reports/quarantine-1.md",
    ]


@pytest.mark.parametrize("check_mode, nothing", [(False, "nothing could be quarantined"), (True, "nothing would be quarantined")])
def test_summary_warns_under_the_line_of_a_file_defender_has_no_record_of(check_mode, nothing):
    results = [dict(module_result(SHA1, NOT_PRESENT), file_known=False), dict(module_result(OTHER_SHA1, NOT_PRESENT), file_known=True)]
    lines = summary_lines(report(results, check_mode=check_mode), 20)
    assert lines[1:] == ["%s: not_present 1" % SHA1, "WARNING: %s" % unknown_file_warning(SHA1, check_mode), "%s: not_present 1" % OTHER_SHA1]
    assert "no record of file %s in this tenant" % SHA1 in lines[2] and nothing in lines[2]


def test_summary_in_check_mode_without_machine_results_or_report():
    assert summary_lines(report([module_result(SHA1)], check_mode=True), 20) == [
        "CHECK MODE, nothing was changed. 1 file(s): no machine result", "%s: no target" % SHA1]


def test_summary_shows_a_failed_machine_by_id_when_it_has_no_name():
    nameless = dict(FAILED, machine_name=None)
    assert summary_lines(report([module_result(SHA1, nameless)]), 20)[-1] == (
        "failed: %s on m2: Forbidden: Machine is offline" % SHA1)


def test_summary_counts_the_failures_beyond_those_shown():
    machines = [dict(FAILED, machine_id="m%d" % number, machine_name="ws-%02d" % number) for number in range(5)]
    lines = summary_lines(report([module_result(SHA1, *machines)]), 2)
    assert lines[2:] == ["failed: %s on ws-00: Forbidden: Machine is offline" % SHA1,
                         "failed: %s on ws-01: Forbidden: Machine is offline" % SHA1,
                         "... 3 more failures: see the report"]


def test_a_file_not_handled_takes_a_place_among_the_shown_failures_but_no_failure_line():
    results = [{"item": OTHER_SHA1, "msg": "API unreachable"}, module_result(SHA1, FAILED, dict(FAILED, machine_id="m3"))]
    lines = summary_lines(report(results), 2)
    assert lines[3:] == ["failed: %s on ws-02.contoso.local: Forbidden: Machine is offline" % SHA1,
                         "... 1 more failures: see the report"]


def test_machine_rows_put_files_not_handled_then_failed_machines_first_and_keep_the_order_of_the_rest():
    existing = dict(CREATED, machine_id="m3", machine_name=None, outcome="existing", action_id="a3")
    results = [module_result(SHA1, CREATED, FAILED, existing), {"item": OTHER_SHA1, "failed": True, "msg": "API unreachable"}]
    rows = machine_rows(file_results(results))
    assert [(row["sha1"], row["machine_id"], row["outcome"]) for row in rows] == [
        (OTHER_SHA1, None, "failed"), (SHA1, "m2", "failed"), (SHA1, "m1", "created"), (SHA1, "m3", "existing")]
    assert rows[0]["error"] == {"code": "NotHandled", "message": "API unreachable"}
    assert rows[2] == {"sha1": SHA1, "machine_name": "ws-01.contoso.local", "machine_id": "m1", "outcome": "created",
                       "status": "Pending", "action_id": "a1", "error": None}


def report_of(results):
    return dict(quarantine_results(results), check_mode=False)


def test_machine_table_aligns_the_columns_and_shows_failures_first():
    lines = machine_table(report_of([module_result(SHA1, CREATED, FAILED)]), 300)
    assert lines == [
        "outcome  machine              file                                      status   action id  error",
        "failed   ws-02.contoso.local  %s  -        -          Forbidden: Machine is offline" % SHA1,
        "created  ws-01.contoso.local  %s  Pending  a1         -" % SHA1,
    ]


def test_machine_table_names_a_machine_by_id_when_it_has_no_name():
    lines = machine_table(report_of([module_result(SHA1, dict(CREATED, machine_name=None))]), 300)
    assert lines[1].split()[:2] == ["created", "m1"]


def test_machine_table_counts_the_rows_beyond_those_shown_per_outcome():
    actions = [FAILED] + [dict(CREATED, machine_id="m%d" % number) for number in range(5)]
    lines = machine_table(report_of([module_result(SHA1, *actions)]), 2)
    assert len(lines) == 1 + 2 + 1
    assert lines[1].startswith("failed")
    assert lines[-1].startswith("... 4 more rows (created 4): every row is in the statistic quarantine_file_results")


def test_summary_names_a_missing_permission_once_with_how_to_grant_it():
    refused = {"code": "Forbidden", "message": "The application does not have any of the required application permissions "
               "(Machine.StopAndQuarantine) to access the resource.", "http_status": 403, "missing_permission": "Machine.StopAndQuarantine"}
    not_sent = dict(refused, message="not sent: the write to machine m1 was refused ...")
    machines = [dict(FAILED, machine_id="m%d" % number, error=refused if number == 1 else not_sent) for number in range(1, 4)]
    lines = summary_lines(report([module_result(SHA1, *(machines + [FAILED]))]), 20)
    permission_lines = [line for line in lines if "lacks the permission" in line]
    assert permission_lines == [
        "The application lacks the permission Machine.StopAndQuarantine (3 machine(s) refused or not sent): grant the application "
        "permission Machine.StopAndQuarantine to the app registration (API permissions > APIs my organization uses > WindowsDefenderATP "
        "> Application permissions), then grant admin consent; a token issued before the consent still lacks it and is kept for up "
        "to an hour, so run once with token_cache: false (MDE_TOKEN_CACHE=false) after the consent, or get a new access_token."]
    # Before the failed machines, so that it shows even when they are many.
    assert lines.index(permission_lines[0]) == 2


def test_a_queued_machine_is_counted_apart_from_failures_and_named_with_why_in_the_summary():
    results = [module_result(SHA1, CREATED, QUEUED, FAILED)]
    built = report(results)
    assert built["summary"] == {"created": 1, "existing": 0, "failed": 1, "queued": 1}
    assert [failure["machine_id"] for failure in built["failures"]] == ["m2"]
    assert [row for row in built["machines"] if row["outcome"] == "queued"] == [
        {"sha1": SHA1, "machine_name": "laptop-07.contoso.local", "machine_id": "m3", "outcome": "queued", "status": "Pending",
         "action_id": "a3", "error": None, "queued": QUEUED["queued"]}]
    lines = summary_lines(built, 20)
    assert lines[0] == "1 file(s): created 1, failed 1, queued 1"
    assert lines[-1] == "queued: %s on laptop-07.contoso.local: machine laptop-07 is offline" % SHA1
    assert "queued" not in machine_rows(file_results(results))[1]


def test_queued_machines_beyond_those_shown_are_counted():
    results = [module_result(SHA1, *[dict(QUEUED, machine_id="m%d" % number) for number in range(5)])]
    lines = summary_lines(report(results), 2)
    assert [line for line in lines if line.startswith("queued:")] == ["queued: %s on laptop-07.contoso.local: machine laptop-07 is offline" % SHA1] * 2
    assert lines[-1] == "... 3 more actions queued for offline machines: see the report"


def unknown(result):
    return dict(result, file_known=False)


def test_a_run_where_every_file_is_done_does_not_fail():
    assert failure_message(report([module_result(SHA1, CREATED), module_result(OTHER_SHA1, NOT_PRESENT)])) == ""


def test_a_file_defender_does_not_know_fails_unless_accepted_and_only_when_nothing_was_quarantined_for_it():
    built = report([unknown(module_result(SHA1, NOT_PRESENT)), unknown(module_result(OTHER_SHA1, CREATED)), module_result(THIRD_SHA1)])
    message = failure_message(built, names={"quarantine_file_allow_unknown_files": "allow_unknown_files"})
    assert message == (
        "1 file(s) Defender has no record of: see the summary above. Defender has no record of %s and nothing"
        " was quarantined for it: check the hash (a mistyped one gives this) and run again with the right one, or set"
        " allow_unknown_files to true to accept files Defender does not know." % SHA1)
    assert failure_message(built, allow_unknown_files=True) == ""
    # A caller whose users cannot set the variable gets no advice to set it.
    assert failure_message(built, names={"quarantine_file_allow_unknown_files": None}).endswith("run again with the right one, or leave it out.")


def test_failed_machines_fail_unless_partial_results_are_accepted_and_the_message_names_the_callers_variable():
    built = report([module_result(SHA1, CREATED, FAILED)])
    assert failure_message(built, names={"quarantine_file_allow_partial": "allow_partial"}, report_path="/r/q.md") == (
        "1 failure(s): see the summary above and the report /r/q.md. 1 machine(s) failed: set allow_partial to true to accept"
        " failed machines.")
    assert failure_message(built, allow_partial=True) == ""


def test_a_file_not_handled_fails_even_with_partial_results_accepted():
    message = failure_message(report([{"item": SHA1, "msg": "API unreachable"}]), allow_partial=True)
    assert message.startswith("1 failure(s): see the summary above. 1 file(s) could not be handled at all: fix the cause")


def test_a_missing_permission_says_to_grant_it_not_to_accept_a_partial_result():
    refused = dict(OFFLINE, missing_permission="Machine.StopAndQuarantine")
    message = failure_message(report([module_result(SHA1, dict(FAILED, error=refused))]))
    assert "1 machine(s) failed because the application lacks the permission Machine.StopAndQuarantine: grant it" in message
    assert "allow_partial" not in message


def test_queued_actions_fail_only_when_asked_to_and_say_which_variable_accepts_them():
    built = report([module_result(SHA1, CREATED, QUEUED)])
    assert failure_message(built) == ""
    assert failure_message(built, fail_when_queued=True) == (
        "1 action(s) queued for offline machines: see the summary above. Defender runs the queued actions when"
        " their machines next connect; they fail the run because quarantine_file_fail_when_queued is true: set it to false to"
        " accept them.")


@pytest.mark.parametrize("value, cell", [(None, "-"), ("", "-"), ("a|b\r\nc\nd", "a\\|b c d"), (3, "3")])
def test_a_markdown_cell_never_breaks_the_table(value, cell):
    assert markdown_cell(value) == cell


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_reports_unknown_file_warnings_are_the_modules(check_mode):
    built = report([unknown(module_result(SHA1, NOT_PRESENT)), module_result(OTHER_SHA1, CREATED)], check_mode=check_mode)
    assert unknown_file_warnings(built) == [unknown_file_warning(SHA1, check_mode)]

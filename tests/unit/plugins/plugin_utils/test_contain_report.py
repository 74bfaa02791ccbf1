# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contain role's report, from loop results shaped as Ansible registers them."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.plugin_utils.contain_report import FAILURES_SHOWN, contain_failure, contain_report, summary_lines

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"


def machine(number, outcome, code=None):
    return {"machine_id": "%040x" % number, "machine_name": "ws-%d" % number, "outcome": outcome,
            "error": {"code": code, "message": "refused"} if code else None}


def report(indicators, quarantines, check_mode=False):
    return contain_report(indicators, quarantines, comment="INC-4711", state="present", check_mode=check_mode, generated="2026-03-02T09:00:00Z")


def test_each_file_gets_its_indicator_and_machines_and_the_totals_add_up():
    made = report(
        [{"item": SHA1, "outcome": "created", "indicator": {"id": "7", "action": "BlockAndRemediate", "expirationTime": None}},
         {"item": OTHER_SHA1, "outcome": "unchanged", "indicator": {"id": "8", "action": "BlockAndRemediate"}}],
        [{"item": SHA1, "summary": {"created": 2, "failed": 1},
          "actions": [machine(1, "created"), machine(2, "created"), machine(3, "failed", "OsPlatformNotSupported")]},
         {"item": OTHER_SHA1, "summary": {"existing": 1}, "actions": [machine(1, "existing")]}])

    assert made["summary"] == {"indicators": {"created": 1, "unchanged": 1}, "machines": {"created": 2, "failed": 1, "existing": 1}}
    assert [(file["sha1"], file["indicator"]["outcome"], file["indicator"]["id"]) for file in made["files"]] == [
        (SHA1, "created", "7"), (OTHER_SHA1, "unchanged", "8")]
    assert made["failures"] == [{"sha1": SHA1, "machine_name": "ws-3", "machine_id": "%040x" % 3,
                                 "error": {"code": "OsPlatformNotSupported", "message": "refused"}}]
    lines = summary_lines(made)
    assert lines[0] == "2 file(s): indicators created 1, unchanged 1; machines created 2, failed 1, existing 1"
    assert lines[1:] == ["%s: indicator created; machines created 2, failed 1" % SHA1, "%s: indicator unchanged; machines existing 1" % OTHER_SHA1,
                         "failed: %s on ws-3: OsPlatformNotSupported: refused" % SHA1]


def test_a_module_that_failed_outright_is_a_failure_of_its_file():
    made = report([{"item": SHA1, "failed": True, "msg": "HTTP 403 Forbidden: grant Ti.ReadWrite.All"}],
                  [{"item": SHA1, "failed": True, "msg": "could not reach the login service"}], check_mode=True)

    assert made["files"][0]["indicator"] == {"outcome": "failed", "id": None, "action": None, "expiration": None,
                                             "error": "HTTP 403 Forbidden: grant Ti.ReadWrite.All"}
    assert [failure["error"]["code"] for failure in made["failures"]] == ["IndicatorNotSet", "NotHandled"]
    assert summary_lines(made) == [
        "CHECK MODE, nothing was changed. 1 file(s): indicators failed 1; machines none",
        "%s: indicator not set: HTTP 403 Forbidden: grant Ti.ReadWrite.All; machines not handled: could not reach the login service" % SHA1]


def test_the_play_output_names_the_first_failed_machines_only():
    actions = [machine(number, "failed", "TimeOut") for number in range(FAILURES_SHOWN + 3)]
    lines = summary_lines(report([{"item": SHA1, "outcome": "unchanged"}], [{"item": SHA1, "summary": {"failed": len(actions)}, "actions": actions}]))
    assert len(lines) == 2 + FAILURES_SHOWN + 1 and lines[-1] == "... 3 more failed machines: see the report"


def contained(typo_summary, state="present"):
    """A run over a file Defender knows (quarantined) and one it has no record of, whose machines had ``typo_summary``."""
    indicators = [{"item": sha1, "outcome": "created", "indicator": {"id": sha1[:2]}} for sha1 in (SHA1, OTHER_SHA1)]
    quarantines = [{"item": SHA1, "summary": {"created": 1}, "actions": [machine(1, "created")], "file_known": True},
                   {"item": OTHER_SHA1, "summary": typo_summary, "actions": [], "file_known": False}]
    return contain_report(indicators, quarantines, comment="INC-4711", state=state, check_mode=False, generated="2026-03-02T09:00:00Z")


def test_a_file_defender_does_not_know_that_nothing_was_quarantined_for_fails_unless_accepted():
    made = contained({"not_present": 2})
    assert (made["unknown_files"], made["unknown_untouched"]) == ([OTHER_SHA1], [OTHER_SHA1])
    assert contain_failure(made, names={"contain_allow_unknown_files": "allow_unknown_files"}) == (
        "Defender has no record of %s and nothing was quarantined for it: check the hash (a mistyped one gives this) and run"
        " again with the right one, or set allow_unknown_files to true to accept files Defender does not know." % OTHER_SHA1)
    assert contain_failure(made, allow_unknown_files=True) == ""
    # Releasing is not checked, and a file quarantined somewhere is not untouched.
    assert contain_failure(contained({"not_present": 2}, state="absent")) == ""
    assert contain_failure(contained({"existing": 1})) == ""


def test_failures_fail_unless_partial_results_are_accepted_and_name_the_callers_variable():
    made = report([{"item": SHA1, "failed": True, "msg": "HTTP 403"}], [{"item": SHA1, "summary": {}, "actions": []}])
    assert contain_failure(made, names={"contain_allow_partial": "allow_partial"}, report_dir="reports") == (
        "1 failure(s): see the summary above and the report in reports. Set allow_partial to true to accept them.")
    assert contain_failure(made, allow_partial=True) == ""

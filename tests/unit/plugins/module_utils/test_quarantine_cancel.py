# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""state: cancelled: cancel in-flight actions, read them back, and report final states truthfully."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    LOST_AFTER_WRITE,
    LOST_BEFORE_WRITE,
    OTHER_SHA1,
    fleet,
    api_error,
    machine_ids,
    run_engine,
)


def cancel(api, count=1, **options):
    return run_engine(api, machine_ids=machine_ids(count), state="cancelled", comment="false positive", **options)


def test_cancels_the_in_flight_action_and_confirms_it():
    api = fleet(1)
    pending = api.add_action(api.machines[0], status="InProgress")
    result = cancel(api)
    entry = result.actions[0]
    assert (entry["outcome"], entry["action_id"], entry["status"], entry["error"]) == ("cancelled", pending["id"], "Cancelled", None)
    assert result.changed is True and result.summary["cancelled"] == 1
    assert [(write["path"], write["body"]) for write in api.writes()] == [
        ("/api/machineactions/%s/cancel" % pending["id"], {"Comment": "false positive"})]
    assert [get["path"] for get in api.calls("machineactions.get")] == ["/api/machineactions/%s" % pending["id"]]


def test_nothing_in_flight_is_not_present_and_a_succeeded_quarantine_is_quarantined_not_restored():
    api = fleet(3)
    done = api.add_action(api.machines[0], status="Succeeded")
    api.add_action(api.machines[1], sha1=OTHER_SHA1)
    result = cancel(api, 3)
    assert [entry["outcome"] for entry in result.actions] == ["quarantined", "not_present", "not_present"]
    assert result.actions[0]["action_id"] == done["id"]
    assert result.changed is False and api.writes() == []
    assert "creationDateTimeUtc" not in api.calls("machineactions.list")[0]["params"]["$filter"]
    assert "status eq 'Succeeded'" in api.calls("machineactions.list")[0]["params"]["$filter"]
    assert result.warnings == [
        "releasing does not restore a file: it stays quarantined on 1 machine(s) where an earlier action succeeded: "
        "ws-00000.contoso.local (action %s). Cancelling only stops actions still in flight; to bring the file back, run "
        '"%%ProgramFiles%%\\Windows Defender\\MpCmdRun.exe" -Restore -Name EUS:Win32/CustomEnterpriseBlock -All in an '
        "administrator's command prompt on each of them" % done["id"]]
    # Check mode says the same.
    assert [entry["outcome"] for entry in cancel(api, 3, check_mode=True).actions] == ["quarantined", "not_present", "not_present"]


def test_check_mode_predicts_without_writing():
    api = fleet(2)
    pending = api.add_action(api.machines[0])
    result = cancel(api, 2, check_mode=True)
    assert [entry["outcome"] for entry in result.actions] == ["would_cancel", "not_present"]
    assert result.actions[0]["action_id"] == pending["id"]
    assert result.changed is True and api.writes() == []


def test_a_cancel_the_api_ignores_is_not_confirmed():
    api = fleet(1)
    api.cancel_effect = "ignored"
    api.add_action(api.machines[0])
    entry = cancel(api).actions[0]
    assert (entry["outcome"], entry["status"], entry["error"]["code"]) == ("failed", "Pending", "CancelNotConfirmed")
    assert len(api.calls("machineactions.get")) == 4 and api.clock.sleeps == [2, 4, 8]


def test_a_cancel_that_takes_effect_late_is_confirmed_on_a_later_read():
    api = fleet(1)
    api.cancel_effect = "ignored"
    pending = api.add_action(api.machines[0])
    api.schedule(pending["id"], ((3, "Cancelled"),))
    entry = cancel(api).actions[0]
    assert (entry["outcome"], entry["status"]) == ("cancelled", "Cancelled")
    assert api.clock.sleeps == [2, 4]


def becomes(api, action, status):
    """A step: the action reaches ``status`` just before the cancel arrives."""
    return lambda: action.update(status=status)


@pytest.mark.parametrize("final", ["Failed", "TimeOut", "Cancelled"])
def test_action_final_before_the_cancel_is_not_present(final):
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    api.cancel_script[pending["id"]] = [becomes(api, pending, final)]
    result = cancel(api)
    assert (result.actions[0]["outcome"], result.actions[0]["status"]) == ("not_present", final)
    assert result.changed is False and result.warnings == []


def test_action_that_succeeded_before_the_cancel_is_quarantined_with_the_restore_warning():
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    api.cancel_script[pending["id"]] = [becomes(api, pending, "Succeeded")]
    result = cancel(api)
    assert (result.actions[0]["outcome"], result.actions[0]["status"]) == ("quarantined", "Succeeded")
    assert result.changed is False
    assert result.warnings[0].startswith("releasing does not restore a file: it stays quarantined on 1 machine(s)")
    assert pending["id"] in result.warnings[0] and "MpCmdRun.exe\" -Restore" in result.warnings[0]


def test_a_refused_cancel_of_an_action_still_in_flight_fails_with_the_apis_error():
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    api.cancel_script[pending["id"]] = [api_error(403, "Forbidden", "Missing application roles: Machine.StopAndQuarantine")]
    entry = cancel(api).actions[0]
    assert (entry["outcome"], entry["status"]) == ("failed", "Pending")
    assert entry["error"]["code"] == "Forbidden" and entry["error"]["http_status"] == 403


@pytest.mark.parametrize("step", [LOST_AFTER_WRITE, LOST_BEFORE_WRITE])
def test_a_lost_cancel_answer_is_settled_by_reading_back(step):
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    api.cancel_script[pending["id"]] = [step]
    entry = cancel(api).actions[0]
    expected = ("cancelled", "Cancelled") if step == LOST_AFTER_WRITE else ("failed", "Pending")
    assert (entry["outcome"], entry["status"]) == expected
    assert len(api.writes()) == 1


def test_every_in_flight_action_of_the_machine_is_cancelled():
    api = fleet(1)
    first = api.add_action(api.machines[0])
    second = api.add_action(api.machines[0], status="InProgress")
    result = cancel(api)
    assert sorted(write["path"] for write in api.writes()) == sorted(
        "/api/machineactions/%s/cancel" % action["id"] for action in (first, second))
    assert result.actions[0]["outcome"] == "cancelled"
    assert {api.action(first["id"])["status"], api.action(second["id"])["status"]} == {"Cancelled"}


def test_one_failed_cancel_on_a_machine_fails_it():
    api = fleet(1)
    first = api.add_action(api.machines[0])
    second = api.add_action(api.machines[0])
    api.cancel_script[second["id"]] = [api_error(403, "Forbidden", "no")]
    result = cancel(api)
    assert result.actions[0]["outcome"] == "failed" and result.actions[0]["action_id"] == second["id"]
    assert result.changed is True and api.action(first["id"])["status"] == "Cancelled"

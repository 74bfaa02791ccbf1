# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The quarantine_file role's plan: what needs a write, and when the writes end at Defender's limits."""

import pytest

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_plan import minutes_to_write, plan_lines

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


@pytest.mark.parametrize("count, minutes", [
    (0, 0), (1, 1), (100, 1), (101, 2), (250, 3), (1500, 15),
    # The 1,501st write waits for the first hour to pass.
    (1501, 61), (3000, 75), (3001, 121),
])
def test_minutes_to_write_follow_both_limits(count, minutes):
    assert minutes_to_write(count) == minutes


def check_result(*outcomes):
    return {"item": SHA1, "actions": [{"machine_id": "m%d" % number, "outcome": outcome} for number, outcome in enumerate(outcomes)]}


def test_plan_counts_the_writes_and_gives_the_expected_end():
    lines = plan_lines([check_result(*(["would_create"] * 250 + ["existing", "not_present"]))], "present", "2026-11-28T03:58:10Z")
    assert lines == [
        "Plan: 250 of 252 machine result(s) of 1 file(s) need a quarantine; the others are already done or have nothing to do.",
        "At Defender's limits (100 actions a minute, 1,500 an hour) the writes take about 3 minute(s): expected end 2026-11-28 04:01 UTC.",
    ]


def test_plan_of_a_cancel_counts_would_cancel_and_says_when_nothing_is_to_be_written():
    assert plan_lines([check_result("would_cancel")], "cancelled", "2026-11-28T03:58:10Z")[0].startswith(
        "Plan: 1 of 1 machine result(s) of 1 file(s) need a cancel")
    assert plan_lines([check_result("existing")], "present", "2026-11-28T03:58:10Z") == [
        "Plan: 0 of 1 machine result(s) of 1 file(s) need a quarantine; the others are already done or have nothing to do."]


def test_plan_names_files_that_could_not_be_read():
    lines = plan_lines([check_result("would_create"), {"item": SHA1, "failed": True, "msg": "no token"}], "present", "2026-11-28T03:58:10Z")
    assert lines[1] == "1 file(s) could not be read (the results below say why)."


def test_plan_says_when_the_token_lacks_the_write_permission():
    refused = dict(check_result("failed", "failed", "existing"))
    for entry in refused["actions"][:2]:
        entry["error"] = {"code": "Forbidden", "missing_permission": "Machine.StopAndQuarantine"}
    lines = plan_lines([refused], "present", "2026-11-28T03:58:10Z")
    assert lines == [
        "Plan: 0 of 3 machine result(s) of 1 file(s) need a quarantine; the others are already done or have nothing to do.",
        "2 machine result(s) would be refused: the access token lacks the application permission Machine.StopAndQuarantine, so the "
        "run stops at its first refused write (the summary says how to grant it).",
    ]


def test_offline_machines_are_named_and_a_wait_for_them_moves_the_expected_end():
    actions = [{"machine_name": "ws-01", "outcome": "would_create", "health_status": "Active"},
               {"machine_name": "laptop-07", "outcome": "would_create", "health_status": "Inactive"},
               {"machine_name": "laptop-08", "outcome": "existing", "health_status": "NoSensorData", "action": {"status": "Pending"}},
               {"machine_name": "laptop-09", "outcome": "existing", "health_status": "Inactive", "action": {"status": "Succeeded"}}]
    plan = [{"item": SHA1, "actions": actions}]

    waiting = plan_lines(plan, "present", "2026-11-28T03:58:10Z", wait_timeout=900)
    not_waiting = plan_lines(plan, "present", "2026-11-28T03:58:10Z")

    assert waiting[2:] == [
        "2 machine(s) are offline (laptop-07, laptop-08): their actions stay Pending until the machines connect, which may be days.",
        "The run waits for them until its wait of 900 s ends: expected end 2026-11-28 04:14 UTC. Set quarantine_file_wait=false not "
        "to wait; Defender keeps the actions and runs them when the machines connect."]
    assert not_waiting[2:] == waiting[2:3]
    assert plan_lines(plan, "cancelled", "2026-11-28T03:58:10Z", wait_timeout=900)[2:] == []

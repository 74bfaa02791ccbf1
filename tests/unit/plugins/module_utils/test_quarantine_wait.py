# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wait: polling every tracked action with a few list reads until it is final or wait_timeout passes."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    fleet,
    api_error,
    machine_ids,
    run_engine,
)

LIFECYCLE = ((5, "InProgress"), (15, "Succeeded"))


def lifecycle_fleet(count, lifecycle=LIFECYCLE):
    api = fleet(count)
    api.lifecycle = lifecycle
    return api


def test_waits_until_succeeded_with_growing_intervals():
    api = lifecycle_fleet(2)
    result = run_engine(api, machine_ids=machine_ids(2), wait=True)
    assert [(entry["outcome"], entry["status"]) for entry in result.actions] == [("created", "Succeeded")] * 2
    assert result.actions[0]["action"]["status"] == "Succeeded"
    assert api.clock.sleeps == [10, 15]
    polls = api.calls("machineactions.list")[1:]
    assert len(polls) == 2
    assert polls[0]["params"]["$filter"] == "id eq '%s' or id eq '%s'" % tuple(entry["action_id"] for entry in result.actions)
    assert api.calls("machineactions.get") == []


@pytest.mark.parametrize("final, code", [("Failed", "ActionFailed"), ("TimeOut", "ActionTimeOut"), ("Cancelled", "ActionCancelled")])
def test_an_action_ending_badly_fails_but_still_counts_as_a_change(final, code):
    api = lifecycle_fleet(1, lifecycle=((5, final),))
    result = run_engine(api, machine_ids=machine_ids(1), wait=True)
    entry = result.actions[0]
    assert (entry["outcome"], entry["status"], entry["error"]["code"]) == ("failed", final, code)
    assert entry["action_id"] in entry["error"]["message"] and final in entry["error"]["message"]
    assert result.changed is True


def test_still_in_flight_at_the_timeout_fails_with_wait_timeout():
    api = lifecycle_fleet(1, lifecycle=((5, "InProgress"),))
    result = run_engine(api, machine_ids=machine_ids(1), wait=True, wait_timeout=60)
    entry = result.actions[0]
    assert (entry["outcome"], entry["status"], entry["error"]["code"]) == ("failed", "InProgress", "WaitTimeout")
    assert sum(api.clock.sleeps) == 60
    assert max(api.clock.sleeps) <= 30


def test_existing_in_flight_actions_are_waited_for_too():
    api = lifecycle_fleet(2)
    api.schedule(api.add_action(api.machines[0])["id"], ((20, "Succeeded"),))
    api.add_action(api.machines[1], status="Succeeded")
    result = run_engine(api, machine_ids=machine_ids(2), wait=True)
    assert [(entry["outcome"], entry["status"]) for entry in result.actions] == [("existing", "Succeeded")] * 2
    assert api.writes() == [] and result.changed is False
    # Only the in-flight one is polled.
    assert api.calls("machineactions.list")[1]["params"]["$filter"] == "id eq '%s'" % api.actions[0]["id"]


def test_many_tracked_actions_are_read_with_one_listing_per_round():
    api = lifecycle_fleet(50)
    result = run_engine(api, machine_ids=machine_ids(50), wait=True)
    assert result.summary["created"] == 50 and {entry["status"] for entry in result.actions} == {"Succeeded"}
    polls = api.calls("machineactions.list")[1:]
    assert len(polls) == len(api.clock.sleeps) == 2
    assert polls[0]["params"]["$filter"] == "type eq 'StopAndQuarantineFile' and creationDateTimeUtc ge 2025-03-01T12:00:00Z"


def test_ids_are_read_in_batches_of_twenty():
    api = lifecycle_fleet(40)
    run_engine(api, machine_ids=machine_ids(40), wait=True)
    first_round = api.calls("machineactions.list")[1:3]
    assert [poll["params"]["$filter"].count("id eq") for poll in first_round] == [20, 20]


def test_actions_missing_from_a_lagging_list_are_read_by_id():
    api = lifecycle_fleet(2)
    api.list_lag = 3600
    result = run_engine(api, machine_ids=machine_ids(2), wait=True)
    assert {entry["status"] for entry in result.actions} == {"Succeeded"}
    assert sorted(get["path"] for get in api.calls("machineactions.get")[-2:]) == sorted(
        "/api/machineactions/%s" % entry["action_id"] for entry in result.actions)


def test_a_failed_poll_does_not_end_the_wait():
    api = lifecycle_fleet(1)
    api.read_script["machineactions.list"] = [None, api_error(500, "InternalServerError", "oops", "GET")]
    result = run_engine(api, machine_ids=machine_ids(1), wait=True)
    assert (result.actions[0]["outcome"], result.actions[0]["status"]) == ("created", "Succeeded")
    assert api.clock.sleeps == [10, 15] and len(api.calls("machineactions.list")) == 3


def test_polls_failing_until_the_timeout_are_named_in_the_error():
    api = lifecycle_fleet(1)
    api.read_script["machineactions.list"] = [None] + [api_error(500, "InternalServerError", "oops", "GET")] * 10
    entry = run_engine(api, machine_ids=machine_ids(1), wait=True, wait_timeout=40).actions[0]
    assert entry["error"]["code"] == "WaitTimeout" and "oops" in entry["error"]["message"]


def test_no_wait_in_check_mode_or_without_wait():
    api = lifecycle_fleet(1)
    run_engine(api, check_mode=True, machine_ids=machine_ids(1), wait=True)
    run_engine(api, machine_ids=machine_ids(1))
    assert api.clock.sleeps == []
    assert len(api.calls("machineactions.list")) == 2


def offline_fleet(health_statuses, lifecycle=()):
    """Machines with these health statuses, last seen a week before; actions follow ``lifecycle`` (none: stay Pending)."""
    api = lifecycle_fleet(len(health_statuses), lifecycle=lifecycle)
    for machine, health_status in zip(api.machines, health_statuses):
        machine.update(healthStatus=health_status, lastSeen="2025-02-22T08:00:00Z")
    return api


def test_an_action_still_pending_on_an_offline_machine_is_queued_not_failed():
    api = offline_fleet(["Inactive", "ImpairedCommunication"])
    result = run_engine(api, machine_ids=machine_ids(2), wait=True, wait_timeout=60)
    assert [(entry["outcome"], entry["status"], entry["error"]) for entry in result.actions] == [("queued", "Pending", None)] * 2
    assert result.summary["queued"] == 2 and result.summary["failed"] == 0 and result.changed is True
    queued = result.actions[0]["queued"]
    assert (queued["health_status"], queued["last_seen"]) == ("Inactive", "2025-02-22T08:00:00Z")
    assert "is offline (health status Inactive, last seen 2025-02-22T08:00:00Z)" in queued["message"]
    assert "runs it when the machine next connects" in queued["message"]
    # The machines are read once, by id, when the run starts: they were offline then, so not again at the end.
    assert [call["params"]["$filter"] for call in api.calls("machines.list")] == ["id eq '%s' or id eq '%s'" % tuple(machine_ids(2))]


@pytest.mark.parametrize("health_status, lifecycle, status", [
    ("Active", (), "Pending"),
    ("Unknown", (), "Pending"),
    ("Inactive", ((5, "InProgress"),), "InProgress"),
])
def test_pending_on_an_online_machine_or_in_progress_anywhere_stays_a_wait_timeout(health_status, lifecycle, status):
    api = offline_fleet([health_status], lifecycle=lifecycle)
    result = run_engine(api, machine_ids=machine_ids(1), wait=True, wait_timeout=60)
    entry = result.actions[0]
    assert (entry["outcome"], entry["status"], entry["error"]["code"]) == ("failed", status, "WaitTimeout")
    assert "queued" not in entry
    # Machines are read when the run starts, and again only for actions still Pending on machines online then.
    assert len(api.calls("machines.list")) == (2 if status == "Pending" else 1)


def test_a_failed_read_of_the_machines_leaves_a_wait_timeout_that_says_so():
    api = offline_fleet(["Active"])
    api.read_script["machines.list"] = [None, api_error(503, "ServiceUnavailable", "busy", "GET")]
    result = run_engine(api, machine_ids=machine_ids(1), wait=True, wait_timeout=60)
    entry = result.actions[0]
    assert (entry["outcome"], entry["error"]["code"]) == ("failed", "WaitTimeout")
    assert "whether the machine is offline is unknown: reading it failed" in entry["error"]["message"]


def test_a_request_says_whether_queued_actions_fail_the_task():
    from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
    options = dict(sha1="87662bc3d60e4200ceaf7aae249d1c343f4b83c9", comment="INC-1", observed=True)
    assert QuarantineRequest.from_options(options).fail_when_queued is False
    assert QuarantineRequest.from_options(dict(options, fail_when_queued=True)).fail_when_queued is True

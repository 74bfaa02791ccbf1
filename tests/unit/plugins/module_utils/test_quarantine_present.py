# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""state: present: the pre-check, the decisions, and how every answer to a write is read."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from ansible_collections.mde.response.plugins.module_utils._quarantine.file_action import QUARANTINE_OUTCOMES as OUTCOMES
from ansible_collections.mde.response.plugins.module_utils.errors import TransportError
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    LOST_AFTER_WRITE,
    LOST_BEFORE_WRITE,
    OTHER_SHA1,
    SHA1,
    START,
    fleet,
    api_error,
    machine_id,
    machine_ids,
    make_machine,
    run_engine,
)


def actions_on(api, number):
    return [action for action in api.actions if action["machineId"] == machine_id(number)]


def test_first_run_creates_and_reports_every_action_as_returned():
    api = fleet(3)
    result = run_engine(api, machine_ids=machine_ids(3))
    assert result.changed is True
    assert result.summary == dict({outcome: 0 for outcome in OUTCOMES}, created=3)
    assert len(api.writes()) == 3 and len(api.calls("machineactions.list")) == 1
    for number, entry in enumerate(result.actions):
        stored = actions_on(api, number)[0]
        assert entry == {
            "machine_id": machine_id(number),
            "machine_name": make_machine(number)["computerDnsName"],
            "outcome": "created",
            "action_id": stored["id"],
            "status": "Pending",
            "health_status": None,
            "error": None,
            "action": stored,
        }
        assert stored["requestorComment"] == "INC-4711"


def test_rerun_changes_nothing():
    api = fleet(3)
    run_engine(api, machine_ids=machine_ids(3))
    writes = len(api.writes())
    result = run_engine(api, machine_ids=machine_ids(3))
    assert result.changed is False
    assert result.summary["existing"] == 3
    assert len(api.writes()) == writes
    assert [entry["action_id"] for entry in result.actions] == [actions_on(api, number)[0]["id"] for number in range(3)]


def test_rerun_on_a_thousand_machines_costs_a_few_reads_and_no_write():
    api = fleet(1000)
    for machine in api.machines:
        api.add_action(machine)
    result = run_engine(api, machine_ids=machine_ids(1000))
    assert result.summary["existing"] == 1000 and result.changed is False
    assert len(api.requests) <= 3 and api.writes() == []


def test_rerun_by_name_on_a_thousand_machines_costs_two_reads():
    api = fleet(1000)
    for machine in api.machines:
        api.add_action(machine, status="Succeeded")
    result = run_engine(api, machine_names=[machine["computerDnsName"] for machine in api.machines])
    assert result.summary["existing"] == 1000
    assert [request["route"] for request in api.requests] == ["machines.list", "machineactions.list"]


def test_check_mode_never_writes_and_predicts():
    api = fleet(3)
    api.add_action(api.machines[1])
    result = run_engine(api, check_mode=True, machine_ids=machine_ids(3))
    assert [entry["outcome"] for entry in result.actions] == ["would_create", "existing", "would_create"]
    assert result.changed is True and api.writes() == []
    assert result.actions[0]["action"] is None and result.actions[1]["action_id"] == api.actions[0]["id"]


def test_check_mode_with_everything_done_is_unchanged():
    api = fleet(1)
    api.add_action(api.machines[0])
    assert run_engine(api, check_mode=True, machine_ids=machine_ids(1)).changed is False


@pytest.mark.parametrize("setup, outcome", [
    (dict(status="Pending"), "existing"),
    (dict(status="InProgress", created=START - timedelta(days=20)), "existing"),
    (dict(status="Succeeded", created=START - timedelta(hours=23)), "existing"),
    (dict(status="Succeeded", created=START - timedelta(hours=25)), "created"),
    (dict(status="Failed"), "created"),
    (dict(status="TimeOut"), "created"),
    (dict(status="Cancelled"), "created"),
    (dict(sha1=OTHER_SHA1), "created"),
    (dict(action_type="Isolate"), "created"),
    (dict(identifier_case=str.upper), "existing"),
])
def test_what_counts_as_done(setup, outcome):
    api = fleet(1)
    api.add_action(api.machines[0], **setup)
    assert run_engine(api, machine_ids=machine_ids(1)).actions[0]["outcome"] == outcome


def test_machine_id_case_of_the_api_does_not_matter():
    api = fleet(1)
    existing = api.add_action(api.machines[0])
    existing["machineId"] = existing["machineId"].upper()
    api.machines[0]["id"] = api.machines[0]["id"].upper()
    # The filter holds the lower-cased id; a service that compares case-sensitively would hide the action, so
    # this only proves the client-side match: use more than 20 targets so that no machineId filter is sent.
    result = run_engine(api, check_mode=True, machine_ids=machine_ids(21))
    assert result.actions[0]["outcome"] == "existing"


def test_documented_last_update_field_variant_is_accepted():
    api = fleet(1)
    api.add_action(api.machines[0], status="Succeeded", lastUpdateTimeUtc="2025-03-01T11:00:00.0000000Z")
    del api.actions[0]["lastUpdateDateTimeUtc"]
    assert run_engine(api, machine_ids=machine_ids(1)).actions[0]["outcome"] == "existing"


def test_pre_check_filter_for_a_small_target_set():
    api = fleet(2)
    run_engine(api, machine_ids=machine_ids(2))
    query = api.calls("machineactions.list")[0]["params"]
    assert query["$filter"] == (
        "type eq 'StopAndQuarantineFile' and (status eq 'Pending' or status eq 'InProgress' or "
        "creationDateTimeUtc ge 2025-02-28T12:00:00Z) and (machineId eq '%s' or machineId eq '%s')" % tuple(machine_ids(2))
    )
    assert query["$top"] == 10000


def test_pre_check_of_a_large_target_set_does_not_list_machine_ids():
    api = fleet(21)
    run_engine(api, check_mode=True, machine_ids=machine_ids(21), succeeded_within="30m")
    assert api.calls("machineactions.list")[0]["params"]["$filter"] == (
        "type eq 'StopAndQuarantineFile' and (status eq 'Pending' or status eq 'InProgress' or "
        "creationDateTimeUtc ge 2025-03-01T11:30:00Z)")


def test_succeeded_within_zero_never_counts_a_success():
    api = fleet(1)
    api.add_action(api.machines[0], status="Succeeded")
    result = run_engine(api, machine_ids=machine_ids(1), succeeded_within=0)
    assert result.actions[0]["outcome"] == "created"
    assert "creationDateTimeUtc" not in api.calls("machineactions.list")[0]["params"]["$filter"]


def test_force_creates_despite_a_recent_success():
    api = fleet(1)
    api.add_action(api.machines[0], status="Succeeded")
    assert run_engine(api, machine_ids=machine_ids(1), force=True).actions[0]["outcome"] == "created"
    assert len(api.writes()) == 1


def test_force_with_an_action_in_flight_is_answered_as_existing():
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    result = run_engine(api, machine_ids=machine_ids(1), force=True)
    assert (result.actions[0]["outcome"], result.actions[0]["action_id"]) == ("existing", pending["id"])
    assert len(api.actions) == 1 and result.changed is False


def test_duplicate_answered_with_201_and_the_known_pending_action_is_existing():
    api = fleet(1)
    pending = api.add_action(api.machines[0])
    api.duplicate = "return_existing"
    result = run_engine(api, machine_ids=machine_ids(1), force=True)
    assert len(api.writes()) == 1
    assert (result.actions[0]["outcome"], result.actions[0]["action_id"], result.changed) == ("existing", pending["id"], False)


def test_duplicate_answered_with_201_and_an_older_action_the_pre_check_missed_is_existing():
    # The action was created ten minutes ago but the list did not show it yet when the pre-check read it.
    api = fleet(1)
    api.duplicate = "return_existing"
    older = []
    api.post_script[machine_id(0)] = [lambda: older.append(api.add_action(api.machines[0], created=START - timedelta(minutes=10)))]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert len(api.writes()) == 1 and len(api.actions) == 1
    assert (result.actions[0]["outcome"], result.actions[0]["action_id"], result.changed) == ("existing", older[0]["id"], False)


def someone_else_creates(api, number, sha1=SHA1, answer=None):
    """A step: another analyst's action appears between the pre-check and our write, which gets ``answer``."""
    return lambda: api.add_action(api.machines[number], sha1=sha1) and answer


@pytest.mark.parametrize("refusal", [
    None,  # the fake's own duplicate answer: 400 ActiveRequestAlreadyExists "Action is already in progress"
    api_error(400, "BadRequest", "Action is already in progress"),
    api_error(400, "ActiveRequestAlreadyExists", "Request already exists"),
])
def test_duplicate_refusal_reports_the_action_in_progress(refusal):
    api = fleet(1)
    api.post_script[machine_id(0)] = [someone_else_creates(api, 0, answer=refusal)]
    result = run_engine(api, machine_ids=machine_ids(1))
    entry = result.actions[0]
    assert (entry["outcome"], entry["action_id"], entry["status"]) == ("existing", api.actions[0]["id"], "Pending")
    assert result.changed is False and len(api.actions) == 1
    lookup = api.calls("machineactions.list")[1]["params"]["$filter"]
    assert lookup == "machineId eq '%s' and type eq 'StopAndQuarantineFile'" % machine_id(0)


def test_duplicate_refusal_for_another_files_action_is_a_failure():
    api = fleet(1)
    api.post_script[machine_id(0)] = [
        someone_else_creates(api, 0, OTHER_SHA1, api_error(400, "ActiveRequestAlreadyExists", "Action is already in progress"))]
    entry = run_engine(api, machine_ids=machine_ids(1)).actions[0]
    assert entry["outcome"] == "failed" and entry["error"]["code"] == "ActiveRequestAlreadyExists"
    assert OTHER_SHA1 in entry["error"]["message"] and entry["error"]["http_status"] == 400


def test_duplicate_refusal_not_yet_listed_is_existing_with_a_warning():
    api = fleet(1)
    api.post_script[machine_id(0)] = [api_error(400, "ActiveRequestAlreadyExists", "Action is already in progress")]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert (result.actions[0]["outcome"], result.actions[0]["action"]) == ("existing", None)
    assert "does not show yet" in result.warnings[0]


@pytest.mark.parametrize("status", [404, 400])
def test_file_not_on_the_machine_is_not_present(status):
    api = fleet(2)
    api.post_script[machine_id(1)] = [api_error(status, "ResourceNotFound", "Sha1 %s was not found in machine %s" % (SHA1, machine_id(1)))]
    result = run_engine(api, machine_ids=machine_ids(2))
    assert [entry["outcome"] for entry in result.actions] == ["created", "not_present"]
    assert result.actions[1]["error"] is None
    assert result.summary["not_present"] == 1


def test_unknown_machine_fails_with_the_apis_error():
    api = fleet(1)
    ghost = "f" * 40
    result = run_engine(api, machine_ids=[ghost])
    assert result.actions[0]["outcome"] == "failed"
    assert result.actions[0]["error"] == {
        "code": "ResourceNotFound",
        "message": "Machine %s was not found (correlation id corr-ResourceNotFound)" % ghost,
        "http_status": 404,
    }


@pytest.mark.parametrize("status, code, message", [
    (403, "Forbidden", "The application does not have any of the required application permissions (Machine.StopAndQuarantine)"),
    (403, "DisallowedOperation", "The file is signed by Microsoft"),
    (400, "InvalidInput", "Invalid input"),
])
def test_refusals_fail_with_the_apis_code_and_message(status, code, message):
    api = fleet(1)
    api.post_script[machine_id(0)] = [api_error(status, code, message)]
    result = run_engine(api, machine_ids=machine_ids(1))
    expected = {"code": code, "message": "%s (correlation id corr-%s)" % (message, code), "http_status": status}
    if code == "Forbidden":
        expected["missing_permission"] = "Machine.StopAndQuarantine"
    assert result.actions[0]["error"] == expected
    assert result.changed is False


def test_a_transport_error_that_is_not_ambiguous_fails_that_machine():
    api = fleet(2)
    api.post_script[machine_id(0)] = [TransportError("POST machines.StopAndQuarantineFile: HTML answer (HTTP 502)", 502)]
    result = run_engine(api, machine_ids=machine_ids(2))
    assert result.actions[0]["error"] == {"code": "TransportError", "message": "POST machines.StopAndQuarantineFile: HTML answer (HTTP 502)",
                                          "http_status": 502}
    assert result.actions[1]["outcome"] == "created"


# -- lost answers: the write may have happened -------------------------------------------------------------------


def test_lost_answer_of_a_write_that_happened_is_found_at_once():
    api = fleet(1)
    api.post_script[machine_id(0)] = [LOST_AFTER_WRITE]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert (result.actions[0]["outcome"], result.actions[0]["action_id"]) == ("created", api.actions[0]["id"])
    assert len(api.writes()) == 1 and api.clock.sleeps == []
    lookup = api.calls("machineactions.list")[1]["params"]["$filter"]
    assert lookup == "machineId eq '%s' and type eq 'StopAndQuarantineFile' and creationDateTimeUtc ge 2025-03-01T11:58:00Z" % machine_id(0)


def test_lost_answer_with_a_lagging_list_is_found_by_polling():
    api = fleet(1)
    api.list_lag = 10
    api.post_script[machine_id(0)] = [LOST_AFTER_WRITE]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert result.actions[0]["outcome"] == "created" and result.changed is True
    assert len(api.writes()) == 1 and len(api.actions) == 1
    assert api.clock.sleeps == [2, 4, 8]


def test_lost_answer_of_a_write_that_did_not_happen_is_sent_again_after_the_grace_period():
    api = fleet(1)
    api.post_script[machine_id(0)] = [LOST_BEFORE_WRITE]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert result.actions[0]["outcome"] == "created"
    assert len(api.writes()) == 2 and len(api.actions) == 1
    assert sum(api.clock.sleeps) == 120 and max(api.clock.sleeps) == 30


@pytest.mark.parametrize("duplicate, outcome", [("reject", "existing"), ("return_existing", "created")])
def test_list_lagging_beyond_the_grace_period_still_never_duplicates(duplicate, outcome):
    api = fleet(1)
    api.list_lag = 300
    api.duplicate = duplicate
    api.post_script[machine_id(0)] = [LOST_AFTER_WRITE]
    result = run_engine(api, machine_ids=machine_ids(1))
    assert len(api.writes()) == 2 and len(api.actions) == 1
    assert result.actions[0]["outcome"] == outcome


def test_answer_lost_twice_fails_without_a_third_write():
    api = fleet(1)
    api.post_script[machine_id(0)] = [LOST_BEFORE_WRITE, LOST_BEFORE_WRITE]
    entry = run_engine(api, machine_ids=machine_ids(1)).actions[0]
    assert entry["outcome"] == "failed" and entry["error"]["code"] == "AmbiguousWrite"
    assert "lost twice" in entry["error"]["message"]
    assert len(api.writes()) == 2


def test_lost_answer_that_cannot_be_looked_up_is_not_sent_again():
    api = fleet(1)
    api.post_script[machine_id(0)] = [LOST_BEFORE_WRITE]
    api.read_script["machineactions.list"] = [None, api_error(503, "ServiceUnavailable", "try later", "GET")]
    entry = run_engine(api, machine_ids=machine_ids(1)).actions[0]
    assert entry["outcome"] == "failed" and entry["error"]["code"] == "AmbiguousWrite"
    assert "not sent again" in entry["error"]["message"]
    assert len(api.writes()) == 1


def test_writes_run_in_a_bounded_pool():
    api = fleet(12)
    active, peak, lock = [0], [0], threading.Lock()
    real_request = api.request

    def slow_request(method, path, params=None, body=None, route=None, collection=False):
        if method != "POST":
            return real_request(method, path, params, body, route, collection)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        try:
            return real_request(method, path, params, body, route)
        finally:
            with lock:
                active[0] -= 1

    api.request = slow_request
    result = run_engine(api, machine_ids=machine_ids(12), max_workers=3)
    assert result.summary["created"] == 12
    assert 2 <= peak[0] <= 3

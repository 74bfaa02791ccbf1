# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A missing write permission: the first refusal stops the run's writes; check mode predicts it from the token."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import WRITE_PERMISSION
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    api_error,
    fleet,
    machine_ids,
    run_engine,
)

MISSING = "The application does not have any of the required application permissions (Machine.StopAndQuarantine) to access the resource."
MISSING_ROLES = "Missing application roles. API required roles: Machine.StopAndQuarantine, application roles: Machine.Read.All."


def refuse_every_write(api, message=MISSING):
    """Every POST to a machine, and every cancel, answers 403 for the missing permission."""
    def refusal():
        return api_error(403, "Forbidden", message)

    for machine in api.machines:
        api.post_script[machine["id"]] = [refusal]
    for action in api.actions:
        api.cancel_script[action["id"]] = [refusal]


@pytest.mark.parametrize("message", [MISSING, MISSING_ROLES])
def test_the_first_refusal_for_a_missing_permission_stops_every_other_write(message):
    api = fleet(12)
    refuse_every_write(api, message)

    result = run_engine(api, machine_ids=machine_ids(12), max_workers=4)

    assert len(api.writes()) == 1
    assert result.summary["failed"] == 12 and result.changed is False
    refused_id = api.writes()[0]["path"].split("/")[3]
    for entry in result.actions:
        error = entry["error"]
        assert (entry["outcome"], error["code"], error["http_status"], error["missing_permission"]) == (
            "failed", "Forbidden", 403, "Machine.StopAndQuarantine")
        if entry["machine_id"] != refused_id:
            assert error["message"] == ("not sent: the write to machine %s was refused because the application lacks the "
                                        "permission Machine.StopAndQuarantine, so this run sent no further write" % refused_id)


def test_other_refusals_do_not_stop_the_run():
    api = fleet(3)
    api.post_script[api.machines[0]["id"]] = [api_error(403, "Forbidden", "Machine is offline")]

    result = run_engine(api, machine_ids=machine_ids(3), max_workers=1)

    assert len(api.writes()) == 3
    assert result.summary["failed"] == 1 and result.summary["created"] == 2


def test_cancels_stop_at_the_first_refusal_too():
    api = fleet(6)
    for machine in api.machines:
        api.add_action(machine, status="Pending")
    refuse_every_write(api)

    result = run_engine(api, machine_ids=machine_ids(6), state="cancelled", comment="false positive", max_workers=3)

    assert len(api.writes()) == 1
    assert result.summary["failed"] == 6 and result.changed is False
    assert {entry["error"]["missing_permission"] for entry in result.actions} == {"Machine.StopAndQuarantine"}
    assert sum(entry["error"]["message"].startswith("not sent: ") for entry in result.actions) == 5


@pytest.mark.parametrize("state, would", [("present", "would_create"), ("cancelled", "would_cancel")])
def test_check_mode_predicts_the_refusal_from_the_tokens_roles(state, would):
    api = fleet(3)
    for machine in api.machines[:2]:
        api.add_action(machine, status="Pending")
    api.roles = frozenset({"Machine.Read.All"})

    # present: the two machines with a pending action are existing, the third would be written; cancelled: the reverse.
    result = run_engine(api, check_mode=True, machine_ids=machine_ids(3), state=state, comment="INC-4711")

    assert api.writes() == []
    failed = [entry for entry in result.actions if entry["outcome"] == "failed"]
    assert len(failed) == (1 if state == "present" else 2) and result.summary[would] == 0
    assert result.changed is False
    for entry in failed:
        error = entry["error"]
        assert (error["code"], error["http_status"], error["missing_permission"]) == ("Forbidden", None, "Machine.StopAndQuarantine")
        assert "roles claim lacks the application permission Machine.StopAndQuarantine" in error["message"]
        assert "grant admin consent" in error["message"] and "token_cache: false" in error["message"]


@pytest.mark.parametrize("roles", [None, frozenset({"Machine.Read.All", "Machine.StopAndQuarantine"})])
def test_check_mode_predicts_writes_when_the_token_grants_them_or_does_not_say(roles):
    api = fleet(2)
    api.roles = roles

    result = run_engine(api, check_mode=True, machine_ids=machine_ids(2))

    assert result.summary["would_create"] == 2 and result.summary["failed"] == 0 and result.changed is True


def test_both_states_need_the_permission_that_creates_the_action():
    # Cancelling takes the permission of the action's type (the API reference, cancel machine action).
    assert WRITE_PERMISSION == {"present": "Machine.StopAndQuarantine", "cancelled": "Machine.StopAndQuarantine"}

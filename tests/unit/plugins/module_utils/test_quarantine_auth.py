# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No access token mid-run (a secret rotated, a refresh refused): every result is kept, no further write is sent."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import fleet, machine_ids, run_engine

LOGIN_REFUSED = "the login service refused to issue a token: AADSTS7000215 Invalid client secret provided"


def no_token():
    return AuthenticationError(LOGIN_REFUSED)


def test_present_keeps_the_created_actions_and_reports_the_rest_unsent():
    api = fleet(6)
    api.post_script[api.machines[2]["id"]] = [no_token]

    result = run_engine(api, machine_ids=machine_ids(6), max_workers=1)

    assert [entry["outcome"] for entry in result.actions] == ["created", "created", "failed", "failed", "failed", "failed"]
    assert result.changed is True and result.summary["created"] == 2 and result.summary["failed"] == 4
    assert len(api.writes()) == 3
    for entry in result.actions[2:]:
        assert entry["error"]["code"] == "AuthenticationFailed"
        assert entry["error"]["message"].startswith(
            "no action was created: no access token could be had for the write to machine %s (%s)" % (api.machines[2]["id"], LOGIN_REFUSED))


def test_cancel_keeps_the_cancelled_actions_and_sends_no_further_cancel():
    api = fleet(4)
    actions = [api.add_action(machine) for machine in api.machines]
    api.cancel_script[actions[1]["id"]] = [no_token]

    result = run_engine(api, machine_ids=machine_ids(4), state="cancelled", max_workers=1)

    assert [entry["outcome"] for entry in result.actions] == ["cancelled", "failed", "failed", "failed"]
    assert result.changed is True and result.summary["cancelled"] == 1
    assert [request["path"] for request in api.writes()] == ["/api/machineactions/%s/cancel" % action["id"] for action in actions[:2]]
    assert {entry["error"]["code"] for entry in result.actions[1:]} == {"AuthenticationFailed"}
    assert [action["status"] for action in api.actions] == ["Cancelled", "Pending", "Pending", "Pending"]


def test_wait_ends_at_the_first_read_without_a_token_and_keeps_changed():
    api = fleet(2)
    api.read_script["machineactions.list"] = [None, None, no_token]

    result = run_engine(api, machine_ids=machine_ids(2), wait=True, wait_timeout=900)

    assert result.changed is True and result.summary["failed"] == 2
    for entry in result.actions:
        assert entry["status"] == "Pending"
        assert entry["error"]["code"] == "AuthenticationFailed"
        assert entry["error"]["message"].startswith("action %s was Pending when the wait ended early: no access token" % entry["action_id"])
    # The wait stopped at that read instead of polling for 900 s.
    assert sum(api.clock.sleeps) < 60

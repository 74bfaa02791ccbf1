# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``wait``: poll the actions a run created or found until each is final or ``wait_timeout`` has passed.

An action still Pending at the end on a machine Defender reports out of contact is ``queued``, not failed: Defender
keeps it and runs it when the machine connects again. Whether a machine is out of contact is taken from the entity the
run started with when that says so; the other machines of actions still Pending are read once, at the end.
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    EPOCH,
    PENDING,
    SUCCEEDED,
    action_created,
    action_last_update,
    action_status,
    entity_id,
    failed_for_absent_file,
    id_key,
    is_in_flight,
    is_offline,
    value_of,
)
from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError, MdeError, error_entry
from ansible_collections.mde.response.plugins.module_utils._model.odata import equals, list_where_any, odata_datetime

POLL_FIRST_INTERVAL = 10.0
POLL_MAX_INTERVAL = 30.0
POLL_GROWTH = 1.5
# Up to this many tracked actions, waiting reads them by id; beyond it one listing by creation time.
WAIT_BY_ID_LIMIT = 40


def wait_until_final(client, clock, results, wait_timeout, action_type, on_read=None):
    """Poll every created or existing in-flight action; results whose action ends badly or never ends fail.

    ``on_read`` is called after each read that brought the actions' current state (the run's progress shows it)."""
    tracked = {
        id_key(result.action): result
        for result in results
        if result.outcome in (Outcome.CREATED, Outcome.EXISTING) and is_in_flight(result.action) and id_key(result.action)
    }
    deadline = clock.monotonic() + wait_timeout
    interval = POLL_FIRST_INTERVAL
    read_error: Optional[MdeError] = None
    while tracked:
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            break
        clock.sleep(min(interval, remaining))
        interval = min(interval * POLL_GROWTH, POLL_MAX_INTERVAL)
        try:
            current = _read_tracked(client, tracked, action_type)
        except AuthenticationError as error:
            # Without a token no later poll can succeed: the actions are reported as they were last read.
            read_error = error
            break
        except MdeError as error:
            # A failed poll is no reason to give up waiting; the timeout message will mention it.
            read_error = error
            continue
        for key, action in current.items():
            tracked[key].set_action(action)
            if not is_in_flight(action):
                _settle_final(tracked.pop(key))
        if on_read is not None:
            on_read()
    if isinstance(read_error, AuthenticationError):
        for result in tracked.values():
            result.fail(error_entry(read_error.code, (
                "action %s was %s when the wait ended early: no access token could be had to read it again (%s); once the"
                " credentials work, mde.response.machine_action_info with action_ids set to it shows its status"
                % (entity_id(result.action), action_status(result.action), read_error))), result.action)
        return
    # Only a Pending action can be waiting for its machine: one InProgress has reached it. A machine offline when the
    # run read it is taken as it was then; the others are read again, since they may have gone offline meanwhile.
    pending = {key for key, result in tracked.items() if action_status(result.action) == PENDING}
    known_offline = {key for key in pending if is_offline(tracked[key].machine)}
    machines, machines_error = _machines_of(client, [tracked[key] for key in pending - known_offline])
    for key, result in tracked.items():
        machine = result.machine if key in known_offline else machines.get(result.machine_id) if key in pending else None
        if machine is not None and is_offline(machine):
            _queue(result, machine, wait_timeout)
            continue
        message = "action %s is still %s after waiting %d s" % (entity_id(result.action), action_status(result.action), wait_timeout)
        if read_error is not None:
            message += " (last read error: %s)" % read_error
        if machines_error is not None and key in pending:
            message += " (whether the machine is offline is unknown: reading it failed: %s)" % machines_error
        result.fail(error_entry("WaitTimeout", message), result.action)


def _machines_of(client, results):
    """({machine id: Machine entity}, None) for the machines of ``results``, read once; ({}, the error) when that fails."""
    if not results:
        return {}, None
    try:
        listed = list_where_any(client.list_machines, "id", sorted({result.machine_id for result in results}), grouped=False)
    except MdeError as error:
        return {}, error
    return {id_key(machine): machine for machine in listed if id_key(machine)}, None


def _queue(result, machine, wait_timeout):
    health_status, last_seen = value_of(machine, "healthStatus"), value_of(machine, "lastSeen")
    details = (entity_id(result.action), wait_timeout, result.machine_name or result.machine_id, health_status, last_seen or "never")
    result.queue(health_status, last_seen, (
        "action %s is still Pending after waiting %d s because machine %s is offline (health status %s, last seen %s):"
        " Defender keeps the action and runs it when the machine next connects; mde.response.machine_action_info with"
        " action_ids set to it shows when it has run" % details))


def _read_tracked(client, tracked, action_type):
    """The current state of the tracked actions, by lower-cased id, with a few list calls."""
    ids = list(tracked)
    if len(ids) <= WAIT_BY_ID_LIMIT:
        listed = list_where_any(client.list_machine_actions, "id", ids, grouped=False)
    else:
        oldest = min((action_created(result.action) or EPOCH) for result in tracked.values())
        listed = client.list_machine_actions(
            "%s and creationDateTimeUtc ge %s" % (equals("type", action_type), odata_datetime(oldest)))
    current = {}
    for action in listed:
        if id_key(action) in tracked:
            current[id_key(action)] = action
    for missing in set(ids) - set(current):
        # New actions can be missing from the list for a while; reading one by id is always up to date.
        current[missing] = client.get_machine_action(entity_id(tracked[missing].action))
    return current


def _settle_final(result):
    status = action_status(result.action)
    if failed_for_absent_file(result.action):
        # Where the API accepts the POST and fails the action later, this is its "not found" answer.
        result.settle(Outcome.NOT_PRESENT, result.action)
    elif status != SUCCEEDED:
        result.fail(
            error_entry(
                "Action%s" % status,
                "action %s on machine %s ended %s (last update %s)"
                % (entity_id(result.action), result.machine_id, status, action_last_update(result.action)),
            ),
            result.action,
        )

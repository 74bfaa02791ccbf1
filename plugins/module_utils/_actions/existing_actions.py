# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The file's StopAndQuarantineFile actions that exist before a run writes, read for all targets at once.

The API cannot filter on the file hash, so actions are listed by type, status and machine and matched here.
"""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    IN_FLIGHT_STATUSES,
    STOP_AND_QUARANTINE,
    SUCCEEDED,
    action_created,
    action_status,
    id_key,
    is_in_flight,
    is_quarantine_of,
    newest_first,
    same_id,
)
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, any_of, equals, odata_datetime, or_chain

# Up to this many machines, the existing-action read also filters on machineId to keep its pages small.
MACHINE_FILTER_LIMIT = 20


class ExistingActionIndex:
    """The file's StopAndQuarantineFile actions found before writing, by machine."""

    def __init__(self, sha1, succeeded_since=None, every_success=False):
        self._sha1 = sha1
        # None: a Succeeded action never makes a new one unnecessary (succeeded_within 0, force, cancelling).
        self.succeeded_since = succeeded_since
        # Whether to read every Succeeded action, however old: a release reports the machines where one quarantined
        # the file, which a cancel cannot undo.
        self._every_success = every_success
        self._by_machine = {}
        self._ids = set()

    def add(self, actions):
        for action in actions:
            if is_quarantine_of(action, self._sha1) and isinstance(action.get("machineId"), str):
                self._ids.add(id_key(action))
                self._by_machine.setdefault(action["machineId"].lower(), []).append(action)

    def knows(self, action):
        """Whether ``action`` (for example a 201 answer) is one that existed before this run wrote anything."""
        return id_key(action) is not None and id_key(action) in self._ids

    def in_flight(self, machine_id):
        """The machine's Pending/InProgress actions for the file, newest first."""
        return newest_first(action for action in self._by_machine.get(machine_id, ()) if is_in_flight(action))

    def satisfying(self, machine_id):
        """The action that makes a new one unnecessary: the newest in flight, else the newest recent success."""
        in_flight = self.in_flight(machine_id)
        if in_flight:
            return in_flight[0]
        if self.succeeded_since is None:
            return None
        recent = [
            action
            for action in self._by_machine.get(machine_id, ())
            if action_status(action) == SUCCEEDED and _created_since(action, self.succeeded_since)
        ]
        return newest_first(recent)[0] if recent else None

    def succeeded(self, machine_id):
        """The machine's newest Succeeded action for the file, or None (read only with ``every_success``)."""
        done = newest_first(action for action in self._by_machine.get(machine_id, ()) if action_status(action) == SUCCEEDED)
        return done[0] if done else None

    def read(self, client, machine_ids):
        """Read the file's actions on every target with one paged list call."""
        wanted = [equals("status", status) for status in IN_FLIGHT_STATUSES]
        if self._every_success:
            wanted.append(equals("status", SUCCEEDED))
        elif self.succeeded_since is not None:
            wanted.append("creationDateTimeUtc ge %s" % odata_datetime(self.succeeded_since))
        clauses = [equals("type", STOP_AND_QUARANTINE), "(%s)" % or_chain(wanted)]
        if len(machine_ids) <= MACHINE_FILTER_LIMIT:
            clauses.append(any_of("machineId", machine_ids))
        self.add(client.list_machine_actions(all_of(clauses)))


def machine_quarantines(client, machine_id, created_since=None):
    """The machine's StopAndQuarantineFile actions for any file, newest first (one list call)."""
    clauses = [equals("machineId", machine_id), equals("type", STOP_AND_QUARANTINE)]
    if created_since is not None:
        clauses.append("creationDateTimeUtc ge %s" % odata_datetime(created_since))
    return newest_first(
        action
        for action in client.list_machine_actions(all_of(clauses))
        if action.get("type") == STOP_AND_QUARANTINE
        and same_id(action.get("machineId"), machine_id)
        and (created_since is None or _created_since(action, created_since))
    )


def _created_since(action, moment):
    """Whether the action was created at or after `moment`. Only actions the list's own `creationDateTimeUtc ge`
    filter chose are asked about, so one whose date cannot be read is taken as the server chose it: counted as
    old, a quarantine done minutes ago would be done again."""
    created = action_created(action)
    return created is None or created >= moment

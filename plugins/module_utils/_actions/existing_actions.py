# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The actions that exist before a run writes, read for all targets at once and kept by machine.

The API filters only on id, status, machineId, type, requestor and creationDateTimeUtc, so the actions are listed by
type, status and (for a few machines) machine, and the action kind picks the ones that bear on its request (a
quarantine of the same file, say) here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable, Optional, Sequence

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    SUCCEEDED,
    action_created,
    action_status,
    id_key,
    is_in_flight,
    newest_first,
    same_id,
)
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, any_of, equals, odata_datetime, or_chain

# Up to this many machines, the existing-action read also filters on machineId to keep its pages small.
MACHINE_FILTER_LIMIT = 20


class ExistingActionIndex:
    """The actions ``matches`` keeps, found before writing, by machine."""

    def __init__(self, matches: Callable[[Entity], bool]) -> None:
        self._matches = matches
        self._by_machine: dict[str, list[Entity]] = {}
        self._ids: set[str] = set()

    def add(self, actions: Iterable[Entity]) -> None:
        for action in actions:
            key = id_key(action)
            if self._matches(action) and isinstance(action.get("machineId"), str) and key not in self._ids:
                if key is not None:
                    self._ids.add(key)
                self._by_machine.setdefault(action["machineId"].lower(), []).append(action)

    def knows(self, action: Entity) -> bool:
        """Whether ``action`` (for example a 201 answer) is one that existed before this run wrote anything."""
        return id_key(action) is not None and id_key(action) in self._ids

    def history(self, machine_id: str) -> list[Entity]:
        """The machine's actions, newest first."""
        return newest_first(self._by_machine.get(machine_id, ()))

    def in_flight(self, machine_id: str) -> list[Entity]:
        """The machine's Pending/InProgress actions, newest first."""
        return [action for action in self.history(machine_id) if is_in_flight(action)]

    def read(self, client: DefenderClient, machine_ids: Sequence[str], types: Sequence[str], status_clauses: Sequence[str]) -> None:
        """Read the actions of ``types`` chosen by any of ``status_clauses`` on every target with one paged list call."""
        kinds = equals("type", types[0]) if len(types) == 1 else "(%s)" % or_chain(equals("type", kind) for kind in types)
        clauses = [kinds, "(%s)" % or_chain(status_clauses)]
        if len(machine_ids) <= MACHINE_FILTER_LIMIT:
            clauses.append(any_of("machineId", machine_ids))
        self.add(client.list_machine_actions(all_of(clauses)))


def machine_actions_of(client: DefenderClient, machine_id: str, types: Sequence[str],
                       created_since: Optional[datetime] = None) -> list[Entity]:
    """The machine's actions of ``types``, newest first (one list call)."""
    kinds = equals("type", types[0]) if len(types) == 1 else "(%s)" % or_chain(equals("type", kind) for kind in types)
    clauses = [equals("machineId", machine_id), kinds]
    if created_since is not None:
        clauses.append("creationDateTimeUtc ge %s" % odata_datetime(created_since))
    return newest_first(
        action
        for action in client.list_machine_actions(all_of(clauses))
        if action.get("type") in types
        and same_id(action.get("machineId"), machine_id)
        and (created_since is None or created_at_or_after(action, created_since))
    )


def created_at_or_after(action: Entity, moment: datetime) -> bool:
    """Whether the action was created at or after `moment`. Only actions the list's own `creationDateTimeUtc ge`
    filter chose are asked about, so one whose date cannot be read is taken as the server chose it: counted as
    old, a quarantine done minutes ago would be done again."""
    created = action_created(action)
    return created is None or created >= moment


def succeeded_since(now: datetime, seconds: int) -> Optional[datetime]:
    """Since when a Succeeded action makes a new one unnecessary, for a ``succeeded_within`` of ``seconds``; None for
    0, where none does."""
    return now - timedelta(seconds=seconds) if seconds else None


def recent_success(action: Entity, since: Optional[datetime]) -> bool:
    """Whether ``action`` Succeeded and was created at or after ``since`` (never, when ``since`` is None)."""
    return since is not None and action_status(action) == SUCCEEDED and created_at_or_after(action, since)

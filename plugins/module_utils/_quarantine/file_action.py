# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""StopAndQuarantineFile as an action kind of the engine: which of a machine's actions make a new one unnecessary.

The API cannot filter actions on the file hash, so the engine lists them by type and status and this kind keeps the
ones for the file (compared ignoring case). A machine needs no new action when one for the file is in flight, or (with
``succeeded_within``) one succeeded recently; ``force`` writes anyway. The API's answer that the file is not on the
machine is the outcome ``not_present``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import recent_success, succeeded_since
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Decision
from ansible_collections.mde.response.plugins.module_utils._client.api import Entity
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    IN_FLIGHT_STATUSES,
    STOP_AND_QUARANTINE,
    SUCCEEDED,
    is_in_flight,
    is_quarantine_of,
    related_file,
    says_file_not_on_machine,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ACTIONS
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import QUARANTINE_SUPPORT
from ansible_collections.mde.response.plugins.module_utils._model.odata import equals, odata_datetime
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest, State
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

# Every outcome of stop_and_quarantine_file: the keys of its summary.
QUARANTINE_OUTCOMES = (Outcome.CREATED, Outcome.EXISTING, Outcome.WOULD_CREATE, Outcome.CANCELLED, Outcome.WOULD_CANCEL,
                       Outcome.NOT_PRESENT, Outcome.QUARANTINED, Outcome.UNSUPPORTED, Outcome.QUEUED, Outcome.FAILED)


class QuarantineKind:
    """The file's StopAndQuarantineFile actions, for a QuarantineRequest; ``now`` dates ``succeeded_within``."""

    spec = ACTIONS[STOP_AND_QUARANTINE]
    support = QUARANTINE_SUPPORT
    same_request = "quarantine the same file"
    read_types: tuple[str, ...] = (STOP_AND_QUARANTINE,)
    outcomes: tuple[str, ...] = QUARANTINE_OUTCOMES

    def __init__(self, request: QuarantineRequest, now: datetime) -> None:
        self._request = request
        self.comment = request.comment
        self.wait = request.wait
        self.wait_timeout = request.wait_timeout
        # None: a Succeeded action never makes a new one unnecessary (succeeded_within 0, force, cancelling).
        self.succeeded_since = (succeeded_since(now, request.succeeded_within)
                                if request.state == State.PRESENT and not request.force else None)

    def status_clauses(self, now: datetime) -> list[str]:
        wanted = [equals("status", status) for status in IN_FLIGHT_STATUSES]
        if self._request.state == State.CANCELLED:
            # A release reports the machines where an earlier action quarantined the file, which a cancel cannot undo.
            wanted.append(equals("status", SUCCEEDED))
        elif self.succeeded_since is not None:
            wanted.append("creationDateTimeUtc ge %s" % odata_datetime(self.succeeded_since))
        return wanted

    def matches(self, action: Entity) -> bool:
        return is_quarantine_of(action, self._request.sha1)

    def decide(self, machine: Optional[Entity], history: list[Entity]) -> Decision:
        satisfying = None if self._request.force else self.satisfying(history)
        return Decision.write() if satisfying is None else Decision.settle(Outcome.EXISTING, satisfying)

    def satisfying(self, history: list[Entity]) -> Optional[Entity]:
        """The action that makes a new one unnecessary: the newest in flight, else the newest recent success."""
        in_flight = [action for action in history if is_in_flight(action)]
        if in_flight:
            return in_flight[0]
        recent = [action for action in history if recent_success(action, self.succeeded_since)]
        return recent[0] if recent else None

    def body(self) -> dict[str, str]:
        return self.spec.body(self.comment, sha1=self._request.sha1)

    def made_by_request(self, action: Entity) -> bool:
        return is_quarantine_of(action, self._request.sha1)

    def describe(self, action: Entity) -> str:
        return "for another file (%s)" % related_file(action)

    def refused(self, refusal: ApiError) -> Optional[str]:
        # The HTTP status of this answer is undocumented; its message is what tells it from an unknown machine.
        if refusal.http_status in (400, 404) and says_file_not_on_machine(refusal.message):
            return Outcome.NOT_PRESENT
        return None

    def finish(self, entry: dict[str, Any]) -> None:
        """Nothing to add: a quarantine's result is the engine's."""

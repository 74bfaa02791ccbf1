# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CollectInvestigationPackage kind: which collections already give a machine its package, and where one runs.

A collection in flight on the machine is ``existing``: the run waits for it rather than asking for another (the API
refuses a second one while one runs, with 400). A collection that Succeeded within ``succeeded_within`` is
``existing`` too: its package is downloaded, not collected again. Any other history (failed, cancelled or older
collections) asks for a new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import recent_success
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Decision
from ansible_collections.mde.response.plugins.module_utils._client.api import Entity
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    IN_FLIGHT_STATUSES,
    SUCCEEDED,
    is_in_flight,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ACTIONS, COLLECT
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import (
    MINIMUM_WINDOWS10_BUILD,
    MINIMUM_WINDOWS10_VERSION,
    action_support,
)
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, equals, odata_datetime
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

# collect-investigation-package.md lists Windows 10 version 1703 or later and Windows 11.
COLLECTION_SUPPORT = action_support(
    COLLECT, (MINIMUM_WINDOWS10_VERSION, MINIMUM_WINDOWS10_BUILD), "runs on Windows 10 version 1703 or later and Windows 11",
    "gather what the investigation needs there with live response or the platform's own diagnostics")
# What each result carries besides the engine's fields: the package on the controller and what the run did about it.
DOWNLOADED = "downloaded"
PRESENT = "present"
WOULD_DOWNLOAD = "would_download"
DOWNLOAD_FAILED = "failed"


class CollectionKind:
    """A request for every target machine's investigation package (see the module docstring)."""

    spec = ACTIONS[COLLECT]
    support = COLLECTION_SUPPORT
    same_request = "collect an investigation package"
    read_types: tuple[str, ...] = (COLLECT,)
    outcomes: tuple[str, ...] = Outcome.COMMON
    # A package can only be downloaded once its collection is complete, so the run always waits.
    wait = True

    def __init__(self, comment: str, wait_timeout: int, succeeded_since: Optional[datetime]) -> None:
        self.comment = comment
        self.wait_timeout = wait_timeout
        # A collection Succeeded at or after this moment is downloaded instead of collecting again; None: none is.
        self.succeeded_since = succeeded_since

    def status_clauses(self, now: datetime) -> list[str]:
        clauses = [equals("status", status) for status in IN_FLIGHT_STATUSES]
        if self.succeeded_since is not None:
            clauses.append("(%s)" % all_of([equals("status", SUCCEEDED),
                                            "creationDateTimeUtc ge %s" % odata_datetime(self.succeeded_since)]))
        return clauses

    def matches(self, action: Entity) -> bool:
        return action.get("type") == COLLECT

    def decide(self, machine: Optional[Entity], history: list[Entity]) -> Decision:
        running = [action for action in history if is_in_flight(action)]
        if running:
            return Decision.settle(Outcome.EXISTING, running[0])
        collected = [action for action in history if recent_success(action, self.succeeded_since)]
        if collected:
            return Decision.settle(Outcome.EXISTING, collected[0])
        return Decision.write()

    def body(self) -> dict[str, str]:
        return self.spec.body(self.comment)

    def made_by_request(self, action: Entity) -> bool:
        # Any collection on the machine does what the request asks: its package is the machine's package.
        return action.get("type") == COLLECT

    def describe(self, action: Entity) -> str:
        # Named for an action in flight the request does not adopt; every collection is adopted, so only its type.
        return "(%s)" % action.get("type")

    def refused(self, refusal: ApiError) -> Optional[str]:
        return None

    def finish(self, entry: dict[str, Any]) -> None:
        entry.setdefault("package", None)
        entry.setdefault("download", None)

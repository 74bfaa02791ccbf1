# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AntivirusScan: the machine-action engine's kind for RunAntiVirusScan, which a covering or recent scan makes unnecessary.

A scan is not a state: it is done once it has run. So a machine needs no new scan when one that covers the request is
in flight (a Full scan covers a Quick one, ``ActionSpec.covers``), or when one that covers it Succeeded and was
requested within ``succeeded_within``. What each machine gets:

- ``existing``: a covering scan in flight, else a covering Succeeded scan requested within ``succeeded_within``;
  ``covered_by`` in the result names it.
- a write: nothing covers the request.
- blocked: a Full scan is asked while a Quick one is in flight. Whether Defender takes a Full scan then, or answers it
  as the Quick scan's duplicate (returning the Quick action, or 400 "Action is already in progress"), is not
  documented (docs/api-fidelity.md, ``duplicate_ignores_scope``); under the second answer the Full scan would be
  reported and never run. So it is never sent across a Quick scan: with ``wait`` the engine waits for the Quick scan to
  end and decides again (the Full scan is then sent), without it the machine fails with ``ScanInProgress``, naming the
  Quick scan and what to do. When the list lagged and the API answered a Full request with the Quick scan in flight
  (its 2xx duplicate answer), ``finish`` reports that machine failed with ``ScanInProgress`` too: no Full scan started.

Scans never cut a machine off, so there is no protection list; ``max_machines`` defaults to 1,000.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Optional, cast

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import recent_success, succeeded_since
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Decision
from ansible_collections.mde.response.plugins.module_utils._actions.request import ActionRequest, succeeded_within
from ansible_collections.mde.response.plugins.module_utils._client.api import Entity
from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    IN_FLIGHT_STATUSES,
    action_status,
    entity_id,
    newest_first,
    value_of,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ACTIONS, BUSY, SCAN, SERVES, ActionSpec, relation
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import WINDOWS10_1709, action_support
from ansible_collections.mde.response.plugins.module_utils._model.odata import equals, odata_datetime
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, error_entry

SPEC: ActionSpec = ACTIONS[SCAN]
QUICK, FULL = SPEC.scopes
SCAN_TYPES = SPEC.scopes
DEFAULT_SCAN_TYPE = QUICK
# Scanning is routine and cuts nobody off, so the cap is a large part of a fleet, not the handful an isolation may reach.
DEFAULT_MAX_MACHINES = 1000
SCAN_IN_PROGRESS = "ScanInProgress"
SUPPORT = action_support(SCAN, WINDOWS10_1709, "runs on Windows 10 version 1709 or later and Windows 11",
                         "start the scan on those devices through their own management (Intune, Configuration Manager or "
                         "Group Policy) instead")
OUTCOMES = (Outcome.CREATED, Outcome.EXISTING, Outcome.WOULD_CREATE, Outcome.UNSUPPORTED, Outcome.QUEUED, Outcome.FAILED)


def scan_type_of(action: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The ScanType of a RunAntiVirusScan action, as its ``scope`` says, or None."""
    scope = value_of(action, "scope")
    return scope if scope in SCAN_TYPES else None


class AntivirusScan:
    """A request for a Quick or Full scan on every target, as the engine's ActionKind; build it with ``from_options``."""

    spec = SPEC
    support = SUPPORT
    read_types: tuple[str, ...] = (SCAN,)
    outcomes: tuple[str, ...] = OUTCOMES

    def __init__(self, request: ActionRequest, scan_type: str = DEFAULT_SCAN_TYPE, succeeded_since: Optional[datetime] = None) -> None:
        self.comment = request.comment
        self.wait = request.wait
        self.wait_timeout = request.wait_timeout
        self.scan_type = scan_type
        # A Succeeded covering scan requested at or after this moment makes a new one unnecessary; None: none does.
        self.succeeded_since = succeeded_since
        self.same_request = "run a %s scan" % scan_type

    @classmethod
    def from_options(cls, options: Mapping[str, Any], request: ActionRequest, now: datetime) -> "AntivirusScan":
        """The scan options (``scan_type``, ``succeeded_within``) validated, for the module's ActionRequest; InputError
        before any request. ``now`` is when the task started, from which ``succeeded_within`` counts."""
        scan_type = validation.choice(options.get("scan_type") or DEFAULT_SCAN_TYPE, "scan_type", SCAN_TYPES)
        return cls(request, scan_type, succeeded_since(now, succeeded_within(options)))

    def status_clauses(self, now: datetime) -> list[str]:
        # Every scan in flight, and every scan requested within the window (its status is judged in decide): the window
        # was fixed when the task started, so a read later in the run does not narrow it.
        clauses = [equals("status", status) for status in IN_FLIGHT_STATUSES]
        if self.succeeded_since is not None:
            clauses.append("creationDateTimeUtc ge %s" % odata_datetime(self.succeeded_since))
        return clauses

    def matches(self, action: Entity) -> bool:
        return value_of(action, "type") == SCAN

    def decide(self, machine: Optional[Entity], history: list[Entity]) -> Decision:
        scans = newest_first(action for action in history if self.matches(action))
        serving = [action for action in scans if relation(SPEC, action, self.scan_type) == SERVES]
        if serving:
            return Decision.settle(Outcome.EXISTING, serving[0], scan_type=self.scan_type)
        recent = [action for action in scans if self._recent_success(action)]
        if recent:
            return Decision.settle(Outcome.EXISTING, recent[0], scan_type=self.scan_type)
        busy = [action for action in scans if relation(SPEC, action, self.scan_type) == BUSY]
        if busy:
            return Decision.blocked(busy[0], self._in_progress_error(busy[0]), scan_type=self.scan_type)
        return Decision.write(scan_type=self.scan_type)

    def body(self) -> dict[str, str]:
        return SPEC.body(self.comment, self.scan_type)

    def made_by_request(self, action: Entity) -> bool:
        return self.matches(action) and scan_type_of(action) in SPEC.scopes_serving(self.scan_type)

    def describe(self, action: Entity) -> str:
        return "(a %s scan, which does not carry out a %s one)" % (scan_type_of(action) or "RunAntiVirusScan", self.scan_type)

    def refused(self, refusal: ApiError) -> Optional[str]:
        # A scan has no refusal of its own: the duplicate and platform answers are the engine's, the rest failures.
        return None

    def finish(self, entry: dict[str, Any]) -> None:
        entry["scan_type"] = self.scan_type
        action = entry.get("action")
        found = entry.get("outcome") == Outcome.EXISTING and isinstance(action, Mapping)
        if found and scan_type_of(action) is not None and not self.made_by_request(cast(Entity, action)):
            # Only a duplicate answer gets here: the POST was answered with a scan in flight that the lagging list had
            # hidden and that does not carry out the request (a Quick one for a Full request). No such scan started.
            entry["outcome"], entry["error"] = Outcome.FAILED, self._answered_with(cast(Entity, action))
        entry["covered_by"] = {
            "action_id": entity_id(action),
            "scan_type": scan_type_of(action),
            "status": action_status(action),
            "requested": value_of(action, "creationDateTimeUtc"),
        } if entry["outcome"] == Outcome.EXISTING and found else None

    def _recent_success(self, action: Entity) -> bool:
        return recent_success(action, self.succeeded_since) and scan_type_of(action) in SPEC.scopes_serving(self.scan_type)

    def _in_progress_error(self, scan: Entity) -> dict[str, Any]:
        # With wait, this error is what check mode (which never waits) predicts, or what a wait that timed out leaves.
        advice = ("a run with wait: true waits for it (up to wait_timeout) and then starts the %s scan; run the task again"
                  " once it has ended, or with a longer wait_timeout" if self.wait else
                  "set wait: true to wait for it and then start the %s scan, or run the task again once it has ended") % self.scan_type
        return error_entry(SCAN_IN_PROGRESS, (
            "scan %s is still %s on this machine, and Defender may take a %s scan asked meanwhile for its duplicate, so "
            "none was sent: %s %s" % (_named(scan), action_status(scan), self.scan_type, advice, _status_hint(scan))))

    def _answered_with(self, scan: Entity) -> dict[str, Any]:
        return error_entry(SCAN_IN_PROGRESS, (
            "Defender answered the %s scan request with scan %s, which was in flight and does not carry it out, so no %s "
            "scan was started: run the task again once that scan has ended %s"
            % (self.scan_type, _named(scan), self.scan_type, _status_hint(scan))))


def _named(scan: Entity) -> str:
    return "%s (ScanType %s, requested %s)" % (entity_id(scan), scan_type_of(scan) or "unknown", value_of(scan, "creationDateTimeUtc"))


def _status_hint(scan: Entity) -> str:
    return "(mde.response.machine_action_info with action_ids: ['%s'] shows its status)" % entity_id(scan)

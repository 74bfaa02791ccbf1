# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine actions' vocabulary: each type's endpoint, body, permission, limits, and what blocks a request.

How an action already on a machine bears on a new request: it serves the request, the request would cross it, the
request waits for it, or neither. Only data and pure functions; the engine that reads and writes actions builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import IN_FLIGHT_STATUSES, STOP_AND_QUARANTINE

ISOLATE = "Isolate"
UNISOLATE = "Unisolate"
RESTRICT = "RestrictCodeExecution"
UNRESTRICT = "UnrestrictCodeExecution"
SCAN = "RunAntiVirusScan"
COLLECT = "CollectInvestigationPackage"

# Each action endpoint's own budget per application (the API pages' Limitations); the package link has a smaller one.
CALLS_PER_MINUTE = 100
CALLS_PER_HOUR = 1500
PACKAGE_URI_CALLS_PER_MINUTE = 2
PACKAGE_URI_CALLS_PER_HOUR = 120
PACKAGE_URI_PATH = "machineactions/%s/getPackageUri"

# How an existing action bears on a request.
SERVES = "serves"          # in flight and doing what was asked: the request is already on its way
CROSSES = "crosses"        # in flight and undoing what was asked: sending now could complete out of order (#5903)
# In flight, of the same type but another scope (an isolate Full while Selective is asked): the API may answer the
# request as its duplicate, so it waits for this one.
BUSY = "busy"
UNRELATED = "unrelated"


@dataclass(frozen=True)
class ActionSpec:
    """One machine action as the API takes it: POST /api/machines/{id}/<endpoint> with a JSON body."""

    type: str                                   # MachineAction.type
    endpoint: str                               # the last path segment, as the docs spell it
    permission: str                             # the application permission it needs (besides a read one)
    scope_parameter: Optional[str] = None       # the body parameter the action's scope comes from
    scopes: tuple = ()                          # its values; the first is what the API assumes when it is optional
    scope_required: bool = False
    file_parameter: Optional[str] = None        # the body parameter naming the file, for file actions
    opposite: Optional[str] = None              # the type that undoes this one
    # Requested scope -> the scopes of an action of this type that also carry it out (a Full scan covers a Quick one).
    covers: Mapping[str, tuple] = field(default_factory=dict)

    def path(self, machine_id: str) -> str:
        return "machines/%s/%s" % (machine_id, self.endpoint)

    def body(self, comment: str, scope: Optional[str] = None, sha1: Optional[str] = None) -> dict[str, str]:
        """The request body, with the API's case-sensitive names; ValueError for a value the API would refuse."""
        if not comment:
            raise ValueError("%s needs a comment" % self.type)
        body = {"Comment": comment}
        if self.scope_parameter is not None:
            if scope is None and self.scope_required:
                raise ValueError("%s needs %s: one of %s" % (self.type, self.scope_parameter, ", ".join(self.scopes)))
            if scope is not None and scope not in self.scopes:
                raise ValueError("%s %s must be one of %s, not %r" % (self.type, self.scope_parameter, ", ".join(self.scopes), scope))
            body[self.scope_parameter] = scope or self.scopes[0]
        elif scope is not None:
            raise ValueError("%s takes no scope" % self.type)
        if self.file_parameter is not None:
            if not sha1:
                raise ValueError("%s needs %s" % (self.type, self.file_parameter))
            body[self.file_parameter] = sha1
        return body

    def scopes_serving(self, scope: Optional[str]) -> tuple:
        """The scopes of an existing action of this type that carry out a request for ``scope`` (none without scopes)."""
        if self.scope_parameter is None:
            return ()
        requested = scope or self.scopes[0]
        return (requested,) + tuple(self.covers.get(requested, ()))


ACTIONS = {spec.type: spec for spec in (
    ActionSpec(ISOLATE, "isolate", "Machine.Isolate", "IsolationType", ("Full", "Selective", "UnManagedDevice"), opposite=UNISOLATE),
    ActionSpec(UNISOLATE, "unisolate", "Machine.Isolate", opposite=ISOLATE),
    ActionSpec(RESTRICT, "restrictCodeExecution", "Machine.RestrictExecution", opposite=UNRESTRICT),
    ActionSpec(UNRESTRICT, "unrestrictCodeExecution", "Machine.RestrictExecution", opposite=RESTRICT),
    ActionSpec(SCAN, "runAntiVirusScan", "Machine.Scan", "ScanType", ("Quick", "Full"), scope_required=True, covers={"Quick": ("Full",)}),
    ActionSpec(COLLECT, "collectInvestigationPackage", "Machine.CollectForensics"),
    ActionSpec(STOP_AND_QUARANTINE, "StopAndQuarantineFile", "Machine.StopAndQuarantine", file_parameter="Sha1"),
)}


def relation(spec: ActionSpec, existing: Mapping[str, Any], scope: Optional[str] = None, sha1: Optional[str] = None) -> str:
    """How an existing MachineAction entity bears on a request for ``spec`` (with ``scope`` / ``sha1``).

    Only an action in flight counts: a final one is history, which says what state a machine is in but never that a
    request is on its way. A file action serves only a request for the same file (compared case-insensitively).
    """
    if not isinstance(existing, Mapping) or existing.get("status") not in IN_FLIGHT_STATUSES:
        return UNRELATED
    kind = existing.get("type")
    if kind == spec.opposite:
        return CROSSES
    if kind != spec.type:
        return UNRELATED
    if spec.file_parameter is not None:
        info = existing.get("relatedFileInfo")
        identifier = info.get("fileIdentifier") if isinstance(info, Mapping) else None
        same_file = isinstance(identifier, str) and sha1 is not None and identifier.lower() == sha1.lower()
        return SERVES if same_file else UNRELATED
    if spec.scope_parameter is None or existing.get("scope") in spec.scopes_serving(scope):
        return SERVES
    return BUSY

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run reports: the outcome of each target machine, the run's warnings, and the result as a whole."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import action_status, entity_id, value_of


class Outcome:
    """What happened on one machine (``actions[].outcome``); the module's RETURN documents each."""

    CREATED = "created"
    EXISTING = "existing"
    WOULD_CREATE = "would_create"
    CANCELLED = "cancelled"
    WOULD_CANCEL = "would_cancel"
    NOT_PRESENT = "not_present"
    # With state cancelled: an earlier action succeeded, so the file is quarantined there and a cancel cannot undo it.
    QUARANTINED = "quarantined"
    # The machine cannot run the action (machine_support.py): nothing is sent to it.
    UNSUPPORTED = "unsupported"
    QUEUED = "queued"
    FAILED = "failed"
    # The machine is on the task's protection list (protection.py): nothing is sent to it.
    PROTECTED = "protected"
    # What every kind's machines can end with; each kind's summary adds its own (ActionKind.outcomes).
    COMMON = (CREATED, EXISTING, WOULD_CREATE, UNSUPPORTED, QUEUED, FAILED)


# How many machines a message names before it says "and N more".
MACHINES_NAMED = 5


def named_machines(entries: list, detail) -> str:
    """The first machines of ``entries`` (results as dicts), each with ``detail`` of it in brackets, and how many more."""
    named = ["%s (%s)" % (entry.get("machine_name") or entry.get("machine_id"), detail(entry)) for entry in entries[:MACHINES_NAMED]]
    return ", ".join(named) + (" and %d more" % (len(entries) - MACHINES_NAMED) if len(entries) > MACHINES_NAMED else "")


def error_dict(error):
    """The result's ``error`` for an MdeError, with the API's correlation id in the message when there is one."""
    details = error.to_dict()
    correlation_id = getattr(error, "correlation_id", None)
    if correlation_id and correlation_id not in details["message"]:
        details["message"] = "%s (correlation id %s)" % (details["message"], correlation_id)
    return details


@dataclass
class MachineResult:
    """One target machine's result; each is touched by one worker thread only."""

    machine_id: Optional[str]
    machine_name: Optional[str] = None
    outcome: Optional[str] = None
    action: Optional[dict] = None
    error: Optional[dict] = None
    # True once this run created or cancelled an action (or would, in check mode), even if it later failed.
    changed: bool = False
    # For a queued action: the machine's health status and last seen time, and what happens next.
    queued: Optional[dict] = None
    # For an unsupported machine: the code, what the machine reports, and why nothing was sent.
    unsupported: Optional[dict] = None
    # The Machine entity when the run read it (not returned: actions[].action is the API's, this is only looked at).
    machine: Optional[dict] = None
    # For a protected machine: why the protection list covers it.
    protected: Optional[dict] = None
    # Fields of the action kind (state_before, ...), returned with the rest.
    details: dict = field(default_factory=dict)

    def settle(self, outcome, action=None, error=None, changed=False):
        self.outcome = outcome
        self.error = error
        self.changed = self.changed or changed
        if action is not None:
            self.set_action(action)

    def set_action(self, action):
        self.action = action
        if self.machine_name is None and isinstance(action, dict):
            self.machine_name = action.get("computerDnsName")

    def fail(self, error, action=None):
        self.settle(Outcome.FAILED, action, error)

    def queue(self, health_status, last_seen, message):
        """The action is still Pending at the end of the wait because the machine is offline: Defender keeps it."""
        self.settle(Outcome.QUEUED, self.action)
        self.queued = {"health_status": health_status, "last_seen": last_seen, "message": message}

    def refuse_unsupported(self, details: dict) -> None:
        """The machine cannot run the action: nothing is (or was) done there."""
        self.settle(Outcome.UNSUPPORTED, self.action)
        self.unsupported = details

    def protect(self, reason: str) -> None:
        """The protection list covers the machine: nothing is sent to it."""
        self.settle(Outcome.PROTECTED)
        self.protected = {"reason": reason}

    def as_dict(self):
        entry = {
            "machine_id": self.machine_id,
            "machine_name": self.machine_name,
            "outcome": self.outcome,
            "action_id": entity_id(self.action),
            "status": action_status(self.action),
            "health_status": value_of(self.machine, "healthStatus"),
            "error": self.error,
            "action": self.action,
        }
        if self.queued is not None:
            entry["queued"] = self.queued
        if self.unsupported is not None:
            entry["unsupported"] = self.unsupported
        if self.protected is not None:
            entry["protected"] = self.protected
        entry.update(self.details)
        return entry


class Warnings:
    """The run's warnings, added to from any worker thread."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    def add(self, message):
        with self._lock:
            self.messages.append(message)


@dataclass
class EngineResult:
    """What a run did: ``changed``, ``summary`` (machines per outcome), ``actions`` (one dict per machine), ``warnings``."""

    changed: bool
    summary: dict
    actions: list
    warnings: list = field(default_factory=list)
    # Whether Defender has a record of the file: None when it was not asked or could not answer.
    file_known: Optional[bool] = None

    @classmethod
    def from_machine_results(cls, results, warnings, outcomes, finish=None, file_known=None):
        """The run's result; ``outcomes`` are the summary's keys, ``finish`` completes each machine's entry."""
        actions = [result.as_dict() for result in results]
        for entry in actions if finish is not None else ():
            finish(entry)
        return cls(
            changed=any(result.changed for result in results),
            summary={outcome: sum(entry["outcome"] == outcome for entry in actions) for outcome in outcomes},
            actions=actions,
            warnings=warnings.messages,
            file_known=file_known,
        )


def unknown_file_warning(sha1, check_mode=False):
    """What a run says when Defender has no record of the file, in words kept apart from a machine's not_present."""
    return ("Defender has no record of file %s in this tenant, so nothing %s be quarantined: check the hash (a mistyped "
            "one gives this) and where it came from. This is not the same as a machine's not_present, which says only "
            "that the file is not on that machine." % (sha1, "would" if check_mode else "could"))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ActionKind: what the machine-action engine needs to know of one kind of request, and the Decision it asks for.

The engine (engine.py) does what every machine action needs: it resolves the targets, refuses protected and
unsupported machines, reads the existing actions of the whole target set with a few list calls, writes at most twice
after a lost answer, adopts the action a duplicate answer means, stops at the write barrier, waits and reports. What
differs between quarantining a file, isolating a machine or running a scan is described by an ActionKind: which
existing actions it reads, how a machine's history decides what it needs, what it sends and which action carries it
out. Kinds live in the feature packages; the engine never imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional, Protocol

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ActionSpec
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import SupportRule
from ansible_collections.mde.response.plugins.module_utils._model.protection import Protection
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

# What a Decision asks of the engine for one machine.
SETTLE = "settle"    # nothing to write: report ``outcome`` (with ``action``, the one that already does it)
WRITE = "write"      # send the kind's request
# An action in flight that the request would cross (an Unisolate while an Isolate runs): never sent across it. With
# ``wait`` the engine waits for ``action`` to be final and decides again; without, the machine fails with ``error``.
BLOCKED = "blocked"


@dataclass(frozen=True)
class Decision:
    """What one machine needs, decided from its existing actions before anything is written."""

    step: str
    outcome: Optional[str] = None
    action: Optional[Entity] = None
    error: Optional[dict[str, Any]] = None
    # Fields of the kind the machine's result carries (``state_before``, say); ActionKind.finish completes them.
    details: dict[str, Any] = field(default_factory=dict)
    # A warning the run shows for this machine (a case the user should know of, such as a kept isolation type).
    warning: Optional[str] = None

    @classmethod
    def settle(cls, outcome: str, action: Optional[Entity] = None, warning: Optional[str] = None, **details: Any) -> "Decision":
        return cls(SETTLE, outcome, action, details=details, warning=warning)

    @classmethod
    def fail(cls, error: dict[str, Any], action: Optional[Entity] = None, **details: Any) -> "Decision":
        """Nothing is sent and the machine fails (a request the API would refuse, say)."""
        return cls(SETTLE, "failed", action, error, details=details)

    @classmethod
    def write(cls, **details: Any) -> "Decision":
        return cls(WRITE, details=details)

    @classmethod
    def blocked(cls, action: Entity, error: dict[str, Any], **details: Any) -> "Decision":
        return cls(BLOCKED, action=action, error=error, details=details)


@dataclass(frozen=True)
class Targets:
    """The machines a request names: ids as given, names to look up, and (for a file) the machines that saw it."""

    machine_ids: tuple[str, ...] = ()
    machine_names: tuple[str, ...] = ()
    observed_sha1: Optional[str] = None
    # Machines matching it are reported ``protected`` and never written (isolation and restriction only).
    protection: Protection = field(default_factory=Protection)
    # The most machines the request may act on, checked once the targets are known, before any write.
    max_machines: Optional[int] = None


class ActionKind(Protocol):
    """One kind of request for the engine. Every method is called before writing unless it says otherwise."""

    spec: ActionSpec
    # Where the action runs: machines it certainly cannot run on are reported unsupported and never written.
    support: SupportRule
    # What two actions of one request do, for the warning of a machine written twice ("quarantine the same file").
    same_request: str
    # The action types whose existing actions bear on the request (its own type, and the opposite for a state).
    read_types: tuple[str, ...]
    # Every outcome its results can have: the keys of the run's summary.
    outcomes: tuple[str, ...]
    comment: str
    # Whether the engine waits for the actions to be final (and for a crossing action before deciding again).
    wait: bool
    wait_timeout: int

    def status_clauses(self, now: datetime) -> list[str]:
        """The OData clauses, joined with ``or``, that choose the existing actions worth reading."""

    def matches(self, action: Entity) -> bool:
        """Whether an existing action belongs to this request's history (a quarantine of the same file, say)."""

    def decide(self, machine: Optional[Entity], history: list[Entity]) -> Decision:
        """What a machine needs, from its matching actions (newest first)."""

    def body(self) -> dict[str, str]:
        """The POST body."""

    def made_by_request(self, action: Entity) -> bool:
        """Whether ``action`` (whatever its status) is one this request's POST makes: looked for after a lost answer
        and after a duplicate answer (then only among actions in flight)."""

    def describe(self, action: Entity) -> str:
        """An action in flight that blocks this request, in a few words after its id ("for another file (...)")."""

    def refused(self, refusal: ApiError) -> Optional[str]:
        """The outcome a refusal the engine does not know means for this kind (``not_present`` for a file that is
        not on the machine), or None for a failure."""

    def finish(self, entry: dict[str, Any]) -> None:
        """Complete a machine's result (``as_dict``, with the Decision's details) at the end of the run: a state
        kind adds ``state_after`` from the outcome and the action's status, say. Called for every result."""


class Connect(Protocol):
    """Builds the run's DefenderClient (the module's connection options), told of pacing waits and the write gate."""

    def __call__(self, pacing_listener: Any = None, write_gate: Any = None) -> DefenderClient:
        ...

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Machine tags as a desired state: read each machine's machineTags once, then add or remove in bulk calls.

How each outcome is decided (per machine and tag, then per machine):

- ``already``: present and the machine has the tag in any case (whether Defender compares tags ignoring case is
  not documented, so a tag differing only in case is not written again and a rerun writes nothing either way), or
  absent and the machine has no spelling of it.
- ``added`` / ``removed``: the bulk call that carried it was answered 2xx. Absent removes every spelling the machine
  has. ``would_add`` / ``would_remove`` in check mode.
- ``failed``: the machine could not be found (at the read, or by the call, which is then sent again without it),
  or the call that carried it was refused, or its answer was lost twice
  (a lost answer is sent once more: adding a tag the lost call added, or removing it again, changes nothing).
- ``unsent``: an earlier call was refused for a missing permission, or the login failed: no further call is sent.

A machine's outcome is the worst of its tags' (failed, unsent, a change, already). Writes are grouped by tag and
direction into calls of up to 500 machines, so 1,000 machines and one tag take two calls, and a rerun none.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ansible_collections.mde.response.plugins.module_utils._client.api import MAX_MACHINES_PER_TAG_CALL, DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._client.machine_lookup import choose_machine, machines_by_id, machines_by_name
from ansible_collections.mde.response.plugins.module_utils._model.entities import id_key
from ansible_collections.mde.response.plugins.module_utils._model.odata import batches
from ansible_collections.mde.response.plugins.module_utils._tags.request import PRESENT, TagRequest
from ansible_collections.mde.response.plugins.module_utils.errors import (AmbiguousWriteError, ApiError, AuthenticationError, MdeError,
                                                                          TransportError, error_entry, permission_hint)

ADDED = "added"
REMOVED = "removed"
ALREADY = "already"
WOULD_ADD = "would_add"
WOULD_REMOVE = "would_remove"
FAILED = "failed"
UNSENT = "unsent"
OUTCOMES = (ADDED, REMOVED, ALREADY, WOULD_ADD, WOULD_REMOVE, FAILED, UNSENT)
CHANGES = frozenset({ADDED, REMOVED, WOULD_ADD, WOULD_REMOVE})
# The worse outcome wins when a machine's tags end differently.
_RANK = {ALREADY: 0, ADDED: 1, REMOVED: 1, WOULD_ADD: 1, WOULD_REMOVE: 1, UNSENT: 2, FAILED: 3}
TAG_PERMISSION = "Machine.ReadWrite.All"
_MACHINE_NOT_FOUND = re.compile(r"Machine (\S+) was not found")
ADD = "Add"
REMOVE = "Remove"


@dataclass
class MachineTags:
    """One target machine: its tags before the run, and each asked tag's outcome."""

    machine_id: Optional[str]
    machine_name: Optional[str] = None
    before: Optional[list] = None
    tag_outcomes: dict = field(default_factory=dict)
    error: Optional[dict] = None
    # (action, spelling) of the writes this run made (or would make) on it, for its tags after the run.
    applied: list = field(default_factory=list)

    def settle(self, tag: str, outcome: str, error: Optional[dict] = None) -> None:
        if _RANK[outcome] >= _RANK.get(self.tag_outcomes.get(tag, ALREADY), 0):
            self.tag_outcomes[tag] = outcome
        if error is not None and self.error is None:
            self.error = error

    @property
    def outcome(self) -> str:
        return max(self.tag_outcomes.values(), key=_RANK.__getitem__, default=FAILED)

    def after(self) -> Optional[list]:
        if self.before is None:
            return None
        tags = list(self.before)
        for action, spelling in self.applied:
            if action == ADD:
                tags.append(spelling)
            else:
                tags = [tag for tag in tags if tag != spelling]
        return tags

    def as_dict(self) -> dict[str, Any]:
        return {"machine_id": self.machine_id, "machine_name": self.machine_name, "outcome": self.outcome,
                "tags": dict(self.tag_outcomes), "tags_before": self.before, "tags_after": self.after(), "error": self.error}


@dataclass
class Write:
    """One bulk call: a tag in one direction on up to 500 machines, each with the asked tag it settles."""

    action: str
    spelling: str
    targets: list = field(default_factory=list)        # [(MachineTags, asked tag)]


@dataclass
class TagResult:
    changed: bool
    summary: dict
    machines: list
    diff: dict
    writes: int
    warnings: list
    failure: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "summary": self.summary, "machines": self.machines, "diff": self.diff,
                "writes": self.writes}


def converge_tags(client: DefenderClient, request: TagRequest, check_mode: bool = False) -> TagResult:
    warnings: list[str] = []
    machines = resolve_machines(client, request, warnings.append)
    writes = plan_writes(machines, request, warnings.append)
    sent = send_writes(writes, _predicted_send(client) if check_mode else _real_send(client), check_mode)
    return tag_result(machines, request, sent, warnings)


def resolve_machines(client: DefenderClient, request: TagRequest, warn: Callable[[str], None]) -> list[MachineTags]:
    """One entry per distinct machine, ids first then names, with its tags as Defender lists them now."""
    entries: list[MachineTags] = []
    by_id: dict[str, MachineTags] = {}

    def add(machine: Entity, name: Optional[str]) -> None:
        key = id_key(machine)
        if key not in by_id:
            by_id[key] = MachineTags(key, name or machine.get("computerDnsName"), list(machine.get("machineTags") or []))
            entries.append(by_id[key])

    found = machines_by_id(client, request.machine_ids)
    for machine_id in request.machine_ids:
        if machine_id in found:
            add(found[machine_id], None)
        else:
            entries.append(_not_found(MachineTags(machine_id), request, error_entry(
                "MachineNotFound", "no Defender machine has id %s (or it was not seen within the retention period)" % machine_id)))
    if request.machine_names:
        candidates = machines_by_name(client, request.machine_names)
        for name in request.machine_names:
            machine, error = choose_machine(name, candidates.get(name.lower(), []), warn)
            if machine is None:
                entries.append(_not_found(MachineTags(None, name), request, error))
            else:
                add(machine, name)
    return entries


def _not_found(entry: MachineTags, request: TagRequest, error: Optional[dict]) -> MachineTags:
    for tag in request.tags:
        entry.settle(tag, FAILED, error)
    return entry


def plan_writes(machines: list[MachineTags], request: TagRequest, warn: Callable[[str], None]) -> list[Write]:
    """The bulk calls the run needs, in the order of the tags asked, each of at most 500 machines."""
    grouped: dict[tuple[str, str], list] = {}
    for tag in request.tags:
        for machine in machines:
            if machine.before is None:
                continue
            spellings = [have for have in machine.before if have.lower() == tag.lower()]
            if request.state == PRESENT:
                if spellings and tag not in spellings:
                    warn("machine %s has the tag %r, which differs from %r only in case: counted as present, not written "
                         "(ask for %r to match it exactly)" % (machine.machine_name or machine.machine_id, spellings[0], tag, spellings[0]))
                needed = [] if spellings else [(ADD, tag)]
            else:
                needed = [(REMOVE, spelling) for spelling in dict.fromkeys(spellings)]
            if not needed:
                machine.settle(tag, ALREADY)
            for key in needed:
                grouped.setdefault(key, []).append((machine, tag))
    return [Write(action, spelling, chunk) for (action, spelling), targets in grouped.items()
            for chunk in batches(targets, MAX_MACHINES_PER_TAG_CALL)]


# A send function carries out one Write, or raises as the API would.
Send = Callable[[Write], None]


def _real_send(client: DefenderClient) -> Send:
    def send(write: Write) -> None:
        machine_ids = [machine.machine_id for machine, _tag in write.targets]
        try:
            client.tag_machines(machine_ids, write.spelling, write.action)
        except AmbiguousWriteError:
            # Unlike a machine action, a tag call is a set operation: a second Add of a tag the first one added, or
            # a second Remove, changes nothing, so a lost answer is settled by sending the call once more.
            client.tag_machines(machine_ids, write.spelling, write.action)
    return send


def _predicted_send(client: DefenderClient) -> Send:
    """Check mode: nothing is sent; a token whose roles claim lacks the permission is refused as the API would."""
    roles = client.granted_roles()

    def send(_write: Write) -> None:
        if roles is not None and TAG_PERMISSION not in roles:
            raise ApiError("The access token's roles claim lacks %s, so the API would refuse the write" % TAG_PERMISSION,
                           code="Forbidden", http_status=403, hint=permission_hint(TAG_PERMISSION))
    return send


def send_writes(writes: list[Write], send: Send, check_mode: bool) -> int:
    """Send the calls in order; returns how many were (or would be) sent. The first refusal for a missing
    permission, and a failed login, stop the writes: their machines are ``unsent``, and what was written stays
    reported."""
    stopped: Optional[dict] = None
    sent = 0
    for write in writes:
        done = (WOULD_ADD if write.action == ADD else WOULD_REMOVE) if check_mode else (ADDED if write.action == ADD else REMOVED)
        outcome, error = done, None
        if stopped is not None:
            outcome, error = UNSENT, stopped
        else:
            sent += 1
            try:
                sent += _send_without_vanished(send, write)
            except ApiError as refusal:
                outcome, error = FAILED, _error(refusal)
                if refusal.http_status == 403:
                    stopped = _error(refusal)
            except AuthenticationError as failure:
                sent -= 1
                outcome, error = UNSENT, failure.to_dict()
                stopped = error
            except TransportError as failure:
                outcome, error = FAILED, failure.to_dict()
        for machine, tag in write.targets:
            machine.settle(tag, outcome, error)
            if outcome in CHANGES:
                machine.applied.append((write.action, write.spelling))
    return sent


def _send_without_vanished(send: Send, write: Write) -> int:
    """Send ``write``; returns how many more calls it took. A machine gone since the read (re-imaged, offboarded)
    may get the whole call refused with 404 "Machine <id> was not found" (docs/api-fidelity.md): that machine is
    ``failed`` and the call is sent again without it, so one machine does not fail the 499 others."""
    resent = 0
    while True:
        try:
            send(write)
            return resent
        except ApiError as refusal:
            found = _MACHINE_NOT_FOUND.search(refusal.message or "") if refusal.http_status == 404 else None
            gone = [target for target in write.targets if found and target[0].machine_id == found.group(1).lower()]
            if not gone:
                raise
            for machine, tag in gone:
                machine.settle(tag, FAILED, _error(refusal))
            write.targets = [target for target in write.targets if all(target is not left for left in gone)]
            if not write.targets:
                return resent
            resent += 1


def _error(error: MdeError) -> dict:
    """The result's ``error``, with what to do about a missing permission in its message."""
    details = error.to_dict()
    if isinstance(error, ApiError) and error.hint:
        details["message"] = "%s; %s" % (details["message"], error.hint)
    if isinstance(error, ApiError) and error.http_status == 403:
        details.setdefault("missing_permission", error.missing_permission or TAG_PERMISSION)
    return details


def tag_result(machines: list[MachineTags], request: TagRequest, writes: int, warnings: list[str]) -> TagResult:
    """The run's result from its machines once every write is settled."""
    results = [machine.as_dict() for machine in machines]
    changed_entries = [machine for machine in machines if any(outcome in CHANGES for outcome in machine.tag_outcomes.values())]
    # Names read best, but re-imaged devices can share one: those are shown by id.
    names = Counter(machine.machine_name for machine in changed_entries)
    label = {id(machine): machine.machine_name if machine.machine_name and names[machine.machine_name] == 1 else machine.machine_id
             for machine in changed_entries}
    summary = {outcome: sum(result["outcome"] == outcome for result in results) for outcome in OUTCOMES}
    return TagResult(
        changed=bool(changed_entries),
        summary=summary,
        machines=results,
        diff={"before": {label[id(machine)]: machine.before for machine in changed_entries},
              "after": {label[id(machine)]: machine.after() for machine in changed_entries}},
        writes=writes,
        warnings=warnings,
        failure=_failure(results, summary, request),
    )


def _failure(results: list[dict], summary: dict, request: TagRequest) -> Optional[str]:
    """The task's failure message when any machine is failed or unsent, naming the first error and what to do."""
    bad = [result for result in results if result["outcome"] in (FAILED, UNSENT)]
    if not bad:
        return None
    first = bad[0]
    return ("tags %s could not be %s on %d of %d machines (%d failed, %d unsent); first, %s: %s. See machines[].error, fix "
            "that, then run the task again: machines that already have what was asked are not written again"
            % (", ".join(request.tags), "added" if request.state == PRESENT else "removed", len(bad), len(results),
               summary[FAILED], summary[UNSENT], first["machine_name"] or first["machine_id"], first["error"]["message"]))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What stop_and_quarantine_file returns for a run's result, the warnings it shows, and whether the task fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import EngineResult, Outcome, named_machines
from ansible_collections.mde.response.plugins.module_utils.errors import permission_hint


@dataclass(frozen=True)
class ModuleResult:
    """The module's return values, its warnings, and the failure message (None: the task succeeds)."""

    output: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None


def module_result(result: EngineResult, allow_partial: bool, fail_when_queued: bool = False,
                  with_file_known: bool = True) -> ModuleResult:
    """Every machine's result; a failure (with the same results) when machines failed and, with ``fail_when_queued``,
    when actions wait for offline machines, unless ``allow_partial``. ``file_known`` is returned by the file action."""
    warnings = list(result.warnings)
    queued = [entry for entry in result.actions if entry["outcome"] == Outcome.QUEUED]
    if queued:
        warnings.append(_queued_message(queued))
    output: dict[str, Any] = dict(changed=result.changed, summary=result.summary, actions=result.actions)
    if with_file_known:
        output["file_known"] = result.file_known
    failed = [entry for entry in result.actions if entry["outcome"] == Outcome.FAILED] + (queued if fail_when_queued else [])
    failure = _failure_message(failed, len(result.actions)) if failed and not allow_partial else None
    return ModuleResult(output, warnings, failure)


def _queued_message(queued: list[dict[str, Any]]) -> str:
    return ("%d action(s) still Pending at the end of the wait are queued for offline machines: %s; Defender runs them when"
            " the machines next connect (see actions[].queued for each)" % (
                len(queued), named_machines(queued, lambda entry: "last seen %s" % (entry.get("queued") or {}).get("last_seen"))))


def _failure_message(failed: list[dict[str, Any]], total: int) -> str:
    named = named_machines(failed, lambda entry: (entry.get("error") or {}).get("code") or "queued")
    permissions = [(entry.get("error") or {}).get("missing_permission") for entry in failed]
    hints = "".join("; the application lacks the permission %s: %s" % (permission, permission_hint(permission))
                    for permission in sorted({permission for permission in permissions if permission}))
    if any(entry["outcome"] == Outcome.QUEUED for entry in failed):
        hints += "; the queued ones wait for offline machines (actions[].queued), which fail_when_queued=false accepts"
    # Accepting a partial result does not help machines refused for a missing permission: granting it does.
    partial = ", or set allow_partial=true to accept a partial result" if None in permissions else ""
    return "%d of %d machines failed: %s%s; see actions[].error for each%s" % (len(failed), total, named, hints, partial)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Indicators as code: converge the tenant's file indicators to a list in one run.

One listing of every indicator (two pages at most: a tenant holds up to 15,000) tells what exists. Listed files
whose indicator is missing or differs are written with the batch import (``POST /api/indicators/import``, 500 an
import, 30 imports a minute, paced by the transport's ``Retry-After`` handling); with ``exclusive``, indicators
this collection created (``application`` = ``mde.response``) for files no longer listed are deleted one by one.
Indicators made by people or other tools are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._indicators.indicators import (
    APPLICATION,
    HASH_TYPES,
    INDICATOR_ARGUMENT_SPEC,
    FileIndicatorRequest,
    before_and_after,
    delete_indicator,
    oldest,
    permission_hint,
)

IMPORT_BATCH_SIZE = 500
ENTRY_OPTIONS = tuple(INDICATOR_ARGUMENT_SPEC)


def requests_from_list(entries, now):
    """A FileIndicatorRequest per entry (dicts with the options of the file_indicator module); InputError names the entry."""
    if not isinstance(entries, (list, tuple)):
        raise InputError("indicators must be a list of indicators, got %r" % (entries,))
    requests: list[Any] = []
    seen: dict[str, Any] = {}
    for position, entry in enumerate(entries):
        where = "indicators[%d]" % position
        if not isinstance(entry, dict):
            raise InputError("%s must be a dict with at least file_hash, got %r" % (where, entry))
        unknown = sorted(set(entry) - set(ENTRY_OPTIONS))
        if unknown:
            raise InputError("%s has unknown keys %s; the keys are %s" % (where, ", ".join(unknown), ", ".join(ENTRY_OPTIONS)))
        try:
            request = FileIndicatorRequest.from_options(dict(entry, state="present"), now)
        except InputError as error:
            raise InputError("%s: %s" % (where, error.message)) from None
        if request.value in seen:
            raise InputError("%s: file %s is listed already as indicators[%d]; list each file once" % (where, request.value, seen[request.value]))
        seen[request.value] = position
        requests.append(request)
    return requests


@dataclass
class SyncResult:
    changed: bool = False
    created: list = field(default_factory=list)     # hashes
    updated: list = field(default_factory=list)     # {"file_hash", "before", "after"}
    deleted: list = field(default_factory=list)     # {"id", "file_hash", "title"}
    unchanged: int = 0
    refused: list = field(default_factory=list)     # {"file_hash", "reason"}: what the import refused
    warnings: list = field(default_factory=list)

    def as_dict(self):
        return {"changed": self.changed, "created": self.created, "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
                "refused": self.refused, "diff": self.diff()}

    def diff(self):
        before, after = {}, {}
        for update in self.updated:
            before[update["file_hash"]], after[update["file_hash"]] = update["before"], update["after"]
        for file_hash in self.created:
            after[file_hash] = "created"
        for deletion in self.deleted:
            before[deletion["file_hash"]] = "indicator %s (%s)" % (deletion["id"], deletion["title"])
        return {"before": before, "after": after}


def sync_file_indicators(client, requests, exclusive=False, check_mode=False):
    """Converge the tenant's file indicators to ``requests``; returns a SyncResult."""
    result = SyncResult()
    with permission_hint():
        existing: dict[str, Any] = {}
        for indicator in client.list_indicators():
            if indicator.get("indicatorType") in HASH_TYPES.values():
                existing.setdefault(str(indicator.get("indicatorValue") or "").lower(), []).append(indicator)
        bodies = _plan_writes(requests, existing, result)
        listed = {request.value for request in requests}
        stale = [indicator for value, found in sorted(existing.items()) if exclusive and value not in listed
                 for indicator in found if indicator.get("application") == APPLICATION]
        result.deleted = [{"id": item["id"], "file_hash": item["indicatorValue"].lower(), "title": item.get("title")} for item in stale]
        result.changed = bool(bodies or stale)
        if check_mode:
            return result
        for start in range(0, len(bodies), IMPORT_BATCH_SIZE):
            for outcome in client.import_indicators(bodies[start:start + IMPORT_BATCH_SIZE]):
                if outcome.get("isFailed"):
                    result.refused.append({"file_hash": str(outcome.get("indicator") or "").lower(), "reason": outcome.get("failureReason")})
        for indicator in stale:
            delete_indicator(client, indicator["id"])
    return result


def _plan_writes(requests, existing, result):
    """The import bodies for the listed files whose indicator is missing or differs; fills created/updated/unchanged."""
    bodies = []
    for request in requests:
        found = [indicator for indicator in existing.get(request.value, ()) if request.matches(indicator)]
        current = oldest(found)
        if current is None:
            result.created.append(request.value)
            bodies.append(request.body())
            continue
        differences = request.differences(current)
        if not differences:
            result.unchanged += 1
            continue
        result.updated.append(dict(before_and_after(differences), file_hash=request.value))
        bodies.append(request.body(current))
    return bodies

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Indicators as code: converge the tenant's file indicators to a named list in one run.

Each list has a name, and the indicators it creates carry it in ``application`` (``mde.response:<name>``), the one
field the API keeps as it was at creation: that is how a list knows what it owns. One listing of every indicator (two
pages at most: a tenant holds up to 15,000) tells what exists. Listed files whose indicator is missing, or is the
list's own and differs, are written with the batch import (``POST /api/indicators/import``, 500 an import, 30
imports a minute, paced by the transport's ``Retry-After`` handling). An indicator someone else made for a listed file
(a person, another tool, ``file_indicator``, ``contain``, another list, or a release before lists had names) is left
as it is and reported, unless the list takes it over. With ``exclusive``, the list's own indicators for files no
longer listed are deleted one by one, within bounds checked before any write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, AuthenticationError, InputError, MdeError
from ansible_collections.mde.response.plugins.module_utils._indicators.indicators import (
    APPLICATION,
    HASH_TYPES,
    INDICATOR_ARGUMENT_SPEC,
    FileIndicatorRequest,
    before_and_after,
    delete_indicator,
    error_details,
    oldest,
    permission_hint,
)
from ansible_collections.mde.response.plugins.module_utils._model.validation import flag
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WritesStopped

IMPORT_BATCH_SIZE = 500
ENTRY_OPTIONS = tuple(INDICATOR_ARGUMENT_SPEC)
DEFAULT_MAX_DELETIONS = 20
DEFAULT_MAX_DELETION_PERCENT = 50
# The play output names every deletion (bounded by max_deletions); of the other kinds, this many lines each.
LINES_EACH = 20
_LIST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# After these no further write can succeed (no token, no permission, writes stopped): the rest is reported unsent.
_STOPPING = (AuthenticationError, WritesStopped)
# Written in the role's output and messages for the module options a user of the role sets under another name.
ROLE_VARIABLES = {"max_deletions": "file_indicators_max_deletions", "max_deletion_percent": "file_indicators_max_deletion_percent",
                  "allow_empty": "file_indicators_allow_empty", "take_over": "file_indicators_take_over"}


def _option(name: str) -> str:
    return "%s (%s in the role)" % (name, ROLE_VARIABLES[name])


def _whole_number(options: dict, option: str, default: int) -> int:
    value = options.get(option)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError("%s must be a whole number, 0 or more, got %r" % (option, value))
    return value


@dataclass(frozen=True)
class ListPolicy:
    """Which list this is, and what it may do to indicators it did not create or that left it."""

    list_name: str
    exclusive: bool = False
    take_over: bool = False
    max_deletions: int = DEFAULT_MAX_DELETIONS
    max_deletion_percent: int = DEFAULT_MAX_DELETION_PERCENT
    allow_empty: bool = False

    @classmethod
    def from_options(cls, options: dict) -> ListPolicy:
        """The policy from the module's options; InputError names the option, before any request."""
        name = options.get("list_name")
        if not isinstance(name, str) or not _LIST_NAME.fullmatch(name):
            raise InputError("list_name must name the list, 1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit "
                             "(for example blocked-files), got %r; the list's indicators carry it, so keep it once chosen" % (name,))
        return cls(name, flag(options, "exclusive", False), flag(options, "take_over", False),
                   _whole_number(options, "max_deletions", DEFAULT_MAX_DELETIONS),
                   _whole_number(options, "max_deletion_percent", DEFAULT_MAX_DELETION_PERCENT), flag(options, "allow_empty", False))

    @property
    def application(self) -> str:
        """The ``application`` of the indicators this list creates."""
        return "%s:%s" % (APPLICATION, self.list_name)


def requests_from_list(entries: object, now: object, entry_format: str = "indicators[%d]") -> list:
    """A FileIndicatorRequest per entry (dicts with the options of the file_indicator module); InputError names the
    entry by ``entry_format % position`` and its hash, before any request."""
    if not isinstance(entries, (list, tuple)):
        raise InputError("indicators must be a list of indicators, each a dict with at least file_hash, got %r" % (entries,))
    requests: list[Any] = []
    seen: dict[str, Any] = {}
    for position, entry in enumerate(entries):
        where = entry_format % position
        if not isinstance(entry, dict):
            raise InputError("%s must be a dict with at least file_hash (written `- file_hash: <hash>` in YAML), got %r" % (where, entry))
        if isinstance(entry.get("file_hash"), str):
            where += " (file_hash %s)" % entry["file_hash"].strip()
        unknown = sorted(set(entry) - set(ENTRY_OPTIONS), key=str)
        if unknown:
            raise InputError("%s has the unknown key(s) %s; the keys are %s" % (where, ", ".join(map(str, unknown)), ", ".join(ENTRY_OPTIONS)))
        try:
            request = FileIndicatorRequest.from_options(dict(entry, state="present"), now)
        except InputError as error:
            raise InputError("%s: %s" % (where, error.message)) from None
        if request.value in seen:
            raise InputError("%s: the file is listed already as %s; list each file once" % (where, entry_format % seen[request.value]))
        seen[request.value] = position
        requests.append(request)
    return requests


def entries_from_file(content: object, path: str, now: object) -> list:
    """The entries of an indicator list file as YAML loaded them, each checked; InputError names the file and the entry."""
    if content is None:
        raise InputError("The indicator list file %s is empty: it must hold a YAML list of indicators, each `- file_hash: <hash>`; "
                         "an empty list is written []" % path)
    if not isinstance(content, list):
        raise InputError("The indicator list file %s holds a %s, not a list: write each indicator as an entry `- file_hash: <hash>`"
                         % (path, "text" if isinstance(content, str) else "mapping" if isinstance(content, dict) else type(content).__name__))
    requests_from_list(content, now, entry_format="entry %%d of %s" % path.replace("%", "%%"))
    return content


def check_list(requests: list, policy: ListPolicy) -> None:
    """Refuse an empty list with exclusive (a truncated file would delete every indicator of the list), before any request."""
    if policy.exclusive and not requests and not policy.allow_empty:
        raise InputError("The list %s is empty and exclusive is true, which would delete every indicator the list created. Nothing was "
                         "sent. Check the list (or its file); if it is meant to be empty, set %s to true" % (policy.list_name, _option("allow_empty")))


@dataclass
class _Write:
    kind: str                        # create | update
    file_hash: str
    body: dict
    change: Optional[dict] = None    # the update's {"file_hash", "before", "after"}


@dataclass
class SyncResult:
    list_name: str
    changed: bool = False
    created: list = field(default_factory=list)     # hashes
    updated: list = field(default_factory=list)     # {"file_hash", "before", "after"}, taken-over ones included
    taken_over: list = field(default_factory=list)  # hashes of the updated indicators the list did not create
    deleted: list = field(default_factory=list)     # {"id", "file_hash", "title"}
    unchanged: int = 0
    not_owned: list = field(default_factory=list)   # listed files whose indicator someone else made, left as it is
    legacy: list = field(default_factory=list)      # with exclusive: unlisted indicators stamped only "mde.response"
    refused: list = field(default_factory=list)     # {"file_hash", "reason"}: writes the API refused
    unsent: list = field(default_factory=list)      # {"file_hash", "write", "reason"}: writes not sent, or whose answer was lost
    error: Optional[MdeError] = None                # the error that stopped the writes
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        output = {"changed": self.changed, "list_name": self.list_name, "created": self.created, "updated": self.updated,
                  "taken_over": self.taken_over, "deleted": self.deleted, "unchanged": self.unchanged, "not_owned": self.not_owned,
                  "legacy": self.legacy, "refused": self.refused, "unsent": self.unsent, "diff": self.diff()}
        if self.error is not None:
            output["error"] = error_details(self.error)
        return output

    def diff(self) -> dict:
        before, after = {}, {}
        for update in self.updated:
            before[update["file_hash"]], after[update["file_hash"]] = update["before"], update["after"]
        for file_hash in self.created:
            after[file_hash] = "created"
        for deletion in self.deleted:
            before[deletion["file_hash"]] = "indicator %s (%s)" % (deletion["id"], deletion["title"])
        return {"before": before, "after": after}

    def failure_message(self) -> str | None:
        """Why the task fails (writes refused, not sent), and what to do; None when every write went through."""
        if not (self.refused or self.unsent):
            return None
        parts = []
        if self.refused:
            parts.append("the API refused %d write(s): %s; fix those entries" % (
                len(self.refused), ", ".join("%s (%s)" % (item["file_hash"], item["reason"]) for item in self.refused[:5])))
        if self.unsent:
            parts.append("%d write(s) were not sent or their answer was lost (%s), because %s; fix that and run again" % (
                len(self.unsent), ", ".join(item["file_hash"] for item in self.unsent[:5]), self.unsent[0]["reason"].rstrip(".")))
        written = len(self.created) + len(self.updated) + len(self.deleted)
        return "List %s: %s. %d write(s) went through (created, updated, deleted); see refused[] and unsent[]; the next run sends only " \
               "what is still missing" % (self.list_name, "; ".join(parts), written)


def sync_file_indicators(client: DefenderClient, requests: list, policy: ListPolicy, check_mode: bool = False) -> SyncResult:
    """Converge the tenant's file indicators to ``requests`` under ``policy``; returns a SyncResult.

    Raises InputError, after the listing and before any write, when ``exclusive`` would delete more than its bounds."""
    check_list(requests, policy)
    result = SyncResult(policy.list_name)
    with permission_hint():
        existing: dict[str, Any] = {}
        for indicator in client.list_indicators():
            if indicator.get("indicatorType") in HASH_TYPES.values():
                existing.setdefault(_value(indicator), []).append(indicator)
    writes = _plan_writes(requests, existing, policy, result)
    listed = {request.value for request in requests}
    owned = [indicator for found in existing.values() for indicator in found if indicator.get("application") == policy.application]
    stale = [indicator for indicator in owned if policy.exclusive and _value(indicator) not in listed]
    if policy.exclusive:
        result.legacy = [_who(indicator) for value, found in sorted(existing.items()) if value not in listed
                         for indicator in found if indicator.get("application") == APPLICATION]
    _check_deletions(stale, owned, policy)
    _warn(result, policy)
    if check_mode:
        result.created = [write.file_hash for write in writes if write.kind == "create"]
        result.updated = [write.change for write in writes if write.kind == "update"]
        result.deleted = [_deletion(indicator) for indicator in stale]
        result.changed = bool(writes or stale)
        return result
    _send(client, writes, stale, result)
    return result


def _value(indicator: dict) -> str:
    return str(indicator.get("indicatorValue") or "").lower()


def _who(indicator: dict) -> dict:
    return {"id": indicator.get("id"), "file_hash": _value(indicator), "application": indicator.get("application"),
            "created_by": indicator.get("createdBy"), "action": indicator.get("action"), "title": indicator.get("title")}


def _deletion(indicator: dict) -> dict:
    return {"id": indicator["id"], "file_hash": _value(indicator), "title": indicator.get("title")}


def _plan_writes(requests: list, existing: dict, policy: ListPolicy, result: SyncResult) -> list:
    """The writes for the listed files whose indicator is missing or differs; counts the unchanged, reports the not owned."""
    writes = []
    for request in requests:
        found = [indicator for indicator in existing.get(request.value, ()) if request.matches(indicator)]
        # The list's own comes first: another indicator for the same file (an analyst's, made later) leaves it managed.
        current = oldest([indicator for indicator in found if indicator.get("application") == policy.application]) or oldest(found)
        if current is None:
            writes.append(_Write("create", request.value, request.body(application=policy.application)))
            continue
        ours = current.get("application") == policy.application
        differences = request.differences(current)
        if not ours and not policy.take_over:
            result.not_owned.append(dict(_who(current), differs=before_and_after(differences)["after"]))
        elif not differences:
            result.unchanged += 1
        else:
            writes.append(_Write("update", request.value, request.body(current), dict(before_and_after(differences), file_hash=request.value)))
            if not ours:
                result.taken_over.append(request.value)
    return writes


def _check_deletions(stale: list, owned: list, policy: ListPolicy) -> None:
    if not stale:
        return
    percent = 100 * len(stale) // len(owned)
    if len(stale) <= policy.max_deletions and percent <= policy.max_deletion_percent:
        return
    named = ", ".join("%s (indicator %s, %s)" % (item["file_hash"], item["id"], item["title"]) for item in map(_deletion, stale[:5]))
    raise InputError(
        "exclusive would delete %d of the %d indicators the list %s created (%d%%): %s%s; that is more than max_deletions: %d or "
        "max_deletion_percent: %d allow, so nothing was sent. Check the list (or its file); if those files did leave it, allow them for "
        "this run with max_deletions: %d and max_deletion_percent: %d (with the role: -e %s=%d -e %s=%d)" % (
            len(stale), len(owned), policy.list_name, percent, named, " and %d more" % (len(stale) - 5) if len(stale) > 5 else "",
            policy.max_deletions, policy.max_deletion_percent, len(stale), max(percent, policy.max_deletion_percent),
            ROLE_VARIABLES["max_deletions"], len(stale), ROLE_VARIABLES["max_deletion_percent"], max(percent, policy.max_deletion_percent)))


def _warn(result: SyncResult, policy: ListPolicy) -> None:
    if result.not_owned:
        result.warnings.append(
            "%d listed file(s) have an indicator the list %s did not create, left as it is: %s; see not_owned. Set %s to true to make them "
            "match the list (they keep their application, so exclusive never deletes them)" % (
                len(result.not_owned), policy.list_name,
                ", ".join("%s (indicator %s of %s)" % (item["file_hash"], item["id"], item["application"] or item["created_by"])
                          for item in result.not_owned[:5]), _option("take_over")))
    if result.legacy:
        result.warnings.append(
            "%d indicator(s) for files not listed carry the application %s, of file_indicator, contain or a release of file_indicators "
            "before lists had names, which cannot be told apart: exclusive leaves them (see legacy). For the list %s to own one, "
            "list its file and delete its indicator once (mde.response.file_indicator with state: absent): the next run creates it "
            "under the list's name" % (len(result.legacy), APPLICATION, policy.list_name))


def _send(client: DefenderClient, writes: list, stale: list, result: SyncResult) -> None:
    """Imports first (blocks before removals), then deletions; every write ends in the result as done, refused or unsent."""
    batches = [writes[start:start + IMPORT_BATCH_SIZE] for start in range(0, len(writes), IMPORT_BATCH_SIZE)]
    deletions = [(_value(indicator), "delete") for indicator in stale]
    for number, batch in enumerate(batches):
        try:
            with permission_hint():
                outcomes = client.import_indicators([write.body for write in batch])
        except MdeError as error:
            later = [(write.file_hash, write.kind) for following in batches[number + 1:] for write in following]
            if _failed(result, error, [(write.file_hash, write.kind) for write in batch], later + deletions):
                return
            continue
        refused = {_value({"indicatorValue": outcome.get("indicator")}): outcome.get("failureReason")
                   for outcome in outcomes if outcome.get("isFailed")}
        for write in batch:
            if write.file_hash in refused:
                result.refused.append({"file_hash": write.file_hash, "reason": refused[write.file_hash]})
            else:
                _done(result, write)
    for position, indicator in enumerate(stale):
        try:
            with permission_hint():
                delete_indicator(client, indicator["id"])
        except MdeError as error:
            if _failed(result, error, deletions[position:position + 1], deletions[position + 1:]):
                return
            continue
        result.deleted.append(_deletion(indicator))
        result.changed = True


def _done(result: SyncResult, write: _Write) -> None:
    result.changed = True
    if write.kind == "create":
        result.created.append(write.file_hash)
    else:
        result.updated.append(write.change)


def _failed(result: SyncResult, error: MdeError, failed: list, rest: list) -> bool:
    """Record the (file hash, write) pairs of a call that failed with ``error``; True when no further write may be sent,
    and then ``rest`` is reported unsent too."""
    reason = str(error)
    if isinstance(error, ApiError):
        result.refused.extend({"file_hash": file_hash, "reason": reason} for file_hash, _write in failed)
    else:
        # No token, no connection, or an answer lost (the write may have taken effect: the next run's listing shows it).
        result.unsent.extend({"file_hash": file_hash, "write": write, "reason": reason} for file_hash, write in failed)
        result.changed = result.changed or isinstance(error, AmbiguousWriteError)
    result.error = result.error or error
    stopping = isinstance(error, _STOPPING) or (isinstance(error, ApiError) and error.http_status == 403)
    if stopping:
        result.unsent.extend({"file_hash": file_hash, "write": write, "reason": "not sent after: %s" % reason} for file_hash, write in rest)
    return stopping


def summary_lines(result: dict, check_mode: bool = False) -> list:
    """The play-output lines of a file_indicators result: the counts, then every deletion, take-over and file left alone."""
    if "created" not in result:
        return []
    would = "would be " if check_mode else ""
    lines = ["%sList %s: %d created, %d updated, %d deleted, %d unchanged" % (
        "CHECK MODE, nothing was changed. " if check_mode else "", result.get("list_name"), len(result["created"]), len(result["updated"]),
        len(result["deleted"]), result["unchanged"])]
    lines += ["%sdeleted: %s (indicator %s, %s)" % (would, item["file_hash"], item["id"], item["title"]) for item in result["deleted"]]
    lines += ["%staken over: %s" % (would, file_hash) for file_hash in result.get("taken_over", ())]
    not_owned = result.get("not_owned", ())
    lines += ["left as it is: %s, indicator %s of %s (%s); take_over makes it match the list" % (
        item["file_hash"], item["id"], item["application"] or item["created_by"], item["action"]) for item in not_owned[:LINES_EACH]]
    if len(not_owned) > LINES_EACH:
        lines.append("left as it is: %d more (see not_owned in the result)" % (len(not_owned) - LINES_EACH))
    if result.get("legacy"):
        lines.append("left alone: %d indicator(s) of application %s for files not listed (see legacy in the result)" % (
            len(result["legacy"]), APPLICATION))
    lines += ["not sent: %s (%s): %s" % (item["file_hash"], item["write"], item["reason"]) for item in result.get("unsent", ())[:LINES_EACH]]
    lines += ["refused: %s: %s" % (item["file_hash"], item["reason"]) for item in result.get("refused", ())[:LINES_EACH]]
    return lines

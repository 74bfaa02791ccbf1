# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File indicators: block (and remediate) a file on every onboarded machine with one API call, idempotently.

``FileIndicatorRequest.from_options`` validates the module's options before any request; ``converge_file_indicator``
reads the indicators for the file's hash and then creates, updates or deletes so that the tenant matches, or, in
check mode, says what it would do. The API's ``POST /api/indicators`` submits *or updates by value*, so an update
sends the whole indicator (the existing values for every field the user left out): whether the API keeps or resets
an omitted field is not documented.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import parse_timestamp
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, InputError, MdeError
from ansible_collections.mde.response.plugins.module_utils._model.odata import equals, odata_datetime, or_chain
from ansible_collections.mde.response.plugins.module_utils._model.validation import DURATION_FORMS, choice, control_character, parse_duration, text

# Indicator types by the length of the hash: the API takes these three for files.
HASH_TYPES = {40: "FileSha1", 64: "FileSha256", 32: "FileMd5"}
ACTIONS = ("BlockAndRemediate", "Block", "AlertAndBlock", "Alert", "Warn", "Audit", "Allowed")
SEVERITIES = ("Informational", "Low", "Medium", "High")
# Set on indicators this collection creates (the API keeps it from creation on), so that they can be told apart
# from those made by people and other tools.
APPLICATION = "mde.response"
MAX_TEXT_LENGTH = 1000
PERMISSION_HINT = ("The app registration needs the application permission Ti.ReadWrite.All (or Ti.ReadWrite, which sees and changes "
                   "only the indicators the app created) of the WindowsDefenderATP API: in Entra ID, App registrations > the app > "
                   "API permissions > Add a permission > APIs my organization uses > WindowsDefenderATP > Application permissions, "
                   "then Grant admin consent.")

_HEX = re.compile(r"[0-9a-f]+", re.IGNORECASE)
# Line breaks and tabs are fine in a description.
_LAYOUT = frozenset("\n\r\t")

# Option name -> API field, for the fields the module manages and compares.
FIELDS = (
    ("action", "action"),
    ("title", "title"),
    ("description", "description"),
    ("severity", "severity"),
    ("expiration", "expirationTime"),
    ("generate_alert", "generateAlert"),
    ("recommended_actions", "recommendedActions"),
    ("device_groups", "rbacGroupNames"),
)
SENT_AS_IS = ("indicatorValue", "indicatorType", "application") + tuple(api_name for _option, api_name in FIELDS)
# The argument spec of one indicator: file_indicator's options, and each entry of file_indicators' list.
INDICATOR_ARGUMENT_SPEC = dict(
    file_hash=dict(type="str", required=True),
    action=dict(type="str", choices=list(ACTIONS), default="BlockAndRemediate"),
    title=dict(type="str"),
    description=dict(type="str"),
    severity=dict(type="str", choices=list(SEVERITIES)),
    expiration=dict(type="str"),
    generate_alert=dict(type="bool"),
    recommended_actions=dict(type="str"),
    device_groups=dict(type="list", elements="str"),
)


def file_hash(value, option="file_hash"):
    """(hash in lower case, indicator type) of a SHA-1, SHA-256 or MD5 given in any case."""
    text = value.strip() if isinstance(value, str) else ""
    indicator_type = HASH_TYPES.get(len(text)) if _HEX.fullmatch(text) else None
    if indicator_type is None:
        raise InputError("%s must be the SHA-1 (40 hex characters), SHA-256 (64) or MD5 (32) of a file, got %r" % (option, value))
    return text.lower(), indicator_type


def expiration_time(value, now, option="expiration"):
    """The moment an expiration option means, and whether it was a duration (``30d``, ``12h``) from ``now``."""
    moment = parse_timestamp(value)
    is_duration = moment is None
    if is_duration:
        try:
            moment = now + timedelta(seconds=parse_duration(value, option))
        except InputError:
            raise InputError("%s must be a date and time in ISO 8601 (2026-12-31T18:00:00Z) or %s from now, got %r"
                             % (option, DURATION_FORMS, value)) from None
    if moment <= now:
        raise InputError("%s %s is not in the future: give a later date and time, or a duration such as 30d" % (option, value))
    return moment, is_duration


def _optional(options, option, validate):
    value = options.get(option)
    return None if value is None else validate(value, option)


def _boolean(value: object, option: str) -> bool:
    """A flag as YAML or a survey gives it: true/false, or the words Ansible reads as such."""
    words = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise InputError("%s must be true or false, got %r" % (option, value))


def _long_text(value, option):
    """A description: not empty, at most MAX_TEXT_LENGTH characters, line breaks allowed."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_LENGTH:
        raise InputError("%s must be a non-empty text of at most %d characters, got %r" % (option, MAX_TEXT_LENGTH, value))
    bad = control_character(value, _LAYOUT)
    if bad is not None:
        raise InputError("%s contains the control character U+%04X" % (option, ord(bad)))
    return value


@dataclass
class FileIndicatorRequest:
    value: str                       # the hash, lower case
    indicator_type: str
    state: str
    wanted: dict                     # API field -> value, only for the options the user set (and action)
    expires_within: Optional[timedelta] = None  # set when the expiration was a duration: any expiry up to then is in line
    now: Optional[datetime] = None

    @classmethod
    def from_options(cls, options, now):
        """Validate the module's options; raises InputError naming the option, before any request."""
        value, indicator_type = file_hash(options.get("file_hash"))
        state = options.get("state") or "present"
        if state not in ("present", "absent"):
            raise InputError("state must be present or absent, got %r" % state)
        wanted = {"action": _optional(options, "action", lambda value, option: choice(value, option, ACTIONS)) or "BlockAndRemediate",
                  "title": _optional(options, "title", text), "description": _optional(options, "description", _long_text),
                  "severity": _optional(options, "severity", lambda value, option: choice(value, option, SEVERITIES)),
                  "recommendedActions": _optional(options, "recommended_actions", _long_text)}
        if options.get("generate_alert") is not None:
            wanted["generateAlert"] = _boolean(options["generate_alert"], "generate_alert")
        if wanted["action"] == "Audit" and not wanted.get("generateAlert"):
            raise InputError("action Audit needs generate_alert: true (the API refuses an Audit indicator without alerts)")
        groups = options.get("device_groups")
        if groups is not None:
            if not isinstance(groups, (list, tuple)) or not all(isinstance(name, str) and name.strip() for name in groups):
                raise InputError("device_groups must be a list of device group names, got %r" % (groups,))
            wanted["rbacGroupNames"] = sorted({name.strip() for name in groups})
        expires_within = None
        if options.get("expiration") is not None:
            moment, is_duration = expiration_time(options["expiration"], now)
            wanted["expirationTime"] = odata_datetime(moment)
            expires_within = moment - now if is_duration else None
        return cls(value, indicator_type, state, {name: item for name, item in wanted.items() if item is not None}, expires_within, now)

    def matches(self, indicator):
        """Whether an indicator from the API is one for this file (any case)."""
        return (indicator.get("indicatorType") == self.indicator_type
                and str(indicator.get("indicatorValue") or "").lower() == self.value)

    def odata_filter(self):
        # String comparison in $filter is case-sensitive and the API may keep a hash as it was typed (the portal,
        # other tools): ask for the value in lower and upper case.
        return or_chain(equals("indicatorValue", variant) for variant in (self.value, self.value.upper()))

    def differences(self, indicator):
        """API field -> (current, wanted) for every managed field that differs."""
        found = {}
        for name, wanted in self.wanted.items():
            current = indicator.get(name)
            if not self._same(name, current, wanted):
                found[name] = (current, wanted)
        return found

    def _same(self, name, current, wanted):
        if name == "rbacGroupNames":
            return sorted(current or []) == wanted
        if name == "expirationTime":
            current_moment = parse_timestamp(current) if current else None
            if current_moment is None:
                return False
            if self.expires_within is not None and self.now is not None:
                # A duration is in line with any expiry still ahead and no later than the duration from now, so a
                # rerun does not move the expiry each time.
                return self.now < current_moment <= self.now + self.expires_within
            return current_moment.replace(microsecond=0) == parse_timestamp(wanted)
        return current == wanted

    def body(self, existing: dict | None = None, application: str = APPLICATION) -> dict:
        """The POST body: a new indicator stamped with ``application``, or the existing indicator's values with only the
        differing fields changed, so that a field found in line (a duration's expiry above all) is sent as it is and
        the write changes exactly what the diff shows."""
        body = {"indicatorValue": existing["indicatorValue"] if existing else self.value, "indicatorType": self.indicator_type,
                "title": "File %s" % self.value, "description": "Managed by the %s Ansible collection." % APPLICATION}
        if existing is None:
            body["application"] = application
            body.update(self.wanted)
            return body
        body.update({name: existing[name] for name in SENT_AS_IS if existing.get(name) is not None})
        body.update({name: wanted for name, (_current, wanted) in self.differences(existing).items()})
        return body


@dataclass
class IndicatorResult:
    outcome: str                     # created | updated | unchanged | deleted | absent
    changed: bool = False
    indicator: Optional[dict] = None
    diff: dict = field(default_factory=lambda: {"before": {}, "after": {}})
    warnings: list = field(default_factory=list)
    error: MdeError | None = None      # the error that stopped the writes; what was written before it stays reported
    unsent: list = field(default_factory=list)   # {"id", "reason"}: deletions not sent after the error

    def as_dict(self) -> dict:
        output = {"changed": self.changed, "outcome": self.outcome, "indicator": self.indicator, "diff": self.diff}
        if self.error is not None:
            output.update(unsent=self.unsent, error=error_details(self.error))
        return output

    def failure_message(self) -> str | None:
        """Why the deletions stopped, how many went through and which were not sent; None when none failed."""
        if self.error is None:
            return None
        unsent = [item["id"] for item in self.unsent]
        named = ", ".join(str(item) for item in unsent[:5]) + (" and %d more" % (len(unsent) - 5) if len(unsent) > 5 else "")
        return ("%s. %d deletion(s) went through before it; %d not sent: %s; fix that and run again: the next run deletes only what is "
                "left (see unsent and error)" % (str(self.error).rstrip("."), len(self.diff["before"]["indicators"]) - len(unsent),
                                                 len(unsent), named))


def converge_file_indicator(client, request, check_mode=False):
    """Make the tenant's indicators for the file match ``request``; returns an IndicatorResult."""
    with permission_hint():
        existing = [indicator for indicator in client.list_indicators(request.odata_filter()) if request.matches(indicator)]
        if request.state == "absent":
            return _remove(client, existing, check_mode)
        return _submit(client, request, existing, check_mode)


def _submit(client, request, existing, check_mode):
    current = oldest(existing)
    result = IndicatorResult("created" if current is None else "updated")
    if len(existing) > 1:
        result.warnings.append("%d indicators exist for file %s (ids %s); only %s is managed. Run with state=absent to remove them all, "
                               "then again with state=present." % (len(existing), request.value, ", ".join(str(item["id"]) for item in existing),
                                                                   current["id"]))
    if current is None:
        body = request.body()
        result.diff = {"before": {}, "after": body}
    else:
        differences = request.differences(current)
        result.indicator = current
        if not differences:
            result.outcome = "unchanged"
            return result
        body = request.body(current)
        result.diff = before_and_after(differences)
    result.changed = True
    if not check_mode:
        result.indicator = client.submit_indicator(body)
    return result


def _remove(client, existing, check_mode):
    result = IndicatorResult("deleted" if existing else "absent", changed=bool(existing))
    result.diff = {"before": {"indicators": [_summary(item) for item in existing]}, "after": {"indicators": []}}
    if check_mode:
        return result
    for position, indicator in enumerate(existing):
        try:
            delete_indicator(client, indicator["id"])
        except MdeError as error:
            # The deletions before it happened: the result says so, and names the ones not sent.
            result.changed, result.error = position > 0 or isinstance(error, AmbiguousWriteError), error
            result.unsent = [{"id": item["id"], "reason": str(error)} for item in existing[position:]]
            break
    return result


def delete_indicator(client, indicator_id):
    try:
        client.delete_indicator(indicator_id)
    except ApiError as error:
        # Gone already (by another run, or a delete whose answer was lost): that is the state wanted.
        if error.http_status != 404:
            raise


def error_details(error: MdeError) -> dict:
    """The ``error`` of a result: the API's or the transport's details, or the code of any other error."""
    to_dict = getattr(error, "to_dict", None)
    return to_dict() if to_dict else {"code": type(error).__name__, "message": str(error), "http_status": None}


def _summary(indicator):
    return {name: indicator.get(name) for name in ("id", "indicatorValue", "action", "title", "application")}


def oldest(indicators):
    """The indicator created first, or None."""
    return min(indicators, key=lambda indicator: (str(indicator.get("creationTimeDateTimeUtc") or ""), str(indicator.get("id"))), default=None)


def before_and_after(differences):
    """A diff's {"before", "after"} from FileIndicatorRequest.differences()."""
    return {"before": {name: pair[0] for name, pair in differences.items()}, "after": {name: pair[1] for name, pair in differences.items()}}


@contextlib.contextmanager
def permission_hint():
    """Add how to grant the indicators permission to a 403 from the indicators API."""
    try:
        yield
    except ApiError as error:
        if error.http_status != 403:
            raise
        raise ApiError("%s %s" % (error.message, PERMISSION_HINT), code=error.code, http_status=403, correlation_id=error.correlation_id,
                       method=error.method, route=error.route) from None

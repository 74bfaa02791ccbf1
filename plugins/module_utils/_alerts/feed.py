# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The alert feed behind the mde.response.alerts event source: options, the cursor state file and paging.

Plain Python, like the rest of module_utils; the event source (extensions/eda/plugins/event_source/alerts.py) only
adds the asyncio loop around it. How a poll works:

- ``GET /api/alerts`` with ``$filter=lastUpdateTime ge <lower bound>`` (plus the severity, status and category
  filters), ``$orderby=lastUpdateTime asc`` and ``$expand=evidence``.
- The lower bound is the newest ``lastUpdateTime`` delivered so far minus ``overlap`` seconds, so that an alert
  the API lists late (indexing lag, clocks apart) is still found; on the very first start it is ``now - lookback``.
- Pages follow the update time rather than ``$skip`` alone: the next page starts at the newest update time of
  the last one, so an alert that changes while the pages are read moves to a later page instead of shifting an
  unseen one out of reach. ``$skip`` is used only while a whole page shares one update time.
- An alert is delivered when its id is unknown or its ``lastUpdateTime`` is newer than the one delivered; the
  state file keeps that id -> update time map for the overlap window and the cursor, and is written after every
  delivered event, so a restart neither loses nor repeats alerts.
- Sending is not acting: the playbook an event starts may fail. So an alert with SHA-1s selected for quarantine
  stays tracked (``pending`` in the state file, beyond the overlap window) and is sent again every
  ``resend_interval`` seconds, re-read by id, until a StopAndQuarantineFile action exists on its machine for each
  selected SHA-1, or it is resolved, or the API no longer lists it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from typing import Any, Callable

from ansible_collections.mde.response.plugins.module_utils._client.connection_options import FALSE_WORDS, with_environment
from ansible_collections.mde.response.plugins.module_utils._alerts.evidence import select_evidence
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    SUCCEEDED, action_created, action_status, is_in_flight, is_quarantine_of, parse_timestamp)
from ansible_collections.mde.response.plugins.module_utils.errors import InputError, MdeError
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, any_of, odata_datetime
from ansible_collections.mde.response.plugins.module_utils._client.private_files import replace_json
from ansible_collections.mde.response.plugins.module_utils._model.validation import moment

SEVERITIES = ("UnSpecified", "Informational", "Low", "Medium", "High")
STATUSES = ("Unknown", "New", "InProgress", "Resolved")
MAX_PAGE_SIZE = 10000
STATE_VERSION = 2
# Version 1 files had no pending alerts; they are read as version 2 with none.
READABLE_STATE_VERSIONS = (1, 2)
RESOLVED = "Resolved"

DEFAULT_INTERVAL = 60.0
DEFAULT_OVERLAP = 300.0
DEFAULT_PAGE_SIZE = 1000
DEFAULT_LOOKBACK = "0s"
DEFAULT_RESEND_INTERVAL = 900.0
# The quarantine playbook's default succeeded_within: a success this long before the alert still counts as its action.
SUCCEEDED_BEFORE_ALERT = timedelta(hours=24)
# Tracked alerts re-read per request ($filter on id), well below the API's URL length limits.
IDS_PER_REQUEST = 50
# Failed polls are retried after interval, 2 x interval, 4 x interval ... up to this many seconds.
MAX_BACKOFF = 300.0


class FeedOptions:
    """The source's own arguments (everything but the connection options), validated before any request."""

    def __init__(self, args, connection, now, environ=None):
        """``args`` as the rulebook gives them, ``connection`` the resolved connection option values."""
        environ = os.environ if environ is None else environ
        args = {name: _given(args, name, FEED_ENVIRONMENT[name], environ) for name in FEED_ENVIRONMENT}
        self.interval = _positive_number(_or_default(args["interval"], DEFAULT_INTERVAL), "interval")
        self.overlap = _positive_number(_or_default(args["overlap"], DEFAULT_OVERLAP), "overlap", allow_zero=True)
        self.page_size = int(_positive_number(_or_default(args["page_size"], DEFAULT_PAGE_SIZE), "page_size"))
        if self.page_size > MAX_PAGE_SIZE:
            raise InputError("page_size must be at most %d (the API's limit), got %d" % (MAX_PAGE_SIZE, self.page_size))
        self.start = moment(str(_or_default(args["lookback"], DEFAULT_LOOKBACK)), "lookback", now)
        self.severities = _choices(args.get("severity"), "severity", SEVERITIES)
        self.statuses = _choices(args.get("status"), "status", STATUSES)
        self.categories = _choices(args.get("category"), "category", None)
        self.include_processes = _boolean(args["include_processes"], "include_processes")
        self.resend_interval = _positive_number(_or_default(args["resend_interval"], DEFAULT_RESEND_INTERVAL),
                                                "resend_interval", allow_zero=True)
        self.replay = _choices(args.get("replay"), "replay", None)
        self.state_file = args.get("state_file") or default_state_file(environ, self.scope_key(connection))

    def scope_key(self, connection):
        """What makes two sources see different alerts: where, as whom, and which filters."""
        return json.dumps([connection.get("api_url"), connection.get("tenant_id"), connection.get("client_id"),
                           self.severities, self.statuses, self.categories])

    def odata_filter(self, lower_bound):
        return all_of([
            "lastUpdateTime ge %s" % odata_datetime(lower_bound),
            any_of("severity", self.severities) if self.severities else None,
            any_of("status", self.statuses) if self.statuses else None,
            any_of("category", self.categories) if self.categories else None,
        ])


# The source's own options that an environment variable can set (an EDA Controller credential, for one).
FEED_ENVIRONMENT = {
    "interval": ("MDE_ALERTS_INTERVAL",),
    "severity": ("MDE_ALERTS_SEVERITY",),
    "status": ("MDE_ALERTS_STATUS",),
    "category": ("MDE_ALERTS_CATEGORY",),
    "lookback": ("MDE_ALERTS_LOOKBACK",),
    "overlap": ("MDE_ALERTS_OVERLAP",),
    "page_size": ("MDE_ALERTS_PAGE_SIZE",),
    "state_file": ("MDE_ALERTS_STATE_FILE",),
    "include_processes": ("MDE_ALERTS_INCLUDE_PROCESSES",),
    "resend_interval": ("MDE_ALERTS_RESEND_INTERVAL",),
    "replay": ("MDE_ALERTS_REPLAY",),
}


def _given(args, name, variables, environ):
    """The argument, else the first of its environment variables that is set, else None."""
    value = args.get(name)
    if value is None or value == "":
        value = next((environ[variable] for variable in variables if environ.get(variable)), None)
    return value


def connection_values(args, environ):
    """The connection option values for ConnectionSettings.from_options: the source's argument, else the first
    environment variable set, as Ansible's env fallback does for the modules."""
    return with_environment(args, environ)


def _or_default(value, default):
    return default if value is None else value


def _boolean(value: Any, option: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in FALSE_WORDS:
        return False
    if text in ("1", "true", "yes", "on", "y", "t"):
        return True
    raise InputError("%s must be true or false, got %r" % (option, value))


def default_state_file(environ, scope_key):
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    digest = hashlib.sha256(scope_key.encode("utf-8")).hexdigest()[:16]
    return os.path.join(base, "mde.response", "alerts-%s.json" % digest)


def _positive_number(value, option, allow_zero=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0 or (number == 0 and not allow_zero):
        raise InputError("%s must be a %s number of seconds, got %r" % (option, "non-negative" if allow_zero else "positive", value))
    return number


def _choices(value, option, allowed):
    """A list option given as a list or a comma-separated string; each value one of ``allowed`` when given."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InputError("%s must be a list or a comma-separated string, got %r" % (option, value))
    chosen = []
    for item in items:
        text = str(item).strip()
        if allowed is not None:
            matching = [choice for choice in allowed if choice.lower() == text.lower()]
            if not matching:
                raise InputError("%s must be one or more of %s, got %r" % (option, ", ".join(allowed), item))
            text = matching[0]
        if text and text not in chosen:
            chosen.append(text)
    return chosen


class FeedState:
    """The cursor and the alerts delivered within the overlap window, kept in a JSON file (0600, replaced atomically)."""

    def __init__(self, path, start, overlap):
        self.path = path
        self.overlap = timedelta(seconds=overlap)
        self.floor = start          # nothing older than the first start's lower bound is ever delivered
        self.cursor = start         # the newest lastUpdateTime delivered
        self.delivered = {}         # alert id -> lastUpdateTime text, within the overlap window
        # alert id -> {machineId, sha1s, alertCreationTime, sent, attempt}: sent, and no action seen for it yet
        self.pending = {}
        self.warning = None

    @classmethod
    def load(cls, path, start, overlap):
        """The saved state, or a fresh one starting at ``start`` (with a warning when the file was unreadable)."""
        state = cls(path, start, overlap)
        try:
            with open(path, encoding="utf-8") as stream:
                saved = json.load(stream)
            floor, cursor = parse_timestamp(saved["floor"]), parse_timestamp(saved["cursor"])
            delivered, pending = saved["delivered"], saved.get("pending", {})
            if (floor is None or cursor is None or not isinstance(delivered, dict) or not isinstance(pending, dict)
                    or saved.get("version") not in READABLE_STATE_VERSIONS
                    or not all(_is_pending_entry(entry) for entry in pending.values())):
                raise ValueError("unknown layout")
        except FileNotFoundError:
            return state
        except (OSError, ValueError, KeyError, TypeError) as error:
            state.warning = ("the state file %s could not be read (%s); starting from lookback as on a first start. "
                             "Remove the file or fix its permissions to silence this" % (path, error))
            return state
        state.floor, state.cursor = floor, cursor
        state.delivered = {str(key): str(value) for key, value in delivered.items()}
        state.pending = {str(key): dict(value) for key, value in pending.items()}
        return state

    def lower_bound(self):
        return max(self.floor, self.cursor - self.overlap)

    def is_new(self, alert):
        updated = parse_timestamp(alert["lastUpdateTime"])
        known = self.delivered.get(alert["id"])
        # The $filter bound is whole seconds; the floor is exact.
        return updated >= self.floor and (known is None or updated > parse_timestamp(known))

    def record(self, alert):
        self.delivered[alert["id"]] = alert["lastUpdateTime"]
        self.cursor = max(self.cursor, parse_timestamp(alert["lastUpdateTime"]))
        oldest = self.lower_bound()
        self.delivered = {key: value for key, value in self.delivered.items() if parse_timestamp(value) >= oldest}

    def save(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        payload = {"version": STATE_VERSION, "floor": self.floor.isoformat(), "cursor": self.cursor.isoformat(),
                   "delivered": self.delivered, "pending": self.pending}
        replace_json(self.path, payload)

    def attempts(self, alert_id: str) -> int:
        """How often the alert was sent while tracked (0 when it is not)."""
        return self.pending.get(alert_id, {}).get("attempt", 0)

    def track(self, event: dict[str, Any], now: datetime) -> bool:
        """Keep the alert of a sent event for resending when it asks for an action; whether it is tracked now."""
        alert = event["alert"]
        if not event["sha1s"] or alert.get("status") == RESOLVED or not isinstance(alert.get("machineId"), str):
            self.pending.pop(alert["id"], None)
            return False
        known = self.pending.get(alert["id"])
        # A change is no new attempt: were it to restart the wait, an alert that keeps changing would never be resent.
        sent = known["sent"] if known and event["delivery"]["reason"] == "changed" else now.isoformat()
        self.pending[alert["id"]] = {"machineId": alert["machineId"], "sha1s": event["sha1s"],
                                     "alertCreationTime": alert.get("alertCreationTime"), "sent": sent,
                                     "attempt": event["delivery"]["attempt"]}
        return True

    def forget(self, alert_id: str) -> None:
        self.pending.pop(alert_id, None)

    def due(self, now: datetime, resend_interval: float) -> tuple[list[str], list[tuple[str, float]]]:
        """The tracked alerts to send again now, and those held back with the seconds until they are due."""
        due: list[str] = []
        held: list[tuple[str, float]] = []
        if not resend_interval:
            return due, held
        for alert_id, entry in self.pending.items():
            left = resend_interval - (now - parse_timestamp(entry["sent"])).total_seconds()
            if left <= 0:
                due.append(alert_id)
            else:
                held.append((alert_id, left))
        return due, held


def _is_pending_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("machineId"), str) and isinstance(entry.get("sha1s"), list)
            and isinstance(entry.get("attempt"), int) and parse_timestamp(entry.get("sent")) is not None)


class AlertPoll:
    """One poll: which page to ask for next, and which alerts of each page are new."""

    def __init__(self, options, state):
        self._options = options
        self._state = state
        self._lower = state.lower_bound()
        self._skip = 0
        self.done = False
        self.skipped = []           # why malformed alerts were left out, for the log

    def params(self):
        params = {"$filter": self._options.odata_filter(self._lower), "$orderby": "lastUpdateTime asc",
                  "$expand": "evidence", "$top": str(self._options.page_size)}
        if self._skip:
            params["$skip"] = str(self._skip)
        return params

    def take(self, page):
        """The new alerts of a page (``value`` of the answer), oldest update first; moves on to the next page."""
        valid = [alert for alert in page if self._usable(alert)]
        fresh = [alert for alert in valid if self._state.is_new(alert)]
        newest = max((parse_timestamp(alert["lastUpdateTime"]) for alert in valid), default=None)
        if len(page) < self._options.page_size or newest is None:
            self.done = True
        elif newest > self._lower:
            self._lower, self._skip = newest, 0
        else:
            self._skip += len(page)
        return sorted(fresh, key=lambda alert: parse_timestamp(alert["lastUpdateTime"]))

    def _usable(self, alert):
        if not isinstance(alert, dict) or not isinstance(alert.get("id"), str) or not alert["id"]:
            self.skipped.append("an entry without an alert id: %.120r" % (alert,))
            return False
        if parse_timestamp(alert.get("lastUpdateTime")) is None:
            self.skipped.append("alert %s without a readable lastUpdateTime (%.60r)" % (alert["id"], alert.get("lastUpdateTime")))
            return False
        return True


def alert_event(alert: dict[str, Any], include_processes: bool = False, reason: str = "new", attempt: int = 1) -> dict[str, Any]:
    """The event for an alert: the entity under ``alert``, the SHA-1s selected for quarantine under ``sha1s``, every
    SHA-1 of its evidence with where it came from and why it was or was not selected under ``selection``, and why
    it is sent (``new``, ``changed``, ``resend``, ``replay``) with the how-many-th time under ``delivery``."""
    selection = select_evidence(alert.get("evidence"), include_processes)
    return {"alert": alert, "sha1s": [choice["sha1"] for choice in selection if choice["selected"]],
            "selection": selection, "delivery": {"reason": reason, "attempt": attempt}}


def describe_event(event: dict[str, Any]) -> str:
    """What the log says about a sent event: what is selected, and what is left out and why."""
    parts = ["SHA-1 %s selected" % ", ".join(event["sha1s"]) if event["sha1s"] else "no SHA-1 selected"]
    parts.extend("left out %s (%s %s): %s" % (choice["sha1"], choice["entityType"], choice["fileName"], choice["reason"])
                 for choice in event["selection"] if not choice["selected"])
    return "; ".join(parts)


def tracked_alerts(request: Callable[[dict[str, str]], dict[str, Any]], alert_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The alerts of these ids as the API lists them now, with their evidence; ``request`` does one GET /api/alerts."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(alert_ids), IDS_PER_REQUEST):
        chunk = alert_ids[start:start + IDS_PER_REQUEST]
        answer = request({"$filter": any_of("id", chunk), "$expand": "evidence", "$top": str(len(chunk))})
        found.update((alert["id"], alert) for alert in answer["value"] if isinstance(alert, dict) and alert.get("id") in chunk)
    return found


def missing_actions(event: dict[str, Any], actions: list[dict[str, Any]]) -> list[str]:
    """The event's selected SHA-1s without a StopAndQuarantineFile action on the alert's machine that the quarantine
    playbook would take as done: one in flight, or one that succeeded since a day before the alert."""
    created = parse_timestamp(event["alert"].get("alertCreationTime"))
    since = created - SUCCEEDED_BEFORE_ALERT if created else None

    def done(action: dict[str, Any]) -> bool:
        if is_in_flight(action):
            return True
        made = action_created(action)
        return action_status(action) == SUCCEEDED and (since is None or made is None or made >= since)

    return [sha1 for sha1 in event["sha1s"] if not any(is_quarantine_of(action, sha1) and done(action) for action in actions)]


def machine_actions_or_none(read: Callable[[], list[dict[str, Any]]]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The machine's quarantine actions, or None and why they could not be read (the alert is then sent again)."""
    try:
        return read(), None
    except MdeError as error:
        return None, ("its machine's actions could not be read (%s), so it is sent again until it is resolved; grant "
                      "the app Machine.Read.All to let the source see when its action exists" % error)


def backoff(failures, interval):
    """Seconds to wait after ``failures`` failed polls in a row."""
    return min(max(MAX_BACKOFF, interval), interval * 2 ** max(0, failures - 1))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only look-ups of the info modules: typed options turned into OData $filter expressions, and run.

No option value ever reaches a $filter as the text the user wrote: strings are quoted with ``odata_string``,
numbers and datetimes are rendered from parsed values, and enumerations are checked against the documented
values. So an option can narrow a query, never change its logic. Everything is validated (``from_options``)
before the first request.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils.api import odata_string
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

# The documented values of the Machine and MachineAction enumerations (API reference: machine.md, machineaction.md).
HEALTH_STATUSES = ("Active", "Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication", "Unknown")
RISK_SCORES = ("None", "Informational", "Low", "Medium", "High")
ACTION_STATUSES = ("Pending", "InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled")
ACTION_TYPES = (
    "RunAntiVirusScan",
    "Offboard",
    "LiveResponse",
    "CollectInvestigationPackage",
    "Isolate",
    "Unisolate",
    "StopAndQuarantineFile",
    "RestrictCodeExecution",
    "UnrestrictCodeExecution",
)

# Values per filtered call: twenty quoted ids keep the URL well under the 2,048 characters proxies accept.
BATCH_SIZE = 20
# Beyond this many ids or names, one listing filtered by the other options costs fewer calls than the batches.
LOOKUP_LIMIT = 100
MAX_TEXT_LENGTH = 255

_HEX40 = re.compile(r"[0-9a-f]{40}", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_AGE = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d:?\d\d)?", re.IGNORECASE
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------------------------
# Values


def parse_timestamp(text):
    """An aware datetime from ISO 8601 text (date, or date and time, optional fraction and offset; naive is UTC)."""
    match = _TIMESTAMP.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone = timezone.utc
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        # The API writes seven fractional digits; datetime keeps six.
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        int((fraction or "").ljust(6, "0")[:6]), tzinfo=zone)
    except ValueError:
        return None


def odata_datetime(moment):
    """A DateTimeOffset literal for $filter, in UTC, to the second."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(value, option, now):
    """The datetime an option means: an ISO 8601 date or date and time, or an age (``30m``, ``24h``, ``7d``) before ``now``."""
    if isinstance(value, str):
        age = _AGE.fullmatch(value.strip())
        if age:
            return now - timedelta(**{_AGE_UNITS[age.group(2).lower()]: int(age.group(1))})
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    raise InputError("%s must be a date or date and time (2024-05-01, 2024-05-01T13:30:00Z) or an age such as 30m, 24h or 7d, got %r"
                     % (option, value))


def _text(value, option):
    if not isinstance(value, str) or not value.strip():
        raise InputError("%s must be a non-empty string, got %r" % (option, value))
    text = value.strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise InputError("%s is longer than %d characters" % (option, MAX_TEXT_LENGTH))
    bad = next((char for char in text if unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        raise InputError("%s contains the control character U+%04X" % (option, ord(bad)))
    return text


def _choice(value, option, allowed):
    if value not in allowed:
        raise InputError("%s must be one of %s, got %r" % (option, ", ".join(allowed), value))
    return value


def _hex40(value, option, what):
    if not isinstance(value, str) or not _HEX40.fullmatch(value.strip()):
        raise InputError("%s must be %s (40 hex characters), got %r" % (option, what, value))
    return value.strip().lower()


def sha1(value, option="sha1"):
    return _hex40(value, option, "the SHA-1 of a file")


def machine_id(value, option="machine_id"):
    return _hex40(value, option, "a Defender device id")


def action_id(value, option="action_id"):
    if not isinstance(value, str) or not _GUID.fullmatch(value.strip()):
        raise InputError("%s must be a machine action id (a GUID such as 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e), got %r" % (option, value))
    return value.strip().lower()


def _each(options, option, parse):
    """The option's list, each element parsed with ``parse(value, "option[i]")``, without repeats."""
    values = options.get(option)
    if values is None:
        return ()
    if not isinstance(values, (list, tuple)):
        raise InputError("%s must be a list" % option)
    parsed = []
    seen = set()
    for position, value in enumerate(values):
        item = parse(value, "%s[%d]" % (option, position))
        if item.lower() not in seen:
            seen.add(item.lower())
            parsed.append(item)
    return tuple(parsed)


def _given(options, option):
    return options.get(option) is not None


# ---------------------------------------------------------------------------------------------------------------
# Filter expressions


def any_of(field_name, values):
    """``(field eq 'a' or field eq 'b')``, every value quoted."""
    return "(%s)" % " or ".join("%s eq %s" % (field_name, odata_string(value)) for value in values)


def all_of(clauses):
    """The clauses joined with ``and``, or None when there is none."""
    present = [clause for clause in clauses if clause]
    return " and ".join(present) or None


def _batches(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def _listing(list_entities, field_name, literals, odata_filter):
    """Entities whose ``field_name`` may be one of ``literals`` and that match ``odata_filter``.

    Few literals: filtered calls in batches. Many: one listing filtered by ``odata_filter`` alone. Either way the
    caller keeps only the entities it asked for.
    """
    if len(literals) > LOOKUP_LIMIT:
        return list_entities(odata_filter)
    entities = []
    for batch in _batches(list(literals), BATCH_SIZE):
        entities.extend(list_entities(all_of([any_of(field_name, batch), odata_filter])))
    return entities


def _lower(entity, field_name):
    value = entity.get(field_name) if isinstance(entity, dict) else None
    return value.lower() if isinstance(value, str) else None


def _unique_by_id(entities):
    seen = set()
    unique = []
    for entity in entities:
        key = _lower(entity, "id")
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


# ---------------------------------------------------------------------------------------------------------------
# Machines


@dataclass(frozen=True)
class MachineQuery:
    """Which machines machine_info returns: the selected ones (or all) that match every typed filter."""

    machine_ids: tuple = ()
    machine_names: tuple = ()
    observed_sha1: Optional[str] = None
    # $filter clauses of the typed options, already rendered; all must hold.
    clauses: tuple = ()

    @classmethod
    def from_options(cls, options, now):
        """Validate machine_info's option values (others are ignored); raises InputError before any request."""
        clauses = []
        if _given(options, "tag"):
            clauses.append("machineTags/any(tag: tag eq %s)" % odata_string(_text(options["tag"], "tag")))
        if _given(options, "health_status"):
            clauses.append("healthStatus eq %s" % odata_string(_choice(options["health_status"], "health_status", HEALTH_STATUSES)))
        if _given(options, "os_platform"):
            clauses.append("osPlatform eq %s" % odata_string(_text(options["os_platform"], "os_platform")))
        if _given(options, "risk_score"):
            clauses.append("riskScore eq %s" % odata_string(_choice(options["risk_score"], "risk_score", RISK_SCORES)))
        if _given(options, "rbac_group_id"):
            group = options["rbac_group_id"]
            if isinstance(group, bool) or not isinstance(group, int):
                raise InputError("rbac_group_id must be a whole number, got %r" % (group,))
            clauses.append("rbacGroupId eq %d" % group)
        if _given(options, "last_seen_after"):
            clauses.append("lastSeen gt %s" % odata_datetime(moment(options["last_seen_after"], "last_seen_after", now)))
        return cls(
            machine_ids=_each(options, "machine_ids", machine_id),
            machine_names=_each(options, "machine_names", _text),
            observed_sha1=sha1(options["observed_sha1"], "observed_sha1") if _given(options, "observed_sha1") else None,
            clauses=tuple(clauses),
        )

    @property
    def odata_filter(self):
        return all_of(self.clauses)

    @property
    def selects(self):
        """Whether ids, names or a file pick the machines (otherwise every machine that matches the filter)."""
        return bool(self.machine_ids or self.machine_names or self.observed_sha1)


def find_machines(client, query):
    """The Machine entities ``query`` describes: by id, then by name, then those that observed the file; no repeats.

    A name can match several entries (re-imaged devices keep their old ones): all of them are returned.
    """
    if not query.selects:
        return client.list_machines(query.odata_filter)
    found = _machines_where(client, "id", query.machine_ids, query.odata_filter)
    # Defender stores names lower-cased; whether it compares them case-sensitively is not documented.
    spellings = list(dict.fromkeys(spelling for name in query.machine_names for spelling in (name, name.lower())))
    found += _machines_where(client, "computerDnsName", query.machine_names, query.odata_filter, spellings)
    if query.observed_sha1:
        observed = client.list_file_machines(query.observed_sha1)
        if query.clauses:
            # The file's machines cannot be filtered (undocumented), so the filter is applied by reading them again.
            observed = _machines_where(client, "id", [machine.get("id") for machine in observed if machine.get("id")], query.odata_filter)
        found += observed
    return _unique_by_id(found)


def _machines_where(client, field_name, values, odata_filter, literals=None):
    """Machines whose ``field_name`` is one of ``values`` (compared ignoring case), in the order of ``values``."""
    if not values:
        return []
    by_value = {}
    for machine in _listing(client.list_machines, field_name, literals or values, odata_filter):
        by_value.setdefault(_lower(machine, field_name), []).append(machine)
    return [machine for value in values for machine in by_value.pop(value.lower(), [])]


# ---------------------------------------------------------------------------------------------------------------
# Machine actions


@dataclass(frozen=True)
class MachineActionQuery:
    """Which machine actions machine_action_info returns: those that match every option given."""

    action_ids: tuple = ()
    machine_ids: tuple = ()
    # Matched here: relatedFileInfo cannot be filtered on by the API.
    sha1: Optional[str] = None
    clauses: tuple = ()

    @classmethod
    def from_options(cls, options, now):
        """Validate machine_action_info's option values (others are ignored); raises InputError before any request."""
        clauses = []
        if _given(options, "type"):
            clauses.append("type eq %s" % odata_string(_choice(options["type"], "type", ACTION_TYPES)))
        statuses = _each(options, "status", lambda value, option: _choice(value, option, ACTION_STATUSES))
        if statuses:
            clauses.append(any_of("status", statuses))
        if _given(options, "requestor"):
            clauses.append("requestor eq %s" % odata_string(_text(options["requestor"], "requestor")))
        if _given(options, "created_after"):
            clauses.append("creationDateTimeUtc gt %s" % odata_datetime(moment(options["created_after"], "created_after", now)))
        return cls(
            action_ids=_each(options, "action_ids", action_id),
            machine_ids=_each(options, "machine_ids", machine_id),
            sha1=sha1(options["sha1"]) if _given(options, "sha1") else None,
            clauses=tuple(clauses),
        )

    @property
    def odata_filter(self):
        return all_of(self.clauses)

    def matches(self, action):
        """Whether an action the API returned is one the query asked for (the parts the API did not filter)."""
        if self.action_ids and _lower(action, "id") not in self.action_ids:
            return False
        if self.machine_ids and _lower(action, "machineId") not in self.machine_ids:
            return False
        if self.sha1:
            related = action.get("relatedFileInfo") or {}
            return isinstance(related, dict) and _lower(related, "fileIdentifier") == self.sha1
        return True


def find_machine_actions(client, query):
    """The MachineAction entities ``query`` describes, newest first."""
    # Only one list of ids goes into the $filter, so that its batches stay small; the other is matched here.
    if query.action_ids:
        actions = _listing(client.list_machine_actions, "id", query.action_ids, query.odata_filter)
    elif query.machine_ids:
        actions = _listing(client.list_machine_actions, "machineId", query.machine_ids, query.odata_filter)
    else:
        actions = client.list_machine_actions(query.odata_filter)
    wanted = [action for action in _unique_by_id(actions) if query.matches(action)]
    return sorted(wanted, key=lambda action: parse_timestamp(action.get("creationDateTimeUtc")) or _EPOCH, reverse=True)

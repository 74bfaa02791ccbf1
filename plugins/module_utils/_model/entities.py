# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the API's entities (Machine, MachineAction): ids, timestamps, statuses, and their order.

Every reader accepts anything (an entity can lack a field, or not be a dict at all) and answers None rather
than raising: deciding what a missing value means is the caller's job.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

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
STOP_AND_QUARANTINE = "StopAndQuarantineFile"
PENDING = "Pending"
IN_FLIGHT_STATUSES = (PENDING, "InProgress")
SUCCEEDED = "Succeeded"
CANCELLED_STATUS = "Cancelled"
FAILED = "Failed"
# The sensor health states of a machine that is not in contact with the service, so that an action waits for it: every
# documented one but Active and Unknown (machine.md; Inactive is "stopped sending signals for more than 7 days").
OFFLINE_HEALTH_STATUSES = ("Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication")
# "Sha1 <hash> was not found in machine <id>": the file is not there. "Machine <id> was not found" is different.
_FILE_NOT_ON_MACHINE = re.compile(r"\bsha1\b.*\bnot found\b", re.IGNORECASE)
# HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), 0x80070002, signed as the API writes errorHResult (0 on success, E_FAIL
# as a negative number), and unsigned in case a client or proxy writes it so.
FILE_NOT_FOUND_HRESULTS = (-2147024894, 0x80070002)

# Sorts entities without a readable time after every dated one, newest first.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d:?\d\d)?", re.IGNORECASE
)


def parse_timestamp(text):
    """An aware datetime from ISO 8601 text, or None for anything else (never raises).

    Accepts a date, or a date and time (``T`` or a space, optional seconds and fraction of any length) with an
    optional ``Z`` or ``+hh:mm``/``+hhmm`` offset; without one the time is UTC. The API writes seven fractional
    digits; datetime keeps six.
    """
    match = _TIMESTAMP.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = timezone.utc
        if offset and offset.upper() != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        int((fraction or "").ljust(6, "0")[:6]), tzinfo=zone)
    except ValueError:
        # An impossible date or time, or an offset of a day or more.
        return None


def value_of(entity, field_name):
    """The entity's value of ``field_name``, or None."""
    return entity.get(field_name) if isinstance(entity, dict) else None


def lower_field(entity, field_name):
    """The entity's text value of ``field_name`` lower-cased (ids and hashes compare ignoring case), or None."""
    value = value_of(entity, field_name)
    return value.lower() if isinstance(value, str) else None


def entity_id(entity):
    """The entity's ``id`` as the API wrote it, or None."""
    return value_of(entity, "id")


def id_key(entity):
    """The entity's ``id`` lower-cased, for comparisons, or None."""
    return lower_field(entity, "id")


def same_id(left, right):
    """Whether two ids (or hashes) are the same text ignoring case; never for a missing one."""
    return isinstance(left, str) and isinstance(right, str) and left.lower() == right.lower()


def unique_by_id(entities):
    """``entities`` without repeats (same id, ignoring case), in their first order."""
    seen = set()
    unique = []
    for entity in entities:
        key = id_key(entity)
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


def action_status(action):
    return value_of(action, "status")


def action_created(action):
    """When the action was created, or None."""
    return parse_timestamp(value_of(action, "creationDateTimeUtc"))


def action_last_update(action):
    """The action's last update as the API wrote it (text), or None."""
    # The real field is lastUpdateDateTimeUtc; the list examples of the documentation show lastUpdateTimeUtc.
    return value_of(action, "lastUpdateDateTimeUtc") or value_of(action, "lastUpdateTimeUtc")


def is_in_flight(action):
    return action_status(action) in IN_FLIGHT_STATUSES


def commands_completed(action):
    """Whether the machine reports its command done (commands[0].commandStatus), which a Cancelled status can hide."""
    commands = value_of(action, "commands")
    return bool(commands) and isinstance(commands, list) and value_of(commands[0], "commandStatus") == "Completed"


def says_file_not_on_machine(text):
    """Whether an API text says "Sha1 <hash> was not found in machine <id>" (not "Machine <id> was not found")."""
    return isinstance(text, str) and bool(_FILE_NOT_ON_MACHINE.search(text))


def failed_for_absent_file(action):
    """Whether a Failed action says why: the file was not on the machine (errorHResult or a text field)."""
    if action_status(action) != FAILED:
        return False
    return value_of(action, "errorHResult") in FILE_NOT_FOUND_HRESULTS or any(
        says_file_not_on_machine(value_of(action, name)) for name in ("troubleshootInfo", "error"))


def related_file(action):
    """The sha1 (as written) of the file an action is about, or None."""
    return value_of(value_of(action, "relatedFileInfo"), "fileIdentifier")


def is_quarantine_of(action, sha1):
    """Whether ``action`` is a StopAndQuarantineFile action for the file ``sha1`` (the hash's case may vary)."""
    return value_of(action, "type") == STOP_AND_QUARANTINE and same_id(related_file(action), sha1)


def newest_first(actions):
    """Actions sorted by creation time, newest first; ties and undated ones keep their order (undated last)."""
    return sorted(actions, key=lambda action: action_created(action) or EPOCH, reverse=True)


def is_onboarded(machine):
    # The documentation spells the field onboardingstatus and the value "onboarded"; real answers capitalise both.
    status = value_of(machine, "onboardingStatus") or value_of(machine, "onboardingstatus") or ""
    return status.lower() == "onboarded"


def last_seen(machine):
    """When Defender last saw the machine, or None."""
    return parse_timestamp(value_of(machine, "lastSeen"))


def is_offline(machine):
    """Whether Defender reports the machine out of contact (its healthStatus), so that its actions wait for it."""
    return value_of(machine, "healthStatus") in OFFLINE_HEALTH_STATUSES


def group_by(entities, field_name):
    """The entities by their lower-cased text value of ``field_name`` (entities without one are left out)."""
    groups: dict[Any, list[Any]] = {}
    for entity in entities:
        key = lower_field(entity, field_name)
        if key is not None:
            groups.setdefault(key, []).append(entity)
    return groups

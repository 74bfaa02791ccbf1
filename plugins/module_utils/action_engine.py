# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""StopAndQuarantineEngine: stop and quarantine a file on many machines without ever firing a duplicate action.

A run resolves its targets, reads the file's existing StopAndQuarantineFile actions for the whole target set
with a few list calls (the API cannot filter on the file hash, so matching happens here), decides per machine,
and only then writes. Reads made while planning raise: without them no decision is safe. Everything after that
is reported per machine, so one machine's failure never hides what happened on the others.

How each machine's outcome is decided (``error`` is set exactly when the outcome is ``failed``):

- ``existing``: the pre-check found an in-flight (Pending/InProgress) action for the file, or a Succeeded one
  created within ``succeeded_within``; or the POST answered 201 with an action the pre-check knew, or 400
  ActiveRequestAlreadyExists / "already in progress" (the action is then looked up by machine and type).
- ``created``: the POST answered 201 with a new action; or its answer was lost and the action turned up in the
  list afterwards (looked for during a grace period, since the list lags, before the one permitted re-POST).
- ``not_present``: the API said "Sha1 ... was not found in machine ..." (400 or 404); with ``state: cancelled``,
  nothing was in flight, or the action reached another final state before the cancel took effect. A Succeeded
  one adds a warning: the file is quarantined, which a cancel cannot undo, and a rerun would say not_present too.
- ``cancelled``: our cancel was accepted and a read-back shows the action Cancelled.
- ``would_create`` / ``would_cancel``: check mode, where a real run would write.
- ``failed``: any other refusal (with the API's code, message and status), a transport error, a name that matches
  no machine (MachineNotFound) or only machines that are not onboarded (AmbiguousMachineName), an answer lost
  twice (AmbiguousWrite), a cancel still not visible after a few reads (CancelNotConfirmed), and with ``wait`` an
  action that ended Failed/TimeOut/Cancelled (ActionFailed, ActionTimeOut, ActionCancelled) or is still in flight
  at ``wait_timeout`` (WaitTimeout). ``changed`` still counts an action this run created that later failed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils.api import odata_string
from ansible_collections.mde.response.plugins.module_utils.errors import (
    AmbiguousWriteError,
    ApiError,
    InputError,
    MdeError,
    TransportError,
)

ACTION_TYPE = "StopAndQuarantineFile"
IN_FLIGHT_STATUSES = ("Pending", "InProgress")
SUCCEEDED = "Succeeded"

PRESENT = "present"
CANCELLED_STATE = "cancelled"

CREATED = "created"
EXISTING = "existing"
WOULD_CREATE = "would_create"
CANCELLED = "cancelled"
WOULD_CANCEL = "would_cancel"
NOT_PRESENT = "not_present"
FAILED = "failed"
OUTCOMES = (CREATED, EXISTING, WOULD_CREATE, CANCELLED, WOULD_CANCEL, NOT_PRESENT, FAILED)

MAX_COMMENT_LENGTH = 1000
MAX_NAME_LENGTH = 255
MAX_MACHINE_NAMES = 10000
DEFAULT_SUCCEEDED_WITHIN = "24h"
DEFAULT_WAIT_TIMEOUT = 900
DEFAULT_MAX_WORKERS = 8

# Up to this many names are looked up with filtered calls; beyond it one listing of the fleet is cheaper.
NAME_LOOKUP_LIMIT = 100
NAME_BATCH_SIZE = 20
# Up to this many machines, the existing-action read also filters on machineId to keep its pages small.
MACHINE_FILTER_LIMIT = 20
# Up to this many tracked actions, waiting reads them by id; beyond it one listing by creation time.
WAIT_BY_ID_LIMIT = 40
ID_BATCH_SIZE = 20

POLL_FIRST_INTERVAL = 10.0
POLL_MAX_INTERVAL = 30.0
POLL_GROWTH = 1.5
# A lost write can take a while to appear in the action list (how long is undocumented), and re-posting too soon
# would duplicate it once the first action has finished and no longer blocks a second one. Only runs that lost
# an answer pay for this wait.
LOST_ANSWER_GRACE = 120.0
LOST_ANSWER_FIRST_DELAY = 2.0
LOST_ANSWER_MAX_DELAY = 30.0
# Server and client clocks differ; a lost write is searched for from a little before the client thinks it began.
CLOCK_SKEW = timedelta(minutes=2)
# The API may answer a cancel with 200 and leave the action as it was, so the result is read back.
CANCEL_CONFIRM_DELAYS = (2.0, 4.0, 8.0)

_HEX40 = re.compile(r"[0-9a-f]{40}", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.IGNORECASE)
_HEX32 = re.compile(r"[0-9a-f]{32}", re.IGNORECASE)
_DURATION = re.compile(r"(\d+)\s*([smhd]?)", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")
_LINE_BREAKS_AND_TAB = frozenset("\t\n\r")
# "Sha1 <hash> was not found in machine <id>": the file is not there. "Machine <id> was not found" is different.
_FILE_NOT_ON_MACHINE = re.compile(r"\bsha1\b.*\bnot found\b", re.IGNORECASE)
_DUPLICATE_CODE = "ActiveRequestAlreadyExists"
_DUPLICATE_MESSAGE = "already in progress"


# ---------------------------------------------------------------------------------------------------------------
# Input


def parse_duration(value, option):
    """Seconds from ``30m``, ``24h``, ``7d``, ``90s``, or plain seconds (int or digits); ``0`` is allowed."""
    if isinstance(value, bool):
        raise InputError("%s must be a duration such as 30m, 24h, 7d or a number of seconds" % option)
    if isinstance(value, int):
        if value < 0:
            raise InputError("%s must not be negative" % option)
        return value
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InputError("%s must be a duration such as 30m, 24h, 7d or a number of seconds, got %r" % (option, value))
    return int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]


def _seconds(value, option, default):
    if value is None:
        return default
    if isinstance(value, str) and not value.strip().isdigit():
        raise InputError("%s must be a whole number of seconds, got %r" % (option, value))
    return parse_duration(value, option)


def _flag(options, option, default):
    value = options.get(option)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError("%s must be true or false, got %r" % (option, value))
    return value


def _control_character(text, allowed=frozenset()):
    """The first control character of ``text`` not in ``allowed``, or None."""
    return next((char for char in text if unicodedata.category(char) == "Cc" and char not in allowed), None)


def _sha1(value):
    if not isinstance(value, str) or not value.strip():
        raise InputError("sha1 is required: the SHA-1 of the file (40 hex characters)")
    text = value.strip()
    if _HEX40.fullmatch(text):
        return text.lower()
    for pattern, kind in ((_HEX64, "SHA-256"), (_HEX32, "MD5")):
        if pattern.fullmatch(text):
            raise InputError("sha1: that is a %s, sha1 needs the SHA-1 (40 hex characters)" % kind)
    raise InputError("sha1 must be the SHA-1 of the file (40 hex characters), got %r" % text)


def _comment(value):
    if not isinstance(value, str) or not value.strip():
        raise InputError("comment is required and must not be empty")
    text = value.strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise InputError("comment is %d characters long; at most %d are allowed" % (len(text), MAX_COMMENT_LENGTH))
    # Tabs and line breaks are kept so that multi-line YAML comments work; other control characters are refused.
    bad = _control_character(text, _LINE_BREAKS_AND_TAB)
    if bad is not None:
        raise InputError("comment contains the control character U+%04X" % ord(bad))
    return text


def _string_list(options, option):
    value = options.get(option)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise InputError("%s must be a list" % option)
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise InputError("%s[%d] must be a string, got %r" % (option, position, item))
    return [item.strip() for item in value]


def _unique(values, key):
    """``values`` without repeats (as told by ``key``), in their first order."""
    seen = set()
    unique = []
    for value in values:
        if key(value) not in seen:
            seen.add(key(value))
            unique.append(value)
    return unique


def _machine_ids(options):
    ids = _string_list(options, "machine_ids")
    for position, machine_id in enumerate(ids):
        if not _HEX40.fullmatch(machine_id):
            raise InputError("machine_ids[%d] must be a Defender device id (40 hex characters), got %r" % (position, machine_id))
    return _unique([machine_id.lower() for machine_id in ids], str)


def _machine_names(options):
    names = _string_list(options, "machine_names")
    for position, name in enumerate(names):
        if not name:
            raise InputError("machine_names[%d] is empty" % position)
        if len(name) > MAX_NAME_LENGTH:
            raise InputError("machine_names[%d] is longer than %d characters" % (position, MAX_NAME_LENGTH))
        bad = _control_character(name)
        if bad is not None:
            raise InputError("machine_names[%d] contains the control character U+%04X" % (position, ord(bad)))
    # Device names are DNS names, which ignore case.
    names = _unique(names, str.lower)
    if len(names) > MAX_MACHINE_NAMES:
        raise InputError("machine_names has %d names; at most %d are allowed in one task" % (len(names), MAX_MACHINE_NAMES))
    return names


@dataclass(frozen=True)
class QuarantineRequest:
    """What the user asked for, validated: build it with ``from_options``."""

    sha1: str
    comment: str
    machine_ids: tuple = ()
    machine_names: tuple = ()
    observed: bool = False
    state: str = PRESENT
    force: bool = False
    succeeded_within: int = 86400
    wait: bool = False
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT
    allow_partial: bool = False

    @classmethod
    def from_options(cls, options):
        """Validate the module's option values; raises InputError before anything is sent.

        Options this class does not know (the connection options) are ignored.
        """
        state = options.get("state") or PRESENT
        if state not in (PRESENT, CANCELLED_STATE):
            raise InputError("state must be %s or %s, got %r" % (PRESENT, CANCELLED_STATE, state))
        request = cls(
            sha1=_sha1(options.get("sha1")),
            comment=_comment(options.get("comment")),
            machine_ids=tuple(_machine_ids(options)),
            machine_names=tuple(_machine_names(options)),
            observed=_flag(options, "observed", False),
            state=state,
            force=_flag(options, "force", False),
            succeeded_within=parse_duration(
                DEFAULT_SUCCEEDED_WITHIN if options.get("succeeded_within") is None else options["succeeded_within"],
                "succeeded_within",
            ),
            wait=_flag(options, "wait", False),
            wait_timeout=_seconds(options.get("wait_timeout"), "wait_timeout", DEFAULT_WAIT_TIMEOUT),
            allow_partial=_flag(options, "allow_partial", False),
        )
        if not (request.machine_ids or request.machine_names or request.observed):
            raise InputError("no target: give machine_ids, machine_names, or observed: true")
        return request


# ---------------------------------------------------------------------------------------------------------------
# Reading MachineAction entities


def parse_timestamp(value):
    """An aware datetime from the API's ISO 8601 text (7 fractional digits, ``Z``), or None."""
    match = _TIMESTAMP.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        return None
    seconds, fraction, zone = match.groups()
    # fromisoformat takes at most 6 fractional digits and, before Python 3.11, no "Z".
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat("%s.%s%s" % (seconds, (fraction or "").ljust(6, "0")[:6], zone))


def odata_datetime(moment):
    """A $filter DateTimeOffset literal, floored to the second so that ``ge`` never skips the moment itself."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def action_id(action):
    return action.get("id") if isinstance(action, dict) else None


def _id_key(action):
    """The action's id, lower-cased for comparisons, or None."""
    value = action_id(action)
    return value.lower() if isinstance(value, str) else None


def action_status(action):
    return action.get("status") if isinstance(action, dict) else None


def action_created(action):
    return parse_timestamp(action.get("creationDateTimeUtc"))


def action_last_update(action):
    # The real field is lastUpdateDateTimeUtc; the list examples of the documentation show lastUpdateTimeUtc.
    return action.get("lastUpdateDateTimeUtc") or action.get("lastUpdateTimeUtc")


def is_in_flight(action):
    return action_status(action) in IN_FLIGHT_STATUSES


def _same_id(left, right):
    return isinstance(left, str) and isinstance(right, str) and left.lower() == right.lower()


def is_quarantine_of(action, sha1):
    """Whether ``action`` is a StopAndQuarantineFile action for the file ``sha1`` (the hash's case may vary)."""
    if not isinstance(action, dict) or action.get("type") != ACTION_TYPE:
        return False
    related = action.get("relatedFileInfo") or {}
    return _same_id(related.get("fileIdentifier"), sha1)


def _newest_first(actions):
    return sorted(actions, key=lambda action: action_created(action) or _EPOCH, reverse=True)


class ExistingActionIndex:
    """The file's StopAndQuarantineFile actions found before writing, by machine."""

    def __init__(self, sha1, succeeded_since=None):
        self._sha1 = sha1
        # None: a Succeeded action never makes a new one unnecessary (succeeded_within 0, force, cancelling).
        self.succeeded_since = succeeded_since
        self._by_machine = {}
        self._ids = set()

    def add(self, actions):
        for action in actions:
            if is_quarantine_of(action, self._sha1) and isinstance(action.get("machineId"), str):
                self._ids.add(_id_key(action))
                self._by_machine.setdefault(action["machineId"].lower(), []).append(action)

    def knows(self, action):
        """Whether ``action`` (for example a 201 answer) is one that existed before this run wrote anything."""
        return _id_key(action) is not None and _id_key(action) in self._ids

    def in_flight(self, machine_id):
        """The machine's Pending/InProgress actions for the file, newest first."""
        return _newest_first(action for action in self._by_machine.get(machine_id, ()) if is_in_flight(action))

    def satisfying(self, machine_id):
        """The action that makes a new one unnecessary: the newest in flight, else the newest recent success."""
        in_flight = self.in_flight(machine_id)
        if in_flight:
            return in_flight[0]
        if self.succeeded_since is None:
            return None
        recent = [
            action
            for action in self._by_machine.get(machine_id, ())
            if action_status(action) == SUCCEEDED and (action_created(action) or _EPOCH) >= self.succeeded_since
        ]
        return _newest_first(recent)[0] if recent else None


# ---------------------------------------------------------------------------------------------------------------
# Results


def _error(code, message, http_status=None):
    return {"code": code, "message": message, "http_status": http_status}


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
        self.settle(FAILED, action, error)

    def as_dict(self):
        return {
            "machine_id": self.machine_id,
            "machine_name": self.machine_name,
            "outcome": self.outcome,
            "action_id": action_id(self.action),
            "status": action_status(self.action),
            "error": self.error,
            "action": self.action,
        }


@dataclass
class EngineResult:
    """What a run did: ``changed``, ``summary`` (machines per outcome), ``actions`` (one dict per machine), ``warnings``."""

    changed: bool
    summary: dict
    actions: list
    warnings: list = field(default_factory=list)


class _Run:
    """The state one run shares between its worker threads."""

    def __init__(self, request, check_mode, now):
        self.request = request
        self.check_mode = check_mode
        succeeded_since = None
        if request.state == PRESENT and not request.force and request.succeeded_within:
            succeeded_since = now - timedelta(seconds=request.succeeded_within)
        self.index = ExistingActionIndex(request.sha1, succeeded_since)
        self.warnings = []
        self._lock = threading.Lock()

    def warn(self, message):
        with self._lock:
            self.warnings.append(message)


# ---------------------------------------------------------------------------------------------------------------
# The engine


def _batches(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def _any_of(field_name, values):
    return " or ".join("%s eq %s" % (field_name, odata_string(value)) for value in values)


def _onboarded(machine):
    # The documentation spells the field onboardingstatus and the value "onboarded"; real answers capitalise both.
    status = machine.get("onboardingStatus") or machine.get("onboardingstatus") or ""
    return status.lower() == "onboarded"


class StopAndQuarantineEngine:
    """Plans, writes, waits for and cancels StopAndQuarantineFile actions through a DefenderClient."""

    def __init__(self, client, clock, max_workers=DEFAULT_MAX_WORKERS):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._clock = clock
        self._max_workers = max_workers

    def run(self, request, check_mode=False):
        """Carry out a QuarantineRequest (in check mode: read only and predict); returns an EngineResult."""
        run = _Run(request, check_mode, self._clock.now())
        results = self._resolve_targets(run)
        reachable = [result for result in results if result.outcome is None]
        if reachable:
            self._read_existing(run, [result.machine_id for result in reachable])
        if request.state == CANCELLED_STATE:
            self._plan_and_cancel(run, reachable)
        else:
            self._plan_and_create(run, reachable)
            if request.wait and not check_mode:
                self._wait(run, reachable)
        return EngineResult(
            changed=any(result.changed for result in results),
            summary={outcome: sum(result.outcome == outcome for result in results) for outcome in OUTCOMES},
            actions=[result.as_dict() for result in results],
            warnings=run.warnings,
        )

    # -- targets ------------------------------------------------------------------------------------------------

    def _resolve_targets(self, run):
        """One result per distinct machine, in input order: ids, then names, then machines that saw the file."""
        results = []
        by_id = {}

        def add(machine_id, name):
            machine_id = machine_id.lower()
            if machine_id not in by_id:
                by_id[machine_id] = MachineResult(machine_id)
                results.append(by_id[machine_id])
            if by_id[machine_id].machine_name is None:
                by_id[machine_id].machine_name = name

        for machine_id in run.request.machine_ids:
            add(machine_id, None)
        if run.request.machine_names:
            candidates = self._machines_by_name(run.request.machine_names)
            for name in run.request.machine_names:
                machine, error = self._choose_machine(run, name, candidates.get(name.lower(), []))
                if error is None:
                    add(machine["id"], name)
                else:
                    results.append(MachineResult(None, name, FAILED, error=error))
        if run.request.observed:
            observed = self._client.list_file_machines(run.request.sha1)
            for machine in observed:
                add(machine["id"], machine.get("computerDnsName"))
            if not observed:
                run.warn("Defender relates no machine to file %s (observed: true added no target)" % run.request.sha1)
        return results

    def _machines_by_name(self, names):
        """Defender's machine entries by lower-cased computerDnsName, for the names asked for only."""
        if len(names) > NAME_LOOKUP_LIMIT:
            # One paged listing costs as much as the fleet is large, whatever the number of names.
            machines = self._client.list_machines()
        else:
            machines = []
            for batch in _batches(list(names), NAME_BATCH_SIZE):
                # Whether the API compares names case-sensitively is unknown; Defender stores them lower-cased.
                literals = _unique([spelling for name in batch for spelling in (name, name.lower())], str)
                machines.extend(self._client.list_machines(_any_of("computerDnsName", literals)))
        wanted = {name.lower() for name in names}
        found = {}
        for machine in machines:
            name = str(machine.get("computerDnsName") or "").lower()
            if name in wanted and machine.get("id"):
                found.setdefault(name, {})[machine["id"].lower()] = machine
        return {name: list(entries.values()) for name, entries in found.items()}

    @staticmethod
    def _choose_machine(run, name, machines):
        """(machine entity to act on for ``name``, None), or (None, the error explaining why there is none)."""
        if not machines:
            return None, _error(
                "MachineNotFound", "no Defender machine is named %r (the name must be its computerDnsName, usually the FQDN)" % name)
        if len(machines) == 1:
            return machines[0], None
        ids = ", ".join(sorted(machine["id"] for machine in machines))
        onboarded = [machine for machine in machines if _onboarded(machine)]
        if not onboarded:
            return None, _error(
                "AmbiguousMachineName",
                "%d Defender machines are named %r (%s) and none of them is onboarded; give the machine id instead"
                % (len(machines), name, ids),
            )
        # A re-imaged device leaves its old entry behind; the one seen last is the device that exists now.
        chosen = max(onboarded, key=lambda machine: parse_timestamp(machine.get("lastSeen")) or _EPOCH)
        ignored = ", ".join(sorted(machine["id"] for machine in machines if machine is not chosen))
        run.warn(
            "%d Defender machines are named %r: using %s (onboarded, last seen %s), ignoring %s"
            % (len(machines), name, chosen["id"], chosen.get("lastSeen"), ignored)
        )
        return chosen, None

    # -- existing actions -----------------------------------------------------------------------------------------

    def _read_existing(self, run, machine_ids):
        """Read the file's actions on every target at once; the hash cannot be filtered on, so match here."""
        wanted = ["status eq 'Pending'", "status eq 'InProgress'"]
        if run.index.succeeded_since is not None:
            wanted.append("creationDateTimeUtc ge %s" % odata_datetime(run.index.succeeded_since))
        clauses = ["type eq %s" % odata_string(ACTION_TYPE), "(%s)" % " or ".join(wanted)]
        if len(machine_ids) <= MACHINE_FILTER_LIMIT:
            clauses.append("(%s)" % _any_of("machineId", machine_ids))
        run.index.add(self._client.list_machine_actions(" and ".join(clauses)))

    def _machine_quarantines(self, machine_id, created_since=None):
        """The machine's StopAndQuarantineFile actions for any file, newest first (one list call)."""
        clauses = ["machineId eq %s" % odata_string(machine_id), "type eq %s" % odata_string(ACTION_TYPE)]
        if created_since is not None:
            clauses.append("creationDateTimeUtc ge %s" % odata_datetime(created_since))
        actions = self._client.list_machine_actions(" and ".join(clauses))
        return _newest_first(
            action
            for action in actions
            if action.get("type") == ACTION_TYPE
            and _same_id(action.get("machineId"), machine_id)
            and (created_since is None or (action_created(action) or _EPOCH) >= created_since)
        )

    # -- present ----------------------------------------------------------------------------------------------------

    def _plan_and_create(self, run, results):
        to_create = []
        for result in results:
            satisfying = None if run.request.force else run.index.satisfying(result.machine_id)
            if satisfying is not None:
                result.settle(EXISTING, satisfying)
            elif run.check_mode:
                result.settle(WOULD_CREATE, changed=True)
            else:
                to_create.append(result)
        self._in_parallel(lambda result: self._create(run, result), to_create)

    def _create(self, run, result):
        # Searched from a little before the write, to allow for the server's clock being behind ours.
        written_since = self._clock.now() - CLOCK_SKEW
        self._post(run, result, written_since, lambda error: self._recover_lost_answer(run, result, written_since, error))

    def _post(self, run, result, written_since, on_lost_answer):
        try:
            action = self._client.stop_and_quarantine_file(result.machine_id, run.request.sha1, run.request.comment)
        except AmbiguousWriteError as error:
            on_lost_answer(error)
        except ApiError as error:
            self._interpret_refusal(run, result, error)
        except TransportError as error:
            result.fail(error_dict(error))
        else:
            if action_id(action) is None:
                # A success whose body is not a machine action: the write went through, but which action it made is
                # unknown, exactly as when the answer is lost.
                on_lost_answer(AmbiguousWriteError(
                    "POST machines.StopAndQuarantineFile: the successful answer is not a machine action (no id)"))
                return
            self._accept(run, result, action, written_since)

    @staticmethod
    def _accept(run, result, action, written_since):
        # A duplicate POST may answer 201 with the action that was already pending: one the pre-check saw, or one
        # the lagging list hid from it, which its creation time (well before this write) gives away.
        created = action_created(action)
        if run.index.knows(action) or (created is not None and created < written_since):
            result.settle(EXISTING, action)
        else:
            result.settle(CREATED, action, changed=True)

    def _interpret_refusal(self, run, result, error):
        if error.code == _DUPLICATE_CODE or _DUPLICATE_MESSAGE in error.message.lower():
            self._adopt_in_flight(run, result, error)
        elif error.http_status in (400, 404) and _FILE_NOT_ON_MACHINE.search(error.message):
            # The HTTP status of this answer is undocumented; its message is what tells it from an unknown machine.
            result.settle(NOT_PRESENT)
        else:
            result.fail(error_dict(error))

    def _adopt_in_flight(self, run, result, refusal):
        """The API says an action is already in progress: report the one it means."""
        try:
            in_flight = [action for action in self._machine_quarantines(result.machine_id) if is_in_flight(action)]
        except MdeError as error:
            run.warn("machine %s: the API reports an action in progress, but reading it failed: %s" % (result.machine_id, error))
            result.settle(EXISTING)
            return
        for_this_file = [action for action in in_flight if is_quarantine_of(action, run.request.sha1)]
        if for_this_file:
            result.settle(EXISTING, for_this_file[0])
        elif in_flight:
            other = in_flight[0]
            result.fail(
                _error(
                    refusal.code or _DUPLICATE_CODE,
                    "%s: action %s for another file (%s) is still %s on this machine; rerun when it has finished"
                    % (error_dict(refusal)["message"], action_id(other),
                       (other.get("relatedFileInfo") or {}).get("fileIdentifier"), action_status(other)),
                    refusal.http_status,
                )
            )
        else:
            run.warn("machine %s: the API reports an action in progress that the action list does not show yet" % result.machine_id)
            result.settle(EXISTING)

    def _recover_lost_answer(self, run, result, written_since, lost):
        """The write may have happened: look for it (the list can lag) before writing a second time."""
        try:
            action = self._find_written_action(run, result.machine_id, written_since)
        except MdeError as error:
            result.fail(
                _error(
                    lost.code,
                    "%s; looking the action up failed too (%s), so it was not sent again: rerun the task to check"
                    % (lost.message, error),
                    lost.http_status,
                )
            )
            return
        if action is not None:
            self._accept(run, result, action, written_since)
            return
        self._post(
            run,
            result,
            written_since,
            lambda error: result.fail(
                _error(
                    error.code,
                    "the answer was lost twice (%s; then %s): an action may exist, rerun the task to check"
                    % (lost.message, error.message),
                    error.http_status,
                )
            ),
        )

    def _find_written_action(self, run, machine_id, written_since):
        deadline = self._clock.monotonic() + LOST_ANSWER_GRACE
        delay = LOST_ANSWER_FIRST_DELAY
        while True:
            ours = [action for action in self._machine_quarantines(machine_id, written_since) if is_quarantine_of(action, run.request.sha1)]
            if ours:
                return ours[0]
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, LOST_ANSWER_MAX_DELAY)

    # -- wait -----------------------------------------------------------------------------------------------------

    def _wait(self, run, results):
        tracked = {
            _id_key(result.action): result
            for result in results
            if result.outcome in (CREATED, EXISTING) and is_in_flight(result.action) and _id_key(result.action)
        }
        deadline = self._clock.monotonic() + run.request.wait_timeout
        interval = POLL_FIRST_INTERVAL
        read_error = None
        while tracked:
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                break
            self._clock.sleep(min(interval, remaining))
            interval = min(interval * POLL_GROWTH, POLL_MAX_INTERVAL)
            try:
                current = self._read_tracked(tracked)
            except MdeError as error:
                # A failed poll is no reason to give up waiting; the timeout message will mention it.
                read_error = error
                continue
            for key, action in current.items():
                tracked[key].set_action(action)
                if not is_in_flight(action):
                    self._settle_final(tracked.pop(key))
        for result in tracked.values():
            message = "action %s is still %s after waiting %d s" % (
                action_id(result.action), action_status(result.action), run.request.wait_timeout)
            if read_error is not None:
                message += " (last read error: %s)" % read_error
            result.fail(_error("WaitTimeout", message), result.action)

    def _read_tracked(self, tracked):
        """The current state of the tracked actions, by lower-cased id, with a few list calls."""
        ids = list(tracked)
        if len(ids) <= WAIT_BY_ID_LIMIT:
            listed = []
            for batch in _batches(ids, ID_BATCH_SIZE):
                listed.extend(self._client.list_machine_actions(_any_of("id", batch)))
        else:
            oldest = min((action_created(result.action) or _EPOCH) for result in tracked.values())
            listed = self._client.list_machine_actions(
                "type eq %s and creationDateTimeUtc ge %s" % (odata_string(ACTION_TYPE), odata_datetime(oldest))
            )
        current = {}
        for action in listed:
            if _id_key(action) in tracked:
                current[_id_key(action)] = action
        for missing in set(ids) - set(current):
            # New actions can be missing from the list for a while; reading one by id is always up to date.
            current[missing] = self._client.get_machine_action(tracked[missing].action["id"])
        return current

    @staticmethod
    def _settle_final(result):
        status = action_status(result.action)
        if status != SUCCEEDED:
            result.fail(
                _error(
                    "Action%s" % status,
                    "action %s on machine %s ended %s (last update %s)"
                    % (action_id(result.action), result.machine_id, status, action_last_update(result.action)),
                ),
                result.action,
            )

    # -- cancelled --------------------------------------------------------------------------------------------------

    def _plan_and_cancel(self, run, results):
        to_cancel = []
        for result in results:
            in_flight = run.index.in_flight(result.machine_id)
            if not in_flight:
                result.settle(NOT_PRESENT)
            elif run.check_mode:
                result.settle(WOULD_CANCEL, in_flight[0], changed=True)
            else:
                to_cancel.append((result, in_flight))
        self._in_parallel(lambda item: self._cancel(run, *item), to_cancel)

    def _cancel(self, run, result, in_flight):
        """Cancel every in-flight action for the file on one machine (normally just one)."""
        outcomes = [self._cancel_action(run, action) for action in in_flight]
        failures = [item for item in outcomes if item[0] == FAILED]
        cancelled = [item for item in outcomes if item[0] == CANCELLED]
        outcome, action, error = (failures or cancelled or outcomes)[0]
        result.settle(outcome, action, error, changed=bool(cancelled))

    def _cancel_action(self, run, action):
        """(outcome, action as last read, error) for one in-flight action."""
        try:
            self._client.cancel_machine_action(action["id"], run.request.comment)
        except AmbiguousWriteError:
            # Cancelling twice is harmless and the read-back below tells whether it took effect.
            pass
        except ApiError as error:
            return self._after_refused_cancel(run, action, error)
        except TransportError as error:
            return FAILED, action, error_dict(error)
        return self._confirm_cancel(run, action)

    def _confirm_cancel(self, run, action):
        current, read_error = action, None
        for delay in (0.0,) + CANCEL_CONFIRM_DELAYS:
            if delay:
                self._clock.sleep(delay)
            try:
                current = self._client.get_machine_action(action["id"])
            except MdeError as error:
                read_error = error
                continue
            if not is_in_flight(current):
                return self._final_after_cancel(run, current, cancelled_by_us=True)
        message = "the cancel of action %s was accepted, but it is still %s after %d reads over %d s" % (
            action["id"], action_status(current), len(CANCEL_CONFIRM_DELAYS) + 1, sum(CANCEL_CONFIRM_DELAYS))
        if read_error is not None:
            message += " (last read error: %s)" % read_error
        return FAILED, current, _error("CancelNotConfirmed", message)

    def _after_refused_cancel(self, run, action, refusal):
        # The usual reason for a refusal is that the action reached a final state meanwhile: find out.
        try:
            current = self._client.get_machine_action(action["id"])
        except MdeError:
            return FAILED, action, error_dict(refusal)
        if is_in_flight(current):
            return FAILED, current, error_dict(refusal)
        return self._final_after_cancel(run, current, cancelled_by_us=False)

    @staticmethod
    def _final_after_cancel(run, action, cancelled_by_us):
        """Report a final action truthfully: only a cancel of ours counts as cancelled.

        Anything else that is final leaves nothing in flight, which is what a rerun would report (not_present);
        a success means the file is quarantined after all, which the user must hear about.
        """
        status = action_status(action)
        if status == "Cancelled" and cancelled_by_us:
            return CANCELLED, action, None
        if status == SUCCEEDED:
            run.warn(
                "action %s on machine %s had already succeeded before it could be cancelled: the file is quarantined "
                "there (restore it on the machine with MpCmdRun.exe -Restore)" % (action_id(action), action.get("machineId"))
            )
        return NOT_PRESENT, action, None

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _in_parallel(self, work, items):
        if not items:
            return
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(items))) as pool:
            # list() surfaces an unexpected exception instead of losing it in a future.
            list(pool.map(work, items))

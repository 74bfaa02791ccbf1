# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory Defender for Endpoint API behind the transport interface, and a clock that never sleeps.

``FakeDefenderApi.request`` has the signature of ``HttpTransport.request``, so the real ``DefenderClient``
runs on top of it: OData quoting, paging and the engine's filters are all exercised, and every request is
recorded for the tests to count. Its ``$filter`` support is a strict little parser: a literal quoted wrongly
fails to parse or changes the result, as it would on the real service.
"""

from __future__ import annotations

import copy
import re
import threading
from datetime import datetime, timedelta, timezone

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest

START = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"


class FakeClock:
    """Time that moves only when someone sleeps; sleeps are recorded."""

    def __init__(self, start=START):
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.sleeps = []

    def monotonic(self):
        return 1000.0 + self._elapsed

    def now(self):
        return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += max(0.0, seconds)


# The only timestamps this fake reads: its own (``iso``) and the engine's $filter literals, both UTC with "Z".
# Parsed here rather than with the collection's parser, which the tests are checking.
_UTC_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?Z")


def utc_timestamp(text):
    """The datetime of ``2025-03-01T12:00:00Z`` or ``2025-03-01T12:00:00.1234567Z``; None for anything else."""
    match = _UTC_TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    seconds = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return seconds + timedelta(microseconds=int((match.group(2) or "0").ljust(7, "0")[:6]))


def iso(moment):
    """The API's timestamp format: 7 fractional digits and Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def machine_id(number):
    return "%040x" % (0xA0000000 + number)


def run_engine(api, check_mode=False, max_workers=4, **options):
    """Run the engine on ``api`` with valid defaults for the required options."""
    options.setdefault("sha1", SHA1)
    options.setdefault("comment", "INC-4711")
    engine = StopAndQuarantineEngine(DefenderClient(api), api.clock, max_workers=max_workers)
    return engine.run(QuarantineRequest.from_options(options), check_mode=check_mode)


def make_machine(number, name=None, onboarded=True, last_seen=START, **extra):
    machine = {
        "id": machine_id(number),
        "computerDnsName": name or "ws-%05d.contoso.local" % number,
        "onboardingStatus": "Onboarded" if onboarded else "CanBeOnboarded",
        "lastSeen": iso(last_seen),
        "osPlatform": "Windows11",
    }
    machine.update(extra)
    return machine


# -- $filter --------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<comma>,)|'(?P<string>(?:[^']|'')*)'|(?P<word>[A-Za-z_]\w*)|(?P<bare>[0-9][\w:.+-]*))")
_COMPARE = {
    "eq": lambda left, right: left == right,
    "ne": lambda left, right: left != right,
    "ge": lambda left, right: left is not None and left >= right,
    "gt": lambda left, right: left is not None and left > right,
    "le": lambda left, right: left is not None and left <= right,
    "lt": lambda left, right: left is not None and left < right,
}


class ODataSyntaxError(ValueError):
    pass


def _tokens(text):
    position, tokens = 0, []
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ODataSyntaxError("cannot parse $filter at %d: %r" % (position, text[position:position + 20]))
        kind = match.lastgroup
        value = match.group(kind)
        tokens.append((kind, value.replace("''", "'") if kind == "string" else value))
        position = match.end()
    return tokens


class _FilterParser:
    """expression := conjunction ('or' conjunction)*; conjunction := primary ('and' primary)*;
    primary := '(' expression ')' | 'startswith' '(' field ',' string ')' | field op literal."""

    def __init__(self, text):
        self._tokens = _tokens(text)
        self._position = 0

    def parse(self):
        predicate = self._expression()
        if self._position != len(self._tokens):
            raise ODataSyntaxError("unexpected %r" % (self._tokens[self._position],))
        return predicate

    def _next(self):
        if self._position >= len(self._tokens):
            raise ODataSyntaxError("unexpected end of $filter")
        self._position += 1
        return self._tokens[self._position - 1]

    def _at_word(self, word):
        return self._position < len(self._tokens) and self._tokens[self._position] == ("word", word)

    def _expression(self):
        parts = [self._conjunction()]
        while self._at_word("or"):
            self._next()
            parts.append(self._conjunction())
        return lambda entity: any(part(entity) for part in parts)

    def _conjunction(self):
        parts = [self._primary()]
        while self._at_word("and"):
            self._next()
            parts.append(self._primary())
        return lambda entity: all(part(entity) for part in parts)

    def _primary(self):
        kind, value = self._next()
        if kind == "open":
            inner = self._expression()
            if self._next()[0] != "close":
                raise ODataSyntaxError("missing )")
            return inner
        if kind != "word":
            raise ODataSyntaxError("expected a property name, got %r" % value)
        if value == "startswith":
            return self._starts_with()
        name = value
        operator_kind, operator = self._next()
        if operator_kind != "word" or operator not in _COMPARE:
            raise ODataSyntaxError("expected an operator after %s" % name)
        literal_kind, literal = self._next()
        compare = _COMPARE[operator]
        if literal_kind == "string":
            return lambda entity: compare(entity.get(name), literal)
        moment = utc_timestamp(literal) if literal_kind == "bare" else None
        if moment is not None:
            return lambda entity: compare(utc_timestamp(entity.get(name)), moment)
        raise ODataSyntaxError("unsupported literal %r" % literal)

    def _starts_with(self):
        shape = [self._next() for _token in range(5)]
        if [kind for kind, _value in shape] != ["open", "word", "comma", "string", "close"]:
            raise ODataSyntaxError("expected startswith(property,'text'), got %r" % (shape,))
        name, prefix = shape[1][1], shape[3][1]
        return lambda entity: isinstance(entity.get(name), str) and entity[name].startswith(prefix)


def odata_filter(text):
    return _FilterParser(text).parse()


# -- the API --------------------------------------------------------------------------------------------------------

LOST_AFTER_WRITE = "lost_after_write"
LOST_BEFORE_WRITE = "lost_before_write"


def api_error(status, code, message, method="POST", route=None):
    return ApiError(message, code=code, http_status=status, correlation_id="corr-%s" % code, method=method, route=route)


class FakeDefenderApi:
    """The API's state (machines, actions, files) and its behaviour, switchable like the simulator's."""

    def __init__(self, clock, machines=(), actions=(), file_machines=None):
        self.clock = clock
        self.machines = list(machines)
        self.actions = list(actions)
        self.file_machines = dict(file_machines or {})
        # Hashes (lower case) Defender has no record of: GET /api/files/{hash} answers 404; every other file is known.
        self.unknown_files = set()
        self.requests = []
        # New actions appear in the list this many seconds after creation (GET by id shows them at once).
        self.list_lag = 0.0
        # A POST for a file with an in-flight action on the machine: "reject" (400), "return_existing" (201 with
        # the pending action) or "create_new".
        self.duplicate = "reject"
        # Status changes of new actions: ((seconds after creation, status), ...).
        self.lifecycle = ()
        # "cancels", or "ignored" (200 and nothing happens).
        self.cancel_effect = "cancels"
        # What the token's roles claim grants (granted_roles), or None for a token that does not say.
        self.roles = None
        # Steps used, in order, by the next requests: POSTs per machine id, cancels per action id, reads per
        # route. A step is an error to raise, LOST_AFTER_WRITE, LOST_BEFORE_WRITE, None, or a function returning
        # one of these (something happening on the service just before the request arrives).
        self.post_script = {}
        self.cancel_script = {}
        self.read_script = {}
        self._schedules = {}
        self._visible_at = {}
        self._next_id = 1
        self._lock = threading.Lock()

    # -- test helpers

    def add_action(self, machine, sha1=SHA1, status="Pending", created=None, action_type="StopAndQuarantineFile",
                   identifier_case=str.lower, **extra):
        action = {
            "id": self._new_id(),
            "type": action_type,
            "scope": None,
            "requestor": "analyst@contoso.com",
            "requestorComment": "earlier",
            "status": status,
            "machineId": machine["id"],
            "computerDnsName": machine["computerDnsName"],
            "creationDateTimeUtc": iso(created or self.clock.now()),
            "lastUpdateDateTimeUtc": iso(created or self.clock.now()),
            "relatedFileInfo": {"fileIdentifier": identifier_case(sha1), "fileIdentifierType": "Sha1"},
        }
        action.update(extra)
        self.actions.append(action)
        return action

    def schedule(self, action_id, lifecycle):
        """Status changes of an action from now on: ((seconds from now, status), ...)."""
        self._schedules[action_id] = [(self.clock.monotonic() + delay, status) for delay, status in lifecycle]

    def calls(self, route):
        return [request for request in self.requests if request["route"] == route]

    def writes(self):
        return [request for request in self.requests if request["method"] == "POST"]

    def action(self, action_id):
        return next(action for action in self.actions if action["id"] == action_id)

    # -- transport interface

    def granted_roles(self):
        return self.roles

    def answer_date(self):
        """The fake API answers with the fake clock's time (an HTTP Date has whole seconds)."""
        return self.clock.now().replace(microsecond=0)

    def request(self, method, path, params=None, body=None, route=None, collection=False):  # pylint: disable=unused-argument
        with self._lock:
            self.requests.append({"method": method, "path": path, "params": dict(params or {}), "body": body, "route": route})
            self._advance()
            if method == "GET":
                self._scripted(self.read_script, route)
            return copy.deepcopy(self._dispatch(method, path, dict(params or {}), body, route))

    def _dispatch(self, method, path, params, body, route):
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["api", "machines"]:
            if not self.machines:
                raise api_error(404, "ResourceNotFound", "No machines found", "GET", route)
            return self._page(self.machines, params)
        if method == "GET" and parts == ["api", "machineactions"]:
            now = self.clock.monotonic()
            visible = [action for action in self.actions if self._visible_at.get(action["id"], 0.0) <= now]
            newest_first = sorted(visible, key=lambda action: action["creationDateTimeUtc"], reverse=True)
            return self._page(newest_first, params)
        if method == "GET" and parts[:2] == ["api", "machineactions"] and len(parts) == 3:
            return self._find_action(parts[2], route)
        if method == "GET" and parts[:2] == ["api", "files"] and len(parts) == 3:
            if parts[2].lower() in self.unknown_files:
                raise api_error(404, "ResourceNotFound", "File %s was not found" % parts[2], "GET", route)
            return {"sha1": parts[2].lower()}
        if method == "GET" and parts[:2] == ["api", "files"] and parts[3:] == ["machines"]:
            return {"value": self.file_machines.get(parts[2], [])}
        if method == "POST" and parts[:2] == ["api", "machines"] and parts[3:] == ["StopAndQuarantineFile"]:
            return self._stop_and_quarantine(parts[2], body, route)
        if method == "POST" and parts[:2] == ["api", "machineactions"] and parts[3:] == ["cancel"]:
            return self._cancel(parts[2], body, route)
        raise AssertionError("unexpected request %s %s" % (method, path))

    def _page(self, entities, params):
        if "$filter" in params:
            try:
                predicate = odata_filter(params["$filter"])
            except ODataSyntaxError as error:
                raise api_error(400, "ODataError", "Invalid filter: %s" % error, "GET") from error
            entities = [entity for entity in entities if predicate(entity)]
        skip = int(params.get("$skip", 0))
        top = int(params.get("$top", 10000))
        if top > 10000:
            raise api_error(400, "ODataError", "$top exceeds 10000", "GET")
        return {"@odata.context": "fake", "value": entities[skip:skip + top]}

    @staticmethod
    def _scripted(script, key):
        steps = script.get(key)
        step = steps.pop(0) if steps else None
        if callable(step):
            step = step()
        if isinstance(step, Exception):
            raise step
        return step

    def _find_action(self, action_id, route):
        for action in self.actions:
            if action["id"] == action_id:
                return action
        raise api_error(404, "ResourceNotFound", "MachineAction %s was not found" % action_id, "GET", route)

    def _stop_and_quarantine(self, target, body, route):
        if set(body) != {"Comment", "Sha1"}:
            raise api_error(400, "InvalidRequestBody", "Invalid request body", route=route)
        step = self._scripted(self.post_script, target)
        if step == LOST_BEFORE_WRITE:
            raise AmbiguousWriteError("POST machines.StopAndQuarantineFile: read timed out")
        machine = next((machine for machine in self.machines if machine["id"] == target), None)
        if machine is None:
            raise api_error(404, "ResourceNotFound", "Machine %s was not found" % target, route=route)
        sha1 = body["Sha1"]
        pending = [
            action for action in self.actions
            if action["machineId"] == target and action["type"] == "StopAndQuarantineFile"
            and action["relatedFileInfo"]["fileIdentifier"].lower() == sha1.lower() and action["status"] in ("Pending", "InProgress")
        ]
        if pending and self.duplicate == "reject":
            raise api_error(400, "ActiveRequestAlreadyExists", "Action is already in progress", route=route)
        if pending and self.duplicate == "return_existing":
            return pending[0]
        action = self.add_action(machine, sha1=sha1)
        action.update(requestor="app", requestorComment=body["Comment"])
        self._visible_at[action["id"]] = self.clock.monotonic() + self.list_lag
        self.schedule(action["id"], self.lifecycle)
        if step == LOST_AFTER_WRITE:
            raise AmbiguousWriteError("POST machines.StopAndQuarantineFile: read timed out")
        return action

    def _cancel(self, action_id, body, route):
        step = self._scripted(self.cancel_script, action_id)
        if step == LOST_BEFORE_WRITE:
            raise AmbiguousWriteError("POST machineactions.cancel: read timed out")
        action = self._find_action(action_id, route)
        if action["status"] not in ("Pending", "InProgress"):
            raise api_error(400, "BadRequest", "Action %s is already %s" % (action_id, action["status"]), route=route)
        if self.cancel_effect == "cancels":
            action.update(status="Cancelled", cancellationComment=body["Comment"], lastUpdateDateTimeUtc=iso(self.clock.now()))
            self._schedules.pop(action_id, None)
        if step == LOST_AFTER_WRITE:
            raise AmbiguousWriteError("POST machineactions.cancel: read timed out")
        return action

    def _advance(self):
        now = self.clock.monotonic()
        for action_id, schedule in self._schedules.items():
            due = [status for moment, status in schedule if moment <= now]
            if due and self.action(action_id)["status"] != due[-1]:
                self.action(action_id).update(status=due[-1], lastUpdateDateTimeUtc=iso(self.clock.now()))

    def _new_id(self):
        self._next_id += 1
        return "00000000-0000-4000-8000-%012d" % self._next_id


def fleet(count, **extra):
    """A fake API with ``count`` onboarded machines, numbered from 0."""
    return FakeDefenderApi(FakeClock(), machines=[make_machine(number) for number in range(count)], **extra)


def machine_ids(count):
    return [machine_id(number) for number in range(count)]

"""The simulated indicators API: tenant-wide file blocking, and the containment it causes on machines.

Routes: ``GET /api/indicators`` (OData $filter, $top, $skip), ``POST /api/indicators`` (submit or update by value),
``POST /api/indicators/import`` (a batch), ``DELETE /api/indicators/{id}``. Documented facts (reference notes,
"Indicators"; the API pages post-ti-indicator, import-ti-indicators, get-ti-indicators-collection,
delete-ti-indicator-by-id, ti-indicator): title and description are required, ``Audit`` needs ``generateAlert``,
``application`` is only taken when an indicator is created, at most 15,000 active indicators per tenant, 500 per
import call and 30 import calls a minute, only active (unexpired) indicators are listed, and an app with
``Ti.ReadWrite`` but not ``Ti.ReadWrite.All`` sees only the indicators it created. What the pages leave open is a
switch in config.py (``indicator_*``).

Containment: a machine that observes a file after a blocking indicator for any of its hashes exists (and whose
device group the indicator covers) gets a record in ``containments()``: ``remediated`` for ``BlockAndRemediate``,
``blocked`` for ``Block`` and ``AlertAndBlock``. So a test can see an indicator contain a file on machines that
no per-machine action ever reached.
"""

import itertools
import re
import threading
from dataclasses import dataclass

from . import odata
from .defender import _BodyError, _context, _invalid_hash, _json_body, _moment, _required_values, _requestor, _switch, format_datetime
from .http import Response, mde_error
from .odata import BOOLEAN, DATETIME, STRING, STRING_COLLECTION, Property

TI_ROLES = ("Ti.ReadWrite", "Ti.ReadWrite.All")
# Without it an app sees (and so can delete) only the indicators it created (get-ti-indicators-collection).
ALL_INDICATORS_ROLE = "Ti.ReadWrite.All"

FILE_HASH_PATTERNS = {
    "FileSha1": re.compile(r"[0-9a-fA-F]{40}"),
    "FileSha256": re.compile(r"[0-9a-fA-F]{64}"),
    "FileMd5": re.compile(r"[0-9a-fA-F]{32}"),
}
INDICATOR_TYPES = tuple(FILE_HASH_PATTERNS) + ("CertificateThumbprint", "IpAddress", "DomainName", "Url")
ACTIONS = ("Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed")
SEVERITIES = ("Informational", "Low", "Medium", "High")
# What each blocking action does on a machine that meets the file.
CONTAINMENT_OUTCOMES = {"BlockAndRemediate": "remediated", "Block": "blocked", "AlertAndBlock": "blocked"}
# Fields an update replaces; ``application`` is not among them (documented: "only works for new indicators").
UPDATABLE_FIELDS = ("action", "title", "description", "expirationTime", "severity", "recommendedActions", "rbacGroupNames", "educateUrl",
                    "generateAlert")
OPTIONAL_STRINGS = ("application", "recommendedActions", "educateUrl")

INDICATOR_TYPE = odata.EntityType("Indicator", [
    # Filterable: exactly the list of get-ti-indicators-collection.
    Property("application", STRING, True),
    Property("createdByDisplayName", STRING, True),
    Property("expirationTime", DATETIME, True),
    Property("generateAlert", BOOLEAN, True),
    Property("title", STRING, True),
    Property("rbacGroupNames", STRING_COLLECTION, True),
    Property("rbacGroupIds", STRING_COLLECTION, True),
    Property("indicatorValue", STRING, True),
    Property("indicatorType", STRING, True),
    Property("creationTimeDateTimeUtc", DATETIME, True),
    Property("createdBy", STRING, True),
    Property("action", STRING, True),
    Property("severity", STRING, True),
    Property("id", STRING),
    Property("source", STRING),
    Property("sourceType", STRING),
    Property("createdBySource", STRING),
    Property("description", STRING),
    Property("recommendedActions", STRING),
    Property("lastUpdateTime", DATETIME),
    Property("lastUpdatedBy", STRING),
    Property("educateUrl", STRING),
])


@dataclass
class _Indicator:
    entity: dict
    expires: object                # aware datetime, or None
    created: object


class IndicatorService:
    """Indicators and the containment records they cause; safe to call from the server's threads."""

    def __init__(self, config, clock, defender):
        self._config = config
        self._clock = clock
        self._defender = defender
        self._lock = threading.RLock()
        defender.observation_listeners.append(self._on_observed)
        self.reset()

    def reset(self):
        """Drop every indicator and containment record."""
        with self._lock:
            self._indicators = {}          # id -> _Indicator
            self._ids = itertools.count(1)
            self._containments = []
            self._contained = set()        # (machine id, sha1, indicator id) already recorded

    def routes(self):
        return [
            ("GET", r"^/api/indicators$", "indicators.list", self.list_indicators),
            ("POST", r"^/api/indicators/import$", "indicators.import", self.import_indicators),
            ("POST", r"^/api/indicators$", "indicators.submit", self.submit_indicator),
            ("DELETE", r"^/api/indicators/(?P<indicator_id>[^/]+)$", "indicators.delete", self.delete_indicator),
        ]

    # ----------------------------------------------------------------------------------------- data set-up

    def add_indicator(self, indicator_value, indicator_type="FileSha1", action="BlockAndRemediate", title="seeded", description="seeded",
                      created_by="analyst@contoso.com", source_type="User", **fields):
        """Seed an indicator as a person (or another tool) made it; ``fields`` are further entity fields by API name."""
        body = {"indicatorValue": indicator_value, "indicatorType": indicator_type, "action": action, "title": title,
                "description": description, **fields}
        with self._lock:
            indicator = self._store(_validated(body, self._clock.now()), created_by, source_type, self._clock.now())
        self._contain_existing_copies(indicator)
        return dict(indicator.entity)

    # ----------------------------------------------------------------------------------------- data inspection

    def indicators(self):
        """Every indicator's entity, expired ones included."""
        with self._lock:
            return [dict(indicator.entity) for indicator in self._indicators.values()]

    def containments(self, sha1=None):
        """Containment records, oldest first: ``machineId``, ``computerDnsName``, ``sha1``, ``indicatorId``, ``action``,
        ``outcome`` (remediated | blocked) and ``time``; only those of one file when ``sha1`` is given."""
        with self._lock:
            return [dict(record) for record in self._containments if sha1 is None or record["sha1"] == sha1.lower()]

    # ------------------------------------------------------------------------------------------------ routes

    def list_indicators(self, request):
        denied = self._defender.forbidden(request, TI_ROLES)
        if denied:
            return denied
        try:
            options = odata.parse_query_options(request.query, request.raw_query, INDICATOR_TYPE)
        except odata.ODataError as error:
            return error.response()
        with self._lock:
            entities = [dict(indicator.entity) for indicator in self._visible(request)]
        return Response(200, {"@odata.context": _context(request, "Indicators"), "value": options.page(entities)})

    def submit_indicator(self, request):
        denied = self._defender.forbidden(request, TI_ROLES)
        if denied:
            return denied
        try:
            body = _json_body(request)
            with self._lock:
                indicator = self._submit(body, request)
                entity = dict(indicator.entity)
        except _BodyError as error:
            return error.response
        self._contain_existing_copies(indicator)
        return Response(200, {"@odata.context": _context(request, "Indicators/$entity"), **entity})

    def import_indicators(self, request):
        denied = self._defender.forbidden(request, TI_ROLES)
        if denied:
            return denied
        try:
            batch = _json_body(request).get("Indicators")
        except _BodyError as error:
            return error.response
        if not isinstance(batch, list) or not batch:
            return mde_error(400, "InvalidRequestBody", "Invalid request body. Parameter Indicators must be a non-empty list of indicators.")
        if len(batch) > self._config.indicator_import_batch_size:
            return mde_error(400, "BadRequest", "The maximum batch size for one call is %d indicators; this one has %d."
                             % (self._config.indicator_import_batch_size, len(batch)))
        results, stored = [], []
        with self._lock:
            for item in batch:
                value = item.get("indicatorValue") if isinstance(item, dict) else None
                try:
                    if not isinstance(item, dict):
                        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Each indicator must be an object."))
                    indicator = self._submit(item, request)
                except _BodyError as error:
                    results.append({"id": None, "indicator": value, "isFailed": True, "failureReason": str(error)})
                    continue
                stored.append(indicator)
                results.append({"id": indicator.entity["id"], "indicator": indicator.entity["indicatorValue"], "isFailed": False,
                                "failureReason": None})
        for indicator in stored:
            self._contain_existing_copies(indicator)
        return Response(200, {"value": results})

    def delete_indicator(self, request):
        denied = self._defender.forbidden(request, TI_ROLES)
        if denied:
            return denied
        indicator_id = request.params["indicator_id"]
        with self._lock:
            indicator = self._indicators.get(indicator_id)
            if indicator is None or indicator not in self._visible(request, include_expired=True):
                return mde_error(404, "ResourceNotFound", "Indicator %s was not found" % indicator_id)
            del self._indicators[indicator_id]
        return Response(204)

    # ------------------------------------------------------------------------------------------------ logic

    def _submit(self, body, request):
        """Create or update the indicator of the body's value and return it; raises _BodyError."""
        now = self._clock.now()
        values = _validated(body, now)
        if _switch(self._config, "indicator_value_case", ("as_sent", "lower")) == "lower" and values["indicatorType"] in FILE_HASH_PATTERNS:
            values["indicatorValue"] = values["indicatorValue"].lower()
        existing = self._find(values["indicatorType"], values["indicatorValue"], now)
        if existing is None:
            active = sum(1 for indicator in self._indicators.values() if _active(indicator, now))
            if active >= self._config.indicator_limit:
                raise _BodyError(mde_error(400, "BadRequest", "The tenant has reached its limit of %d active indicators. Delete indicators "
                                                              "that are no longer needed before adding new ones." % self._config.indicator_limit))
            return self._store(values, _requestor(request), "AadApp", now)
        kept = _switch(self._config, "indicator_update_omitted", ("reset", "keep")) == "keep"
        for name in UPDATABLE_FIELDS:
            if name in values or not kept:
                existing.entity[name] = values.get(name, _default(name))
        if _switch(self._config, "indicator_update_application", ("ignored", "applied")) == "applied" and "application" in values:
            existing.entity["application"] = values["application"]
        existing.expires = _moment(existing.entity["expirationTime"])
        existing.entity.update(lastUpdateTime=format_datetime(now), lastUpdatedBy=_requestor(request))
        return existing

    def _store(self, values, created_by, source_type, now):
        indicator_id = str(next(self._ids))
        entity = {
            "id": indicator_id,
            "indicatorValue": values["indicatorValue"],
            "indicatorType": values["indicatorType"],
            "action": values["action"],
            "application": values.get("application"),
            "source": created_by,
            "sourceType": source_type,
            "createdBy": created_by,
            "createdByDisplayName": created_by,
            "createdBySource": "PublicApi" if source_type == "AadApp" else "Portal",
            "severity": values.get("severity", _default("severity")),
            "title": values["title"],
            "description": values["description"],
            "recommendedActions": values.get("recommendedActions"),
            "creationTimeDateTimeUtc": format_datetime(now),
            "expirationTime": values.get("expirationTime"),
            "lastUpdateTime": format_datetime(now),
            "lastUpdatedBy": None,
            "rbacGroupNames": values.get("rbacGroupNames", []),
            "rbacGroupIds": [],
            "generateAlert": values.get("generateAlert", _default("generateAlert")),
            "educateUrl": values.get("educateUrl"),
        }
        indicator = _Indicator(entity, _moment(entity["expirationTime"]), now)
        self._indicators[indicator_id] = indicator
        return indicator

    def _find(self, indicator_type, value, now):
        """The active indicator a submit of this value updates, or None."""
        sensitive = _switch(self._config, "indicator_match_case", ("insensitive", "sensitive")) == "sensitive"
        for indicator in self._indicators.values():
            stored = indicator.entity["indicatorValue"]
            same = stored == value if sensitive else stored.lower() == value.lower()
            if same and indicator.entity["indicatorType"] == indicator_type and _active(indicator, now):
                return indicator
        return None

    def _visible(self, request, include_expired=False):
        now = self._clock.now()
        everything = ALL_INDICATORS_ROLE in (request.claims.get("roles") or ())
        caller = _requestor(request)
        return [indicator for indicator in self._indicators.values()
                if (include_expired or _active(indicator, now)) and (everything or indicator.entity["createdBy"] == caller)]

    # ------------------------------------------------------------------------------------------- containment

    def _contain_existing_copies(self, indicator):
        # Whether machines that hold the file already are contained at once, or only when they meet it again
        # (execution, scan), is unconfirmed: a switch, off by default so that tests see only later observations.
        # Called without this service's lock: the Defender data's lock is taken first everywhere.
        if not self._config.indicator_contains_existing_copies:
            return
        observations = self._defender.observations(indicator.entity["indicatorValue"])
        with self._lock:
            for file_entity, machine in observations:
                self._contain(indicator, file_entity, machine)

    def _on_observed(self, file_entity, machine):
        """Called by the Defender data when a machine observes a file for the first time."""
        with self._lock:
            for indicator in list(self._indicators.values()):
                self._contain(indicator, file_entity, machine)

    def _contain(self, indicator, file_entity, machine):
        entity = indicator.entity
        outcome = CONTAINMENT_OUTCOMES.get(entity["action"])
        if outcome is None or machine is None or not _active(indicator, self._clock.now()):
            return
        hashes = {file_entity.get(name, "").lower() for name in ("sha1", "sha256", "md5")}
        if entity["indicatorValue"].lower() not in hashes:
            return
        groups = entity["rbacGroupNames"]
        key = (machine["id"], file_entity["sha1"], entity["id"])
        if (groups and machine.get("rbacGroupName") not in groups) or key in self._contained:
            return
        self._contained.add(key)
        self._containments.append({"machineId": machine["id"], "computerDnsName": machine["computerDnsName"], "sha1": file_entity["sha1"],
                                   "indicatorId": entity["id"], "action": entity["action"], "outcome": outcome,
                                   "time": format_datetime(self._clock.now())})


def _active(indicator, now):
    return indicator.expires is None or indicator.expires > now


def _default(name):
    return {"rbacGroupNames": [], "generateAlert": False, "severity": "Informational"}.get(name)


def _enum(body, name, allowed, required=False):
    """An enum value; ASP.NET's string enum converter takes any case, and the answer shows the canonical name."""
    value = body.get(name)
    if value is None and not required:
        return None
    canonical = {choice.lower(): choice for choice in allowed}.get(value.lower() if isinstance(value, str) else None)
    if canonical is None:
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. %s must be one of %s, got %r." % (name, ", ".join(allowed), value)))
    return canonical


def _validated(body, now):
    """The body's indicator fields checked and normalised (API names as keys); raises _BodyError."""
    value, _type, _action, title, description = _required_values(body, ("indicatorValue", "indicatorType", "action", "title", "description"))
    values = {"indicatorValue": value, "title": title, "description": description,
              "indicatorType": _enum(body, "indicatorType", INDICATOR_TYPES, required=True),
              "action": _enum(body, "action", ACTIONS, required=True)}
    pattern = FILE_HASH_PATTERNS.get(values["indicatorType"])
    if pattern is not None and not pattern.fullmatch(value):
        raise _BodyError(_invalid_hash(value))
    if values["indicatorType"] == "IpAddress" and "/" in value:
        raise _BodyError(mde_error(400, "InvalidRequestBody", "CIDR notation for IPs isn't supported: %s." % value))
    if "severity" in body and body["severity"] is not None:
        values["severity"] = _enum(body, "severity", SEVERITIES)
    for name in OPTIONAL_STRINGS:
        if body.get(name) is not None:
            if not isinstance(body[name], str):
                raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Parameter %s must be a string." % name))
            values[name] = body[name]
    if body.get("generateAlert") is not None:
        values["generateAlert"] = _boolean(body["generateAlert"])
    if values["action"] == "Audit" and not values.get("generateAlert"):
        raise _BodyError(mde_error(400, "InvalidRequestBody", "generateAlert must be true for an indicator with the action Audit."))
    if body.get("rbacGroupNames") is not None:
        values["rbacGroupNames"] = _group_names(body["rbacGroupNames"])
    if body.get("expirationTime") is not None:
        values["expirationTime"] = _expiration(body["expirationTime"], now)
    return values


def _boolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. generateAlert must be true or false, got %r." % (value,)))


def _group_names(value):
    # Documented as a "comma-separated list" of type String, while every example sends a JSON list: take both.
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. rbacGroupNames must be a list of device group names."))
    return [name.strip() for name in names if name.strip()]


def _expiration(value, now):
    try:
        moment = _moment(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. expirationTime must be an ISO 8601 date and time, got %r."
                                   % (value,)))
    if moment <= now:
        raise _BodyError(mde_error(400, "InvalidRequestBody", "expirationTime %s is in the past." % value))
    return format_datetime(moment)

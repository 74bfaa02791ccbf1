"""The simulated alerts API: ``GET /api/alerts`` with file evidence, and alerts raised or changed on demand.

What the real API documents (docs/api-fidelity.md, the alerts rows): ``$filter`` on ``lastUpdateTime``,
``alertCreationTime``, ``status``, ``severity`` and ``category`` (and a few ids), ``$top`` up to 10,000, ``$skip``,
``$expand=evidence`` (file and process evidence carry ``sha1``, ``sha256``, ``fileName``, ``filePath`` and
``detectionStatus``; process evidence adds the process's id, command line and parent, docs/api-fidelity.md); permission
``Alert.Read.All`` (or ``Alert.ReadWrite.All``); the same rate limits as every other API. The entity's fields and
their order follow the public Alert resource page. ``$orderby`` is parsed as on the other lists (odata.py).

Alerts are raised by tests through ``AlertService.raise_alert`` (admin ``POST /alerts``) and changed through
``update_alert`` (admin ``POST /alerts/update``), which moves ``lastUpdateTime`` to the simulated now, as any change
in the portal does. A file in an alert's evidence is recorded as observed on the alert's machine, so that the file
can be quarantined there.
"""

import itertools
import random
import threading
from urllib.parse import unquote_plus

from . import odata
from .defender import format_datetime
from .http import Response
from .odata import DATETIME, STRING, Property

READ_ROLES = ("Alert.Read.All", "Alert.ReadWrite.All")
SEVERITIES = ("UnSpecified", "Informational", "Low", "Medium", "High")
STATUSES = ("Unknown", "New", "InProgress", "Resolved")
# What an update may change; everything else about an alert is fixed when it is raised.
UPDATABLE_FIELDS = ("status", "severity", "classification", "determination", "assignedTo", "title", "description", "category")

ALERT_TYPE = odata.EntityType("Alert", [
    # Filterable: the properties the alerts list documents.
    Property("id", STRING, True),
    Property("incidentId", odata.INT64, True),
    Property("investigationId", odata.INT64, True),
    Property("assignedTo", STRING, True),
    Property("detectionSource", STRING, True),
    Property("lastEventTime", DATETIME, True),
    Property("alertCreationTime", DATETIME, True),
    Property("lastUpdateTime", DATETIME, True),
    Property("status", STRING, True),
    Property("severity", STRING, True),
    Property("category", STRING, True),
    Property("machineId", STRING),
    Property("title", STRING),
])

# The query options this API takes beyond the shared $filter, $top and $skip.
EXPANDABLE = ("evidence",)

# Fields a file evidence entry has besides the file's own; all null for a file (public Alert resource example).
_NON_FILE_EVIDENCE_FIELDS = (
    "processId", "processCommandLine", "processCreationTime", "parentProcessId", "parentProcessCreationTime",
    "parentProcessFileName", "parentProcessFilePath", "ipAddress", "url", "registryKey", "registryHive",
    "registryValueType", "registryValue", "accountName", "domainName", "userSid", "aadUserId", "userPrincipalName",
)


class AlertService:
    """Alerts and their handler; safe to call from the server's threads."""

    def __init__(self, config, clock, defender):
        self._config = config
        self._clock = clock
        self._defender = defender
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reset()

    def reset(self):
        with self._lock:
            self._alerts = {}       # id -> entity with its evidence

    def routes(self):
        return [("GET", r"^/api/alerts$", "alerts.list", self.list_alerts)]

    def admin_endpoints(self):
        """The admin API's alert calls, (method, path) -> callable(AdminCall)."""
        return {
            ("GET", "/alerts"): lambda call: self.alerts(),
            ("POST", "/alerts"): lambda call: self.raise_alert(**call.body),
            ("POST", "/alerts/update"): lambda call: self.update_alert(**call.body),
        }

    # ------------------------------------------------------------------------------------------------ set-up

    def raise_alert(self, machine_id, files=(), severity="High", status="New", category="Malware",
                    title="'Dropper' malware was detected", detection_source="WindowsDefenderAv", alert_id=None,
                    processes=()):
        """Raise an alert on a machine and return it with its evidence.

        ``files`` are SHA-1s, or dicts with ``sha1`` and optionally ``fileName``, ``filePath``, ``detectionStatus``
        (default ``Detected``), ``verdict`` (default ``malicious``) and ``signer``. ``processes`` are the same for
        the processes involved, by default Microsoft's signed powershell.exe in System32, detected as the docs'
        example shows a process (``Detected``, verdict ``suspicious``). An alert without files or processes gets
        the signed-in user as its only evidence, as a suspicious-activity alert would. The judgement fields an
        entry carries follow the ``alert_evidence_fields`` switch.
        """
        _check_choice("severity", severity, SEVERITIES)
        _check_choice("status", status, STATUSES)
        machine = next((entry for entry in self._defender.machines() if entry["id"] == machine_id), None)
        if machine is None:
            raise ValueError("no machine %s" % machine_id)
        now = self._clock.now()
        stamp = format_datetime(now)
        evidence = ([self._file_evidence(machine_id, entry, stamp, _FILE_DEFAULTS) for entry in files]
                    + [self._file_evidence(machine_id, entry, stamp, _PROCESS_DEFAULTS) for entry in processes]
                    or [_user_evidence(stamp)])
        number = next(self._ids)
        alert = {
            "id": alert_id or "da%018d_%010d" % (int(now.timestamp() * 1e7) + number, random.randrange(10 ** 10)),
            "incidentId": 1000 + number,
            "investigationId": None,
            "assignedTo": None,
            "severity": severity,
            "status": status,
            "classification": None,
            "determination": None,
            "investigationState": "Queued",
            "detectionSource": detection_source,
            "detectorId": "17e10bbc-3a68-474a-8aad-faef14d43c54",
            "category": category,
            "threatFamilyName": None,
            "title": title,
            "description": "Malware was detected on %s." % machine["computerDnsName"],
            "alertCreationTime": stamp,
            "firstEventTime": stamp,
            "lastEventTime": stamp,
            "lastUpdateTime": stamp,
            "resolvedTime": None,
            "machineId": machine_id,
            "computerDnsName": machine["computerDnsName"],
            "rbacGroupName": machine["rbacGroupName"],
            "aadTenantId": None,
            "threatName": None,
            "mitreTechniques": [],
            "relatedUser": None,
            "loggedOnUsers": [],
            "comments": [],
            "evidence": evidence,
        }
        with self._lock:
            if alert["id"] in self._alerts:
                raise ValueError("alert %s exists already" % alert["id"])
            self._alerts[alert["id"]] = alert
            return _copy(alert)

    def _file_evidence(self, machine_id, entry, stamp, defaults):
        """A File or Process entry; the image of a process is a file on the machine as much as a dropped one."""
        described = dict(defaults, **({"sha1": entry} if isinstance(entry, str) else entry))
        known = self._defender.observe_file(described["sha1"], machine_id)
        evidence = {
            "entityType": described["entityType"],
            "evidenceCreationTime": stamp,
            "sha1": known["sha1"],
            "sha256": known["sha256"],
            "fileName": described.get("fileName") or "%s.exe" % known["sha1"][:8],
            "filePath": described["filePath"],
        }
        evidence.update(dict.fromkeys(_NON_FILE_EVIDENCE_FIELDS))
        if described["entityType"] == "Process":
            evidence.update(processId=4242, processCommandLine=described.get("processCommandLine") or evidence["fileName"],
                            processCreationTime=stamp, parentProcessId=1024, parentProcessCreationTime=stamp,
                            parentProcessFileName="explorer.exe", parentProcessFilePath="C:\\Windows")
        evidence["detectionStatus"] = described["detectionStatus"]
        if self._config.alert_evidence_fields == "with_verdict":
            evidence.update(verdict=described["verdict"], remediationStatus="none",
                            fileDetails={"signer": described.get("signer"), "issuer": described.get("signer") and "%s Code Signing PCA" % described["signer"]})
        return evidence

    def update_alert(self, alert_id, **changes):
        """Change an alert as the portal would; ``lastUpdateTime`` becomes now even when nothing else changes."""
        unknown = set(changes) - set(UPDATABLE_FIELDS)
        if unknown:
            raise ValueError("an update may change only %s, not %s" % (", ".join(UPDATABLE_FIELDS), ", ".join(sorted(unknown))))
        if "severity" in changes:
            _check_choice("severity", changes["severity"], SEVERITIES)
        if "status" in changes:
            _check_choice("status", changes["status"], STATUSES)
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is None:
                raise ValueError("no alert %s" % alert_id)
            stamp = format_datetime(self._clock.now())
            alert.update(changes, lastUpdateTime=stamp)
            if changes.get("status") == "Resolved":
                alert["resolvedTime"] = stamp
            return _copy(alert)

    def alerts(self):
        """Every alert with its evidence, oldest first."""
        with self._lock:
            return [_copy(alert) for alert in self._alerts.values()]

    # ---------------------------------------------------------------------------------------------- handler

    def list_alerts(self, request):
        roles = request.claims.get("roles") or ()
        if not any(role in roles for role in READ_ROLES):
            return self._defender.forbidden(request, READ_ROLES)
        try:
            expand, query, raw_query = _expand_option(request)
            options = odata.parse_query_options(query, raw_query, ALERT_TYPE)
        except odata.ODataError as error:
            return error.response()
        with self._lock:
            alerts = [_copy(alert) for alert in self._alerts.values()]
        if not options.order:
            # The default order is not documented; newest first, as the documentation's examples show.
            alerts.sort(key=lambda alert: alert["alertCreationTime"], reverse=True)
        matches = options.matching(alerts)
        page = options.window(matches)
        if not expand:
            for alert in page:
                alert["evidence"] = []
        return Response(200, {"@odata.context": "https://%s/api/$metadata#Alerts" % (request.headers.get("host") or "api.securitycenter.microsoft.com"),
                              "value": page})


def _expand_option(request):
    """($expand given, query and raw query without it): the other options are odata.py's."""
    expand = False
    kept = []
    query = dict(request.query)
    for part in (request.raw_query.split("&") if request.raw_query else []):
        name, _equals, raw_value = part.partition("=")
        if unquote_plus(name).lower() != "$expand":
            kept.append(part)
            continue
        if unquote_plus(raw_value).strip().lower() not in EXPANDABLE:
            raise odata.ODataError("Could not find a property named '%s' on type 'Alert'." % unquote_plus(raw_value).strip())
        expand = True
        query.pop(unquote_plus(name), None)
    return expand, query, "&".join(kept)


_FILE_DEFAULTS = {"entityType": "File", "filePath": "C:\\Users\\Public\\Downloads", "detectionStatus": "Detected",
                  "verdict": "malicious", "signer": None}
_PROCESS_DEFAULTS = {"entityType": "Process", "fileName": "powershell.exe",
                     "filePath": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0", "detectionStatus": "Detected",
                     "verdict": "suspicious", "signer": "Microsoft Windows"}


def _user_evidence(stamp):
    evidence = {"entityType": "User", "evidenceCreationTime": stamp, "sha1": None, "sha256": None, "fileName": None, "filePath": None}
    evidence.update(dict.fromkeys(_NON_FILE_EVIDENCE_FIELDS))
    evidence.update(accountName="analyst", domainName="CONTOSO", detectionStatus=None)
    return evidence


def _copy(alert):
    return {**alert, "evidence": [dict(entry) for entry in alert["evidence"]], "mitreTechniques": list(alert["mitreTechniques"])}


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError("%s must be one of %s, got %r" % (name, ", ".join(allowed), value))

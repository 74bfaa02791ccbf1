"""The simulated Defender for Endpoint API: machines, files, StopAndQuarantineFile and the other machine actions.

References name pages of the official API reference (defender-endpoint/api/*.md) or rows of docs/api-fidelity.md. Where those
notes mark a behaviour as unconfirmed, the choice is a switch of SimulatorConfig and is read at request time, so a
test can flip it on a running simulator.

Action statuses are never stored as they change: they are computed from the simulated clock whenever an action is
read, so a test that advances the clock sees the lifecycle move without any background thread.
"""

import functools
import hashlib
import itertools
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta, timezone

from . import machine_actions, odata
from .http import Response, mde_error
from .machine_actions import COLLECT, KINDS, PACKAGE_ROUTE_REGEX, WINDOWS10_1703, PackageLinks, Support
from .odata import BOOLEAN, DATETIME, INT64, STRING, STRING_COLLECTION, Property

READ_ROLES = ("Machine.Read.All", "Machine.ReadWrite.All")
FILE_READ_ROLES = ("File.Read.All",)
QUARANTINE_ROLES = ("Machine.StopAndQuarantine",)
# Cancelling needs the permission of the action being cancelled (cancel-machine-action.md); Offboard and LiveResponse can
# only be seeded.
ACTION_ROLES = {
    "StopAndQuarantineFile": QUARANTINE_ROLES,
    "Offboard": ("Machine.Offboard",),
    "LiveResponse": ("Machine.LiveResponse",),
    **{action_type: kind.roles for action_type, kind in KINDS.items()},
}
QUARANTINE = "StopAndQuarantineFile"
LAST_UPDATE_FIELDS = ("lastUpdateDateTimeUtc", "lastUpdateTimeUtc")

IN_FLIGHT = ("Pending", "InProgress")
FINAL = ("Succeeded", "Failed", "TimeOut", "Cancelled")
# "Pending" as an outcome models an offline machine: the action never gets picked up (stop-and-quarantine-file.md, the Action center note).
QUARANTINE_OUTCOMES = ("Succeeded", "Failed", "TimeOut", "Pending")
# E_FAIL: a failed action reports a non-zero errorHResult, 0 otherwise (machineaction.md).
FAILED_HRESULT = -2147467259
# HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), 0x80070002: how a "fail_later" action for an absent file says why.
FILE_NOT_FOUND_HRESULT = -2147024894
DUPLICATE_VARIANTS = ("active_request_exists", "already_in_progress", "return_existing", "mixed", "create_new")
FILE_ABSENT_VARIANTS = ("refuse", "fail_later", "fail_later_unexplained")
UNKNOWN_FILE_VARIANTS = ("resource_not_found", "not_found", "no_body")
FILE_LOOKUP_SCOPES = ("recorded", "retained_observers")
CROSSED_VARIANTS = ("out_of_order", "in_order", "refused", "return_pending")

# "Only devices last seen within the configured retention period are returned" (get-machines.md); 180 days is the default.
RETENTION = timedelta(days=180)

# stop-and-quarantine-file.md: Windows 10 1703+, Windows 11 and Windows Server 2012 R2+; Windows 10 is checked by version separately.
SUPPORTED_PLATFORMS = frozenset(("Windows11", "WindowsServer2012R2", "WindowsServer2016", "WindowsServer2019", "WindowsServer2022",
                                 "WindowsServer2025"))
QUARANTINE_SUPPORT = Support(SUPPORTED_PLATFORMS, WINDOWS10_1703)

# Version and build a machine reports when the caller does not say.
PLATFORM_DEFAULTS = {
    "Windows11": ("23H2", 22631),
    "Windows10": ("22H2", 19045),
    "WindowsServer2012R2": ("6.3", 9600),
    "WindowsServer2016": ("1607", 14393),
    "WindowsServer2019": ("1809", 17763),
    "WindowsServer2022": ("21H2", 20348),
    "WindowsServer2025": ("24H2", 26100),
    "macOS": ("14.5", None),
    "Linux": ("6.5", None),
}

# seed_demo's files: the made-up malicious hash of the documentation's examples, and a made-up Microsoft-signed one
# the action must refuse; and the device ID docs/examples/quarantine_by_name_and_id.yml names.
DEMO_MALICIOUS_SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
DEMO_SIGNED_SHA1 = "f1d2d2f924e986ac86fdf7b36c94bcdf32beec15"
DEMO_ID_MACHINE_ID = "4f9c2d6e8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d"

SHA1 = re.compile(r"[0-9a-fA-F]{40}")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")

MACHINE_TYPE = odata.EntityType("Machine", [
    # Filterable: exactly the list of get-machines.md.
    Property("id", STRING, True),
    Property("computerDnsName", STRING, True),
    Property("version", STRING, True),
    Property("deviceValue", STRING, True),
    Property("aadDeviceId", STRING, True),
    Property("machineTags", STRING_COLLECTION, True),
    Property("lastSeen", DATETIME, True),
    Property("exposureLevel", STRING, True),
    Property("onboardingStatus", STRING, True),
    Property("lastIpAddress", STRING, True),
    Property("healthStatus", STRING, True),
    Property("osPlatform", STRING, True),
    Property("riskScore", STRING, True),
    Property("rbacGroupId", INT64, True),
    Property("firstSeen", DATETIME),
    Property("osVersion", STRING),
    Property("osProcessor", STRING),
    Property("lastExternalIpAddress", STRING),
    Property("agentVersion", STRING),
    Property("osBuild", INT64),
    Property("rbacGroupName", STRING),
    Property("isAadJoined", BOOLEAN),
    Property("defenderAvStatus", STRING),
    Property("osArchitecture", STRING),
    Property("managedBy", STRING),
    Property("managedByStatus", STRING),
    Property("ipAddresses", "Collection(IpAddress)"),
    Property("vmMetadata", "VmMetadata"),
    Property("isPotentialDuplication", BOOLEAN),
    Property("mergedIntoMachineId", STRING),
])

MACHINE_ACTION_TYPE = odata.EntityType("MachineAction", [
    # Filterable: exactly the list of get-machineactions-collection.md; relatedFileInfo is not.
    Property("id", STRING, True),
    Property("status", STRING, True),
    Property("machineId", STRING, True),
    Property("type", STRING, True),
    Property("requestor", STRING, True),
    Property("creationDateTimeUtc", DATETIME, True),
    Property("title", STRING),
    Property("requestorComment", STRING),
    Property("computerDnsName", STRING),
    Property("lastUpdateDateTimeUtc", DATETIME),
    Property("lastUpdateTimeUtc", DATETIME),
    Property("cancellationRequestor", STRING),
    Property("cancellationComment", STRING),
    Property("cancellationDateTimeUtc", DATETIME),
    Property("errorHResult", INT64),
    Property("scope", STRING),
    Property("externalId", STRING),
    Property("requestSource", STRING),
    Property("relatedFileInfo", "RelatedFileInfo"),
    Property("commands", "Collection(Command)"),
    Property("troubleshootInfo", STRING),
])


@functools.lru_cache(maxsize=256)   # a seeded fleet shares a few timestamps; strftime is most of a seed's time
def format_datetime(moment):
    """The API's timestamp format: UTC with seven fractional digits and "Z" (examples in machineaction.md and get-machines.md)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class _Machine:
    entity: dict
    last_seen: object              # aware datetime, for the retention check
    quarantine_outcome: str
    sequence: int
    action_outcomes: dict          # action type -> the final status its actions reach, overriding quarantine_outcome


@dataclass
class _File:
    entity: dict
    microsoft_signed: bool


@dataclass
class _Action:
    id: str
    type: str
    machine_id: str
    computer_dns_name: str
    sha1: str                      # as the requestor sent it; None for actions without a file
    requestor: str
    comment: str
    created: object                # aware datetime
    sequence: int
    outcome: str = None            # the final status the lifecycle reaches; None for a seeded action
    fixed_status: str = None       # a seeded action's status, which never changes by itself
    file_absent: str = None        # the file_absent_response variant the action was created under, if the file was absent
    completed_before_cancel: bool = False
    scope: str = None              # IsolationType or ScanType as sent (or assumed); None for the other types
    delay: machine_actions.Delay = None   # extra Pending / InProgress time: crossed requests queue or overtake
    cancelled_at: object = None
    cancellation_requestor: str = None
    cancellation_comment: str = None


class DefenderService:
    """The Defender API's data and its handlers; every method is safe to call from the server's threads."""

    def __init__(self, config, clock):
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._sequence = itertools.count(1)
        # Called as listener(file entity, machine entity or None) when a machine observes a file for the first
        # time, with this service's lock held; the entities are the stored ones, to be read only.
        self.observation_listeners = []
        self.reset()

    def reset(self):
        """Drop all machines, files and actions."""
        with self._lock:
            self._machines = {}             # id -> _Machine
            self._machine_ids_by_name = {}  # lower-case computerDnsName -> [id]
            self._files = {}                # lower-case sha1 -> _File
            self._sha1_by_sha256 = {}
            self._observers = {}            # lower-case sha1 -> {machine id}
            self._actions = {}              # id -> _Action
            self._quarantines = {}          # (machine id, lower-case sha1) -> [_Action]
            self._actions_by_machine = {}   # machine id -> [_Action], oldest first
            self._package_links = PackageLinks()
            self._duplicates_answered = 0

    def routes(self):
        return [
            ("GET", r"^/api/machines$", "machines.list", self.list_machines),
            ("GET", r"^/api/machines/(?P<machine_id>[^/]+)$", "machines.get", self.get_machine),
            ("POST", r"^/api/machines/(?P<machine_id>[^/]+)/StopAndQuarantineFile$", "machines.StopAndQuarantineFile",
             self.stop_and_quarantine_file),
            ("GET", r"^/api/files/(?P<file_id>[^/]+)$", "files.get", self.get_file),
            ("GET", r"^/api/files/(?P<file_id>[^/]+)/machines$", "files.machines", self.list_file_machines),
            ("GET", r"^/api/machineactions$", "machineactions.list", self.list_machine_actions),
            ("GET", r"^/api/machineactions/(?P<action_id>[^/]+)$", "machineactions.get", self.get_machine_action),
            ("POST", r"^/api/machineactions/(?P<action_id>[^/]+)/cancel$", "machineactions.cancel", self.cancel_machine_action),
            ("GET", r"^/api/machineactions/(?P<action_id>[^/]+)/getPackageUri$", "machineactions.getPackageUri", self.get_package_uri),
        ] + [("POST", r"^/api/machines/(?P<machine_id>[^/]+)/%s$" % kind.path, kind.route, functools.partial(self.post_machine_action, kind))
             for kind in KINDS.values()]

    def download_routes(self):
        """Routes of the package download host: no bearer token (the link carries its signature), no API limits."""
        return [("GET", PACKAGE_ROUTE_REGEX, "packages.download", self.download_package)]

    # ----------------------------------------------------------------------------------------------- data set-up

    def add_machine(self, name, machine_id=None, os_platform="Windows11", version=None, os_build=None, onboarding_status="Onboarded",
                    health_status="Active", last_seen=None, first_seen=None, tags=(), risk_score="Low", exposure_level="Low",
                    rbac_group_id=None, rbac_group_name=None, observed_files=(), quarantine_outcome="Succeeded", action_outcomes=None,
                    potential_duplicate=False, merged_into=None):
        """Add a machine and return its Machine entity; ``quarantine_outcome`` is where its actions end up, unless
        ``action_outcomes`` names another final status for a type ({"Isolate": "Failed"}).

        ``potential_duplicate`` and ``merged_into`` (a machine id) mark an entry Defender itself knows to be
        superseded, as its isPotentialDuplication and mergedIntoMachineId fields do.
        """
        action_outcomes = dict(action_outcomes or {})
        for setting, outcome in [("quarantine_outcome", quarantine_outcome)] + sorted(action_outcomes.items()):
            if outcome not in QUARANTINE_OUTCOMES:
                raise ValueError("%s must be one of %s, got %r" % (setting, ", ".join(QUARANTINE_OUTCOMES), outcome))
        _known_types(action_outcomes)
        with self._lock:
            machine_id = machine_id or secrets.token_hex(20)
            if machine_id in self._machines:
                raise ValueError("machine %s exists already" % machine_id)
            sequence = next(self._sequence)
            last_seen = _moment(last_seen) or self._clock.now()
            first_seen = _moment(first_seen) or last_seen - timedelta(days=30)
            default_version, default_build = PLATFORM_DEFAULTS.get(os_platform, (None, None))
            ip_address = "10.%d.%d.%d" % (sequence >> 16 & 255, sequence >> 8 & 255, sequence & 255)
            entity = {
                "id": machine_id,
                "computerDnsName": name,
                "firstSeen": format_datetime(first_seen),
                "lastSeen": format_datetime(last_seen),
                "osPlatform": os_platform,
                "osVersion": None,
                "osProcessor": "x64",
                "version": default_version if version is None else version,
                "lastIpAddress": ip_address,
                "lastExternalIpAddress": "203.0.113.%d" % (sequence % 254 + 1),
                "agentVersion": "10.8760.%d.1000" % (os_build or default_build or 0),
                "osBuild": default_build if os_build is None else os_build,
                "healthStatus": health_status,
                "deviceValue": "Normal",
                "rbacGroupId": rbac_group_id,
                "rbacGroupName": rbac_group_name,
                "riskScore": risk_score,
                "exposureLevel": exposure_level,
                "isAadJoined": False,
                "aadDeviceId": None,
                "machineTags": list(tags),
                "defenderAvStatus": "Updated",
                "onboardingStatus": onboarding_status,
                "osArchitecture": "64-bit",
                "managedBy": "MicrosoftDefenderForEndpoint",
                "managedByStatus": "Success",
                "ipAddresses": [{"ipAddress": ip_address, "macAddress": "00155D%06X" % (sequence & 0xFFFFFF), "type": "Ethernet",
                                 "operationalStatus": "Up"}],
                "vmMetadata": None,
                "isPotentialDuplication": potential_duplicate,
                "mergedIntoMachineId": merged_into,
            }
            self._machines[machine_id] = _Machine(entity, last_seen, quarantine_outcome, sequence, action_outcomes)
            self._machine_ids_by_name.setdefault(name.lower(), []).append(machine_id)
            for sha1 in observed_files:
                self._observe(sha1, machine_id)
            return _machine_copy(entity)

    def add_file(self, sha1, sha256=None, md5=None, signer=None, file_publisher=None, microsoft_signed=False, observed_on=()):
        """Add (or redefine) a file and return its File entity; ``microsoft_signed`` also stands for a trusted publisher."""
        if not SHA1.fullmatch(sha1):
            raise ValueError("not a SHA-1: %r" % sha1)
        key = sha1.lower()
        sha256 = (sha256 or hashlib.sha256(key.encode()).hexdigest()).lower()
        with self._lock:
            now = self._clock.now()
            if microsoft_signed:
                signer = signer or "Microsoft Windows"
                file_publisher = file_publisher or "Microsoft Corporation"
            entity = {
                "sha1": key,
                "sha256": sha256,
                "md5": (md5 or hashlib.md5(key.encode()).hexdigest()).lower(),
                "globalPrevalence": 1_000_000 if microsoft_signed else 1,
                "globalFirstObserved": format_datetime(now - timedelta(days=30)),
                "globalLastObserved": format_datetime(now),
                "size": 65536,
                "fileType": None,
                "isPeFile": True,
                "filePublisher": file_publisher,
                "fileProductName": "Microsoft Windows Operating System" if microsoft_signed else None,
                "signer": signer,
                "issuer": "Microsoft Windows Production PCA 2011" if microsoft_signed else None,
                "signerHash": hashlib.sha1(signer.encode()).hexdigest() if signer else None,
                "isValidCertificate": bool(signer),
                "determinationType": "Clean" if microsoft_signed else "Unknown",
                "determinationValue": "",
            }
            self._files[key] = _File(entity, microsoft_signed)
            self._sha1_by_sha256[sha256] = key
            self._observers.setdefault(key, set())
            for machine_id in observed_on:
                self._observe(key, machine_id)
            return dict(entity)

    def _observe(self, sha1, machine_id):
        # Every observed file has a File entity in the real service, so files.get finds what a machine saw.
        key = sha1.lower()
        if key not in self._files:
            self.add_file(key)
        if machine_id in self._observers[key]:
            return
        self._observers[key].add(machine_id)
        machine = self._machines.get(machine_id)
        for listener in self.observation_listeners:
            listener(self._files[key].entity, machine.entity if machine else None)

    def observations(self, file_hash):
        """(File entity, Machine entity) copies for each machine that observed the file with this SHA-1, SHA-256 or MD5."""
        key = file_hash.lower()
        with self._lock:
            sha1 = self._sha1_by_sha256.get(key) or next((sha1 for sha1, known in self._files.items() if key in (sha1, known.entity["md5"])), None)
            if sha1 is None:
                return []
            return [(dict(self._files[sha1].entity), _machine_copy(self._machines[machine_id].entity))
                    for machine_id in self._observers[sha1] if machine_id in self._machines]

    def observe_file(self, sha1, machine_id):
        """Record that a machine has seen a file (adding the file if it is new) and return the File entity."""
        with self._lock:
            self._observe(sha1, machine_id)
            return dict(self._files[sha1.lower()].entity)

    def add_machine_action(self, machine_id, sha1=None, status="Pending", created=None, requestor="analyst@contoso.com", comment="seeded",
                           action_type=QUARANTINE, outcome=None, scope=None):
        """Seed an existing action of any type; its status stays as given (a cancel can still cancel a Pending/InProgress one).

        With ``outcome`` (one of QUARANTINE_OUTCOMES), a Pending action instead follows the lifecycle from ``created``
        to that status, as a posted one does. ``scope`` is the IsolationType or ScanType of those types (default:
        what the service assumes when the body leaves it out).
        """
        if status not in IN_FLIGHT + FINAL:
            raise ValueError("status must be one of %s, got %r" % (", ".join(IN_FLIGHT + FINAL), status))
        if outcome is not None and (status != "Pending" or outcome not in QUARANTINE_OUTCOMES):
            raise ValueError("outcome needs status Pending and one of %s, got %r" % (", ".join(QUARANTINE_OUTCOMES), outcome))
        _known_types({action_type: None})
        kind = KINDS.get(action_type)
        scopes = kind.scopes if kind else ()
        if scope is None and scopes:
            scope = scopes[0]
        if scope is not None and scope not in scopes:
            raise ValueError("scope of %s must be one of %s, got %r" % (action_type, ", ".join(scopes) or "nothing", scope))
        with self._lock:
            machine = self._machines.get(machine_id)
            if machine is None:
                raise ValueError("no machine %s" % machine_id)
            created = _moment(created) or self._clock.now()
            action = _Action(str(uuid.uuid4()), action_type, machine_id, machine.entity["computerDnsName"], sha1, requestor, comment, created,
                             next(self._sequence), outcome=outcome, fixed_status=None if outcome else status, scope=scope)
            if status == "Cancelled":
                action.cancelled_at, action.cancellation_requestor = created, requestor
            self._store_action(action)
            return self._render_action(action, self._clock.now())

    def _store_action(self, action):
        self._actions[action.id] = action
        self._actions_by_machine.setdefault(action.machine_id, []).append(action)
        if action.type == QUARANTINE and action.sha1:
            self._quarantines.setdefault((action.machine_id, action.sha1.lower()), []).append(action)

    def seed_fleet(self, count, name_prefix="ws", domain="contoso.local", observed_sha1=None, os_platform="Windows11"):
        """Add ``count`` machines named <prefix>-00001.<domain> ..., optionally all observing one file."""
        observed = (observed_sha1,) if observed_sha1 else ()
        with self._lock:
            now = self._clock.now()
            return [self.add_machine("%s-%05d.%s" % (name_prefix, index, domain), os_platform=os_platform, last_seen=now, observed_files=observed)
                    for index in range(1, count + 1)]

    def seed_demo(self):
        """The fleet the documentation's examples name (tests/simulator/README.md lists it): the malicious file on
        the workstations, the server and an offline laptop; a Microsoft-signed file; two machines it cannot act on."""
        demo_machines = (
            ("ws-0042.contoso.local", {"os_platform": "Windows11", "tags": ("finance",)}, True),
            ("ws-0043.contoso.local", {"os_platform": "Windows10", "version": "22H2", "tags": ("finance",)}, True),
            ("ws-0044.contoso.local", {"os_platform": "Windows11"}, True),
            ("ws-0099.contoso.local", {"os_platform": "Windows11", "machine_id": DEMO_ID_MACHINE_ID}, True),
            ("srv-01.contoso.local", {"os_platform": "WindowsServer2019", "tags": ("servers",), "exposure_level": "Medium"}, True),
            ("laptop-07.contoso.local", {"os_platform": "Windows11", "health_status": "Inactive", "quarantine_outcome": "Pending"}, True),
            ("desktop-legacy.contoso.local", {"os_platform": "Windows10", "version": "1607"}, False),
            ("mac-01.contoso.local", {"os_platform": "macOS"}, False),
        )
        with self._lock:
            machines = [self.add_machine(name, **dict({"machine_id": hashlib.sha1(name.encode()).hexdigest()}, **options))
                        for name, options, _observed in demo_machines]
            observed_on = [machine["id"] for machine, (_name, _options, observed) in zip(machines, demo_machines) if observed]
            self.add_file(DEMO_MALICIOUS_SHA1, observed_on=observed_on)
            self.add_file(DEMO_SIGNED_SHA1, microsoft_signed=True, observed_on=observed_on[:2])
            return {"machines": machines, "malicious_sha1": DEMO_MALICIOUS_SHA1, "signed_sha1": DEMO_SIGNED_SHA1}

    # ----------------------------------------------------------------------------------------- data inspection

    def machines(self):
        """Every machine's entity, including those beyond the retention period."""
        with self._lock:
            return [_machine_copy(machine.entity) for machine in self._machines.values()]

    def actions(self):
        """Every action as GET by id would show it now, oldest first."""
        with self._lock:
            now = self._clock.now()
            return [self._render_action(action, now) for action in self._actions.values()]

    def get_action(self, action_id):
        with self._lock:
            action = self._actions.get(action_id)
            return None if action is None else self._render_action(action, self._clock.now())

    # ---------------------------------------------------------------------------------------------- machines

    def list_machines(self, request):
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        try:
            options = odata.parse_query_options(request.query, request.raw_query, MACHINE_TYPE)
        except odata.ODataError as error:
            return error.response()
        with self._lock:
            now = self._clock.now()
            machines = [machine.entity for machine in self._machines.values() if self._retained(machine, now)]
        if not machines and self._config.machines_empty_404:
            # get-machines.md: "If there are no recent machines, you see 404 Not Found"; an empty filter result stays 200.
            return mde_error(404, "NotFound", "No recent machines were found")
        shown = None if self._config.machine_duplicate_fields else _without_duplicate_fields
        return self._listing(request, "Machines", machines, options, shown=shown, next_link_loops=self._config.machines_next_link_loops)

    def get_machine(self, request):
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        machine_id = request.params["machine_id"]
        with self._lock:
            machine = self._find_machine(machine_id, by_name=True)
        if machine is None:
            return _machine_not_found(machine_id)
        return Response(200, {"@odata.context": _context(request, "Machines/$entity"), **machine.entity})

    def _find_machine(self, key, by_name=False):
        """A retained machine by id, or (for GET by id or computer name, get-machines.md) by name: the most recently seen one."""
        now = self._clock.now()
        machine = self._machines.get(key)
        if machine is None and by_name:
            candidates = [self._machines[machine_id] for machine_id in self._machine_ids_by_name.get(key.lower(), ())]
            machine = max(candidates, key=lambda candidate: (candidate.last_seen, candidate.sequence), default=None)
        return machine if machine is not None and self._retained(machine, now) else None

    def change_machines(self, machine_ids, change, all_known=False):
        """Call ``change(entity)`` on each retained machine of ``machine_ids`` under the lock (tags.py changes
        ``machineTags`` in place); returns the ids not found. With ``all_known`` an unknown id changes nothing."""
        with self._lock:
            found = {machine_id: self._find_machine(machine_id) for machine_id in machine_ids}
            unknown = [machine_id for machine_id, machine in found.items() if machine is None]
            if not (unknown and all_known):
                for machine in found.values():
                    if machine is not None:
                        change(machine.entity)
            return unknown

    @staticmethod
    def _retained(machine, now):
        return now - machine.last_seen <= RETENTION

    # ------------------------------------------------------------------------------------------------- files

    def get_file(self, request):
        denied = self._forbidden(request, FILE_READ_ROLES)
        if denied:
            return denied
        file_id = request.params["file_id"]
        # get-file-information.md: "Retrieves a File by identifier Sha1, or Sha256"; anything else is not a hash this API takes.
        if not (SHA1.fullmatch(file_id) or SHA256.fullmatch(file_id)):
            return _invalid_hash(file_id)
        with self._lock:
            sha1 = self._sha1_by_sha256.get(file_id.lower(), file_id.lower())
            known = self._files.get(sha1)
            if known is not None and _switch(self._config, "file_lookup_scope", FILE_LOOKUP_SCOPES) == "retained_observers":
                now = self._clock.now()
                if not any(self._retained(self._machines[observer], now) for observer in self._observers[sha1] if observer in self._machines):
                    known = None
        if known is None:
            return self._unknown_file(file_id)
        return Response(200, {"@odata.context": _context(request, "Files/$entity"), **known.entity})

    def _unknown_file(self, file_id):
        # get-file-information.md documents the 404, not its body.
        variant = _switch(self._config, "unknown_file_response", UNKNOWN_FILE_VARIANTS)
        if variant == "resource_not_found":
            return mde_error(404, "ResourceNotFound", "File %s was not found" % file_id)
        if variant == "not_found":
            return mde_error(404, "NotFound", "Not Found")
        return Response(404)

    def list_file_machines(self, request):
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        file_id = request.params["file_id"]
        if not SHA1.fullmatch(file_id):
            # get-file-information.md: "Only SHA-1 Hash Function is supported (not MD5 or SHA-256)".
            return _invalid_hash(file_id)
        try:
            options = odata.parse_query_options(request.query, request.raw_query, MACHINE_TYPE)
        except odata.ODataError as error:
            return error.response()
        with self._lock:
            now = self._clock.now()
            observers = [self._machines[machine_id] for machine_id in self._observers.get(file_id.lower(), ()) if machine_id in self._machines]
            machines = [machine.entity for machine in sorted(observers, key=lambda machine: machine.sequence) if self._retained(machine, now)]
        # get-file-information.md: an unknown file is "200 OK with an empty set".
        return self._listing(request, "Machines", machines, options)

    # ------------------------------------------------------------------------------------- stop and quarantine

    def stop_and_quarantine_file(self, request):
        # stop-and-quarantine-file.md: the action permission is not enough, the app also needs a read permission (issue #6055).
        denied = self._forbidden(request, READ_ROLES) or self._forbidden(request, QUARANTINE_ROLES)
        if denied:
            return denied
        try:
            comment, sha1 = _required_body_values(request, ("Comment", "Sha1"))
        except _BodyError as error:
            return error.response
        if not SHA1.fullmatch(sha1):
            return _invalid_hash(sha1)
        machine_id = request.params["machine_id"]
        with self._lock:
            machine = self._find_machine(machine_id)
            if machine is None:
                return _machine_not_found(machine_id)
            refusal = self._refusal(machine, sha1)
            if refusal:
                return refusal
            absent_variant = _switch(self._config, "file_absent_response", FILE_ABSENT_VARIANTS)
            absent = machine_id not in self._observers.get(sha1.lower(), ())
            if absent and absent_variant == "refuse":
                return self._file_not_observed(sha1, machine_id)
            now = self._clock.now()
            earlier = self._quarantines.get((machine_id, sha1.lower()), [])
            in_flight = [action for action in earlier if self._timeline(action, now)[0] in IN_FLIGHT]
            duplicate_variant = self._duplicate_variant(QUARANTINE) if in_flight else None
            if duplicate_variant not in (None, "create_new"):
                return self._duplicate(request, duplicate_variant, max(in_flight, key=lambda action: action.sequence), now)
            succeeded = any(self._timeline(action, now)[0] == "Succeeded" for action in earlier)
            if succeeded and _switch(self._config, "resubmit_after_success", ("create", "file_not_found")) == "file_not_found":
                # The earlier action removed the file: it is absent now, answered as any absent file is.
                if absent_variant == "refuse":
                    return self._file_not_observed(sha1, machine_id)
                absent = True
            outcome = "Failed" if absent and machine.quarantine_outcome != "Pending" else machine.quarantine_outcome
            action = _Action(str(uuid.uuid4()), QUARANTINE, machine_id, machine.entity["computerDnsName"], sha1, _requestor(request), comment,
                             now, next(self._sequence), outcome=outcome, file_absent=absent_variant if absent else None)
            self._store_action(action)
            return self._action_response(request, 201, action, now)

    def _refusal(self, machine, sha1):
        """Why the action cannot run on this machine for this file, as the API's error response; None if it can."""
        refusal = machine_actions.platform_refusal(machine.entity, QUARANTINE, QUARANTINE_SUPPORT)
        if refusal:
            return refusal
        known = self._files.get(sha1.lower())
        if known is not None and known.microsoft_signed:
            # stop-and-quarantine-file.md: "The file must not belong to trusted third-party publishers or be signed by Microsoft"; the code is unconfirmed.
            message = "%s is not allowed for file %s: it is signed by Microsoft or by a trusted publisher." % (QUARANTINE, sha1)
            if _switch(self._config, "signed_file_response", ("disallowed_operation", "bad_request")) == "disallowed_operation":
                return mde_error(403, "DisallowedOperation", message)
            return mde_error(400, "BadRequest", message)
        return None

    def _file_not_observed(self, sha1, machine_id):
        # common-errors.md: the message tells this apart from "Machine ... was not found"; the status is unconfirmed.
        return mde_error(self._config.file_not_found_status, "ResourceNotFound", _file_not_observed_message(sha1, machine_id))

    def _duplicate_variant(self, action_type):
        """How duplicates of this action type are answered: duplicate_response_by_type, else duplicate_response."""
        _known_types(self._config.duplicate_response_by_type)
        variant = self._config.duplicate_response_by_type.get(action_type, self._config.duplicate_response)
        return _checked("duplicate_response", variant, DUPLICATE_VARIANTS)

    def _duplicate(self, request, variant, existing, now):
        """The answer to a POST while an action for the same machine and file is in flight (stop-and-quarantine-file.md, config comments)."""
        if variant == "mixed":
            self._duplicates_answered += 1
            variant = "active_request_exists" if self._duplicates_answered % 2 else "return_existing"
        if variant == "return_existing":
            return self._action_response(request, _switch(self._config, "duplicate_existing_status", (201, 200)), existing, now)
        code = "ActiveRequestAlreadyExists" if variant == "active_request_exists" else "BadRequest"
        return mde_error(400, code, "Action is already in progress")

    # --------------------------------------------------------------------------------- isolate, scan, collect, ...

    def post_machine_action(self, kind, request):
        """POST /api/machines/{id}/<path> for the actions of the action pages (isolate-machine.md, run-av-scan.md, ...),
        through the same store, lifecycle and duplicate check."""
        # The read role StopAndQuarantineFile also needs (stop-and-quarantine-file.md, #6055); unconfirmed for these, hence the switch.
        for required in ([READ_ROLES] if self._config.actions_need_read_role else []) + [kind.roles]:
            denied = self._forbidden(request, required)
            if denied:
                return denied
        try:
            body = _json_body(request)
            (comment,) = _required_values(body, ("Comment",))
        except _BodyError as error:
            return error.response
        scope, invalid = machine_actions.scope_of(kind, body)
        if invalid:
            return invalid
        machine_id = request.params["machine_id"]
        with self._lock:
            machine = self._find_machine(machine_id)
            if machine is None:
                return _machine_not_found(machine_id)
            refusal, never_picked_up = self._action_refusal(machine, kind, scope)
            if refusal:
                return refusal
            now = self._clock.now()
            in_flight = [action for action in self._actions_by_machine.get(machine_id, ()) if self._timeline(action, now)[0] in IN_FLIGHT]
            same = [action for action in in_flight
                    if action.type == kind.type and (self._config.duplicate_ignores_scope or action.scope == scope)]
            duplicate_variant = self._duplicate_variant(kind.type) if same else None
            if duplicate_variant not in (None, "create_new"):
                return self._duplicate(request, duplicate_variant, same[-1], now)
            crossed = [action for action in in_flight if action.type == kind.opposite]
            answer, delay = self._crossed(request, kind, crossed[-1], now) if crossed else (None, None)
            if answer:
                return answer
            outcome = "Pending" if never_picked_up else machine.action_outcomes.get(kind.type, machine.quarantine_outcome)
            action = _Action(str(uuid.uuid4()), kind.type, machine_id, machine.entity["computerDnsName"], None, _requestor(request), comment,
                             now, next(self._sequence), outcome=outcome, scope=scope, delay=delay)
            self._store_action(action)
            return self._action_response(request, 201, action, now)

    def _action_refusal(self, machine, kind, scope):
        """(the API's refusal or None, whether the action can never be picked up) for this machine (the action pages:
        isolate-machine.md, run-av-scan.md, ...)."""
        return machine_actions.refusal(machine.entity, kind, scope,
                                       _switch(self._config, "unmanaged_isolation_scope", ("not_onboarded_only", "any_machine")),
                                       _switch(self._config, "unmanaged_device_actions", ("refused", "pending")),
                                       self._config.extra_platforms_by_type.get(kind.type, ()))

    def _crossed(self, request, kind, earlier, now):
        """(answer or None, the new action's delay) for a request while the action it undoes is in flight (#5903)."""
        variant = _switch(self._config, "crossed_request_response", CROSSED_VARIANTS)
        if variant == "refused":
            return mde_error(400, "ActiveRequestAlreadyExists", "Action is already in progress"), None
        if variant == "return_pending":
            return self._action_response(request, _switch(self._config, "duplicate_existing_status", (201, 200)), earlier, now), None
        picked_up, finished = self._phases(earlier)
        earlier_delay, delay = machine_actions.crossed_delays(variant, picked_up, finished, now, self._config.pending_seconds,
                                                              self._config.in_progress_seconds)
        current = earlier.delay or machine_actions.Delay()
        earlier.delay = machine_actions.Delay(current.pending + earlier_delay.pending, current.in_progress + earlier_delay.in_progress)
        return None, delay

    def get_package_uri(self, request):
        """GET /api/machineactions/{id}/getPackageUri: a short-lived link to a collected package (get-package-sas-uri.md)."""
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        action_id = request.params["action_id"]
        with self._lock:
            action = self._actions.get(action_id)
            if action is None:
                return _action_not_found(action_id)
            now = self._clock.now()
            if action.type != COLLECT:
                status = _switch(self._config, "package_uri_other_type_status", (404, 400))
                return mde_error(status, "ResourceNotFound" if status == 404 else "BadRequest",
                                 "Machine action %s is %s, not %s: it has no package." % (action_id, action.type, COLLECT))
            status = self._timeline(action, now)[0]
            if status != "Succeeded":
                # Documented: "If the machine action for the collection exists but isn't complete, 404 Not Found".
                return mde_error(404, "ResourceNotFound", "The package of machine action %s is not available: the action is %s."
                                 % (action_id, status))
        link = self._package_links.link(_host(request), action_id, now, self._config.package_uri_lifetime_seconds)
        return Response(200, {"@odata.context": _context(request, "Edm.String"), "value": link})

    def download_package(self, request):
        """GET of a package link: the zip while the link is valid (a Range resumes it), blob storage's 403 after."""
        action_id = request.params["action_id"]
        refusal = self._package_links.refusal(action_id, request.query, self._clock.now())
        if refusal:
            return refusal
        payload = machine_actions.package_bytes(action_id, self._config.investigation_package_bytes)
        if _switch(self._config, "package_download_ranges", ("honoured", "ignored")) == "ignored":
            return Response(200, payload, {"Content-Type": "application/octet-stream"})
        return machine_actions.ranged(payload, request.headers.get("range"))

    # -------------------------------------------------------------------------------------------- machine actions

    def list_machine_actions(self, request):
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        try:
            options = odata.parse_query_options(request.query, request.raw_query, MACHINE_ACTION_TYPE)
        except odata.ODataError as error:
            return error.response()
        order = _switch(self._config, "list_order", ("newest_first", "oldest_first", "unordered"))
        chronological = (lambda action: (action.created, action.sequence)) if order != "unordered" else (lambda action: action.id)
        with self._lock:
            now = self._clock.now()
            listed_before = now - timedelta(seconds=self._config.list_lag_seconds)
            listed = sorted((action for action in self._actions.values() if action.created <= listed_before),
                            key=chronological, reverse=order == "newest_first")
            # Both last-update names are there for $orderby, which sorts on the service's own column.
            entities = [self._action_entity(action, now) for action in listed]
        return self._listing(request, "MachineActions", entities, options, shown=self._shown_action_fields)

    def get_machine_action(self, request):
        denied = self._forbidden(request, READ_ROLES)
        if denied:
            return denied
        with self._lock:
            action = self._actions.get(request.params["action_id"])
            if action is None:
                return _action_not_found(request.params["action_id"])
            return self._action_response(request, 200, action, self._clock.now())

    def cancel_machine_action(self, request):
        try:
            comment = _optional_body_value(request, "Comment")
        except _BodyError as error:
            return error.response
        action_id = request.params["action_id"]
        with self._lock:
            action = self._actions.get(action_id)
            if action is None:
                return _action_not_found(action_id)
            denied = self._forbidden(request, ACTION_ROLES.get(action.type, QUARANTINE_ROLES))
            if denied:
                return denied
            now = self._clock.now()
            status = self._timeline(action, now)[0]
            if status in FINAL:
                # cancel-machine-action.md: only a launched action not yet in a final state can be cancelled; the answer otherwise is unconfirmed.
                if _switch(self._config, "cancel_final_response", (400, 200)) == 400:
                    return mde_error(400, self._config.cancel_final_code,
                                     "Machine action %s can't be cancelled since it is in final state %s." % (action_id, status))
            elif _switch(self._config, "cancel_effect", ("cancels", "ignored")) == "cancels":
                action.cancelled_at, action.cancellation_requestor, action.cancellation_comment = now, _requestor(request), comment
                action.completed_before_cancel = status == "InProgress" and self._config.cancel_after_completion
            return self._action_response(request, 200, action, now)

    def _timeline(self, action, now):
        """(status, last update time) of an action at ``now``."""
        if action.cancelled_at is not None:
            return "Cancelled", action.cancelled_at
        if action.fixed_status is not None:
            return action.fixed_status, action.created
        picked_up, finished = self._phases(action)
        if now < picked_up or action.outcome == "Pending":
            return "Pending", action.created
        if now < finished:
            return "InProgress", picked_up
        return action.outcome, finished

    def _phases(self, action):
        """When an action that follows the lifecycle is picked up and when it finishes."""
        delay = action.delay or machine_actions.Delay()
        picked_up = action.created + timedelta(seconds=self._config.pending_seconds + delay.pending)
        return picked_up, picked_up + timedelta(seconds=self._config.in_progress_seconds + delay.in_progress)

    def _render_action(self, action, now):
        """The MachineAction entity as the API shows it at ``now``, field order as in real responses (machineaction.md)."""
        return self._shown_action_fields(self._action_entity(action, now))

    def _shown_action_fields(self, entity):
        """The entity with only the last-update field(s) config.last_update_field names."""
        field = _switch(self._config, "last_update_field", ("lastUpdateDateTimeUtc", "lastUpdateTimeUtc", "both"))
        return {name: value for name, value in entity.items() if name not in LAST_UPDATE_FIELDS or field in (name, "both")}

    def _action_entity(self, action, now):
        """The MachineAction entity with both last-update names."""
        status, last_update = self._timeline(action, now)
        entity = {
            "id": action.id,
            "type": action.type,
            "title": None,
            "requestor": action.requestor,
            "requestorComment": action.comment,
            "status": status,
            "machineId": action.machine_id,
            "computerDnsName": action.computer_dns_name,
            "creationDateTimeUtc": format_datetime(action.created),
        }
        for name in LAST_UPDATE_FIELDS:
            entity[name] = format_datetime(last_update)
        cancelled = action.cancelled_at is not None
        explained = status == "Failed" and action.file_absent == "fail_later"
        entity.update({
            "cancellationRequestor": action.cancellation_requestor,
            "cancellationComment": action.cancellation_comment,
            "cancellationDateTimeUtc": format_datetime(action.cancelled_at) if cancelled else None,
            "errorHResult": (FILE_NOT_FOUND_HRESULT if explained else FAILED_HRESULT) if status == "Failed" else 0,
            "scope": action.scope,
            "externalId": None,
            "requestSource": "PublicApi",
            "relatedFileInfo": {"fileIdentifier": self._file_identifier(action.sha1), "fileIdentifierType": "Sha1"} if action.sha1 else None,
            "commands": self._completed_commands(action) if action.completed_before_cancel else [],
            "troubleshootInfo": _file_not_observed_message(action.sha1, action.machine_id) if explained else None,
        })
        return entity

    def _completed_commands(self, action):
        # The shape of a live-response command entry (run-live-response.md), reporting the work as done.
        picked_up = self._phases(action)[0]
        return [{"index": 0, "startTime": format_datetime(picked_up), "endTime": format_datetime(action.cancelled_at),
                 "commandStatus": "Completed", "errors": [],
                 "command": {"type": action.type, "params": [{"key": "Sha1", "value": action.sha1}]}}]

    def _file_identifier(self, sha1):
        case = _switch(self._config, "file_identifier_case", ("lower", "upper", "as_sent"))
        return {"lower": sha1.lower(), "upper": sha1.upper(), "as_sent": sha1}[case]

    def _action_response(self, request, status, action, now):
        return Response(status, {"@odata.context": _context(request, "MachineActions/$entity"), **self._render_action(action, now)})

    # ------------------------------------------------------------------------------------------------ common

    def forbidden(self, request, required):
        """For the other APIs of the tenant: the same 403 in the same wording, or None."""
        return self._forbidden(request, required)

    def _forbidden(self, request, required):
        """None when the token has one of the ``required`` roles, else the API's 403 in the configured wording (stop-and-quarantine-file.md)."""
        roles = request.claims.get("roles") or ()
        if any(role in roles for role in required):
            return None
        if _switch(self._config, "forbidden_format", ("legacy", "roles")) == "legacy":
            message = "The application does not have any of the required application permissions (%s) to access the resource." % ", ".join(required)
        else:
            message = "Missing application roles. API required roles: %s, application roles: %s." % (",".join(required), ",".join(roles))
        return mde_error(403, "Forbidden", message)

    forbidden = _forbidden          # the indicators API (indicators.py) checks its roles the same way

    @staticmethod
    def _collection(request, entity_set, entities):
        return Response(200, {"@odata.context": _context(request, entity_set), "value": entities})

    def _listing(self, request, entity_set, entities, options, shown=None, next_link_loops=False):
        """A collection answer: $filter, $orderby, one page, and @odata.nextLink as config.next_link says."""
        page_size = self._config.max_page_size
        matches = options.matching(entities)
        page = (replace(options, skip=0) if self._config.ignore_skip else options).window(matches, page_size)
        response = self._collection(request, entity_set, [shown(entity) for entity in page] if shown else page)
        more = len(matches) > options.skip + len(page)
        variant = _switch(self._config, "next_link", ("server_paging", "always", "never"))
        cut_by_page_size = options.top is None or options.top > page_size
        if more and (variant == "always" or (variant == "server_paging" and cut_by_page_size)):
            next_skip = options.skip + len(page)
            if next_link_loops:
                # Issue #8316 (get-machineactions-collection.md): the link always says $skip=10000, so a client that follows it never gets further.
                next_skip = odata.MAX_PAGE_SIZE
            response.body["@odata.nextLink"] = _next_link(request, next_skip)
        return response


class _BodyError(Exception):
    def __init__(self, response):
        super().__init__(response.body["error"]["message"])
        self.response = response


def _json_body(request):
    try:
        return request.json()
    except ValueError:
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body.")) from None


def _required_body_values(request, names):
    """The values of required string parameters; body parameter names are case-sensitive (common-errors.md)."""
    return _required_values(_json_body(request), names)


def _required_values(body, names):
    """The values of required string parameters of a JSON object; raises _BodyError."""
    values = []
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            if name not in body and any(key.lower() == name.lower() for key in body):
                raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Parameter names are case-sensitive: expected %s." % name))
            raise _BodyError(mde_error(400, "MissingRequiredParameter", "Parameter %s is missing." % name))
        if not isinstance(value, str):
            raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Parameter %s must be a string." % name))
        values.append(value)
    return values


def _optional_body_value(request, name):
    if not request.body.strip():
        return None
    value = _json_body(request).get(name)
    if value is not None and not isinstance(value, str):
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Parameter %s must be a string." % name))
    return value


def _moment(value):
    """An aware datetime from a datetime or ISO 8601 text (the admin API passes JSON); no offset means UTC."""
    moment = odata.parse_datetime(value) if isinstance(value, str) else value
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _without_duplicate_fields(entity):
    return {name: value for name, value in entity.items() if name not in ("isPotentialDuplication", "mergedIntoMachineId")}


def _machine_copy(entity):
    """A copy the caller may change without changing the service's data (deepcopy is too slow for 10,000 machines)."""
    return {**entity, "machineTags": list(entity["machineTags"]), "ipAddresses": [dict(address) for address in entity["ipAddresses"]]}


def _switch(config, name, allowed):
    """A switch's value, refusing values the simulator does not implement so that a typo cannot pass silently."""
    return _checked(name, getattr(config, name), allowed)


def _checked(name, value, allowed):
    if value not in allowed:
        raise ValueError("simulator switch %s=%r is not one of %s" % (name, value, ", ".join(map(repr, allowed))))
    return value


def _known_types(by_type):
    """Refuse action types the simulator does not serve in a per-type setting, so that a typo cannot pass silently."""
    unknown = sorted(set(by_type) - set(ACTION_ROLES))
    if unknown:
        raise ValueError("unknown action type(s) %s; known: %s" % (", ".join(unknown), ", ".join(ACTION_ROLES)))


def _requestor(request):
    # An app's actions name the app (machineaction.md: the requestor of app actions is unconfirmed; the app id is the likely value).
    return request.claims.get("appid") or request.claims.get("azp") or request.claims.get("oid")


def _host(request):
    return request.headers.get("host") or "api.securitycenter.microsoft.com"


def _context(request, fragment):
    # OData builds the context URL from the URL the client called.
    return "https://%s/api/$metadata#%s" % (_host(request), fragment)


def _next_link(request, skip):
    """The request's own URL with $skip replaced, as ASP.NET OData builds a next link."""
    kept = [part for part in request.raw_query.split("&") if part and not part.lower().startswith(("$skip=", "%24skip="))]
    return "https://%s%s?%s" % (_host(request), request.path, "&".join(kept + ["$skip=%d" % skip]))


def _file_not_observed_message(sha1, machine_id):
    return "Sha1 %s was not found in machine %s" % (sha1, machine_id)


def _machine_not_found(machine_id):
    return mde_error(404, "ResourceNotFound", "Machine %s was not found" % machine_id)


def _action_not_found(action_id):
    return mde_error(404, "ResourceNotFound", "Machine action %s was not found" % action_id)


def _invalid_hash(value):
    return mde_error(400, "InvalidHashValue", "Hash value %s is invalid." % value)

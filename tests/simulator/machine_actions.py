"""What the machine actions beyond StopAndQuarantineFile need: their table, OS support, crossed requests, packages.

defender.py keeps the one action store, lifecycle, listing and duplicate check for every type; this module holds
what differs per type (endpoint, body, permission, supported platforms, the type that undoes it) and the parts of
the investigation package that are not an action: the short-lived download link and the package itself.
"""

import base64
import email.utils
import functools
import hashlib
import hmac
import io
import random
import re
import secrets
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional
from urllib.parse import quote

from .http import Response, mde_error

# The types the handlers treat specially; the table below names every type as the API does.
UNISOLATE = "Unisolate"
COLLECT = "CollectInvestigationPackage"

ONBOARDED = "Onboarded"
UNMANAGED_DEVICE = "UnManagedDevice"


@dataclass(frozen=True)
class Support:
    """Where an action runs: these platforms, and Windows 10 from a version (with the build of that version)."""
    platforms: frozenset
    windows10_minimum: tuple          # (version, build)


WINDOWS10_1703 = (1703, 15063)
WINDOWS10_1709 = (1709, 16299)
# The action pages (isolate-machine.md, run-av-scan.md, ...): isolation (Full) on Windows 10 1703+, Windows 11 and Linux; Selective isolation, app
# restriction and antivirus scans on 1709+; investigation packages on 1703+. Windows Server and macOS are not on
# those pages (extra_platforms_by_type adds them where the real service may accept them).
FULL_ISOLATION = Support(frozenset({"Windows11", "Linux"}), WINDOWS10_1703)
WINDOWS_1709 = Support(frozenset({"Windows11"}), WINDOWS10_1709)
WINDOWS_1703 = Support(frozenset({"Windows11"}), WINDOWS10_1703)


@dataclass(frozen=True)
class ActionKind:
    """One machine action endpoint: POST /api/machines/{id}/<path> with a JSON body that always has Comment."""
    type: str                         # MachineAction.type, exactly as the API names it
    path: str                         # the endpoint's last path segment, as the docs spell it
    roles: tuple                      # the application permission it needs (the action pages (isolate-machine.md, run-av-scan.md, ...))
    support: dict                     # scope (None for actions without one) -> Support, None: any platform
    scope_parameter: Optional[str] = None    # the body parameter that becomes the action's scope
    scope_required: bool = False      # when optional, the first scope is what the service assumes
    opposite: Optional[str] = None    # the type that undoes this one: a request for it while this is in flight crosses

    @property
    def route(self) -> str:
        return "machines." + self.path

    @property
    def scopes(self) -> tuple:
        return tuple(scope for scope in self.support if scope is not None)


KINDS = {kind.type: kind for kind in (
    ActionKind("Isolate", "isolate", ("Machine.Isolate",),
               {"Full": FULL_ISOLATION, "Selective": WINDOWS_1709, UNMANAGED_DEVICE: None},
               scope_parameter="IsolationType", opposite=UNISOLATE),
    ActionKind(UNISOLATE, "unisolate", ("Machine.Isolate",), {None: FULL_ISOLATION}, opposite="Isolate"),
    ActionKind("RestrictCodeExecution", "restrictCodeExecution", ("Machine.RestrictExecution",), {None: WINDOWS_1709},
               opposite="UnrestrictCodeExecution"),
    ActionKind("UnrestrictCodeExecution", "unrestrictCodeExecution", ("Machine.RestrictExecution",), {None: WINDOWS_1709},
               opposite="RestrictCodeExecution"),
    ActionKind("RunAntiVirusScan", "runAntiVirusScan", ("Machine.Scan",), {"Quick": WINDOWS_1709, "Full": WINDOWS_1709},
               scope_parameter="ScanType", scope_required=True),
    ActionKind(COLLECT, "collectInvestigationPackage", ("Machine.CollectForensics",), {None: WINDOWS_1703}),
)}


def scope_of(kind: ActionKind, body: dict) -> tuple:
    """(scope, None) for a valid body, or (None, the API's 400): body parameter names are case-sensitive (common-errors.md)."""
    if kind.scope_parameter is None:
        return None, None
    value = body.get(kind.scope_parameter)
    if value is None:
        if kind.scope_required:
            return None, mde_error(400, "MissingRequiredParameter", "Parameter %s is missing." % kind.scope_parameter)
        return kind.scopes[0], None
    if value not in kind.scopes:
        return None, mde_error(400, "InvalidRequestBody", "Invalid request body. %s must be one of %s, got %r."
                               % (kind.scope_parameter, ", ".join(kind.scopes), value))
    return value, None


def windows10_supported(version: Optional[str], build: Optional[int], minimum: tuple) -> bool:
    minimum_version, minimum_build = minimum
    if version and version.isdigit():
        return int(version) >= minimum_version
    if version:
        return True       # "20H2"-style names started in 2020, after every minimum the API names
    return build is None or build >= minimum_build


def platform_refusal(machine: dict, action_name: str, support: Support, extra_platforms=()) -> Optional[Response]:
    """The API's 400 when the machine's platform or Windows 10 version cannot run the action, else None (common-errors.md)."""
    platform = machine["osPlatform"]
    if platform == "Windows10" and platform not in extra_platforms:
        if not windows10_supported(machine["version"], machine["osBuild"], support.windows10_minimum):
            return mde_error(400, "ClientVersionNotSupported", "%s is supported on client version %d and above."
                             % (action_name, support.windows10_minimum[0]))
        return None
    if platform in support.platforms or platform in extra_platforms:
        return None
    return mde_error(400, "OsPlatformNotSupported", "OS Platform %s isn't supported for this action." % platform)


def refusal(machine: dict, kind: ActionKind, scope: Optional[str], unmanaged_isolation_scope: str, unmanaged_device_actions: str,
            extra_platforms=()) -> tuple:
    """(the API's 400 or None, whether the action can never be picked up) for this action on this machine.

    UnManagedDevice contains a device Defender has seen but that is not onboarded (docs/api-fidelity.md), whatever its platform;
    every other action needs the sensor of an onboarded device, except Unisolate, which also releases such a
    containment. The platform and version conditions are those of the action's API page (the action pages (isolate-machine.md, run-av-scan.md, ...)).
    """
    onboarded = machine["onboardingStatus"] == ONBOARDED
    if scope == UNMANAGED_DEVICE:
        if onboarded and unmanaged_isolation_scope == "not_onboarded_only":
            return mde_error(400, "BadRequest", "IsolationType %s is only for devices that are not onboarded; machine %s is onboarded: "
                             "use Full or Selective." % (UNMANAGED_DEVICE, machine["id"])), False
        return None, False
    if not onboarded and kind.type == UNISOLATE:
        return None, False
    if not onboarded and unmanaged_device_actions == "refused":
        return mde_error(400, "BadRequest", "Machine %s is not onboarded (onboardingStatus %s): %s needs an onboarded device."
                         % (machine["id"], machine["onboardingStatus"], kind.type)), False
    return platform_refusal(machine, kind.type, kind.support[scope], extra_platforms), not onboarded


# --------------------------------------------------------------------------------------------- crossed requests

@dataclass
class Delay:
    """Seconds added to an action's Pending and InProgress phases (the lifecycle of defender._timeline)."""
    pending: float = 0.0
    in_progress: float = 0.0


def crossed_delays(variant: str, earlier_picked_up: datetime, earlier_finished: datetime, now: datetime,
                   pending_seconds: float, in_progress_seconds: float) -> tuple:
    """(delay of the earlier in-flight action, delay of the new crossing one) for an accepted crossed request.

    "in_order": the new action waits until the earlier one has finished. "out_of_order" (#5903): the new action
    runs as usual while the earlier one stays where it is (Pending, or InProgress) until a second after the new one
    has finished, so the earlier one's effect is the one that stays.
    """
    if variant == "in_order":
        wait = (earlier_finished - now).total_seconds() - pending_seconds
        return Delay(), Delay(pending=max(0.0, wait))
    new_finished = now + timedelta(seconds=pending_seconds + in_progress_seconds)
    if now < earlier_picked_up:
        return Delay(pending=(new_finished - earlier_picked_up).total_seconds() + 1.0), Delay()
    return Delay(in_progress=max(0.0, (new_finished - earlier_finished).total_seconds() + 1.0)), Delay()


# ----------------------------------------------------------------------------------------- investigation package

PACKAGE_NAME = "WDATP_Investigation_Package.zip"
PACKAGE_PATH = "/safedownload/%s/" + PACKAGE_NAME
PACKAGE_ROUTE_REGEX = r"^/safedownload/(?P<action_id>[^/]+)/" + re.escape(PACKAGE_NAME) + "$"
# The folders of a real package (collect-investigation-package docs, "investigation package contents").
PACKAGE_FOLDERS = ("Autoruns", "Installed programs", "Network connections", "Prefetch files", "Processes",
                   "Scheduled tasks", "Security event log", "Services", "Users and Groups")
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
SAS_VERSION = "2020-08-04"
BLOB_SIGNED_FIELDS = ("sv", "st", "se", "sr", "sp", "sig")


@functools.lru_cache(maxsize=8)     # a resumed or repeated download of a large package is not built again
def package_bytes(action_id: str, size: int) -> bytes:
    """The package of one collection: a zip of exactly ``size`` bytes (when that is more than its headers need),
    the same bytes every time for the same action and size."""
    def build(padding: int) -> bytes:
        stream = io.BytesIO()
        with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
            for folder in PACKAGE_FOLDERS:
                archive.writestr(zipfile.ZipInfo("%s/summary.txt" % folder, ZIP_DATE), "%s of %s\n" % (folder, action_id))
            filler = random.Random(action_id).randbytes(padding)
            archive.writestr(zipfile.ZipInfo("Processes/memory.bin", ZIP_DATE), filler)
        return stream.getvalue()
    overhead = len(build(0))
    return build(max(0, size - overhead))


class PackageLinks:
    """Short-lived, signed download links on the simulator's own host, refused as Azure blob storage refuses them."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def link(self, host: str, action_id: str, now: datetime, lifetime_seconds: float) -> str:
        expiry = _blob_time(now + timedelta(seconds=lifetime_seconds))
        fields = {"sv": SAS_VERSION, "st": _blob_time(now), "se": expiry, "sr": "b", "sp": "r",
                  "sig": self._signature(action_id, expiry)}
        query = "&".join("%s=%s" % (name, quote(value, safe="")) for name, value in fields.items())
        return "https://%s%s?%s" % (host, PACKAGE_PATH % action_id, query)

    def refusal(self, action_id: str, query: dict, now: datetime) -> Optional[Response]:
        """None for a valid link that has not expired, else blob storage's 403 AuthenticationFailed."""
        expiry = query.get("se", "")
        if not hmac.compare_digest(self._signature(action_id, expiry), query.get("sig", "")):
            return blob_authentication_failed(now, "Signature did not match. String to sign used was r\n\n%s" % expiry)
        if _parse_blob_time(expiry) <= now:
            return blob_authentication_failed(now, "Signed expiry time [%s] must be after signed start time [%s]"
                                              % (_http_date(_parse_blob_time(expiry)), _http_date(now)))
        return None

    def _signature(self, action_id: str, expiry: str) -> str:
        digest = hmac.new(self._key, ("%s\n%s" % (action_id, expiry)).encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()


def blob_authentication_failed(now: datetime, detail: str) -> Response:
    """Azure blob storage's answer to an expired or altered SAS link: 403 with an XML error, not JSON."""
    body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to '
            "authenticate the request. Make sure the value of Authorization header is formed correctly including the "
            "signature.\nRequestId:%s\nTime:%s</Message><AuthenticationErrorDetail>%s</AuthenticationErrorDetail></Error>"
            % (uuid.uuid4(), now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", detail))
    return Response(403, body.encode(), {"Content-Type": "application/xml", "x-ms-error-code": "AuthenticationFailed"})


def ranged(payload: bytes, range_header: Optional[str]) -> Response:
    """The package, whole (200) or the byte range a resuming client asks for (206), as blob storage serves it."""
    headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
    found = re.fullmatch(r"bytes=(\d+)-(\d*)", (range_header or "").strip())
    if not found:
        return Response(200, payload, headers)
    start = int(found.group(1))
    end = min(int(found.group(2)) if found.group(2) else len(payload) - 1, len(payload) - 1)
    if start > end:
        return Response(416, b"", {**headers, "Content-Range": "bytes */%d" % len(payload)})
    return Response(206, payload[start:end + 1], {**headers, "Content-Range": "bytes %d-%d/%d" % (start, end, len(payload))})


def _blob_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_blob_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def _http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(timezone.utc), usegmt=True)

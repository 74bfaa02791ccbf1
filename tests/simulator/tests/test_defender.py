"""The simulated Defender API's handlers, called with Request objects (no sockets) the way the server routes them."""

import json
import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from tests.simulator.config import SimulatorConfig
from tests.simulator.defender import DEMO_MALICIOUS_SHA1, DEMO_SIGNED_SHA1, DefenderService
from tests.simulator.http import Request

START = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
APP_ID = "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912"
ROLES = ("Machine.Read.All", "Machine.StopAndQuarantine", "File.Read.All")
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
READ_FORBIDDEN = "The application does not have any of the required application permissions (Machine.Read.All, Machine.ReadWrite.All) to access the resource."
QUARANTINE_FORBIDDEN = "The application does not have any of the required application permissions (Machine.StopAndQuarantine) to access the resource."

ACTION_FIELDS = [
    "@odata.context", "id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName", "creationDateTimeUtc",
    "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc", "errorHResult", "scope", "externalId",
    "requestSource", "relatedFileInfo", "commands", "troubleshootInfo",
]
MACHINE_FIELDS = {
    "id", "computerDnsName", "firstSeen", "lastSeen", "osPlatform", "osVersion", "osProcessor", "version", "lastIpAddress", "lastExternalIpAddress",
    "agentVersion", "osBuild", "healthStatus", "deviceValue", "rbacGroupId", "rbacGroupName", "riskScore", "exposureLevel", "isAadJoined",
    "aadDeviceId", "machineTags", "defenderAvStatus", "onboardingStatus", "osArchitecture", "managedBy", "managedByStatus", "ipAddresses",
    "vmMetadata", "isPotentialDuplication", "mergedIntoMachineId",
}
FILE_FIELDS = {
    "sha1", "sha256", "md5", "globalPrevalence", "globalFirstObserved", "globalLastObserved", "size", "fileType", "isPeFile", "filePublisher",
    "fileProductName", "signer", "issuer", "signerHash", "isValidCertificate", "determinationType", "determinationValue",
}


class FakeClock:
    """Simulated time that moves only when a test says so."""

    def __init__(self):
        self.moment = START

    def now(self):
        return self.moment

    def time(self):
        return self.moment.timestamp()

    def advance(self, seconds):
        self.moment += timedelta(seconds=seconds)


@pytest.fixture(name="clock")
def fixture_clock():
    return FakeClock()


@pytest.fixture(name="config")
def fixture_config():
    return SimulatorConfig()


@pytest.fixture(name="service")
def fixture_service(config, clock):
    return DefenderService(config, clock)


@pytest.fixture(name="machine")
def fixture_machine(service):
    """A supported machine on which SHA1 was observed."""
    return service.add_machine("desktop-1.contoso.local", observed_files=[SHA1])


def call(service, method, path, query=None, body=None, roles=ROLES):
    """Route and call a handler as the server does: path parameters from the route's regex, claims from the token."""
    query = query or {}
    payload = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    for route_method, pattern, _name, handler in service.routes():
        match = re.match(pattern, path, re.IGNORECASE)
        if route_method == method and match:
            request = Request(method, path, query, urlencode(query), {"host": "api.test"}, payload, params=match.groupdict(),
                              claims={"appid": APP_ID, "roles": list(roles), "tid": "tenant"})
            return handler(request)
    raise AssertionError("no route for %s %s" % (method, path))


def quarantine(service, machine_id, sha1=SHA1, comment="incident 42", **options):
    return call(service, "POST", "/api/machines/%s/StopAndQuarantineFile" % machine_id, body={"Comment": comment, "Sha1": sha1}, **options)


def list_actions(service, **query):
    return call(service, "GET", "/api/machineactions", query=query)


def list_machines(service, **query):
    return call(service, "GET", "/api/machines", query=query)


def error_of(response, status):
    assert response.status == status, response.body
    return response.body["error"]["code"], response.body["error"]["message"]


def values(response):
    assert response.status == 200, response.body
    assert "@odata.nextLink" not in response.body
    return response.body["value"]


# ----------------------------------------------------------------------------------------------------------- routes

@pytest.mark.parametrize("method, path, name", [
    ("GET", "/api/machines", "machines.list"),
    ("GET", "/api/machines/abc", "machines.get"),
    ("POST", "/api/machines/abc/StopAndQuarantineFile", "machines.StopAndQuarantineFile"),
    ("GET", "/api/files/abc", "files.get"),
    ("GET", "/api/files/abc/machines", "files.machines"),
    ("GET", "/api/machineactions", "machineactions.list"),
    ("GET", "/api/machineactions/abc", "machineactions.get"),
    ("POST", "/api/machineactions/abc/cancel", "machineactions.cancel"),
    # Each action endpoint is its own route: its own rate-limit bucket (per_route), fault target and log name.
    ("POST", "/api/machines/abc/isolate", "machines.isolate"),
    ("POST", "/api/machines/abc/Unisolate", "machines.unisolate"),
    ("POST", "/api/machines/abc/restrictCodeExecution", "machines.restrictCodeExecution"),
    ("POST", "/api/machines/abc/unrestrictCodeExecution", "machines.unrestrictCodeExecution"),
    ("POST", "/api/machines/abc/runAntiVirusScan", "machines.runAntiVirusScan"),
    ("POST", "/api/machines/abc/collectInvestigationPackage", "machines.collectInvestigationPackage"),
    ("GET", "/api/machineactions/abc/GetPackageUri", "machineactions.getPackageUri"),
])
def test_each_path_matches_exactly_one_route(service, method, path, name):
    matching = [route_name for route_method, pattern, route_name, _handler in service.routes()
                if route_method == method and re.match(pattern, path, re.IGNORECASE)]
    assert matching == [name]


# ------------------------------------------------------------------------------------------------------ permissions

@pytest.mark.parametrize("path", ["/api/machines", "/api/machines/x", "/api/files/%s/machines" % SHA1, "/api/machineactions",
                                  "/api/machineactions/x"])
def test_reads_need_a_machine_read_role(service, machine, path):
    assert error_of(call(service, "GET", path, roles=("Machine.StopAndQuarantine", "File.Read.All")), 403) == ("Forbidden", READ_FORBIDDEN)
    assert call(service, "GET", "/api/machines/%s" % machine["id"], roles=("Machine.ReadWrite.All",)).status == 200


def test_files_get_needs_file_read(service, machine):
    code, message = error_of(call(service, "GET", "/api/files/%s" % SHA1, roles=("Machine.Read.All",)), 403)
    assert (code, message) == ("Forbidden", "The application does not have any of the required application permissions (File.Read.All) to access the resource.")
    assert call(service, "GET", "/api/files/%s" % SHA1, roles=("File.Read.All",)).status == 200


def test_quarantine_needs_the_action_role_and_a_read_role(service, machine):
    # Issue #6055 (stop-and-quarantine-file.md): the permission table reads "one of", but both are needed.
    assert error_of(quarantine(service, machine["id"], roles=("Machine.StopAndQuarantine",)), 403) == ("Forbidden", READ_FORBIDDEN)
    assert error_of(quarantine(service, machine["id"], roles=("Machine.Read.All",)), 403) == ("Forbidden", QUARANTINE_FORBIDDEN)
    assert quarantine(service, machine["id"], roles=("Machine.ReadWrite.All", "Machine.StopAndQuarantine")).status == 201


def test_forbidden_in_the_newer_roles_wording(service, config, machine):
    config.forbidden_format = "roles"
    assert error_of(quarantine(service, machine["id"], roles=("Machine.StopAndQuarantine",)), 403) == (
        "Forbidden", "Missing application roles. API required roles: Machine.Read.All,Machine.ReadWrite.All, application roles: Machine.StopAndQuarantine.")


def test_cancel_needs_the_action_role(service, machine):
    action = quarantine(service, machine["id"]).body
    response = call(service, "POST", "/api/machineactions/%s/cancel" % action["id"], body={"Comment": "x"}, roles=("Machine.Read.All",))
    assert error_of(response, 403) == ("Forbidden", QUARANTINE_FORBIDDEN)
    assert service.get_action(action["id"])["status"] == "Pending"


# --------------------------------------------------------------------------------------------------------- machines

def test_machine_list_has_the_odata_context_and_full_entities(service, machine):
    body = list_machines(service).body
    assert body["@odata.context"] == "https://api.test/api/$metadata#Machines"
    [listed] = body["value"]
    assert set(listed) == MACHINE_FIELDS
    assert listed["id"] == machine["id"] and re.fullmatch("[0-9a-f]{40}", listed["id"])
    assert (listed["onboardingStatus"], listed["healthStatus"], listed["osPlatform"]) == ("Onboarded", "Active", "Windows11")
    assert TIMESTAMP.fullmatch(listed["lastSeen"]) and TIMESTAMP.fullmatch(listed["firstSeen"])


def test_superseded_entries_say_so_unless_the_switch_hides_the_fields(service, config):
    service.add_machine("ws-01.contoso.local", machine_id="a" * 40)
    service.add_machine("ws-01.contoso.local", machine_id="b" * 40, potential_duplicate=True, merged_into="a" * 40)

    listed = {entity["id"]: entity for entity in list_machines(service).body["value"]}
    assert (listed["b" * 40]["isPotentialDuplication"], listed["b" * 40]["mergedIntoMachineId"]) == (True, "a" * 40)
    assert (listed["a" * 40]["isPotentialDuplication"], listed["a" * 40]["mergedIntoMachineId"]) == (False, None)

    config.machine_duplicate_fields = False
    assert all(set(entity) == MACHINE_FIELDS - {"isPotentialDuplication", "mergedIntoMachineId"}
               for entity in list_machines(service).body["value"])


@pytest.fixture(name="fleet")
def fixture_fleet(service, clock):
    service.add_machine("ws-a.contoso.local", machine_id="a" * 40, risk_score="High", tags=("finance", "vip"), rbac_group_id=140,
                        last_seen=clock.now() - timedelta(days=10))
    service.add_machine("ws-b.contoso.local", machine_id="b" * 40, health_status="Inactive", os_platform="Windows10", tags=("finance",))
    service.add_machine("srv-c.contoso.local", machine_id="c" * 40, os_platform="WindowsServer2019", exposure_level="High")


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize("odata_filter, expected", [
    ("computerDnsName eq 'ws-b.contoso.local'", ["b"]),
    ("startswith(computerDnsName,'ws-')", ["a", "b"]),
    ("riskScore eq 'High'", ["a"]),
    ("healthStatus ne 'Active'", ["b"]),
    ("lastSeen gt 2026-02-25Z", ["b", "c"]),
    ("machineTags/any(tag: tag eq 'finance')", ["a", "b"]),
    ("osPlatform in ('Windows10', 'WindowsServer2019')", ["b", "c"]),
    ("rbacGroupId eq 140", ["a"]),
    ("id eq '%s' or exposureLevel eq 'High'" % ("a" * 40), ["a", "c"]),
    ("onboardingStatus eq 'Onboarded' and version eq '1809'", ["c"]),
    ("computerDnsName eq 'nothing'", []),
])
def test_machine_filters(service, odata_filter, expected):
    assert [machine["id"][0] for machine in values(list_machines(service, **{"$filter": odata_filter}))] == expected


@pytest.mark.usefixtures("fleet")
def test_an_escaped_injection_in_a_machine_name_matches_nothing(service):
    name = "x' or id ne 'y"
    assert values(list_machines(service, **{"$filter": "computerDnsName eq '%s'" % name.replace("'", "''")})) == []
    assert len(values(list_machines(service, **{"$filter": "computerDnsName eq '%s'" % name}))) == 3


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize("query, message", [
    ({"$filter": "osBuild gt 1"}, "The property 'osBuild' cannot be used in the $filter query option."),
    ({"$filter": "owner eq 'x'"}, "Could not find a property named 'owner' on type 'Machine'."),
    ({"$top": "10001"}, "The limit of '10000' for Top query has been exceeded. The value from the incoming request is '10001'."),
])
def test_invalid_machine_queries_get_odata_errors(service, query, message):
    response = list_machines(service, **query)
    assert response.status == 400
    assert response.body == {"error": {"code": "", "message": "The query specified in the URI is not valid. " + message, "details": []}}


@pytest.mark.usefixtures("fleet")
def test_machine_paging_with_top_and_skip(service):
    pages = [values(list_machines(service, **{"$top": "2", "$skip": str(skip)})) for skip in (0, 2, 4)]
    assert [len(page) for page in pages] == [2, 1, 0]
    assert sorted(machine["id"][0] for page in pages for machine in page) == ["a", "b", "c"]


def test_no_machines_at_all_is_404_as_documented(service, config):
    assert error_of(list_machines(service), 404)[0] == "NotFound"
    config.machines_empty_404 = False
    assert values(list_machines(service)) == []


def test_machines_beyond_retention_are_gone(service, clock):
    old = service.add_machine("old.contoso.local", last_seen=clock.now() - timedelta(days=181), observed_files=[SHA1])
    recent = service.add_machine("recent.contoso.local", last_seen=clock.now() - timedelta(days=179), observed_files=[SHA1])
    assert [machine["id"] for machine in values(list_machines(service))] == [recent["id"]]
    assert call(service, "GET", "/api/machines/%s" % old["id"]).status == 404
    assert [machine["id"] for machine in values(call(service, "GET", "/api/files/%s/machines" % SHA1))] == [recent["id"]]
    assert error_of(quarantine(service, old["id"]), 404)[1] == "Machine %s was not found" % old["id"]


def test_only_stale_machines_is_also_404(service, clock):
    service.add_machine("old.contoso.local", last_seen=clock.now() - timedelta(days=200))
    assert list_machines(service).status == 404


def test_without_top_a_large_list_has_the_looping_next_link(service):
    service.seed_fleet(10_001)
    first = list_machines(service, **{"$filter": "osPlatform eq 'Windows11'"})
    assert len(first.body["value"]) == 10_000
    # Issue #8316: the link always asks for $skip=10000, so a client that follows it never gets further.
    assert first.body["@odata.nextLink"] == "https://api.test/api/machines?%24filter=osPlatform+eq+%27Windows11%27&$skip=10000"
    second = list_machines(service, **{"$filter": "osPlatform eq 'Windows11'", "$skip": "10000"})
    assert len(values(second)) == 1
    assert "@odata.nextLink" not in list_machines(service, **{"$top": "10000"}).body


def test_get_machine_by_id_or_computer_name(service, clock, machine):
    by_id = call(service, "GET", "/api/machines/%s" % machine["id"])
    assert by_id.status == 200
    assert by_id.body == {"@odata.context": "https://api.test/api/$metadata#Machines/$entity", **machine}
    assert call(service, "GET", "/api/machines/DESKTOP-1.contoso.local").body["id"] == machine["id"]
    # A re-onboarded device has two entries under one name: the most recently seen one answers.
    newer = service.add_machine("desktop-1.contoso.local", last_seen=clock.now() + timedelta(minutes=1))
    assert call(service, "GET", "/api/machines/desktop-1.contoso.local").body["id"] == newer["id"]


def test_unknown_machine_is_resource_not_found(service, machine):
    assert error_of(call(service, "GET", "/api/machines/123123123"), 404) == ("ResourceNotFound", "Machine 123123123 was not found")


# ------------------------------------------------------------------------------------------------------------ files

def test_file_by_sha1_or_sha256(service):
    added = service.add_file(SHA1.upper(), sha256="AB" * 32, signer="Contoso Ltd", file_publisher="Contoso")
    by_sha1 = call(service, "GET", "/api/files/%s" % SHA1)
    assert by_sha1.status == 200
    assert by_sha1.body["@odata.context"] == "https://api.test/api/$metadata#Files/$entity"
    assert set(by_sha1.body) - {"@odata.context"} == FILE_FIELDS
    assert (by_sha1.body["sha1"], by_sha1.body["signer"], by_sha1.body["filePublisher"]) == (SHA1, "Contoso Ltd", "Contoso")
    assert call(service, "GET", "/api/files/%s" % ("ab" * 32)).body == by_sha1.body
    assert added == {key: value for key, value in by_sha1.body.items() if key != "@odata.context"}


def test_microsoft_signed_file_shows_its_signature(service):
    service.add_file(OTHER_SHA1, microsoft_signed=True)
    body = call(service, "GET", "/api/files/%s" % OTHER_SHA1).body
    assert (body["signer"], body["filePublisher"], body["isValidCertificate"]) == ("Microsoft Windows", "Microsoft Corporation", True)


def test_unknown_file_and_bad_hashes(service):
    assert error_of(call(service, "GET", "/api/files/%s" % SHA1), 404)[0] == "ResourceNotFound"
    assert error_of(call(service, "GET", "/api/files/%s" % ("d" * 32)), 400) == ("InvalidHashValue", "Hash value %s is invalid." % ("d" * 32))


def test_file_machines_lists_the_machines_that_observed_it(service, machine):
    service.add_machine("clean.contoso.local")
    other = service.add_machine("also.contoso.local")
    service.add_file(SHA1, observed_on=[other["id"]])
    body = call(service, "GET", "/api/files/%s/machines" % SHA1.upper()).body
    assert body["@odata.context"] == "https://api.test/api/$metadata#Machines"
    assert [listed["id"] for listed in body["value"]] == [machine["id"], other["id"]]
    assert len(values(call(service, "GET", "/api/files/%s/machines" % SHA1, query={"$top": "1"}))) == 1


def test_file_machines_of_an_unknown_file_is_an_empty_set(service, machine):
    assert values(call(service, "GET", "/api/files/%s/machines" % OTHER_SHA1)) == []


@pytest.mark.parametrize("file_id", ["ab" * 32, "d" * 32])
def test_file_machines_takes_only_sha1(service, file_id):
    assert error_of(call(service, "GET", "/api/files/%s/machines" % file_id), 400)[0] == "InvalidHashValue"


# ---------------------------------------------------------------------------------------------- stop and quarantine

def test_quarantine_creates_a_pending_action_with_every_real_field(service, machine):
    response = quarantine(service, machine["id"], sha1=SHA1)
    assert response.status == 201
    action = response.body
    assert list(action) == ACTION_FIELDS
    assert action["@odata.context"] == "https://api.test/api/$metadata#MachineActions/$entity"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", action["id"])
    assert action["creationDateTimeUtc"] == action["lastUpdateDateTimeUtc"] == "2026-03-02T09:00:00.1234560Z"
    assert {key: action[key] for key in ACTION_FIELDS if key not in ("@odata.context", "id", "creationDateTimeUtc", "lastUpdateDateTimeUtc")} == {
        "type": "StopAndQuarantineFile", "title": None, "requestor": APP_ID, "requestorComment": "incident 42", "status": "Pending",
        "machineId": machine["id"], "computerDnsName": "desktop-1.contoso.local", "cancellationRequestor": None, "cancellationComment": None,
        "cancellationDateTimeUtc": None, "errorHResult": 0, "scope": None, "externalId": None, "requestSource": "PublicApi",
        "relatedFileInfo": {"fileIdentifier": SHA1, "fileIdentifierType": "Sha1"}, "commands": [], "troubleshootInfo": None,
    }
    assert service.get_action(action["id"]) == {key: value for key, value in action.items() if key != "@odata.context"}


@pytest.mark.parametrize("body, expected_code", [
    (b"not json", "InvalidRequestBody"),
    (b"", "InvalidRequestBody"),
    (b'["Comment", "Sha1"]', "InvalidRequestBody"),
    ({"Sha1": SHA1}, "MissingRequiredParameter"),
    ({"Comment": "c"}, "MissingRequiredParameter"),
    ({"Comment": "", "Sha1": SHA1}, "MissingRequiredParameter"),
    ({"comment": "c", "Sha1": SHA1}, "InvalidRequestBody"),
    ({"Comment": "c", "sha1": SHA1}, "InvalidRequestBody"),
    ({"Comment": "c", "Sha1": 12}, "InvalidRequestBody"),
    ({"Comment": "c", "Sha1": SHA1[:-1]}, "InvalidHashValue"),
    ({"Comment": "c", "Sha1": "ab" * 32}, "InvalidHashValue"),
    ({"Comment": "c", "Sha1": "g" * 40}, "InvalidHashValue"),
])
def test_quarantine_body_is_validated_case_sensitively(service, machine, body, expected_code):
    response = call(service, "POST", "/api/machines/%s/StopAndQuarantineFile" % machine["id"], body=body)
    assert error_of(response, 400)[0] == expected_code
    assert service.actions() == []


def test_messages_name_the_missing_parameter_and_the_bad_hash(service, machine):
    path = "/api/machines/%s/StopAndQuarantineFile" % machine["id"]
    assert error_of(call(service, "POST", path, body={"Sha1": SHA1}), 400)[1] == "Parameter Comment is missing."
    assert error_of(call(service, "POST", path, body={"Comment": "c", "Sha1": "abc"}), 400)[1] == "Hash value abc is invalid."


def test_quarantine_on_an_unknown_machine(service, machine):
    assert error_of(quarantine(service, "f" * 40), 404) == ("ResourceNotFound", "Machine %s was not found" % ("f" * 40))


@pytest.mark.parametrize("platform, version, os_build, expected", [
    ("Windows11", None, None, None),
    ("Windows10", "1703", None, None),
    ("Windows10", "22H2", None, None),
    ("Windows10", "", 15063, None),
    ("WindowsServer2012R2", None, None, None),
    ("WindowsServer2022", None, None, None),
    ("Windows10", "1607", None, ("ClientVersionNotSupported", "StopAndQuarantineFile is supported on client version 1703 and above.")),
    ("Windows10", "", 14393, ("ClientVersionNotSupported", "StopAndQuarantineFile is supported on client version 1703 and above.")),
    ("macOS", None, None, ("OsPlatformNotSupported", "OS Platform macOS isn't supported for this action.")),
    ("Linux", None, None, ("OsPlatformNotSupported", "OS Platform Linux isn't supported for this action.")),
    ("WindowsServer2012", None, None, ("OsPlatformNotSupported", "OS Platform WindowsServer2012 isn't supported for this action.")),
    ("Windows7", None, None, ("OsPlatformNotSupported", "OS Platform Windows7 isn't supported for this action.")),
])
def test_supported_platforms(service, platform, version, os_build, expected):
    machine = service.add_machine("m.contoso.local", os_platform=platform, version=version, os_build=os_build, observed_files=[SHA1])
    response = quarantine(service, machine["id"])
    if expected is None:
        assert response.status == 201
    else:
        assert error_of(response, 400) == expected


@pytest.mark.parametrize("switch, expected", [("disallowed_operation", (403, "DisallowedOperation")), ("bad_request", (400, "BadRequest"))])
def test_microsoft_signed_files_are_refused(service, config, machine, switch, expected):
    config.signed_file_response = switch
    service.add_file(OTHER_SHA1, microsoft_signed=True, observed_on=[machine["id"]])
    response = quarantine(service, machine["id"], sha1=OTHER_SHA1)
    assert (response.status, response.body["error"]["code"]) == expected
    assert OTHER_SHA1 in response.body["error"]["message"]


@pytest.mark.parametrize("status", [404, 400])
def test_file_not_observed_on_the_machine(service, config, machine, status):
    config.file_not_found_status = status
    service.add_file(OTHER_SHA1, observed_on=[])
    expected = ("ResourceNotFound", "Sha1 %s was not found in machine %s" % (OTHER_SHA1, machine["id"]))
    assert error_of(quarantine(service, machine["id"], sha1=OTHER_SHA1), status) == expected
    never_seen = "1" * 40
    assert error_of(quarantine(service, machine["id"], sha1=never_seen), status)[1] == "Sha1 %s was not found in machine %s" % (never_seen, machine["id"])


# ------------------------------------------------------------------------------------------------------- duplicates

def test_duplicate_default_is_active_request_already_exists(service, machine):
    first = quarantine(service, machine["id"])
    assert first.status == 201
    # Also when the sha1 comes in another case: the file is the same.
    assert error_of(quarantine(service, machine["id"], sha1=SHA1.upper()), 400) == ("ActiveRequestAlreadyExists", "Action is already in progress")
    assert len(service.actions()) == 1


def test_duplicate_already_in_progress(service, config, machine):
    config.duplicate_response = "already_in_progress"
    quarantine(service, machine["id"])
    assert error_of(quarantine(service, machine["id"]), 400) == ("BadRequest", "Action is already in progress")


def test_duplicate_returns_the_existing_action(service, config, clock, machine):
    config.duplicate_response = "return_existing"
    first = quarantine(service, machine["id"]).body
    clock.advance(6)
    again = quarantine(service, machine["id"], comment="again")
    assert again.status == 201
    assert (again.body["id"], again.body["status"], again.body["requestorComment"]) == (first["id"], "InProgress", "incident 42")
    assert len(service.actions()) == 1


def test_mixed_duplicates_alternate(service, config, machine):
    config.duplicate_response = "mixed"
    first = quarantine(service, machine["id"]).body
    answers = [quarantine(service, machine["id"]) for _attempt in range(4)]
    assert [(answer.status, answer.body.get("id") or answer.body["error"]["code"]) for answer in answers] == [
        (400, "ActiveRequestAlreadyExists"), (201, first["id"]), (400, "ActiveRequestAlreadyExists"), (201, first["id"])]


def test_create_new_has_no_duplicate_detection(service, config, machine):
    config.duplicate_response = "create_new"
    ids = {quarantine(service, machine["id"]).body["id"] for _attempt in range(3)}
    assert len(ids) == 3


def test_a_seeded_in_flight_action_counts_as_duplicate(service, machine):
    service.add_machine_action(machine["id"], SHA1.upper(), status="InProgress")
    assert error_of(quarantine(service, machine["id"]), 400)[0] == "ActiveRequestAlreadyExists"


def test_another_file_or_machine_is_not_a_duplicate(service, machine):
    other = service.add_machine("desktop-2.contoso.local", observed_files=[SHA1])
    service.add_file(OTHER_SHA1, observed_on=[machine["id"]])
    assert [quarantine(service, machine["id"]).status, quarantine(service, other["id"]).status,
            quarantine(service, machine["id"], sha1=OTHER_SHA1).status] == [201, 201, 201]


def test_after_a_failure_a_new_action_is_created(service, clock):
    machine = service.add_machine("flaky.contoso.local", observed_files=[SHA1], quarantine_outcome="Failed")
    first = quarantine(service, machine["id"]).body
    clock.advance(15)
    second = quarantine(service, machine["id"])
    assert second.status == 201 and second.body["id"] != first["id"]


@pytest.mark.parametrize("switch, expected_status", [("create", 201), ("file_not_found", 404)])
def test_resubmit_after_success(service, config, clock, machine, switch, expected_status):
    config.resubmit_after_success = switch
    quarantine(service, machine["id"])
    clock.advance(15)
    response = quarantine(service, machine["id"])
    assert response.status == expected_status
    if expected_status == 404:
        assert response.body["error"]["message"] == "Sha1 %s was not found in machine %s" % (SHA1, machine["id"])


def test_concurrent_duplicates_create_exactly_one_action(service, machine):
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(quarantine(service, machine["id"]).status)) for _thread in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [400] * 15
    assert len(service.actions()) == 1


# ----------------------------------------------------------------------------------------- answer format switches

@pytest.mark.parametrize("case, expected", [("lower", SHA1), ("upper", SHA1.upper()), ("as_sent", SHA1[:20].upper() + SHA1[20:])])
def test_file_identifier_case(service, config, machine, case, expected):
    config.file_identifier_case = case
    created = quarantine(service, machine["id"], sha1=SHA1[:20].upper() + SHA1[20:]).body
    assert created["relatedFileInfo"]["fileIdentifier"] == expected
    assert values(list_actions(service))[0]["relatedFileInfo"]["fileIdentifier"] == expected


@pytest.mark.parametrize("field, present", [
    ("lastUpdateDateTimeUtc", ["lastUpdateDateTimeUtc"]),
    ("lastUpdateTimeUtc", ["lastUpdateTimeUtc"]),
    ("both", ["lastUpdateDateTimeUtc", "lastUpdateTimeUtc"]),
])
def test_last_update_field(service, config, machine, field, present):
    config.last_update_field = field
    created = quarantine(service, machine["id"]).body
    assert [name for name in created if name.startswith("lastUpdate")] == present
    listed = values(list_actions(service))[0]
    assert [name for name in listed if name.startswith("lastUpdate")] == present


def test_an_unknown_switch_value_is_an_error_not_a_default(service, config, machine):
    config.duplicate_response = "typo"
    quarantine(service, machine["id"])
    with pytest.raises(ValueError, match="duplicate_response"):
        quarantine(service, machine["id"])


# -------------------------------------------------------------------------------------------------------- lifecycle

def test_lifecycle_follows_the_clock(service, config, clock, machine):
    config.pending_seconds, config.in_progress_seconds = 5, 10
    action_id = quarantine(service, machine["id"]).body["id"]
    seen = []
    for step in (4.9, 0.1, 9.9, 0.1, 3600):
        clock.advance(step)
        action = service.get_action(action_id)
        seen.append((action["status"], action["lastUpdateDateTimeUtc"]))
    assert seen == [
        ("Pending", "2026-03-02T09:00:00.1234560Z"),
        ("InProgress", "2026-03-02T09:00:05.1234560Z"),
        ("InProgress", "2026-03-02T09:00:05.1234560Z"),
        ("Succeeded", "2026-03-02T09:00:15.1234560Z"),
        ("Succeeded", "2026-03-02T09:00:15.1234560Z"),
    ]
    assert call(service, "GET", "/api/machineactions/%s" % action_id).body["status"] == "Succeeded"


@pytest.mark.parametrize("outcome, status, hresult_nonzero", [
    ("Failed", "Failed", True), ("TimeOut", "TimeOut", False), ("Pending", "Pending", False), ("Succeeded", "Succeeded", False)])
def test_machine_outcomes(service, clock, outcome, status, hresult_nonzero):
    machine = service.add_machine("m.contoso.local", observed_files=[SHA1], quarantine_outcome=outcome)
    action_id = quarantine(service, machine["id"]).body["id"]
    clock.advance(86400)
    action = service.get_action(action_id)
    assert action["status"] == status
    assert (action["errorHResult"] != 0) is hresult_nonzero


def test_seeded_actions_keep_their_status(service, clock, machine):
    seeded = service.add_machine_action(machine["id"], SHA1, status="Pending", created=clock.now() - timedelta(days=2))
    clock.advance(3600)
    assert service.get_action(seeded["id"])["status"] == "Pending"
    assert seeded["requestor"] == "analyst@contoso.com" and seeded["requestorComment"] == "seeded"


# ------------------------------------------------------------------------------------------------- machine actions

@pytest.fixture(name="history")
def fixture_history(service, clock):
    """Actions on two machines, created a minute apart, oldest first."""
    first = service.add_machine("one.contoso.local", machine_id="1" * 40, observed_files=[SHA1])
    second = service.add_machine("two.contoso.local", machine_id="2" * 40, observed_files=[SHA1])
    seeded = [
        service.add_machine_action(first["id"], SHA1, status="Succeeded", created=clock.now() - timedelta(minutes=3)),
        service.add_machine_action(first["id"], None, status="Failed", created=clock.now() - timedelta(minutes=2), action_type="Isolate",
                                   requestor="soc@contoso.com"),
        service.add_machine_action(second["id"], SHA1, status="Cancelled", created=clock.now() - timedelta(minutes=1)),
    ]
    return seeded + [quarantine(service, second["id"]).body]


@pytest.mark.parametrize("odata_filter, expected", [
    ("status eq 'Pending'", [3]),
    ("machineId eq '%s'" % ("1" * 40), [1, 0]),
    ("MachineId eq '%s' and type eq 'StopAndQuarantineFile'" % ("1" * 40), [0]),
    ("requestor eq 'soc@contoso.com'", [1]),
    ("creationDateTimeUtc ge 2026-03-02T08:58:00.1234560Z", [3, 2, 1]),
    ("status in ('Failed', 'Cancelled')", [2, 1]),
])
def test_action_filters(service, history, odata_filter, expected):
    assert [action["id"] for action in values(list_actions(service, **{"$filter": odata_filter}))] == [history[index]["id"] for index in expected]


def test_action_filter_by_id(service, history):
    assert [action["id"] for action in values(list_actions(service, **{"$filter": "id eq '%s'" % history[1]["id"]}))] == [history[1]["id"]]


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("odata_filter, message", [
    ("relatedFileInfo/fileIdentifier eq '%s'" % SHA1, "The property 'relatedFileInfo' cannot be used in the $filter query option."),
    ("computerDnsName eq 'one.contoso.local'", "The property 'computerDnsName' cannot be used in the $filter query option."),
    ("lastUpdateDateTimeUtc gt 2026-01-01Z", "The property 'lastUpdateDateTimeUtc' cannot be used in the $filter query option."),
    ("sha1 eq '%s'" % SHA1, "Could not find a property named 'sha1' on type 'MachineAction'."),
])
def test_unfilterable_action_properties(service, odata_filter, message):
    response = list_actions(service, **{"$filter": odata_filter})
    assert response.body == {"error": {"code": "", "message": "The query specified in the URI is not valid. " + message, "details": []}}


def test_action_list_order(service, config, history):
    assert [action["id"] for action in values(list_actions(service))] == [action["id"] for action in reversed(history)]
    config.list_order = "oldest_first"
    assert [action["id"] for action in values(list_actions(service))] == [action["id"] for action in history]
    assert list_actions(service).body["@odata.context"] == "https://api.test/api/$metadata#MachineActions"


def test_action_paging_and_limits(service, history):
    pages = [values(list_actions(service, **{"$top": "3", "$skip": str(skip)})) for skip in (0, 3)]
    assert [action["id"] for page in pages for action in page] == [action["id"] for action in reversed(history)]
    assert error_of(list_actions(service, **{"$top": "10001"}), 400)[0] == ""
    assert error_of(list_actions(service, **{"$stop": "2"}), 400)[1] == (
        "The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is not supported.")


def test_action_list_pages_at_ten_thousand_with_a_next_link(service, clock, machine):
    created = clock.now() - timedelta(days=1)
    for _action in range(10_001):
        service.add_machine_action(machine["id"], SHA1, status="Succeeded", created=created)
    first = list_actions(service)
    assert len(first.body["value"]) == 10_000
    assert first.body["@odata.nextLink"] == "https://api.test/api/machineactions?$skip=10000"
    assert len(values(list_actions(service, **{"$skip": "10000"}))) == 1


def test_new_actions_are_listed_after_the_lag_but_readable_at_once(service, config, clock, machine):
    config.list_lag_seconds = 30
    action_id = quarantine(service, machine["id"]).body["id"]
    assert values(list_actions(service)) == []
    assert call(service, "GET", "/api/machineactions/%s" % action_id).status == 200
    clock.advance(29.9)
    assert values(list_actions(service)) == []
    clock.advance(0.1)
    assert [action["id"] for action in values(list_actions(service))] == [action_id]


def test_get_machine_action(service, machine):
    action = quarantine(service, machine["id"]).body
    response = call(service, "GET", "/api/machineactions/%s" % action["id"])
    assert (response.status, response.body) == (200, action)
    assert error_of(call(service, "GET", "/api/machineactions/%s" % ("0" * 8)), 404) == ("ResourceNotFound", "Machine action 00000000 was not found")


# ----------------------------------------------------------------------------------------------------------- cancel

def cancel(service, action_id, body=None):
    return call(service, "POST", "/api/machineactions/%s/cancel" % action_id, body=body)


@pytest.mark.parametrize("wait, was", [(0, "Pending"), (6, "InProgress")])
def test_cancel_an_action_in_flight(service, clock, machine, wait, was):
    action_id = quarantine(service, machine["id"]).body["id"]
    clock.advance(wait)
    assert service.get_action(action_id)["status"] == was
    response = cancel(service, action_id, {"Comment": "false positive"})
    assert response.status == 200
    assert response.body["@odata.context"] == "https://api.test/api/$metadata#MachineActions/$entity"
    cancelled_at = "2026-03-02T09:00:%02d.1234560Z" % wait
    expected = {"status": "Cancelled", "cancellationRequestor": APP_ID, "cancellationComment": "false positive",
                "cancellationDateTimeUtc": cancelled_at, "lastUpdateDateTimeUtc": cancelled_at}
    assert {key: response.body[key] for key in expected} == expected
    clock.advance(3600)
    assert service.get_action(action_id)["status"] == "Cancelled"


def test_cancel_comment_is_optional(service, machine):
    action_id = quarantine(service, machine["id"]).body["id"]
    response = cancel(service, action_id)
    assert (response.status, response.body["status"], response.body["cancellationComment"]) == (200, "Cancelled", None)


def test_cancel_with_a_broken_body(service, machine):
    action_id = quarantine(service, machine["id"]).body["id"]
    assert error_of(cancel(service, action_id, b"{"), 400)[0] == "InvalidRequestBody"
    assert service.get_action(action_id)["status"] == "Pending"


def test_cancel_unknown_action(service):
    assert error_of(cancel(service, "5ce3d4de-3a32-4bcd-9a7b-5c6e7f8a9b0c"), 404)[0] == "ResourceNotFound"


def test_cancel_ignored_answers_200_and_changes_nothing(service, config, clock, machine):
    config.cancel_effect = "ignored"
    action_id = quarantine(service, machine["id"]).body["id"]
    response = cancel(service, action_id, {"Comment": "stop"})
    assert (response.status, response.body["status"], response.body["cancellationRequestor"]) == (200, "Pending", None)
    clock.advance(15)
    assert service.get_action(action_id)["status"] == "Succeeded"


def test_cancel_a_final_action_is_refused_by_default(service, clock, machine):
    action_id = quarantine(service, machine["id"]).body["id"]
    clock.advance(15)
    code, message = error_of(cancel(service, action_id, {"Comment": "late"}), 400)
    assert code == "BadRequest" and "can't be cancelled since it is in final state" in message
    assert service.get_action(action_id)["status"] == "Succeeded"


def test_cancel_a_final_action_with_200(service, config, machine):
    config.cancel_final_response = 200
    seeded = service.add_machine_action(machine["id"], SHA1, status="Failed")
    response = cancel(service, seeded["id"], {"Comment": "late"})
    assert (response.status, response.body["status"], response.body["cancellationComment"]) == (200, "Failed", None)


def test_a_cancelled_action_no_longer_blocks_a_new_one(service, machine):
    cancel(service, quarantine(service, machine["id"]).body["id"])
    assert quarantine(service, machine["id"]).status == 201


# ---------------------------------------------------------------------------------------------------- data helpers

def test_add_machine_validates_and_returns_a_copy(service):
    machine = service.add_machine("x.contoso.local", tags=("a",))
    machine["machineTags"].append("changed")
    assert service.machines()[0]["machineTags"] == ["a"]
    with pytest.raises(ValueError):
        service.add_machine("y.contoso.local", machine_id=machine["id"])
    with pytest.raises(ValueError):
        service.add_machine("z.contoso.local", quarantine_outcome="Done")


def test_add_machine_action_validates(service, machine):
    with pytest.raises(ValueError):
        service.add_machine_action("9" * 40, SHA1)
    with pytest.raises(ValueError):
        service.add_machine_action(machine["id"], SHA1, status="Canceled")


def test_observing_an_unknown_file_creates_it(service, machine):
    assert call(service, "GET", "/api/files/%s" % SHA1).body["sha1"] == SHA1


def test_reset_drops_everything(service, machine):
    quarantine(service, machine["id"])
    service.reset()
    assert (service.machines(), service.actions()) == ([], [])
    assert call(service, "GET", "/api/files/%s" % SHA1).status == 404


def test_seed_fleet_of_ten_thousand(service):
    # How fast seeding is matters to the benchmarks, which measure it; here only what it builds is checked.
    fleet = service.seed_fleet(10_000, observed_sha1=SHA1)
    assert fleet[0]["computerDnsName"] == "ws-00001.contoso.local" and fleet[-1]["computerDnsName"] == "ws-10000.contoso.local"
    assert len({machine["id"] for machine in fleet}) == 10_000
    assert len(values(call(service, "GET", "/api/files/%s/machines" % SHA1))) == 10_000


def test_seed_demo(service, clock):
    demo = service.seed_demo()
    assert (demo["malicious_sha1"], demo["signed_sha1"]) == (DEMO_MALICIOUS_SHA1, DEMO_SIGNED_SHA1)
    by_name = {machine["computerDnsName"].split(".")[0]: machine["id"] for machine in demo["machines"]}
    assert quarantine(service, by_name["ws-0042"], sha1=DEMO_MALICIOUS_SHA1).status == 201
    assert error_of(quarantine(service, by_name["ws-0042"], sha1=DEMO_SIGNED_SHA1), 403)[0] == "DisallowedOperation"
    # The documented examples name these: the hash, the finance workstations, a machine by its device ID.
    assert DEMO_MALICIOUS_SHA1 == "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
    assert by_name["ws-0099"] == "4f9c2d6e8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d"
    finance = values(call(service, "GET", "/api/machines", query={"$filter": "machineTags/any(tag: tag eq 'finance')"}))
    assert sorted(machine["computerDnsName"] for machine in finance) == ["ws-0042.contoso.local", "ws-0043.contoso.local"]
    observers = values(call(service, "GET", "/api/files/%s/machines" % DEMO_MALICIOUS_SHA1))
    assert "mac-01.contoso.local" not in {machine["computerDnsName"] for machine in observers} and len(observers) == 6
    assert error_of(quarantine(service, by_name["mac-01"], sha1=DEMO_MALICIOUS_SHA1), 400)[0] == "OsPlatformNotSupported"
    assert error_of(quarantine(service, by_name["desktop-legacy"], sha1=DEMO_MALICIOUS_SHA1), 400)[0] == "ClientVersionNotSupported"
    offline = quarantine(service, by_name["laptop-07"], sha1=DEMO_MALICIOUS_SHA1).body["id"]
    clock.advance(86400)
    assert service.get_action(offline)["status"] == "Pending"


def test_timestamps_may_be_given_as_iso_text(service, clock):
    # The admin API hands over JSON, where a timestamp is text.
    machine = service.add_machine("t.contoso.local", last_seen="2026-03-01T08:00:00Z", first_seen="2025-12-01T00:00:00Z")
    assert (machine["lastSeen"], machine["firstSeen"]) == ("2026-03-01T08:00:00.0000000Z", "2025-12-01T00:00:00.0000000Z")
    seeded = service.add_machine_action(machine["id"], SHA1, created="2026-03-02T08:00:00.1234567Z")
    assert seeded["creationDateTimeUtc"] == "2026-03-02T08:00:00.1234560Z"
    naive = service.add_machine_action(machine["id"], SHA1, created=datetime(2026, 3, 2, 7, 0))
    assert naive["creationDateTimeUtc"] == "2026-03-02T07:00:00.0000000Z"
    assert clock.now() - timedelta(days=1) < datetime.fromisoformat(seeded["creationDateTimeUtc"]) < clock.now()

"""The machine actions through the real HTTPS server: tokens from msal, per-API rate limits, the request log, the
admin API, and the investigation package's link and download (whole, resumed, broken midway, expired)."""

import hashlib
import io
import json
import urllib.request
import zipfile

import msal
import pytest
import requests

from tests.simulator.config import TENANT_ID, AppRegistration
from tests.simulator.machine_actions import PACKAGE_FOLDERS
from tests.simulator.ratelimit import RateLimiter
from tests.simulator.tests.test_ratelimit import accept

RESPONDER = AppRegistration("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", secret="responder~secret.value",
                            roles=("Machine.Read.All", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.CollectForensics"))
SCANNER = AppRegistration("7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e", secret="scanner~secret.value", roles=("Machine.Read.All", "Machine.Scan"))


def msal_token(simulator, session, app):
    client = msal.ConfidentialClientApplication(app.client_id, client_credential=app.secret,
                                                authority="%s/%s" % (simulator.base_url, TENANT_ID),
                                                instance_discovery=False, azure_region=False, http_client=session)
    return client.acquire_token_for_client(["https://api.securitycenter.microsoft.com/.default"])["access_token"]


@pytest.fixture(name="responder")
def fixture_responder(simulator, session):
    """A session with the token of an app that has every machine-action permission."""
    simulator.register_app(RESPONDER)
    session.headers["Authorization"] = "Bearer " + msal_token(simulator, session, RESPONDER)
    return session


@pytest.fixture(name="machine")
def fixture_machine(simulator):
    return simulator.add_machine("desktop-1.contoso.local")


def post(simulator, session, machine_id, path, **body):
    return session.post(simulator.base_url + "/api/machines/%s/%s" % (machine_id, path), json={"Comment": "incident 9", **body})


def test_the_token_decides_which_actions_an_app_may_take(simulator, session, machine):
    simulator.register_app(SCANNER)
    session.headers["Authorization"] = "Bearer " + msal_token(simulator, session, SCANNER)
    assert post(simulator, session, machine["id"], "runAntiVirusScan", ScanType="Full").status_code == 201
    refused = post(simulator, session, machine["id"], "isolate", IsolationType="Full")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == ("The application does not have any of the required application permissions "
                                                  "(Machine.Isolate) to access the resource.")
    simulator.configure(forbidden_format="roles")
    refused = post(simulator, session, machine["id"], "collectInvestigationPackage")
    assert refused.json()["error"]["message"] == ("Missing application roles. API required roles: Machine.CollectForensics, "
                                                  "application roles: Machine.Read.All,Machine.Scan.")
    # Every call is in the log with its route, body and app; only the scan was written.
    logged = [(entry["route"], entry["status"], entry["body"], entry["appid"]) for entry in simulator.log_for(method="POST")
              if entry["route"].startswith("machines.")]
    assert logged == [
        ("machines.runAntiVirusScan", 201, {"Comment": "incident 9", "ScanType": "Full"}, SCANNER.client_id),
        ("machines.isolate", 403, {"Comment": "incident 9", "IsolationType": "Full"}, SCANNER.client_id),
        ("machines.collectInvestigationPackage", 403, {"Comment": "incident 9"}, SCANNER.client_id),
    ]
    assert [action["type"] for action in simulator.actions()] == ["RunAntiVirusScan"]


def test_each_api_has_its_own_rate_limits(simulator, responder):
    simulator.configure(rate_limit_per_minute=3)
    machines = [simulator.add_machine("ws-%d.contoso.local" % index)["id"] for index in range(4)]
    isolations = [post(simulator, responder, machine_id, "isolate").status_code for machine_id in machines]
    scans = [post(simulator, responder, machine_id, "runAntiVirusScan", ScanType="Quick").status_code for machine_id in machines]
    assert isolations == scans == [201, 201, 201, 429]
    listed = responder.get(simulator.base_url + "/api/machineactions")
    assert listed.status_code == 200 and len(listed.json()["value"]) == 6
    simulator.clock.advance(61)
    assert post(simulator, responder, machines[3], "isolate").status_code == 201


def test_the_documented_limits_apply_to_every_action_api_separately(simulator):
    limiter = RateLimiter(simulator.config, simulator.clock)
    simulator.configure(clock_speed=1e-6)            # practically stopped: only advance() moves it
    for route in ("machines.isolate", "machines.runAntiVirusScan", "machines.StopAndQuarantineFile"):
        accept(limiter, limiter.key("app", route), 100)
        assert limiter.check(limiter.key("app", route)) is not None
    for _hour in range(14):                          # 15 full minutes make 1,500 calls: the hour's budget
        simulator.clock.advance(61)
        accept(limiter, limiter.key("app", "machines.isolate"), 100)
    simulator.clock.advance(61)
    assert limiter.check(limiter.key("app", "machines.isolate")) > 60
    assert limiter.check(limiter.key("app", "machines.unisolate")) is None


def test_the_package_link_has_limits_of_its_own(simulator, responder, machine):
    # get-package-sas-uri.md: 2 calls a minute and 120 an hour, whatever the API's general limits.
    collection = simulator.add_machine_action(machine["id"], action_type="CollectInvestigationPackage", status="Succeeded")
    url = simulator.base_url + "/api/machineactions/%s/getPackageUri" % collection["id"]
    assert [responder.get(url).status_code for _call in range(3)] == [200, 200, 429]
    # The hour's own budget, seen with the minute limits lifted: the 121st call waits for the first to leave the hour.
    simulator.configure(clock_speed=1e-6, rate_limit_per_minute=1000, route_rate_limits_per_minute={"machineactions.getPackageUri": 1000})
    limiter = RateLimiter(simulator.config, simulator.clock)
    route = "machineactions.getPackageUri"
    assert [limiter.check(limiter.key("app", route), route) for _call in range(120)] == [None] * 120
    assert limiter.check(limiter.key("app", route), route) == 3600


@pytest.fixture(name="package")
def fixture_package(simulator, responder, machine):
    """A succeeded collection: (its id, its link, fetched now)."""
    simulator.configure(investigation_package_bytes=100_000)
    collection = post(simulator, responder, machine["id"], "collectInvestigationPackage").json()
    simulator.clock.advance(60)
    link = responder.get(simulator.base_url + "/api/machineactions/%s/getPackageUri" % collection["id"]).json()["value"]
    return collection["id"], link


def download(simulator, link, **headers):
    with requests.Session() as plain:       # the link carries its own signature: no bearer token
        plain.verify, plain.trust_env = str(simulator.ca_path), False
        return plain.get(link, headers=headers)


def test_the_package_downloads_from_the_simulators_host_as_a_zip(simulator, package):
    action_id, link = package
    assert link.startswith(simulator.base_url + "/safedownload/%s/" % action_id)
    first = download(simulator, link)
    assert (first.status_code, first.headers["Content-Type"], len(first.content)) == (200, "application/octet-stream", 100_000)
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        assert archive.testzip() is None
        assert {name.split("/")[0] for name in archive.namelist()} == set(PACKAGE_FOLDERS)
    again = download(simulator, link)
    assert hashlib.sha256(again.content).hexdigest() == hashlib.sha256(first.content).hexdigest()
    [logged] = simulator.log_for(route="packages.download", method="GET")[:1]
    assert (logged["status"], logged["appid"], logged["params"]) == (200, None, {"action_id": action_id})


def test_a_download_broken_midway_can_be_resumed_or_repeated(simulator, package):
    _action_id, link = package
    simulator.faults.add("packages.download", "break_midway", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        download(simulator, link)
    whole = download(simulator, link).content
    resumed = download(simulator, link, Range="bytes=40000-")
    assert (resumed.status_code, resumed.headers["Content-Range"]) == (206, "bytes 40000-99999/100000")
    assert whole[:40000] + resumed.content == whole
    assert download(simulator, link, Range="bytes=100000-").status_code == 416
    assert [entry["fault"] for entry in simulator.log_for(route="packages.download")] == ["break_midway", None, None, None]


def test_a_download_host_may_ignore_ranges_and_send_the_whole_package(simulator, package):
    _action_id, link = package
    simulator.configure(package_download_ranges="ignored")
    answer = download(simulator, link, Range="bytes=40000-")
    assert (answer.status_code, len(answer.content), "Accept-Ranges" in answer.headers) == (200, 100_000, False)


def test_an_expired_or_altered_link_is_refused_as_blob_storage_refuses_it(simulator, package):
    _action_id, link = package
    simulator.clock.advance(299)
    assert download(simulator, link).status_code == 200
    simulator.clock.advance(2)
    expired = download(simulator, link)
    answer = (expired.status_code, expired.headers["Content-Type"], expired.headers["x-ms-error-code"])
    assert answer == (403, "application/xml", "AuthenticationFailed")
    assert b"<Code>AuthenticationFailed</Code>" in expired.content and b"Signed expiry time [" in expired.content
    altered = link.replace("&sig=", "&sig=x")
    assert b"Signature did not match" in download(simulator, altered).content


def test_the_admin_api_seeds_any_action_type(simulator, responder, machine):
    request = urllib.request.Request(simulator.admin_url + "/machine-actions", method="POST", data=json.dumps({
        "machine_id": machine["id"], "action_type": "Isolate", "scope": "Selective", "status": "Pending",
        "created": "2026-01-05T10:00:00Z"}).encode())
    with urllib.request.urlopen(request) as answer:
        seeded = json.load(answer)
    assert (seeded["type"], seeded["scope"], seeded["creationDateTimeUtc"]) == ("Isolate", "Selective", "2026-01-05T10:00:00.0000000Z")
    # The seeded isolation is in flight: another is its duplicate, a release crosses it.
    assert post(simulator, responder, machine["id"], "isolate").status_code == 400
    assert post(simulator, responder, machine["id"], "unisolate").status_code == 201
    bad = urllib.request.Request(simulator.admin_url + "/machine-actions", method="POST",
                                 data=json.dumps({"machine_id": machine["id"], "action_type": "Isolate", "scope": "Quick"}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad)
    assert refused.value.code == 400 and "scope of Isolate" in json.load(refused.value)["error"]

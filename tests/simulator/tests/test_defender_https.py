"""The Defender API's wire format through the real HTTPS server, with plain requests and a token from the token service."""

import pytest

from tests.simulator.config import AppRegistration
from tests.support.simulator_http import client_credentials

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


@pytest.fixture(name="machine")
def fixture_machine(simulator):
    return simulator.add_machine("desktop-1.contoso.local", observed_files=[SHA1])


def test_quarantine_then_read_it_back_through_the_list(simulator, api, machine):
    created = api.post(simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"], json={"Comment": "incident 7", "Sha1": SHA1})
    assert created.status_code == 201
    assert created.headers["Content-Type"].startswith("application/json")
    action = created.json()
    assert action["@odata.context"] == simulator.base_url + "/api/$metadata#MachineActions/$entity"
    assert (action["status"], action["requestor"], action["relatedFileInfo"]) == (
        "Pending", simulator.connection["client_id"], {"fileIdentifier": SHA1, "fileIdentifierType": "Sha1"})
    # requests percent-encodes the filter; the versioned base is the same API.
    listed = api.get(simulator.base_url + "/api/v1.0/machineactions",
                     params={"$filter": "machineId eq '%s' and type eq 'StopAndQuarantineFile'" % machine["id"], "$top": "10"})
    assert listed.status_code == 200
    assert [entry["id"] for entry in listed.json()["value"]] == [action["id"]]
    assert "@odata.nextLink" not in listed.json()


def test_plus_signs_in_a_hand_written_url_are_spaces(simulator, api, machine):
    # The docs' own sample writes $filter=riskScore+eq+'High'.
    response = api.get(simulator.base_url + "/api/machines?$filter=computerDnsName+eq+'desktop-1.contoso.local'")
    assert [entry["id"] for entry in response.json()["value"]] == [machine["id"]]


@pytest.mark.usefixtures("machine")
def test_odata_errors_on_the_wire(simulator, api):
    response = api.get(simulator.base_url + "/api/machineactions?$stop=2")
    assert response.status_code == 400
    assert response.json() == {"error": {
        "code": "",
        "message": "The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is not supported.",
        "details": [],
    }}


def test_duplicate_and_not_found_errors_carry_a_correlation_target(simulator, api, machine):
    url = simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"]
    assert api.post(url, json={"Comment": "first", "Sha1": SHA1}).status_code == 201
    duplicate = api.post(url, json={"Comment": "again", "Sha1": SHA1})
    assert duplicate.status_code == 400
    error = duplicate.json()["error"]
    assert (error["code"], error["message"]) == ("ActiveRequestAlreadyExists", "Action is already in progress")
    assert error["target"]
    missing = api.get(simulator.base_url + "/api/machineactions/no-such-action")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")


def test_lifecycle_and_cancel_follow_the_simulated_clock(simulator, api, machine):
    simulator.configure(pending_seconds=5, in_progress_seconds=10)
    first = api.post(simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"], json={"Comment": "c", "Sha1": SHA1}).json()
    simulator.clock.advance(15)
    assert api.get(simulator.base_url + "/api/machineactions/%s" % first["id"]).json()["status"] == "Succeeded"
    second = api.post(simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"], json={"Comment": "c", "Sha1": SHA1}).json()
    cancelled = api.post(simulator.base_url + "/api/machineactions/%s/cancel" % second["id"], json={"Comment": "false positive"})
    assert (cancelled.status_code, cancelled.json()["status"], cancelled.json()["cancellationComment"]) == (200, "Cancelled", "false positive")


def test_roles_come_from_the_token(simulator, session, machine):
    simulator.register_app(AppRegistration("0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9", secret="quarantine-only-secret",
                                           roles=("Machine.StopAndQuarantine",)))
    token = client_credentials(simulator, session, client_id="0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9", secret="quarantine-only-secret")
    response = session.post(simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"], json={"Comment": "c", "Sha1": SHA1},
                            headers={"Authorization": "Bearer " + token.json()["access_token"]})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == ("The application does not have any of the required application permissions "
                                                   "(Machine.Read.All, Machine.ReadWrite.All) to access the resource.")
    assert simulator.actions() == []

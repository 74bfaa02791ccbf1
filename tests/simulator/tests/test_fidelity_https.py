"""Fidelity switches through the real HTTPS server and the admin API: token audiences, and switches set over HTTP."""

import pytest
import requests

from tests.simulator.config import OTHER_KNOWN_AUDIENCES
from tests.support.simulator_http import client_credentials

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
LEGACY = "https://api.securitycenter.microsoft.com"
APP_ID_URI = "https://securitycenter.onmicrosoft.com/windowsatpservice"


def set_switches(simulator, **switches):
    session = requests.Session()
    session.trust_env = False
    response = session.post(simulator.admin_url + "/config", json=switches)
    assert response.status_code == 200, response.text
    return response.json()


def token_for(simulator, session, audience):
    response = client_credentials(simulator, session, scope=audience + "/.default")
    return response.status_code, response.json()


def machines_answer(simulator, session, token):
    return session.get(simulator.base_url + "/api/machines", params={"$top": "1"}, headers={"Authorization": "Bearer " + token})


@pytest.mark.parametrize("audience", [LEGACY, APP_ID_URI])
def test_by_default_both_documented_audiences_reach_the_api(simulator, session, audience):
    simulator.add_machine("desktop-1.contoso.local")
    status, token = token_for(simulator, session, audience)
    assert status == 200
    assert machines_answer(simulator, session, token["access_token"]).status_code == 200


@pytest.mark.parametrize("audience", OTHER_KNOWN_AUDIENCES)
def test_other_audiences_are_a_switch_away(simulator, session, audience):
    status, refusal = token_for(simulator, session, audience)
    assert (status, refusal["error"]) == (400, "invalid_resource")
    assert refusal["error_description"].startswith("AADSTS500011: The resource principal named %s was not found" % audience)
    set_switches(simulator, audiences=[LEGACY, audience])
    status, token = token_for(simulator, session, audience)
    assert status == 200 and token["token_type"] == "Bearer"


def test_the_api_refuses_a_token_the_token_service_issued_for_another_audience(simulator, session):
    simulator.add_machine("desktop-1.contoso.local")
    config = set_switches(simulator, api_audiences=[APP_ID_URI])
    assert config["api_audiences"] == [APP_ID_URI]
    status, legacy = token_for(simulator, session, LEGACY)
    assert status == 200                      # Entra issues it; the API does not take it (a tenant where one audience fails)
    refused = machines_answer(simulator, session, legacy["access_token"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "Unauthorized")
    assert "wrong audience" in refused.json()["error"]["message"]
    status, accepted = token_for(simulator, session, APP_ID_URI)
    assert machines_answer(simulator, session, accepted["access_token"]).status_code == 200
    assert [entry["status"] for entry in simulator.log_for(route="machines.list")] == [401, 200]


def test_fidelity_switches_are_set_through_the_admin_api(simulator, api):
    machine = simulator.add_machine("desktop-1.contoso.local", observed_files=[SHA1])
    config = set_switches(simulator, duplicate_response_by_type={"StopAndQuarantineFile": "return_existing"}, duplicate_existing_status=200,
                          next_link="always", max_page_size=1, file_absent_response="fail_later", cancel_final_code="InvalidRequest",
                          cancel_after_completion=True, list_order="unordered")
    assert config["duplicate_response_by_type"] == {"StopAndQuarantineFile": "return_existing"}
    url = simulator.base_url + "/api/machines/%s/StopAndQuarantineFile" % machine["id"]
    first = api.post(url, json={"Comment": "one", "Sha1": SHA1})
    again = api.post(url, json={"Comment": "two", "Sha1": SHA1})
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 200, first.json()["id"])
    absent = api.post(url, json={"Comment": "absent", "Sha1": "1" * 40})
    assert absent.status_code == 201
    listed = api.get(simulator.base_url + "/api/machineactions", params={"$orderby": "creationDateTimeUtc desc", "$top": "1"})
    assert listed.json()["value"][0]["id"] == absent.json()["id"]
    assert listed.json()["@odata.nextLink"] == simulator.base_url + "/api/machineactions?%24orderby=creationDateTimeUtc+desc&%24top=1&$skip=1"

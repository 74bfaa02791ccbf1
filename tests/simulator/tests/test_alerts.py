"""The simulated alerts API over HTTPS: entity shape, OData options, evidence, permission, rate limits, admin calls."""

import pytest

from tests.simulator.config import AppRegistration
from tests.support.simulator_http import client_credentials, trusting_session

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
ALERT_FIELDS = [
    "id", "incidentId", "investigationId", "assignedTo", "severity", "status", "classification", "determination",
    "investigationState", "detectionSource", "detectorId", "category", "threatFamilyName", "title", "description",
    "alertCreationTime", "firstEventTime", "lastEventTime", "lastUpdateTime", "resolvedTime", "machineId", "computerDnsName",
    "rbacGroupName", "aadTenantId", "threatName", "mitreTechniques", "relatedUser", "loggedOnUsers", "comments", "evidence",
]


@pytest.fixture(name="machine")
def fixture_machine(simulator):
    return simulator.add_machine("desktop-1.contoso.local")


def alerts(simulator, api, **query):
    response = api.get(simulator.base_url + "/api/alerts", params=query)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_an_alert_lists_with_every_documented_field_and_its_file_evidence(simulator, api, machine):
    raised = simulator.alerts.raise_alert(machine["id"], files=[{"sha1": SHA1.upper(), "fileName": "dropper.exe", "filePath": "C:\\Temp"}])
    [listed] = alerts(simulator, api, **{"$expand": "evidence"})
    assert list(listed) == ALERT_FIELDS
    assert listed["id"] == raised["id"] and listed["machineId"] == machine["id"]
    assert listed["computerDnsName"] == "desktop-1.contoso.local"
    [evidence] = listed["evidence"]
    assert evidence["entityType"] == "File"
    assert (evidence["sha1"], evidence["fileName"], evidence["filePath"]) == (SHA1, "dropper.exe", "C:\\Temp")
    assert len(evidence["sha256"]) == 64


def test_evidence_only_with_expand(simulator, api, machine):
    simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    assert alerts(simulator, api)[0]["evidence"] == []
    assert len(alerts(simulator, api, **{"$expand": "Evidence"})[0]["evidence"]) == 1


def test_a_file_in_an_alert_is_observed_on_the_alerted_machine(simulator, machine):
    simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    # The machine has seen the file, so it can be quarantined there.
    assert [entry["id"] for entry in simulator.defender.machines()] == [machine["id"]]
    assert simulator.defender.observe_file(SHA1, machine["id"])["sha1"] == SHA1


@pytest.mark.parametrize("fields", ["documented", "with_verdict"])
def test_file_and_process_evidence_carry_the_judgement_the_switch_says(simulator, api, machine, fields):
    simulator.configure(alert_evidence_fields=fields)
    simulator.alerts.raise_alert(machine["id"], files=[{"sha1": SHA1, "detectionStatus": None, "verdict": "unknown"}],
                                 processes=[{"sha1": OTHER_SHA1}])
    dropped, process = alerts(simulator, api, **{"$expand": "evidence"})[0]["evidence"]
    assert (dropped["entityType"], dropped["detectionStatus"]) == ("File", None)
    assert (process["entityType"], process["fileName"], process["detectionStatus"]) == ("Process", "powershell.exe", "Detected")
    assert process["filePath"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0" and process["processCommandLine"]
    if fields == "documented":
        assert not {"verdict", "remediationStatus", "fileDetails"} & (set(dropped) | set(process))
    else:
        assert (dropped["verdict"], process["verdict"]) == ("unknown", "suspicious")
        assert process["fileDetails"]["signer"] == "Microsoft Windows" and dropped["fileDetails"]["signer"] is None
    # A process image is on the machine as much as a dropped file: it could be quarantined there.
    assert simulator.defender.observe_file(OTHER_SHA1, machine["id"])["sha1"] == OTHER_SHA1


def test_an_alert_without_a_file_has_user_evidence(simulator, api, machine):
    simulator.alerts.raise_alert(machine["id"], severity="Medium", category="SuspiciousActivity")
    [evidence] = alerts(simulator, api, **{"$expand": "evidence"})[0]["evidence"]
    assert evidence["entityType"] == "User" and evidence["sha1"] is None


def test_filters_on_update_time_severity_status_and_category(simulator, api, machine):
    first = simulator.alerts.raise_alert(machine["id"], files=[SHA1], severity="High")
    simulator.clock.advance(60)
    second = simulator.alerts.raise_alert(machine["id"], files=[OTHER_SHA1], severity="Low", category="SuspiciousActivity")
    since = second["lastUpdateTime"][:19] + "Z"
    assert [alert["id"] for alert in alerts(simulator, api, **{"$filter": "lastUpdateTime ge %s" % since})] == [second["id"]]
    assert [alert["id"] for alert in alerts(simulator, api, **{"$filter": "severity eq 'High'"})] == [first["id"]]
    assert [alert["id"] for alert in alerts(simulator, api, **{"$filter": "category in ('SuspiciousActivity') and status eq 'New'"})] == [second["id"]]
    assert [alert["id"] for alert in alerts(simulator, api, **{"$filter": "alertCreationTime lt %s" % since})] == [first["id"]]


def test_an_update_moves_last_update_time_and_nothing_else_it_was_not_asked_to(simulator, api, machine):
    raised = simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    simulator.clock.advance(30)
    updated = simulator.alerts.update_alert(raised["id"], status="InProgress")
    assert updated["lastUpdateTime"] > raised["lastUpdateTime"]
    assert updated["alertCreationTime"] == raised["alertCreationTime"]
    [listed] = alerts(simulator, api)
    assert (listed["status"], listed["lastUpdateTime"]) == ("InProgress", updated["lastUpdateTime"])
    with pytest.raises(ValueError, match="may change only"):
        simulator.alerts.update_alert(raised["id"], machineId="other")


def test_orderby_top_and_skip(simulator, api, machine):
    raised = []
    for _alert in range(3):
        raised.append(simulator.alerts.raise_alert(machine["id"]))
        simulator.clock.advance(1)
    simulator.clock.advance(1)
    simulator.alerts.update_alert(raised[0]["id"])
    ascending = [alert["id"] for alert in alerts(simulator, api, **{"$orderby": "lastUpdateTime asc"})]
    assert ascending == [raised[1]["id"], raised[2]["id"], raised[0]["id"]]
    assert [alert["id"] for alert in alerts(simulator, api, **{"$orderby": "lastUpdateTime desc", "$top": "1", "$skip": "1"})] == [raised[2]["id"]]
    # Without $orderby: newest first by creation.
    assert [alert["id"] for alert in alerts(simulator, api)] == [raised[2]["id"], raised[1]["id"], raised[0]["id"]]


@pytest.mark.parametrize("query, message", [
    ({"$expand": "machine"}, "Could not find a property named 'machine'"),
    ({"$orderby": "evidence asc"}, "Could not find a property named 'evidence'"),
    ({"$orderby": "lastUpdateTime upwards"}, "Syntax error at position"),
    ({"$filter": "title eq 'x'"}, "cannot be used in the $filter"),
    ({"$top": "10001"}, "The limit of '10000' for Top query"),
    ({"$select": "id"}, "Query option 'Select' is not allowed"),
])
def test_invalid_queries_get_odata_errors(simulator, api, query, message):
    response = api.get(simulator.base_url + "/api/alerts", params=query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "" and message in error["message"]


def test_alerts_need_alert_read_all(simulator, session, machine):
    simulator.register_app(AppRegistration("0a1b2c3d-0000-4000-8000-000000000001", secret="s3cret~value", roles=("Machine.Read.All",)))
    token = client_credentials(simulator, session, client_id="0a1b2c3d-0000-4000-8000-000000000001", secret="s3cret~value").json()["access_token"]
    response = session.get(simulator.base_url + "/api/alerts", headers={"Authorization": "Bearer " + token})
    assert response.status_code == 403
    assert "Alert.Read.All" in response.json()["error"]["message"]


def test_alerts_are_rate_limited_and_logged_like_every_api(simulator, api, machine):
    simulator.configure(rate_limit_per_minute=2)
    statuses = [api.get(simulator.base_url + "/api/alerts").status_code for _call in range(3)]
    assert statuses == [200, 200, 429]
    assert [entry["status"] for entry in simulator.log_for(route="alerts.list")] == [200, 200, 429]


def test_faults_apply_to_the_alerts_route(simulator, api, machine):
    simulator.faults.add("alerts.list", "html")
    assert api.get(simulator.base_url + "/api/alerts").status_code == 502


def test_admin_api_raises_lists_and_updates_alerts(simulator, machine):
    with trusting_session(simulator) as session:
        raised = session.post(simulator.admin_url + "/alerts", json={"machine_id": machine["id"], "files": [SHA1]}).json()
        updated = session.post(simulator.admin_url + "/alerts/update", json={"alert_id": raised["id"], "status": "Resolved"}).json()
        listed = session.get(simulator.admin_url + "/alerts").json()
        refused = session.post(simulator.admin_url + "/alerts", json={"machine_id": "nope"})
        session.post(simulator.admin_url + "/reset", json={"data": True})
        after_reset = session.get(simulator.admin_url + "/alerts").json()
    assert raised["evidence"][0]["sha1"] == SHA1
    assert updated["status"] == "Resolved" and updated["resolvedTime"] == updated["lastUpdateTime"]
    assert [alert["id"] for alert in listed] == [raised["id"]]
    assert refused.status_code == 400 and "no machine nope" in refused.json()["error"]
    assert after_reset == []


def test_requests_without_a_token_are_refused(simulator):
    with trusting_session(simulator) as session:
        assert session.get(simulator.base_url + "/api/alerts").status_code == 401

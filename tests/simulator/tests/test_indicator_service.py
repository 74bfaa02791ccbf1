"""The simulated indicators API over HTTPS, and the containment a blocking indicator causes on machines."""

import json
import urllib.request
from datetime import timedelta

import pytest

from tests.simulator.config import AppRegistration
from tests.support.simulator_http import client_credentials

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
SHA256 = "2233223322332233223322332233223322332233223322332233223322332222"
MD5 = "0123456789abcdef0123456789abcdef"
TI_FORBIDDEN = "The application does not have any of the required application permissions (Ti.ReadWrite, Ti.ReadWrite.All) to access the resource."
ENTITY_FIELDS = [
    "@odata.context", "id", "indicatorValue", "indicatorType", "action", "application", "source", "sourceType", "createdBy", "createdByDisplayName",
    "createdBySource", "severity", "title", "description", "recommendedActions", "creationTimeDateTimeUtc", "expirationTime", "lastUpdateTime",
    "lastUpdatedBy", "rbacGroupNames", "rbacGroupIds", "generateAlert", "educateUrl",
]


def indicator(value=SHA1, indicator_type="FileSha1", **fields):
    return {"indicatorValue": value, "indicatorType": indicator_type, "action": "BlockAndRemediate", "title": "t", "description": "d", **fields}


@pytest.fixture(name="submit")
def fixture_submit(simulator, api):
    return lambda body: api.post(simulator.base_url + "/api/indicators", json=body)


@pytest.fixture(name="listed")
def fixture_listed(simulator, api):
    def listed(odata_filter=None):
        response = api.get(simulator.base_url + "/api/indicators", params={"$filter": odata_filter} if odata_filter else None)
        assert response.status_code == 200, response.text
        return response.json()["value"]
    return listed


def error_of(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]["code"], response.json()["error"]["message"]


def token_of(simulator, session, roles):
    client_id = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"
    simulator.register_app(AppRegistration(client_id, secret="indicator-test-secret", roles=roles))
    response = client_credentials(simulator, session, client_id=client_id, secret="indicator-test-secret")
    return {"Authorization": "Bearer " + response.json()["access_token"]}


def admin(simulator, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(simulator.admin_url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


# ----------------------------------------------------------------------------------------------- submit and list

def test_submit_creates_then_updates_by_value(simulator, submit, listed):
    created = submit(indicator(application="mde.response", severity="High", rbacGroupNames=["Servers"], recommendedActions="r"))
    assert created.status_code == 200
    entity = created.json()
    assert list(entity) == ENTITY_FIELDS
    assert (entity["sourceType"], entity["createdBy"], entity["application"], entity["rbacGroupNames"], entity["generateAlert"]) == (
        "AadApp", simulator.connection["client_id"], "mde.response", ["Servers"], False)
    updated = submit(indicator(application="another tool", title="new title", action="Block")).json()
    assert (updated["id"], updated["title"], updated["action"]) == (entity["id"], "new title", "Block")
    # application only counts for a new indicator; an update resets the optional fields it leaves out.
    assert (updated["application"], updated["severity"], updated["rbacGroupNames"], updated["recommendedActions"]) == (
        "mde.response", "Informational", [], None)
    assert updated["lastUpdatedBy"] == simulator.connection["client_id"]
    assert [found["id"] for found in listed("indicatorValue eq '%s'" % SHA1)] == [entity["id"]]


@pytest.mark.parametrize("switch, expected", [("ignored", "first"), ("applied", "second")])
def test_an_update_keeps_the_application_unless_told_otherwise(simulator, submit, switch, expected):
    simulator.configure(indicator_update_application=switch)
    submit(indicator(application="first"))
    assert submit(indicator(application="second")).json()["application"] == expected


def test_an_update_can_keep_the_fields_it_leaves_out(simulator, submit):
    simulator.configure(indicator_update_omitted="keep")
    submit(indicator(severity="High"))
    assert submit(indicator(title="again")).json()["severity"] == "High"


@pytest.mark.parametrize("body, code, message", [
    ({"indicatorValue": SHA1, "indicatorType": "FileSha1", "action": "Block", "description": "d"}, "MissingRequiredParameter", "Parameter title is missing."),
    (indicator(SHA256), "InvalidHashValue", "Hash value %s is invalid." % SHA256),
    (indicator(MD5, "FileSha256"), "InvalidHashValue", "Hash value %s is invalid." % MD5),
    (indicator(action="Quarantine"), "InvalidRequestBody", None),
    (indicator(severity="Critical"), "InvalidRequestBody", None),
    (indicator(action="Audit"), "InvalidRequestBody", "generateAlert must be true for an indicator with the action Audit."),
    (indicator(expirationTime="2000-01-01T00:00:00Z"), "InvalidRequestBody", "expirationTime 2000-01-01T00:00:00Z is in the past."),
    (indicator(expirationTime="next week"), "InvalidRequestBody", None),
    (indicator(generateAlert="maybe"), "InvalidRequestBody", None),
    (indicator("10.0.0.0/8", "IpAddress"), "InvalidRequestBody", "CIDR notation for IPs isn't supported: 10.0.0.0/8."),
    ({"IndicatorValue": SHA1, "indicatorType": "FileSha1", "action": "Block", "title": "t", "description": "d"}, "InvalidRequestBody",
     "Invalid request body. Parameter names are case-sensitive: expected indicatorValue."),
])
def test_invalid_submissions_are_refused_and_stored_nowhere(simulator, submit, body, code, message):
    found_code, found_message = error_of(submit(body), 400)
    assert found_code == code
    assert message is None or found_message == message
    assert simulator.indicators.indicators() == []


def test_enum_values_take_any_case_and_come_back_canonical(submit):
    entity = submit(indicator(action="blockandremediate", severity="high", indicatorType="filesha1")).json()
    assert (entity["action"], entity["severity"], entity["indicatorType"]) == ("BlockAndRemediate", "High", "FileSha1")


def test_group_names_may_be_a_comma_separated_string(submit):
    assert submit(indicator(rbacGroupNames="Servers, Laptops")).json()["rbacGroupNames"] == ["Servers", "Laptops"]


# ------------------------------------------------------------------------------------------------- case rules

def test_a_submit_in_another_case_updates_the_same_indicator_by_default(submit, listed):
    first = submit(indicator(SHA1.upper())).json()
    second = submit(indicator(SHA1)).json()
    assert second["id"] == first["id"]
    # Stored as first sent, and OData string comparison is case-sensitive.
    assert [found["indicatorValue"] for found in listed("indicatorValue eq '%s'" % SHA1.upper())] == [SHA1.upper()]
    assert listed("indicatorValue eq '%s'" % SHA1) == []


def test_case_sensitive_matching_makes_a_second_indicator(simulator, submit, listed):
    simulator.configure(indicator_match_case="sensitive")
    submit(indicator(SHA1.upper()))
    submit(indicator(SHA1))
    assert sorted(found["indicatorValue"] for found in listed()) == [SHA1.upper(), SHA1]


def test_values_can_be_stored_lower_case(simulator, submit):
    simulator.configure(indicator_value_case="lower")
    assert submit(indicator(SHA1.upper())).json()["indicatorValue"] == SHA1


# ---------------------------------------------------------------------------------------------- limits, expiry

def test_the_tenant_limit_refuses_new_indicators_but_not_updates(simulator, submit, listed):
    simulator.configure(indicator_limit=2)
    submit(indicator(SHA1))
    submit(indicator(SHA256, "FileSha256", expirationTime=(simulator.clock.now() + timedelta(minutes=30)).isoformat()))
    code, message = error_of(submit(indicator(MD5, "FileMd5")), 400)
    assert code == "BadRequest" and "limit of 2 active indicators" in message
    assert submit(indicator(SHA1, title="update")).status_code == 200
    # An expired indicator is no longer active: not listed, not counted (the token lives longer than this).
    simulator.clock.advance(1801)
    assert [found["indicatorValue"] for found in listed()] == [SHA1]
    assert submit(indicator(MD5, "FileMd5")).status_code == 200


def test_the_default_limit_is_the_documented_one(simulator):
    assert (simulator.config.indicator_limit, simulator.config.indicator_import_batch_size) == (15000, 500)
    assert simulator.config.route_rate_limits_per_minute["indicators.import"] == 30


# ------------------------------------------------------------------------------------------------------ delete

def test_delete_answers_204_then_404(simulator, api, submit, listed):
    entity = submit(indicator()).json()
    url = simulator.base_url + "/api/indicators/" + entity["id"]
    response = api.delete(url)
    assert (response.status_code, response.content) == (204, b"")
    assert error_of(api.delete(url), 404) == ("ResourceNotFound", "Indicator %s was not found" % entity["id"])
    assert listed() == []


# ------------------------------------------------------------------------------------------------- permissions

def test_an_app_without_a_ti_role_is_refused_everywhere(simulator, session):
    headers = token_of(simulator, session, ("Machine.Read.All",))
    for method, path, body in (("GET", "/api/indicators", None), ("POST", "/api/indicators", indicator()),
                               ("POST", "/api/indicators/import", {"Indicators": [indicator()]}), ("DELETE", "/api/indicators/1", None)):
        response = session.request(method, simulator.base_url + path, json=body, headers=headers)
        assert error_of(response, 403) == ("Forbidden", TI_FORBIDDEN)
    assert simulator.indicators.indicators() == []


def test_ti_readwrite_without_all_sees_and_deletes_only_its_own(simulator, session):
    seeded = simulator.indicators.add_indicator(SHA256, "FileSha256", created_by="analyst@contoso.com")
    headers = token_of(simulator, session, ("Ti.ReadWrite",))
    own = session.post(simulator.base_url + "/api/indicators", json=indicator(), headers=headers).json()
    listed = session.get(simulator.base_url + "/api/indicators", headers=headers).json()["value"]
    assert [found["id"] for found in listed] == [own["id"]]
    assert session.delete(simulator.base_url + "/api/indicators/" + seeded["id"], headers=headers).status_code == 404
    assert len(simulator.indicators.indicators()) == 2


# ------------------------------------------------------------------------------------------------------ import

def test_import_reports_each_indicator(simulator, api, listed):
    response = api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": [indicator(), indicator(SHA1, "FileSha256"), "text"]})
    assert response.status_code == 200
    results = response.json()["value"]
    assert (results[0]["indicator"], results[0]["isFailed"], results[0]["failureReason"]) == (SHA1, False, None)
    assert (results[1]["id"], results[1]["isFailed"], results[1]["failureReason"]) == (None, True, "Hash value %s is invalid." % SHA1)
    assert results[2]["isFailed"] is True
    assert [found["id"] for found in listed()] == [results[0]["id"]]


@pytest.mark.parametrize("body", [{"Indicators": []}, {"indicators": [indicator()]}, {"Indicators": "x"}])
def test_import_needs_a_list(simulator, api, body):
    assert error_of(api.post(simulator.base_url + "/api/indicators/import", json=body), 400)[0] == "InvalidRequestBody"


def test_import_takes_at_most_500_per_call(simulator, api):
    batch = [indicator("%040x" % number) for number in range(501)]
    code, message = error_of(api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": batch}), 400)
    assert (code, message) == ("BadRequest", "The maximum batch size for one call is 500 indicators; this one has 501.")
    assert api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": batch[:500]}).status_code == 200
    assert len(simulator.indicators.indicators()) == 500


def test_import_is_limited_to_30_calls_a_minute(simulator, api, submit):
    simulator.configure(clock_speed=1e-6)
    for number in range(30):
        assert api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": [indicator("%040x" % number)]}).status_code == 200
    refused = api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": [indicator()]})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 59
    assert submit(indicator()).status_code == 200          # the other indicator routes keep their own limits
    simulator.clock.advance(60)
    assert api.post(simulator.base_url + "/api/indicators/import", json={"Indicators": [indicator()]}).status_code == 200


# ------------------------------------------------------------------------------------------------- containment

def test_machines_meeting_the_file_after_a_block_and_remediate_indicator_are_remediated(simulator, submit):
    before = simulator.add_machine("before.contoso.local", observed_files=[SHA1])
    file_sha256 = simulator.add_file(SHA1)["sha256"]
    entity = submit(indicator(file_sha256, "FileSha256")).json()
    after = simulator.add_machine("after.contoso.local", observed_files=[SHA1])
    later = simulator.add_machine("later.contoso.local")
    simulator.observe_file(SHA1, later["id"])
    simulator.observe_file(SHA1, before["id"])
    records = simulator.indicators.containments(SHA1)
    assert [(record["machineId"], record["outcome"], record["indicatorId"]) for record in records] == [
        (after["id"], "remediated", entity["id"]), (later["id"], "remediated", entity["id"])]
    assert records[0]["computerDnsName"] == "after.contoso.local"


def test_only_blocking_active_indicators_for_the_machine_group_contain(simulator):
    simulator.indicators.add_indicator(SHA1, action="Alert")
    simulator.indicators.add_indicator(SHA1.upper(), action="Block", rbacGroupNames=["Servers"],
                                       expirationTime=(simulator.clock.now() + timedelta(hours=1)).isoformat())
    simulator.add_machine("laptop.contoso.local", rbac_group_name="Laptops", observed_files=[SHA1])
    server = simulator.add_machine("server.contoso.local", rbac_group_name="Servers", observed_files=[SHA1])
    simulator.clock.advance(3601)
    simulator.add_machine("late-server.contoso.local", rbac_group_name="Servers", observed_files=[SHA1])
    assert [(record["machineId"], record["outcome"]) for record in simulator.indicators.containments()] == [(server["id"], "blocked")]


def test_existing_copies_can_be_contained_at_once(simulator, submit):
    simulator.configure(indicator_contains_existing_copies=True)
    machine = simulator.add_machine("holder.contoso.local", observed_files=[SHA1])
    md5 = simulator.add_file(SHA1)["md5"]
    submit(indicator(md5, "FileMd5"))
    submit(indicator(md5, "FileMd5", title="again"))
    assert [record["machineId"] for record in simulator.indicators.containments()] == [machine["id"]]


def test_the_admin_api_seeds_observations_and_shows_containment(simulator):
    machine = simulator.add_machine("desktop.contoso.local")
    seeded = admin(simulator, "POST", "/indicators", {"indicator_value": SHA1})
    assert seeded["createdBy"] == "analyst@contoso.com"
    admin(simulator, "POST", "/observations", {"sha1": SHA1, "machine_id": machine["id"]})
    assert [record["machineId"] for record in admin(simulator, "GET", "/containments?sha1=" + SHA1)] == [machine["id"]]
    assert [found["id"] for found in admin(simulator, "GET", "/indicators")] == [seeded["id"]]
    admin(simulator, "POST", "/reset", {"data": True})
    assert simulator.indicators.indicators() == [] and simulator.indicators.containments() == []

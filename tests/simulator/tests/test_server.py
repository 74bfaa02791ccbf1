"""The server: state files, TLS, routing, bearer checks, latency, rate limits, errors, the request log, counters,
the admin API and stopping."""

import json
import os
import stat
import time

import msal
import pytest
import requests

from tests.simulator.config import CERT_CLIENT_ID, CLIENT_ID, TENANT_ID, AppRegistration
from tests.simulator.http import Response
from tests.simulator.server import Simulator
from tests.simulator.tokens import JWT_BEARER
from tests.support.simulator_http import client_credentials, signed_assertion, trusting_session

SCOPE = "https://api.securitycenter.microsoft.com/.default"
CONNECTION_KEYS = {"api_url", "authority_host", "tenant_id", "client_id", "client_secret", "ca_path"}
LOG_KEYS = {"seq", "time", "method", "path", "query", "params", "body", "status", "route", "appid", "fault"}


@pytest.fixture
def echo(simulator):
    """An API route that answers with what the server handed its handler."""
    def answer(request):
        return Response(200, {"params": request.params, "query": request.query, "appid": request.claims.get("appid")})

    simulator.add_route("GET", r"/api/test/echo/(?P<item>[^/]+)", "test.echo", answer)
    return simulator.base_url + "/api/test/echo/"


def admin(simulator, method, path, body=None):
    session = requests.Session()
    session.trust_env = False
    response = session.request(method, simulator.admin_url + path, json=body)
    return response.status_code, response.json()


# --- state files and TLS -------------------------------------------------------------------------------------


def test_connection_json_has_exactly_the_six_keys(simulator):
    with open(simulator.state_dir / "connection.json", encoding="utf-8") as stream:
        connection = json.load(stream)
    assert set(connection) == CONNECTION_KEYS
    assert connection == simulator.connection
    assert connection["api_url"] == connection["authority_host"] == simulator.base_url
    assert connection["api_url"].startswith("https://127.0.0.1:")
    assert (connection["tenant_id"], connection["client_id"]) == (TENANT_ID, CLIENT_ID)
    assert os.path.isfile(connection["ca_path"])


def test_simulator_json_has_everything_else_and_secrets_are_private(simulator):
    with open(simulator.state_dir / "simulator.json", encoding="utf-8") as stream:
        details = json.load(stream)
    assert {"admin_url", "cert_client_id", "client_certificate_path", "client_certificate_password",
            "managed_identity_client_id", "clock_speed", "pid"} <= set(details)
    assert details["cert_client_id"] == CERT_CLIENT_ID and details["pid"] == os.getpid()
    assert details["admin_url"].startswith("http://127.0.0.1:")
    for name in ("connection.json", "simulator.json", "client-cert.pem", "client-cert-encrypted.pem"):
        assert stat.S_IMODE(os.stat(simulator.state_dir / name).st_mode) == 0o600


def test_only_the_simulators_ca_is_trusted(simulator):
    with requests.Session() as untrusting:
        untrusting.trust_env = False
        with pytest.raises(requests.exceptions.SSLError):
            untrusting.get(simulator.base_url + "/api/machines")


def test_keep_alive_http_1_1_with_content_length(simulator, session, echo):
    first = session.get(echo + "a")
    second = session.get(echo + "b")
    assert first.raw.version == second.raw.version == 11
    assert first.headers["Content-Length"] == str(len(first.content))
    assert "close" not in first.headers.get("Connection", "").lower()


# --- routing and authentication ------------------------------------------------------------------------------


def test_unknown_paths_are_mde_not_found(simulator, api):
    response = api.get(simulator.base_url + "/api/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"
    assert set(response.json()["error"]) == {"code", "message", "target"}


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_api_routes_need_a_valid_bearer_token(simulator, session, echo, header):
    response = session.get(echo + "x", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert response.json()["error"]["message"].startswith("Unauthorized")


def test_an_expired_token_is_unauthorised(simulator, api, echo):
    assert api.get(echo + "x").status_code == 200
    simulator.clock.advance(simulator.config.token_lifetime_seconds + 1)
    response = api.get(echo + "x")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_revoked_token_is_unauthorised(simulator, api, echo):
    assert api.get(echo + "x").status_code == 200
    simulator.tokens.revoke_all()
    assert api.get(echo + "x").status_code == 401


def test_handlers_get_path_parameters_query_and_claims(api, echo):
    body = api.get(echo + "item%201", params={"$filter": "name eq 'a b'", "$top": "2"}).json()
    assert body == {"params": {"item": "item 1"}, "query": {"$filter": "name eq 'a b'", "$top": "2"}, "appid": CLIENT_ID}


def test_versioned_prefix_and_case_insensitive_literals(simulator, api, echo):
    assert api.get(simulator.base_url + "/api/v1.0/test/echo/x").status_code == 200
    assert api.get(simulator.base_url + "/API/Test/ECHO/x").json()["params"] == {"item": "x"}


def test_a_failing_handler_is_an_internal_server_error(simulator, api, capfd):
    def broken(request):
        raise RuntimeError("handler bug for the test")

    simulator.add_route("GET", r"/api/test/broken", "test.broken", broken)
    response = api.get(simulator.base_url + "/api/test/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServerError"
    assert "handler bug for the test" in capfd.readouterr().err


def test_latency_is_slept_in_simulated_time(simulator, api, echo):
    simulator.configure(clock_speed=50, latency_ms=10000)
    started = time.monotonic()
    api.get(echo + "x")
    assert time.monotonic() - started >= 0.19


# --- rate limits ---------------------------------------------------------------------------------------------


def test_429_with_retry_after_after_100_calls_in_a_simulated_minute(simulator, api, echo):
    first_call = simulator.clock.time()
    statuses = [api.get(echo + "x").status_code for _call in range(100)]
    assert statuses == [200] * 100
    simulator.clock.advance(30)
    refused = api.get(echo + "x")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TooManyRequests"
    # The minute's first call leaves the window a minute after it was made.
    assert abs(int(refused.headers["Retry-After"]) - (first_call + 60 - simulator.clock.time())) <= 2
    simulator.clock.advance(int(refused.headers["Retry-After"]))
    assert api.get(echo + "x").status_code == 200


def test_429_after_1500_calls_in_a_simulated_hour(simulator, api, echo):
    # Faster than real time, yet slow enough that the one token outlives the run on a loaded machine.
    simulator.configure(clock_speed=10)
    first_call = simulator.clock.time()
    for minute in range(15):
        statuses = {api.get(echo + str(minute)).status_code for _call in range(100)}
        assert statuses == {200}
        simulator.clock.advance(60)
    refused = api.get(echo + "x")
    assert refused.status_code == 429
    # The hour's first call leaves the window an hour after it was made.
    assert abs(int(refused.headers["Retry-After"]) - (first_call + 3600 - simulator.clock.time())) <= 2
    assert int(refused.headers["Retry-After"]) > 60
    assert simulator.counters["test.echo 429"] == 1


def test_rate_limits_are_per_application(simulator, session, api, echo):
    simulator.configure(rate_limit_per_minute=2)
    assert [api.get(echo + "x").status_code for _call in range(3)] == [200, 200, 429]
    simulator.register_app(AppRegistration("33333333-4444-4555-8666-777777777777", secret="second-app-secret"))
    other = client_credentials(simulator, session, client_id="33333333-4444-4555-8666-777777777777",
                               secret="second-app-secret").json()["access_token"]
    assert session.get(echo + "x", headers={"Authorization": "Bearer " + other}).status_code == 200


# --- request log and counters --------------------------------------------------------------------------------


def test_the_log_never_holds_a_secret_an_assertion_or_a_token(simulator, session, api, echo):
    secret = simulator.connection["client_secret"]
    bearer = api.headers["Authorization"].split()[1]
    assertion = signed_assertion(simulator, "PS256")
    by_assertion = session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, TENANT_ID), data={
        "grant_type": "client_credentials", "client_id": CERT_CLIENT_ID, "scope": SCOPE,
        "client_assertion_type": JWT_BEARER, "client_assertion": assertion})
    assert by_assertion.status_code == 200
    # A token request without its Content-Type must not slip the secret into the log either.
    session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, TENANT_ID),
                 data=("grant_type=client_credentials&client_id=%s&client_secret=%s" % (CLIENT_ID, secret)).encode(),
                 headers={"Content-Type": ""})
    msal.ConfidentialClientApplication(
        CLIENT_ID, client_credential=secret, authority="%s/%s" % (simulator.base_url, TENANT_ID),
        instance_discovery=False, azure_region=False, http_client=session,
    ).acquire_token_for_client([SCOPE])
    api.get(echo + "x")
    for text in (json.dumps(simulator.request_log), json.dumps(admin(simulator, "GET", "/log")[1])):
        assert secret not in text
        assert assertion not in text and assertion.split(".")[2] not in text
        assert bearer not in text and bearer.split(".")[2] not in text
        assert "***" in text
    token_entries = simulator.log_for("token")
    assert {entry["body"].get("client_secret") for entry in token_entries} <= {"***", None}
    assert [entry["body"]["client_assertion"] for entry in token_entries if "client_assertion" in entry["body"]] == ["***"]


def test_log_entries_and_counters(simulator, api, echo):
    api.get(echo + "one", params={"$filter": "computerDnsName eq 'a.contoso.local'"})
    api.get(simulator.base_url + "/api/missing")
    entry = simulator.log_for("test.echo")[0]
    assert set(entry) == LOG_KEYS
    assert entry["method"] == "GET" and entry["path"] == "/api/test/echo/one"
    assert entry["query"] == "$filter=computerDnsName eq 'a.contoso.local'"
    assert entry["params"] == {"item": "one"}
    assert (entry["status"], entry["route"], entry["appid"], entry["fault"], entry["body"]) == (200, "test.echo", CLIENT_ID, None, None)
    assert entry["time"].startswith(simulator.clock.now().strftime("%Y-%m-%d"))
    sequence = [logged["seq"] for logged in simulator.request_log]
    assert sequence == list(range(1, len(sequence) + 1))
    counters = simulator.counters
    assert counters["test.echo"] == 1 and counters["test.echo 200"] == 1 and counters["unknown 404"] == 1
    assert counters["token"] == counters["token 200"] == 1
    assert simulator.log_for(method="get", route="TEST.ECHO") == [entry]


def test_reset_clears_log_counters_limits_and_faults_but_not_data(simulator, api, echo):
    simulator.configure(rate_limit_per_minute=1)
    simulator.add_machine("kept.contoso.local")
    api.get(echo + "x")
    assert api.get(echo + "x").status_code == 429
    simulator.faults.add("test.echo", "status")
    simulator.reset()
    assert simulator.request_log == [] and simulator.counters == {} and simulator.faults.faults() == []
    assert api.get(echo + "x").status_code == 200
    assert [machine["computerDnsName"] for machine in simulator.machines()] == ["kept.contoso.local"]


# --- admin API -----------------------------------------------------------------------------------------------


def test_admin_config_switches(simulator):
    status, config = admin(simulator, "GET", "/config")
    assert status == 200 and config["rate_limit_per_minute"] == 100
    status, config = admin(simulator, "POST", "/config", {"rate_limit_scope": "shared", "clock_speed": 60})
    assert status == 200 and config["rate_limit_scope"] == "shared"
    assert simulator.config.rate_limit_scope == "shared" and simulator.clock.speed == 60
    status, error = admin(simulator, "POST", "/config", {"no_such_switch": 1})
    assert status == 400 and "no_such_switch" in error["error"]


def test_admin_faults_tokens_clock_and_apps(simulator, session, api, echo):
    status, fault = admin(simulator, "POST", "/faults", {"route": "test.echo", "kind": "status", "status": 500})
    assert status == 200 and fault["kind"] == "status"
    assert api.get(echo + "x").status_code == 500
    assert admin(simulator, "GET", "/faults")[1][0]["fired"] == 1
    assert admin(simulator, "DELETE", "/faults")[0] == 200
    assert api.get(echo + "x").status_code == 200

    assert admin(simulator, "POST", "/revoke-tokens")[1]["revoked"] >= 1
    assert api.get(echo + "x").status_code == 401

    before = simulator.clock.time()
    assert admin(simulator, "POST", "/clock/advance", {"seconds": 7200})[0] == 200
    assert simulator.clock.time() - before >= 7200

    reader = {"client_id": "44444444-5555-4666-8777-888888888888", "secret": "reader", "roles": ["Machine.Read.All"]}
    status, app = admin(simulator, "POST", "/apps", reader)
    assert status == 200 and app["roles"] == ["Machine.Read.All"]
    token = client_credentials(simulator, session, client_id=app["client_id"], secret="reader").json()["access_token"]
    assert simulator.tokens.verify(token)["roles"] == ["Machine.Read.All"]


def test_admin_log_counters_and_reset(simulator, api, echo):
    api.get(echo + "x")
    status, log = admin(simulator, "GET", "/log?route=test.echo")
    assert status == 200 and [entry["path"] for entry in log] == ["/api/test/echo/x"]
    assert admin(simulator, "GET", "/counters")[1]["test.echo 200"] == 1
    assert admin(simulator, "POST", "/reset")[0] == 200
    assert admin(simulator, "GET", "/log")[1] == []
    assert admin(simulator, "GET", "/nothing")[0] == 404


def test_admin_defender_data(simulator):
    sha1 = "4388963aaa83afe2042a46a3c017ad50bdcdafb3"
    status, machine = admin(simulator, "POST", "/machines", {"name": "admin-made.contoso.local"})
    assert status == 200 and machine["computerDnsName"] == "admin-made.contoso.local"
    assert admin(simulator, "POST", "/files", {"sha1": sha1, "observed_on": [machine["id"]]})[0] == 200
    status, action = admin(simulator, "POST", "/machine-actions", {"machine_id": machine["id"], "sha1": sha1})
    assert status == 200 and action["status"] == "Pending"
    status, old_action = admin(simulator, "POST", "/machine-actions", {
        "machine_id": machine["id"], "sha1": sha1, "status": "Succeeded", "created": "2026-01-02T03:04:05+00:00"})
    assert status == 200 and old_action["creationDateTimeUtc"].startswith("2026-01-02T03:04:05")
    assert admin(simulator, "POST", "/fleet", {"count": 3})[0] == 200
    assert len(admin(simulator, "GET", "/machines")[1]) == 4
    assert [listed["id"] for listed in admin(simulator, "GET", "/actions")[1]] == [action["id"], old_action["id"]]
    assert admin(simulator, "POST", "/machines", {"nom": "typo"})[0] == 400
    admin(simulator, "POST", "/reset", {"data": True})
    assert simulator.machines() == [] and simulator.actions() == []


def test_admin_refuses_other_hosts(simulator):
    admin_server = simulator._admin_server  # pylint: disable=protected-access  # the check sits below HTTP
    assert admin_server.verify_request(None, ("127.0.0.1", 50000))
    assert not admin_server.verify_request(None, ("192.0.2.10", 50000))
    assert admin_server.server_address[0] == simulator._api_server.server_address[0] == "127.0.0.1"  # pylint: disable=protected-access


# --- lifecycle -----------------------------------------------------------------------------------------------


def test_stop_closes_even_kept_alive_connections(tmp_path):
    simulator = Simulator(state_dir=tmp_path / "stopping").start()
    session = trusting_session(simulator)
    discovery = "%s/%s/v2.0/.well-known/openid-configuration" % (simulator.base_url, TENANT_ID)
    assert session.get(discovery).status_code == 200
    simulator.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(discovery)
    assert (tmp_path / "stopping" / "connection.json").is_file()

"""Faults: the schedule (which calls), and each kind's effect on the wire and on whether the handler ran."""

import email.utils
import time

import pytest
import requests

from tests.simulator.faults import GARBAGE_DATE, PAST_RETRY_AFTER_SECONDS, FaultInjector
from tests.simulator.http import Response
from tests.support.simulator_http import client_credentials

WRITE_ROUTE = "test.write"


@pytest.fixture
def writes(simulator):
    """An API route that records each call that reaches it, so a test can tell whether the handler ran."""
    calls = []

    def record_write(request):
        calls.append(request.json())
        return Response(201, {"id": len(calls), "note": "a reasonably long body, so that truncating it shows"})

    simulator.add_route("POST", r"/api/test/writes", WRITE_ROUTE, record_write)
    return calls


def post(simulator, api, **kwargs):
    return api.post(simulator.base_url + "/api/test/writes", json={"Comment": "x"}, **kwargs)


# --- schedule ------------------------------------------------------------------------------------------------


def fired_calls(injector, route, calls, api=True):
    return [call for call in range(1, calls + 1) if injector.pick(route, api) is not None]


def test_every_nth_call_from_start_and_at_most_times():
    injector = FaultInjector()
    injector.add("machines.list", "status", every=3)
    assert fired_calls(injector, "machines.list", 10) == [3, 6, 9]

    injector = FaultInjector()
    fault = injector.add("machines.list", "status", every=2, start=4, times=2)
    assert fired_calls(injector, "machines.list", 10) == [5, 7]
    assert fault.fired == 2 and fault.calls == 10

    injector = FaultInjector()
    injector.add("machines.list", "status", start=3)
    assert fired_calls(injector, "machines.list", 5) == [3, 4, 5]


def test_faults_count_only_their_route_and_star_spares_the_token_service():
    injector = FaultInjector()
    injector.add("machines.list", "status")
    injector.add("*", "latency", every=2)
    assert injector.pick("machineactions.list") is None
    assert injector.pick("token", api=False) is None
    assert injector.pick("machineactions.get").kind == "latency"      # the second API call, whatever its route
    assert injector.pick("machines.list").kind == "status"


def test_the_first_fault_added_wins_but_every_fault_counts_the_call():
    injector = FaultInjector()
    first = injector.add("machines.get", "status", times=1)
    second = injector.add("machines.get", "html", every=2)
    picked = [injector.pick("machines.get") for _call in range(4)]
    assert [fault.kind if fault else None for fault in picked] == ["status", "html", None, "html"]
    assert (first.fired, second.fired) == (1, 2)
    assert [fault["fired"] for fault in injector.faults()] == [1, 2]
    injector.clear()
    assert injector.faults() == [] and injector.pick("machines.get") is None


def test_unknown_kinds_and_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector().add("*", "explode")
    with pytest.raises(ValueError):
        FaultInjector().add("*", "status", every=0)


# --- kinds, on the wire --------------------------------------------------------------------------------------


def test_status_answers_without_running_the_handler(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "status", status=503)
    response = post(simulator, api)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "InternalServerError"
    assert writes == []
    assert simulator.log_for(WRITE_ROUTE)[-1]["fault"] == "status"


def test_status_after_runs_the_handler_then_fails(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "status_after", status=500)
    response = post(simulator, api)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServerError"
    assert len(writes) == 1


def test_drop_before_closes_the_connection_without_running_the_handler(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "drop_before")
    with pytest.raises(requests.ConnectionError):
        post(simulator, api)
    assert writes == []
    assert simulator.counters["%s dropped" % WRITE_ROUTE] == 1


def test_drop_after_runs_the_handler_then_closes_the_connection(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "drop_after", times=1)
    with pytest.raises(requests.ConnectionError):
        post(simulator, api)
    assert len(writes) == 1
    assert post(simulator, api).status_code == 201        # the session reconnects for the next call
    assert len(writes) == 2


def test_timeout_after_runs_the_handler_and_answers_too_late(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "timeout_after", delay=1.0, times=1)
    with pytest.raises(requests.Timeout):
        post(simulator, api, timeout=0.3)
    # On a busy machine the client may give up before the handler even ran; the log entry follows the handler.
    deadline = time.monotonic() + 5
    while not simulator.log_for(WRITE_ROUTE) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(writes) == 1
    assert simulator.log_for(WRITE_ROUTE)[0]["fault"] == "timeout_after"


def test_latency_delays_in_simulated_seconds(simulator, api, writes):
    simulator.configure(clock_speed=100)
    simulator.faults.add(WRITE_ROUTE, "latency", delay=20)
    started = time.monotonic()
    assert post(simulator, api).status_code == 201
    assert time.monotonic() - started >= 0.19
    assert len(writes) == 1


def test_html_is_a_proxy_error_page(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "html")
    response = post(simulator, api)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    with pytest.raises(ValueError):
        response.json()
    assert writes == []


def test_malformed_runs_the_handler_and_truncates_the_json(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "malformed")
    response = post(simulator, api)
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text.startswith('{"id": 1')
    with pytest.raises(ValueError):
        response.json()
    assert len(writes) == 1


def test_unexpected_shape_runs_the_handler_and_answers_something_else(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "unexpected_shape")
    response = post(simulator, api)
    assert response.status_code == 200
    assert response.json() == {"unexpected": True}
    assert len(writes) == 1


def test_revoke_token_makes_the_call_and_later_calls_with_that_token_unauthorised(simulator, session, api, writes):
    simulator.faults.add(WRITE_ROUTE, "revoke_token", times=1)
    response = post(simulator, api)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert post(simulator, api).status_code == 401
    assert writes == []
    api.headers["Authorization"] = "Bearer " + client_credentials(simulator, session).json()["access_token"]
    assert post(simulator, api).status_code == 201


def test_rotate_secret_revokes_the_tokens_and_refuses_the_old_secret(simulator, session, api, writes):
    simulator.faults.add(WRITE_ROUTE, "rotate_secret", times=1)
    response = post(simulator, api)
    assert response.status_code == 401
    assert post(simulator, api).status_code == 401
    assert writes == []
    renewal = client_credentials(simulator, session)
    assert renewal.status_code == 401
    assert "AADSTS7000215" in renewal.json()["error_description"]


def test_every_third_call_of_a_route(simulator, api, writes):
    simulator.faults.add(WRITE_ROUTE, "status", every=3, status=503)
    statuses = [post(simulator, api).status_code for _call in range(6)]
    assert statuses == [201, 201, 503, 201, 201, 503]
    assert len(writes) == 4
    assert simulator.faults.faults()[0]["fired"] == 2


def test_a_fault_on_the_token_route_answers_like_entra(simulator, session):
    simulator.faults.add("*", "status")                   # the API's faults leave the token service alone
    assert client_credentials(simulator, session).status_code == 200
    simulator.faults.add("token", "status", status=503)
    response = client_credentials(simulator, session)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_description"].startswith("AADSTS90033:")


def test_a_dropped_write_on_the_defender_api_still_creates_the_action(simulator, api):
    sha1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
    machine = simulator.add_machine("desktop-fault.contoso.local", observed_files=(sha1,))
    simulator.faults.add("machines.StopAndQuarantineFile", "drop_after")
    with pytest.raises(requests.ConnectionError):
        api.post("%s/api/machines/%s/StopAndQuarantineFile" % (simulator.base_url, machine["id"]),
                 json={"Comment": "fault test", "Sha1": sha1})
    assert [action["machineId"] for action in simulator.actions()] == [machine["id"]]


@pytest.mark.parametrize("retry_after", ["0", "past"])
def test_throttle_answers_429_with_the_retry_after_given(simulator, api, writes, retry_after):
    simulator.faults.add(WRITE_ROUTE, "throttle", retry_after=retry_after, times=1)
    response = post(simulator, api)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "TooManyRequests"
    if retry_after == "past":
        moment = email.utils.parsedate_to_datetime(response.headers["Retry-After"])
        assert moment.timestamp() == pytest.approx(simulator.clock.time() - PAST_RETRY_AFTER_SECONDS, abs=5)
    else:
        assert response.headers["Retry-After"] == "0"
    assert writes == []
    assert post(simulator, api).status_code == 201


def test_a_retry_after_on_a_token_route_fault(simulator, session):
    simulator.faults.add("token", "throttle", retry_after="30", times=1)
    response = client_credentials(simulator, session)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "30")
    assert client_credentials(simulator, session).status_code == 200


def test_garbage_dates_replaces_every_date_of_the_answer(simulator, api):
    machine = simulator.add_machine("ws-01.contoso.local")
    simulator.faults.add("machines.list", "garbage_dates")
    listed = api.get(simulator.base_url + "/api/machines").json()["value"]
    assert [(entry["id"], entry["lastSeen"], entry["firstSeen"]) for entry in listed] == [
        (machine["id"], GARBAGE_DATE, GARBAGE_DATE)]


def test_the_date_header_is_the_simulated_clock(simulator, api, writes):
    simulator.clock.advance(600)
    answered = email.utils.parsedate_to_datetime(post(simulator, api).headers["Date"])
    assert answered.timestamp() == pytest.approx(simulator.clock.time(), abs=5)

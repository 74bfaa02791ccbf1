# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import email.utils
import http.client
import json
import re
import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import trustme
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ProtocolError

from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, TransportError
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.retry import retry_after_seconds
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session
from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport, RateLimiter

API = "https://api.test"
APP = {"tenant_id": "contoso.example", "client_id": "app-1", "client_secret": "s3cret"}
ROUTE = "machines.list"


class FakeClock:
    """Time that passes only when slept; thread-safe because the pacer is used from several threads."""

    def __init__(self):
        self.time = 1000.0
        self.sleeps = []
        self._start = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def monotonic(self):
        return self.time

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self.time += seconds

    def now(self):
        return self._start + timedelta(seconds=self.time - 1000.0)


class FakeTokens:
    def __init__(self):
        self.generation = 0
        self.invalidated = []

    def get_token(self):
        return "token-%d" % self.generation

    def invalidate(self, rejected=None):
        self.invalidated.append(rejected)
        self.generation += 1


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next scripted answer: a reply() tuple, or an exception to raise."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, content, headers = answer
        response = requests.Response()
        response.status_code = status
        response.reason = http.client.responses.get(status, "")
        response._content = content  # pylint: disable=protected-access
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def reply(status, body=None, headers=None):
    if isinstance(body, (dict, list)):
        content = json.dumps(body).encode()
        headers = dict({"Content-Type": "application/json"}, **(headers or {}))
    else:
        content = (body or "").encode()
    return status, content, headers or {}


def mde_error(status, code, message, target="corr-1", headers=None):
    return reply(status, {"error": {"code": code, "message": message, "target": target}}, headers)


class Harness:
    def __init__(self, answers, pacer=None, **options):
        self.settings = ConnectionSettings.from_options(dict(APP, api_url=API, **options), environ={})
        self.session = build_session(self.settings)
        self.adapter = ScriptedAdapter(answers)
        self.session.mount("https://", self.adapter)
        self.clock = FakeClock()
        self.tokens = FakeTokens()
        self.transport = HttpTransport(self.settings, self.tokens, self.session, clock=self.clock,
                                       pacer=pacer or RateLimiter(clock=self.clock))

    def request(self, method="GET", path="/api/machines", **kwargs):
        kwargs.setdefault("route", ROUTE)
        return self.transport.request(method, path, **kwargs)

    @property
    def attempts(self):
        return len(self.adapter.sent)


@pytest.fixture(name="refused")
def fixture_refused():
    """A real 'connection refused' exception as requests raises it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as raised:
        requests.get("http://127.0.0.1:%d/" % port, timeout=5)
    return raised.value


def test_get_sends_token_and_headers_and_returns_the_object():
    harness = Harness([reply(200, {"value": [{"id": "m1"}]})])
    assert harness.request(params={"$top": 10}) == {"value": [{"id": "m1"}]}
    request, kwargs = harness.adapter.sent[0]
    assert request.url == API + "/api/machines?%24top=10"
    assert request.headers["Authorization"] == "Bearer token-0"
    assert request.headers["Accept"] == "application/json"
    assert re.match(r"^mde\.response-ansible python/\S+ requests/\S+$", request.headers["User-Agent"])
    assert "Content-Type" not in request.headers
    assert kwargs["timeout"] == 30
    assert harness.transport.stats.as_dict()["calls"] == {ROUTE: 1}


def test_post_sends_a_json_body():
    harness = Harness([reply(201, {"id": "action-1"})])
    assert harness.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={"Comment": "c", "Sha1": "ab"},
                           route="machines.StopAndQuarantineFile") == {"id": "action-1"}
    request = harness.adapter.sent[0][0]
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"Comment": "c", "Sha1": "ab"}


@pytest.mark.parametrize("answer", [reply(204), reply(200)])
def test_an_answer_without_body_is_none(answer):
    assert Harness([answer]).request("POST", "/api/machineactions/a1/cancel", body={"Comment": "c"}) is None


def test_429_waits_retry_after_seconds_then_retries():
    harness = Harness([mde_error(429, "TooManyRequests", "quota", headers={"Retry-After": "7"}), reply(200, {"value": []})])
    assert harness.request() == {"value": []}
    assert harness.clock.sleeps == [7.0]
    stats = harness.transport.stats.as_dict()
    assert (stats["throttled"], stats["retries"], stats["waited_seconds"]) == (1, 1, 7.0)
    assert stats["calls"] == {ROUTE: 2}


def test_429_accepts_an_http_date_retry_after():
    clock = FakeClock()
    date = email.utils.format_datetime(clock.now() + timedelta(seconds=12), usegmt=True)
    harness = Harness([reply(429, headers={"Retry-After": date}), reply(200, {})])
    assert harness.request() == {}
    assert harness.clock.sleeps == [12.0]


def test_429_without_retry_after_backs_off():
    harness = Harness([reply(429), reply(429), reply(200, {})])
    harness.request()
    first, second = harness.clock.sleeps
    assert 1.5 <= first <= 2.0
    assert 2.0 <= second <= 3.0


@pytest.mark.parametrize("retry_after", ["0", "Sun, 01 Jun 2025 11:00:00 GMT"], ids=["zero", "past-date"])
def test_a_retry_after_that_says_now_is_backed_off_and_bounded(retry_after):
    harness = Harness([reply(429, headers={"Retry-After": retry_after})] * 50)
    with pytest.raises(ApiError) as raised:
        harness.request()
    assert raised.value.http_status == 429
    assert harness.attempts == 8
    assert all(sleep >= 1.0 for sleep in harness.clock.sleeps)
    # Jittered: parallel callers refused together do not come back together.
    assert len(set(harness.clock.sleeps)) == len(harness.clock.sleeps)


def test_a_storm_of_honest_retry_afters_is_bounded_in_attempts_too():
    harness = Harness([reply(429, headers={"Retry-After": "1"})] * 50)
    with pytest.raises(ApiError):
        harness.request()
    assert harness.attempts == 30


def test_429_without_retry_after_gives_up_after_the_attempt_budget():
    harness = Harness([reply(429)] * 20)
    with pytest.raises(ApiError) as raised:
        harness.request()
    assert raised.value.http_status == 429
    assert raised.value.code == "TooManyRequests"
    assert harness.attempts == 8


def test_429_with_retry_after_is_retried_until_the_wait_budget_is_spent():
    harness = Harness([reply(429, headers={"Retry-After": "100"})] * 10)
    with pytest.raises(ApiError) as raised:
        harness.request()
    assert raised.value.code == "TooManyRequests"
    # Six waits of 100 s fit the 600 s budget; the seventh would not, so the seventh answer is the last.
    assert harness.clock.sleeps == [100.0] * 6 and harness.attempts == 7


def test_a_storm_of_429s_longer_than_the_attempt_budget_still_gets_through():
    harness = Harness([reply(429, headers={"Retry-After": "1"})] * 12 + [reply(200, {"ok": True})])
    assert harness.request() == {"ok": True}
    assert harness.attempts == 13


def test_a_retry_after_beyond_the_wait_budget_fails_at_once():
    harness = Harness([mde_error(429, "TooManyRequests", "hourly quota", headers={"Retry-After": "3600"}), reply(200, {})])
    with pytest.raises(ApiError, match="hourly quota"):
        harness.request()
    assert harness.clock.sleeps == []
    assert harness.attempts == 1


def test_get_retries_server_errors_with_exponential_backoff():
    harness = Harness([reply(504), mde_error(500, "InternalServerError", ""), reply(502), reply(200, {"ok": 1})])
    assert harness.request() == {"ok": 1}
    bounds = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]
    assert len(harness.clock.sleeps) == 3
    for slept, (low, high) in zip(harness.clock.sleeps, bounds):
        assert low <= slept <= high


def test_get_retries_timeouts_and_dropped_connections():
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed")))
    harness = Harness([requests.ReadTimeout("read timed out"), dropped, reply(200, {"ok": 1})])
    assert harness.request() == {"ok": 1}
    assert harness.attempts == 3


def test_get_gives_up_with_a_transport_error_naming_the_call():
    harness = Harness([requests.ReadTimeout("read timed out")] * 8)
    with pytest.raises(TransportError) as raised:
        harness.request()
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert str(raised.value) == "GET machines.list: no answer from the API at %s: no answer within 30 seconds" % API


@pytest.mark.parametrize("failure", [
    # A gateway timeout may have passed the write on before it gave up: a lost answer, never sent again.
    reply(504, "<html>Gateway Timeout</html>", {"Content-Type": "text/html"}),
    mde_error(500, "InternalServerError", "oops"),
    requests.ReadTimeout("read timed out"),
    requests.ConnectionError(ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))),
])
def test_a_post_whose_answer_is_lost_is_ambiguous_and_not_resent(failure):
    harness = Harness([failure, reply(201, {"id": "second"})])
    with pytest.raises(AmbiguousWriteError) as raised:
        harness.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={}, route="machines.StopAndQuarantineFile")
    assert harness.attempts == 1
    assert "POST machines.StopAndQuarantineFile" in str(raised.value)
    assert "may or may not have taken effect" in str(raised.value)


@pytest.mark.parametrize("status, retry_after, low, high", [
    (503, "3", 3.0, 3.0),
    (503, None, 1.5, 2.0),      # no Retry-After: jittered backoff of at least MIN_THROTTLE_WAIT
    (429, "4", 4.0, 4.0),
])
def test_a_post_answered_not_taken_is_sent_again_after_the_retry_after(status, retry_after, low, high):
    headers = {"Retry-After": retry_after} if retry_after else {}
    harness = Harness([mde_error(status, "ServiceUnavailable", "busy", headers=headers), reply(201, {"id": "only"})])
    assert harness.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={},
                           route="machines.StopAndQuarantineFile") == {"id": "only"}
    assert harness.attempts == 2
    assert len(harness.clock.sleeps) == 1 and low <= harness.clock.sleeps[0] <= high
    assert harness.transport.stats.as_dict()["throttled"] == (1 if status == 429 else 0)


def test_a_503_retry_after_beyond_the_wait_budget_is_the_503_refusal_not_a_lost_answer():
    harness = Harness([mde_error(503, "ServiceUnavailable", "busy", headers={"Retry-After": "900"})])
    with pytest.raises(ApiError) as raised:
        harness.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={}, route="machines.StopAndQuarantineFile")
    assert (raised.value.http_status, harness.attempts, harness.clock.sleeps) == (503, 1, [])


def test_a_post_that_never_reached_the_server_is_retried(refused):
    harness = Harness([refused, reply(201, {"id": "only"})])
    assert harness.request("POST", "/api/machineactions/a1/cancel", body={}) == {"id": "only"}
    assert harness.attempts == 2


def test_a_refused_post_gives_up_with_a_plain_transport_error(refused):
    harness = Harness([refused] * 8)
    with pytest.raises(TransportError) as raised:
        harness.request("POST", "/api/machineactions/a1/cancel", body={}, route="machineactions.cancel")
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert str(raised.value) == "POST machineactions.cancel: no answer from the API at %s: could not connect (connection refused)" % API


def test_a_proxy_that_is_down_is_blamed_not_the_api():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        proxy = "http://127.0.0.1:%d" % probe.getsockname()[1]
    settings = ConnectionSettings.from_options(dict(APP, api_url=API, proxy_url=proxy), environ={})
    clock = FakeClock()
    transport = HttpTransport(settings, FakeTokens(), build_session(settings), clock=clock, max_retries=0)
    with pytest.raises(TransportError) as raised:
        transport.request("GET", "/api/machines", route=ROUTE)
    assert str(raised.value) == "GET machines.list: no answer from the API at %s: the proxy failed: could not connect (connection refused)" % API


def test_401_fetches_a_new_token_once():
    harness = Harness([mde_error(401, "Unauthorized", "expired"), reply(200, {"ok": 1})])
    assert harness.request() == {"ok": 1}
    assert harness.tokens.invalidated == ["token-0"]
    assert harness.adapter.sent[1][0].headers["Authorization"] == "Bearer token-1"
    assert harness.clock.sleeps == []


def test_a_second_401_is_a_real_refusal():
    harness = Harness([mde_error(401, "Unauthorized", "bad audience")] * 3)
    with pytest.raises(ApiError) as raised:
        harness.request()
    assert (raised.value.http_status, raised.value.code) == (401, "Unauthorized")
    assert harness.attempts == 2
    assert harness.tokens.generation == 1


@pytest.mark.parametrize("answer, expected", [
    (mde_error(400, "ActiveRequestAlreadyExists", "Action is already in progress", target="t-9"),
     {"code": "ActiveRequestAlreadyExists", "message": "Action is already in progress", "http_status": 400,
      "correlation_id": "t-9"}),
    (reply(400, {"error": {"code": "", "message": "Invalid filter clause", "details": []}}),
     {"code": "", "message": "Invalid filter clause", "http_status": 400, "correlation_id": None}),
    (mde_error(404, "ResourceNotFound", "Sha1 ab was not found in machine m1"),
     {"code": "ResourceNotFound", "message": "Sha1 ab was not found in machine m1", "http_status": 404,
      "correlation_id": "corr-1"}),
    (reply(403, {"error": "invalid_token", "error_description": "audience mismatch"}),
     {"code": "invalid_token", "message": "audience mismatch", "http_status": 403, "correlation_id": None}),
    (reply(404), {"code": "NotFound", "message": "no error body", "http_status": 404, "correlation_id": None}),
])
def test_error_bodies_become_api_errors(answer, expected):
    with pytest.raises(ApiError) as raised:
        Harness([answer]).request()
    error = raised.value
    assert {"code": error.code, "message": error.message, "http_status": error.http_status,
            "correlation_id": error.correlation_id} == expected
    assert (error.method, error.route) == ("GET", ROUTE)


@pytest.mark.parametrize("answer, expected", [
    (reply(403, "<html><title>Blocked by proxy</title></html>", {"Content-Type": "text/html; charset=utf-8"}),
     "GET machines.list: HTTP 403 with a body that is not JSON (text/html): '<html><title>Blocked by proxy"),
    (reply(400, '{"error": {"code": "BadRe', {"Content-Type": "application/json"}),
     "GET machines.list: HTTP 400 with a body that is not JSON (application/json): '{\"error\": {\"code\": \"BadRe'"),
    (reply(200, [1, 2]), "GET machines.list: HTTP 200 with a JSON list where an object was expected"),
    (reply(200, "<html>login</html>", {"Content-Type": "text/html"}), "GET machines.list: HTTP 200 with a body that is not"),
    (reply(302, headers={"Location": "https://portal/"}), "GET machines.list: HTTP 302 redirect"),
])
def test_unusable_bodies_become_transport_errors(answer, expected):
    with pytest.raises(TransportError) as raised:
        Harness([answer]).request()
    assert str(raised.value).startswith(expected)
    assert raised.value.http_status == answer[0]


@pytest.mark.parametrize("body", [{"unexpected": True}, {"value": {"id": "a"}}, None])
def test_a_collection_without_a_value_list_names_route_and_status(body):
    harness = Harness([reply(200, body)])
    with pytest.raises(TransportError) as raised:
        harness.request(collection=True)
    assert ROUTE in str(raised.value) and "HTTP 200" in str(raised.value)
    assert raised.value.http_status == 200


def test_html_from_a_proxy_on_every_get_retry_ends_as_a_transport_error():
    page = reply(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"})
    harness = Harness([page] * 8)
    with pytest.raises(TransportError, match="GET machines.list: HTTP 502 with a body that is not JSON"):
        harness.request()
    assert harness.attempts == 8


def test_no_message_ever_carries_the_token():
    answers = [mde_error(400, "BadRequest", "bad"), reply(500, "oops"), requests.ReadTimeout("t")]
    for answer in answers:
        harness = Harness([answer])
        with pytest.raises(Exception) as raised:
            harness.request("POST", "/api/x", body={})
        assert "token-" not in str(raised.value)
        assert "s3cret" not in str(raised.value)


def test_every_attempt_is_paced_under_its_route_and_only_401s_give_their_place_back():
    class RecordingPacer:
        routes = []
        settled = []

        def acquire(self, route):
            self.routes.append(route)
            return 0.25, len(self.routes)

        def settle(self, route, place, counted):
            self.settled.append((route, place, counted))

    harness = Harness([reply(429, headers={"Retry-After": "2"}), reply(401), reply(503), reply(200, {})], pacer=RecordingPacer())
    harness.request(route="machineactions.list")
    assert RecordingPacer.routes == ["machineactions.list"] * 4
    assert RecordingPacer.settled == [("machineactions.list", 1, True), ("machineactions.list", 2, False),
                                      ("machineactions.list", 3, True), ("machineactions.list", 4, True)]
    assert harness.transport.stats.as_dict()["paced_seconds"] == 1.0


def test_rate_limiter_windows_per_minute_and_per_hour():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=3, per_hour=5, clock=clock)
    waits = [limiter.acquire("a")[0] for _call in range(6)]
    assert waits == [0, 0, 0, 60.0, 0, 3540.0]
    assert clock.time == 1000.0 + 3600.0
    assert limiter.acquire("b")[0] == 0


def test_rate_limiter_counts_a_call_from_its_answer():
    # The server counted these calls somewhere between sending and answering: the next place opens a minute
    # after the answers, never a minute after the sending.
    clock = FakeClock()
    limiter = RateLimiter(per_minute=2, per_hour=100, clock=clock)
    places = [limiter.acquire("a")[1] for _call in range(2)]
    clock.sleep(5.0)
    for place in places:
        limiter.settle("a", place, counted=True)
    assert limiter.acquire("a")[0] == 60.0
    assert clock.time == 1000.0 + 5.0 + 60.0


def test_rate_limiter_takes_back_the_place_of_a_refused_call():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=1, per_hour=1, clock=clock)
    limiter.settle("a", limiter.acquire("a")[1], counted=False)
    assert limiter.acquire("a")[0] == 0
    # A place that left the windows before its answer came is simply not there to give back.
    limiter.settle("a", 0.0, counted=False)
    assert limiter.acquire("a")[0] == 3600.0


def test_rate_limiter_spreads_a_burst_over_sliding_minutes():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=100, per_hour=1500, clock=clock)
    times = []
    for _call in range(250):
        limiter.acquire("machines.StopAndQuarantineFile")
        times.append(clock.time)
    assert times[99] == 1000.0 and times[100] == 1060.0 and times[200] == 1120.0
    assert all(times[index + 100] - times[index] >= 60.0 for index in range(len(times) - 100))


def test_rate_limiter_holds_across_threads():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=10, per_hour=1000, clock=clock)
    granted = []

    def worker():
        for _call in range(6):
            limiter.acquire("route")
            granted.append(clock.monotonic())

    threads = [threading.Thread(target=worker) for _worker in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted.sort()
    assert len(granted) == 30
    assert all(granted[index + 10] - granted[index] >= 60.0 for index in range(len(granted) - 10))


def test_retry_after_parsing():
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("30", now) == 30.0
    assert retry_after_seconds("Sun, 01 Jun 2025 12:00:45 GMT", now) == 45.0
    assert retry_after_seconds("Sun, 01 Jun 2025 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_session_ignores_the_environment_and_takes_proxy_and_timeout_from_settings():
    settings = ConnectionSettings.from_options(dict(APP, proxy_url="http://proxy.example:3128", timeout=12), environ={})
    session = build_session(settings)
    assert session.trust_env is False
    assert session.verify is True
    adapter = ScriptedAdapter([reply(200, {})])
    session.mount("https://", adapter)
    session.get("https://login.example/x")
    assert adapter.sent[0][1]["timeout"] == 12
    assert adapter.sent[0][1]["proxies"]["https"] == "http://proxy.example:3128"


def test_no_proxy_sends_the_hosts_it_names_directly_and_the_others_through_the_proxy():
    settings = ConnectionSettings.from_options(dict(APP, proxy_url="http://proxy.example:3128"),
                                               environ={"NO_PROXY": "localhost, .login.example,10.0.0.0/8"})
    session = build_session(settings)
    adapter = ScriptedAdapter([reply(200, {})] * 4)
    session.mount("https://", adapter)
    for url in ("https://sts.login.example/t", "https://10.1.2.3/x", "https://api.example/y", "https://login.example.org/z"):
        session.get(url)
    assert [sent[1]["proxies"] for sent in adapter.sent] == [
        {}, {}, {"http": "http://proxy.example:3128", "https": "http://proxy.example:3128"},
        {"http": "http://proxy.example:3128", "https": "http://proxy.example:3128"}]


# A real TLS server, for what only real sockets show: certificate checks, and an answer lost after the request.

class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # pylint: disable=arguments-differ
        """Keep test output clean."""

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(self.command)
        if self.server.script.pop(0) == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = b'{"value": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture(name="tls_server")
def fixture_tls_server(tmp_path):
    authority = trustme.CA()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.script, server.seen = [], []
    server.ca_path = str(tmp_path / "ca.pem")
    authority.cert_pem.write_to_path(server.ca_path)
    server.url = "https://127.0.0.1:%d" % server.server_port
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def real_transport(server, environ=None, **options):
    settings = ConnectionSettings.from_options(dict(APP, api_url=server.url, timeout=5, **options), environ=environ or {})
    clock = FakeClock()
    return HttpTransport(settings, FakeTokens(), build_session(settings), clock=clock, pacer=RateLimiter(clock=clock))


def test_ca_path_wins_over_requests_ca_bundle(tls_server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", requests.certs.where())
    tls_server.script = ["ok"]
    assert real_transport(tls_server, ca_path=tls_server.ca_path).request("GET", "/api/machines") == {"value": []}


def os_style_bundle(tmp_path, *extra):
    """A trust store file as update-ca-certificates writes it: the usual public CAs, plus these."""
    path = tmp_path / "ca-certificates.crt"
    path.write_text("".join(open(bundle, encoding="ascii").read() for bundle in (requests.certs.where(),) + extra))
    return str(path)


def test_without_ca_path_a_ca_in_the_machines_trust_store_is_trusted(tls_server, tmp_path, monkeypatch):
    # OpenSSL's default store, as SSL_CERT_FILE points it elsewhere (what the OS's default file is to a real run).
    monkeypatch.setenv("SSL_CERT_FILE", os_style_bundle(tmp_path, tls_server.ca_path))
    tls_server.script = ["ok"]
    assert real_transport(tls_server).request("GET", "/api/machines") == {"value": []}


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_without_ca_path_a_ca_only_in_requests_ca_bundle_is_trusted(tls_server, variable):
    tls_server.script = ["ok"]
    transport = real_transport(tls_server, environ={variable: tls_server.ca_path})
    assert transport.request("GET", "/api/machines") == {"value": []}


def test_a_ca_only_in_the_environment_is_not_trusted_when_ca_path_names_another(tls_server, tmp_path):
    other = trustme.CA()
    other_path = str(tmp_path / "other.pem")
    other.cert_pem.write_to_path(other_path)
    transport = real_transport(tls_server, environ={"REQUESTS_CA_BUNDLE": tls_server.ca_path}, ca_path=other_path)
    with pytest.raises(TransportError, match="TLS certificate could not be verified"):
        transport.request("GET", "/api/machines")
    assert tls_server.seen == []


def test_an_unverifiable_certificate_fails_at_once_with_a_hint(tls_server):
    transport = real_transport(tls_server)
    with pytest.raises(TransportError) as raised:
        transport.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={}, route="machines.StopAndQuarantineFile")
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert "TLS certificate could not be verified (set ca_path" in str(raised.value)
    assert transport.stats.as_dict()["calls"] == {"machines.StopAndQuarantineFile": 1}
    assert tls_server.seen == []


def test_a_post_dropped_after_sending_is_ambiguous_and_a_get_is_retried(tls_server):
    transport = real_transport(tls_server, ca_path=tls_server.ca_path)
    tls_server.script = ["drop", "drop", "ok"]
    with pytest.raises(AmbiguousWriteError, match="the answer was lost"):
        transport.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={"Sha1": "ab"}, route="write")
    assert tls_server.seen == ["POST"]
    assert transport.request("GET", "/api/machineactions", route="read") == {"value": []}
    assert tls_server.seen == ["POST", "GET", "GET"]

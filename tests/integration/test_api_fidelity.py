"""The module under every variant of what real clients of the Defender API have seen (docs/api-fidelity.md).

Each test is parametrized over the simulator switch that reproduces the uncertain behaviour, and checks both the
module's outcome and what went over the wire. The module runs in this process (tests/support/in_process.py): the
variants are about the module, and its ansible-playbook path is tested once, in test_stop_and_quarantine_file.py.
"""

import select
import socket
import socketserver
import threading
import time
from datetime import timedelta

import pytest

from tests.support.quarantine import FAST, LIST_ACTIONS, OTHER_SHA1, SHA1, ids, outcomes, quarantine_in_process as quarantine, seed, writes
from tests.simulator.config import AppRegistration
from tests.support.messages import COMPLETED_BEFORE_CANCEL

LIST_MACHINES = "machines.list"
CANCEL = "machineactions.cancel"
APP_ID_URI = "https://securitycenter.onmicrosoft.com/windowsatpservice"
LEGACY_AUDIENCE = "https://api.securitycenter.microsoft.com"


def list_queries(simulator, route=LIST_ACTIONS):
    return [entry["query"] for entry in simulator.log_for(route=route)]


# ------------------------------------------------------------------------------------------------------ duplicates

@pytest.mark.parametrize("variant, status", [
    ("active_request_exists", 201), ("already_in_progress", 201), ("return_existing", 201), ("return_existing", 200), ("mixed", 200),
])
def test_duplicate_answers_by_type_and_status(simulator, modules, variant, status):
    # The per-type switch decides, the global one says something else; the list lags an hour behind, so only
    # the POST's answer can tell the module that an action is pending already.
    machines = seed(simulator, 2)
    simulator.configure(duplicate_response="create_new", duplicate_response_by_type={"StopAndQuarantineFile": variant},
                        duplicate_existing_status=status, list_lag_seconds=3600)
    for machine in machines:
        simulator.add_machine_action(machine["id"], SHA1, status="Pending", created=simulator.clock.now() - timedelta(minutes=10))

    run, result = quarantine(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert (result["changed"], set(outcomes(result).values())) == (False, {"existing"})
    assert len(simulator.actions()) == 2, "no new action may be created"
    assert [entry["status"] for entry in writes(simulator)] in ([400, 400], [status, status], [400, status], [status, 400])


# ---------------------------------------------------------------------------------------------------------- listing

# A server that cuts pages without a link ("never") does so only at the documented page size, which is also the
# largest $top: with a smaller one, nothing could tell a cut page from the last one.
NEXT_LINK_VARIANTS = [("server_paging", 2), ("always", 2), ("never", 10_000)]


@pytest.mark.parametrize("list_order", ["newest_first", "oldest_first", "unordered"])
@pytest.mark.parametrize("next_link, page_size", NEXT_LINK_VARIANTS)
def test_pre_check_is_right_in_every_default_order(simulator, modules, list_order, next_link, page_size):
    # Pages of two: the pending action for the file hides among other files' actions, on whichever page the
    # server's order puts it.
    machines = seed(simulator, 2)
    simulator.configure(list_order=list_order, next_link=next_link, max_page_size=page_size)
    pending = simulator.add_machine_action(machines[0]["id"], SHA1, status="Pending", created=simulator.clock.now() - timedelta(hours=2))
    for minutes in range(1, 6):
        simulator.add_machine_action(machines[0]["id"], OTHER_SHA1, status="Pending", created=simulator.clock.now() - timedelta(minutes=minutes))

    run, result = quarantine(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert outcomes(result) == {machines[0]["id"]: "existing", machines[1]["id"]: "created"}
    assert result["actions"][0]["action_id"] == pending["id"]
    # Found by the pre-check, not by a duplicate answer: only the other machine got a POST.
    assert [entry["path"].split("/")[3] for entry in writes(simulator)] == [machines[1]["id"]]
    queries = list_queries(simulator)
    assert queries and all("$orderby=creationDateTimeUtc asc" in query for query in queries)
    # Paged by the module's own $top/$skip, never by a link: its queries all start with $top.
    assert all(query.startswith("$top=") for query in queries)


@pytest.mark.parametrize("next_link, page_size", NEXT_LINK_VARIANTS)
@pytest.mark.parametrize("loops", [True, False])
def test_paging_never_follows_next_links(simulator, modules, next_link, page_size, loops):
    # Three machines found by name through one filtered listing, answered two per page where the server pages;
    # the last page has no link.
    machines = seed(simulator, 3)
    simulator.configure(next_link=next_link, machines_next_link_loops=loops, max_page_size=page_size)

    run, result = quarantine(modules, machine_names=[machine["computerDnsName"] for machine in machines])

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"created"} and sorted(outcomes(result)) == sorted(ids(machines))
    queries = list_queries(simulator, LIST_MACHINES)
    assert not any("$skip=10000" in query for query in queries), queries
    assert [query.split("$skip=")[1].split("&")[0] for query in queries] == [str(skip) for skip in range(0, len(machines), page_size)]


@pytest.mark.parametrize("field", ["lastUpdateDateTimeUtc", "lastUpdateTimeUtc", "both"])
def test_last_update_is_read_under_either_name(simulator, modules, field):
    machine = seed(simulator, 1, quarantine_outcome="Failed")[0]
    simulator.configure(last_update_field=field, clock_speed=FAST)

    run, result = quarantine(modules, machine_ids=[machine["id"]], wait=True, env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    entry = result["actions"][0]
    assert entry["error"]["code"] == "ActionFailed"
    assert "(last update 20" in entry["error"]["message"], entry["error"]["message"]


@pytest.mark.parametrize("case", ["lower", "upper", "as_sent"])
def test_file_identifier_in_any_case_is_the_same_file(simulator, modules, case):
    machines = seed(simulator, 2)
    simulator.configure(file_identifier_case=case)
    simulator.add_machine_action(machines[0]["id"], SHA1.upper(), status="Pending")

    run, result = quarantine(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert outcomes(result) == {machines[0]["id"]: "existing", machines[1]["id"]: "created"}
    assert len(writes(simulator)) == 1


# ----------------------------------------------------------------------------------------------------- permissions

@pytest.mark.parametrize("forbidden_format", ["legacy", "roles"])
@pytest.mark.parametrize("roles, missing", [(("Machine.Read.All",), "Machine.StopAndQuarantine"),
                                            (("Machine.StopAndQuarantine",), "Machine.Read.All")])
def test_missing_permission_is_named_in_either_format(simulator, modules, forbidden_format, roles, missing):
    machines = seed(simulator, 1)
    simulator.configure(forbidden_format=forbidden_format)
    simulator.register_app(AppRegistration(client_id="11111111-2222-4333-8444-555555555555", secret="limited-app-secret", roles=roles))

    run, result = quarantine(modules, machine_ids=ids(machines),
                             env={"AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555", "AZURE_CLIENT_SECRET": "limited-app-secret"})

    assert run.failed
    # Without Machine.StopAndQuarantine the POST is refused per machine; without a read role, the pre-check is.
    error = result["actions"][0]["error"] if result.get("actions") else result["error"]
    assert error["code"] == "Forbidden" and error["missing_permission"] == missing
    assert "grant the application permission %s" % missing in result["msg"]
    assert len(writes(simulator)) == (1 if missing == "Machine.StopAndQuarantine" else 0)


# ----------------------------------------------------------------------------------------------------------- cancel

def _finish_actions_once_listed(simulator, seconds):
    """Jump the simulated clock once the module has read the action list: its cancel then meets a final action."""
    def jump():
        deadline = time.monotonic() + 120
        while not simulator.log_for(route=LIST_ACTIONS) and time.monotonic() < deadline:
            time.sleep(0.01)
        simulator.clock.advance(seconds)
    thread = threading.Thread(target=jump, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("response, code", [(400, "BadRequest"), (400, "InvalidRequest"), (200, "BadRequest")])
def test_cancel_of_a_final_action_stays_truthful(simulator, modules, response, code):
    # The action is in flight when the module reads it and final by the time its cancel arrives: the cancel is
    # held back (a latency fault) while the clock jumps past the action's end.
    machine = seed(simulator, 1)[0]
    simulator.configure(cancel_final_response=response, cancel_final_code=code, clock_speed=0.01)
    simulator.add_machine_action(machine["id"], SHA1, status="Pending", outcome="Succeeded")
    simulator.faults.add(CANCEL, "latency", delay=0.03)
    jumper = _finish_actions_once_listed(simulator, 600)

    run, result = quarantine(modules, machine_ids=[machine["id"]], state="cancelled")
    jumper.join()

    assert not run.failed, run.result
    entry = result["actions"][0]
    assert (entry["outcome"], entry["status"], result["changed"]) == ("quarantined", "Succeeded", False)
    assert any("releasing does not restore a file: it stays quarantined on 1 machine(s)" in warning for warning in run.warnings), run.warnings
    assert [entry["status"] for entry in simulator.log_for(route=CANCEL)] == [response]


@pytest.mark.parametrize("after_completion", [False, True])
def test_cancel_after_completion_is_not_a_clean_cancel(simulator, modules, after_completion):
    machine = seed(simulator, 1)[0]
    simulator.configure(cancel_after_completion=after_completion)
    in_progress = simulator.add_machine_action(machine["id"], SHA1, status="InProgress")

    run, result = quarantine(modules, machine_ids=[machine["id"]], state="cancelled")

    assert not run.failed, run.result
    entry = result["actions"][0]
    assert (entry["outcome"], entry["action_id"], entry["status"]) == ("cancelled", in_progress["id"], "Cancelled")
    warned = any(COMPLETED_BEFORE_CANCEL in warning for warning in run.warnings)
    assert warned is after_completion, run.warnings
    assert len(simulator.log_for(route=CANCEL)) == 1


# ------------------------------------------------------------------------------------------------------ absent file

@pytest.mark.parametrize("variant, wait, outcome, error_code", [
    ("refuse", False, "not_present", None),
    ("refuse", True, "not_present", None),
    ("fail_later", False, "created", None),
    ("fail_later", True, "not_present", None),
    ("fail_later_unexplained", True, "failed", "ActionFailed"),
])
def test_absent_file_is_not_present_with_wait(simulator, modules, variant, wait, outcome, error_code):
    machine = simulator.add_machine(name="ws-clean.contoso.local")
    simulator.configure(file_absent_response=variant, clock_speed=FAST)

    run, result = quarantine(modules, machine_ids=[machine["id"]], wait=wait, allow_partial=True, env={"MDE_TIME_SCALE": FAST})

    assert not run.failed, run.result
    entry = result["actions"][0]
    assert (entry["outcome"], (entry["error"] or {}).get("code")) == (outcome, error_code)
    assert [entry["status"] for entry in writes(simulator)] == [404 if variant == "refuse" else 201]
    # An action this run created counts as a change even when it then fails.
    assert result["changed"] is (variant != "refuse")


# ------------------------------------------------------------------------------------------- hosts and audiences

class _RecordingProxy(socketserver.ThreadingTCPServer):
    """An HTTPS proxy on 127.0.0.1 that records the host of every tunnel asked for and connects it to the simulator,
    whatever the host: a test sees which host the module chose without any traffic leaving the machine (and the
    simulator's certificate does not name a real host, so such a call fails at once)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.targets = []

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class _ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(request_line) < 2 or request_line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.targets.append(request_line[1])
        with socket.create_connection(("127.0.0.1", self.server.upstream_port)) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _relay(self.connection, upstream)


def _relay(client, upstream):
    sockets = [client, upstream]
    while True:
        readable, _writable, _failed = select.select(sockets, [], [], 30)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


@pytest.fixture(name="proxy")
def fixture_proxy(simulator):
    server = _RecordingProxy(int(simulator.base_url.rsplit(":", 1)[1]))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def token_scopes(simulator):
    return [entry["body"]["scope"] for entry in simulator.log_for(route="token")]


@pytest.mark.parametrize("region", ["us", "eu", "uk", "au", "swa", "ina"])
def test_region_picks_the_documented_regional_host(simulator, modules, proxy, region):
    machines = seed(simulator, 1)

    run, result = quarantine(modules, machine_ids=ids(machines), region=region, proxy_url=proxy.url, env={"MDE_API_URL": None})

    assert run.failed
    # The token came from the simulator through the proxy; the API call went to the regional host, whose name the
    # simulator's certificate does not carry.
    assert proxy.targets[-1] == "%s.api.security.microsoft.com:443" % region
    assert token_scopes(simulator) == [LEGACY_AUDIENCE + "/.default"]
    assert "https://%s.api.security.microsoft.com" % region in result["msg"]
    assert [entry["route"] for entry in simulator.request_log] == ["openid-configuration", "token"]


@pytest.mark.parametrize("api_audiences, scope, reaches_api", [
    (None, None, True),                                   # both documented audiences work; the default is used
    (None, APP_ID_URI + "/.default", True),
    ([APP_ID_URI], None, False),                          # a tenant where the default audience fails ...
    ([APP_ID_URI], APP_ID_URI + "/.default", True),       # ... is served by the other one through `scope`
])
def test_scope_chooses_the_token_audience(simulator, modules, api_audiences, scope, reaches_api):
    machines = seed(simulator, 1)
    simulator.configure(api_audiences=api_audiences)

    run, result = quarantine(modules, machine_ids=ids(machines), **({"scope": scope} if scope else {}))

    # A refused token is replaced once (it might have been revoked), for the same audience.
    assert set(token_scopes(simulator)) == {scope or LEGACY_AUDIENCE + "/.default"}
    if reaches_api:
        assert not run.failed, run.result
        assert outcomes(result) == {machines[0]["id"]: "created"}
    else:
        assert run.failed
        assert "scope" in result["msg"] and APP_ID_URI in result["msg"], result["msg"]
        assert {entry["status"] for entry in simulator.request_log if entry["path"].startswith("/api/")} == {401}

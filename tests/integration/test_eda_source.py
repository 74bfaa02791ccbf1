"""The mde.response.alerts event source, driven directly with an asyncio queue against the simulator.

Each test loads the source file the way ansible-rulebook does (runpy), runs its ``main(queue, args)`` as a task,
reads events from the queue, then cancels it; outcomes are checked on the events AND on the simulator's request log.
"""

import asyncio
import json
import logging
import os
import runpy
from urllib.parse import parse_qs

import pytest
import yaml

from ansible_collections.mde.response.plugins.module_utils._alerts.feed import FEED_ENVIRONMENT
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS
from tests.simulator.config import AppRegistration

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "extensions", "eda", "plugins", "event_source", "alerts.py")
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
# Guards against a hung test only; nothing here measures time.
GIVE_UP_SECONDS = 120


@pytest.fixture(name="machine")
def fixture_machine(simulator):
    return simulator.add_machine("desktop-1.contoso.local")


@pytest.fixture(name="source_args")
def fixture_source_args(simulator, tmp_path):
    args = dict(simulator.connection)
    args.update(interval=0.05, lookback="1h", state_file=str(tmp_path / "state" / "alerts.json"))
    return args


@pytest.fixture(autouse=True)
def token_cache_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


class RunningSource:
    """The source's main() as a task on the current loop, and its queue."""

    def __init__(self, args):
        self.queue = asyncio.Queue()
        self.task = asyncio.ensure_future(runpy.run_path(SOURCE)["main"](self.queue, args))

    async def events(self, count):
        """The next ``count`` events."""
        return [await asyncio.wait_for(self.queue.get(), GIVE_UP_SECONDS) for _event in range(count)]

    async def stop(self):
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def polls_seen(simulator, count, status=None):
    """Wait until the simulator has logged ``count`` alert listings (with this status), so that a test knows the
    source kept polling."""
    for _attempt in range(GIVE_UP_SECONDS * 20):
        if len([entry for entry in simulator.log_for(route="alerts.list") if status is None or entry["status"] == status]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the source did not poll %d times: %s" % (count, simulator.log_for(route="alerts.list")))


def listings(simulator):
    return simulator.log_for(route="alerts.list")


def query_of(entry):
    return {name: values[0] for name, values in parse_qs(entry["query"], keep_blank_values=True).items()}


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, GIVE_UP_SECONDS))


def collect(simulator, args, count, more_polls=0):
    """Run the source until it has sent ``count`` events, and then polled ``more_polls`` more times; returns the
    events and how many more it had queued by then."""
    async def scenario():
        source = RunningSource(args)
        events = await source.events(count)
        await polls_seen(simulator, len(listings(simulator)) + more_polls)
        await source.stop()
        return events, source.queue.qsize()

    return run(scenario())


def alert_after(simulator, machine, args, polls, status=None, disrupt=None):
    """Run the source until it has polled ``polls`` times (answered with ``status``), call ``disrupt``, raise an
    alert, and return the alert and the event the source sent for it."""
    async def scenario():
        source = RunningSource(args)
        await polls_seen(simulator, polls, status)
        if disrupt:
            disrupt()
        raised = simulator.alerts.raise_alert(machine["id"], files=[SHA1])
        [event] = await source.events(1)
        await source.stop()
        return raised, event

    return run(scenario())


def test_one_event_per_alert_with_its_entity_and_file_sha1s(simulator, machine, source_args):
    with_files = simulator.alerts.raise_alert(machine["id"], files=[SHA1.upper(), OTHER_SHA1, SHA1])
    without_files = simulator.alerts.raise_alert(machine["id"], severity="Medium")

    events, left = collect(simulator, source_args, 2, more_polls=3)
    assert left == 0
    by_id = {event["alert"]["id"]: event for event in events}
    assert set(by_id) == {with_files["id"], without_files["id"]}
    assert by_id[with_files["id"]]["sha1s"] == [SHA1, OTHER_SHA1]
    assert by_id[with_files["id"]]["alert"]["machineId"] == machine["id"]
    assert by_id[with_files["id"]]["alert"]["evidence"][0]["fileName"]
    assert by_id[without_files["id"]]["sha1s"] == []
    first = query_of(listings(simulator)[0])
    assert first["$expand"] == "evidence" and first["$orderby"] == "lastUpdateTime asc"
    assert first["$filter"].startswith("lastUpdateTime ge ")
    assert all(entry["status"] == 200 and entry["appid"] == simulator.connection["client_id"] for entry in listings(simulator))


def test_a_changed_alert_is_sent_again_an_unchanged_one_never(simulator, machine, source_args):
    raised = simulator.alerts.raise_alert(machine["id"], files=[SHA1])

    async def scenario():
        source = RunningSource(source_args)
        [first] = await source.events(1)
        await polls_seen(simulator, len(listings(simulator)) + 5)
        assert source.queue.empty()
        simulator.alerts.update_alert(raised["id"], status="InProgress")
        [second] = await source.events(1)
        await polls_seen(simulator, len(listings(simulator)) + 5)
        await source.stop()
        return first, second, source.queue.qsize()

    first, second, left = run(scenario())
    assert (first["alert"]["id"], first["alert"]["status"]) == (raised["id"], "New")
    assert (second["alert"]["id"], second["alert"]["status"]) == (raised["id"], "InProgress")
    assert left == 0


def test_a_restart_neither_loses_nor_replays_alerts(simulator, machine, source_args):
    before = simulator.alerts.raise_alert(machine["id"], files=[SHA1])

    [first], _left = collect(simulator, source_args, 1)
    during_stop = simulator.alerts.raise_alert(machine["id"], files=[OTHER_SHA1])
    [second], left = collect(simulator, dict(source_args, lookback="7d"), 1, more_polls=5)
    assert first["alert"]["id"] == before["id"]
    assert second["alert"]["id"] == during_stop["id"]
    assert left == 0
    with open(source_args["state_file"], encoding="utf-8") as stream:
        state = json.load(stream)
    assert set(state) == {"version", "floor", "cursor", "delivered", "pending"}
    assert state["delivered"] == {before["id"]: before["lastUpdateTime"], during_stop["id"]: during_stop["lastUpdateTime"]}
    assert oct(os.stat(source_args["state_file"]).st_mode & 0o777) == "0o600"


def test_a_restart_before_any_alert_keeps_the_first_start(simulator, machine, source_args):
    async def first_run():
        source = RunningSource(dict(source_args, lookback="0s"))
        await polls_seen(simulator, 2)
        await source.stop()

    run(first_run())
    while_down = simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    # A later first-start time would leave out the alert raised while the source was down.
    [event], _left = collect(simulator, dict(source_args, lookback="0s"), 1)
    assert event["alert"]["id"] == while_down["id"]


# Evidence of one alert (issue: the rulebook quarantined every SHA-1 of it, process images included).
DROPPER = {"sha1": SHA1, "fileName": "dropper.exe"}
UNJUDGED = {"sha1": OTHER_SHA1, "fileName": "readme.txt", "detectionStatus": None, "verdict": "unknown"}
POWERSHELL_SHA1 = "04c6f0d2c2b0e7a6b1e1f1f8a2b63c3a9f2a1a10"
POWERSHELL = {"sha1": POWERSHELL_SHA1}          # the simulator's default process: Microsoft's, in System32
TOOL_SHA1 = "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"
TOOL = {"sha1": TOOL_SHA1, "fileName": "tool.exe", "filePath": "C:\\Users\\Public\\Tools", "verdict": "suspicious",
        "signer": "Contoso Tools Ltd"}


@pytest.mark.parametrize("evidence_fields", ["documented", "with_verdict"])
@pytest.mark.parametrize("include_processes", [False, True])
def test_only_judged_files_are_selected_and_each_sha1_says_why(simulator, machine, source_args, evidence_fields, include_processes):
    simulator.configure(alert_evidence_fields=evidence_fields)
    raised = simulator.alerts.raise_alert(machine["id"], files=[DROPPER, UNJUDGED], processes=[POWERSHELL, TOOL])

    [event], _left = collect(simulator, dict(source_args, include_processes=include_processes), 1)
    assert event["alert"]["id"] == raised["id"]
    assert event["sha1s"] == [SHA1] + ([TOOL_SHA1] if include_processes else [])
    why = {choice["sha1"]: choice for choice in event["selection"]}
    assert set(why) == {SHA1, OTHER_SHA1, POWERSHELL_SHA1, TOOL_SHA1}
    assert (why[SHA1]["entityType"], why[SHA1]["fileName"], why[SHA1]["selected"]) == ("File", "dropper.exe", True)
    assert why[SHA1]["reason"] == "File evidence that Defender judged %s" % (
        "malicious (verdict)" if evidence_fields == "with_verdict" else "Detected (detectionStatus)")
    assert not why[OTHER_SHA1]["selected"] and "did not judge it malicious or suspicious" in why[OTHER_SHA1]["reason"]
    assert (why[POWERSHELL_SHA1]["entityType"], why[POWERSHELL_SHA1]["selected"]) == ("Process", False)
    assert why[TOOL_SHA1]["selected"] is include_processes
    if not include_processes:
        assert "include_processes: true" in why[POWERSHELL_SHA1]["reason"]
    elif evidence_fields == "with_verdict":
        assert why[POWERSHELL_SHA1]["reason"].startswith("signed by Microsoft (Microsoft Windows)")
    else:
        # The documented evidence names no signer: the system folder keeps powershell.exe out.
        assert "in the Windows system folder C:\\Windows\\System32" in why[POWERSHELL_SHA1]["reason"]


def test_an_unreadable_state_file_starts_over_from_lookback_with_a_warning(simulator, machine, source_args, caplog):
    os.makedirs(os.path.dirname(source_args["state_file"]))
    with open(source_args["state_file"], "w", encoding="utf-8") as stream:
        stream.write("{not json")
    raised = simulator.alerts.raise_alert(machine["id"], files=[SHA1])

    with caplog.at_level(logging.WARNING, logger="mde.response.alerts"):
        [event], _left = collect(simulator, source_args, 1)
    assert event["alert"]["id"] == raised["id"]
    assert "could not be read" in caplog.text and source_args["state_file"] in caplog.text


def test_filters_by_severity_status_and_category_on_the_wire(simulator, machine, source_args):
    simulator.alerts.raise_alert(machine["id"], files=[SHA1], severity="Low")
    simulator.alerts.raise_alert(machine["id"], files=[SHA1], category="SuspiciousActivity")
    resolved = simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    simulator.alerts.update_alert(resolved["id"], status="Resolved")
    wanted = simulator.alerts.raise_alert(machine["id"], files=[SHA1], severity="High", category="Malware")

    filtered = dict(source_args, severity=["high", "Medium"], status="New,InProgress", category=["Malware"])
    [event], left = collect(simulator, filtered, 1, more_polls=3)
    assert event["alert"]["id"] == wanted["id"] and left == 0
    odata_filter = query_of(listings(simulator)[0])["$filter"]
    assert "(severity eq 'High' or severity eq 'Medium')" in odata_filter
    assert "(status eq 'New' or status eq 'InProgress')" in odata_filter
    assert "(category eq 'Malware')" in odata_filter


def test_pages_follow_the_update_time_and_deliver_each_alert_once(simulator, machine, source_args):
    raised = []
    for _alert in range(7):
        raised.append(simulator.alerts.raise_alert(machine["id"], files=[SHA1]))
        simulator.clock.advance(2)

    events, left = collect(simulator, dict(source_args, page_size=3), 7, more_polls=3)
    assert [event["alert"]["id"] for event in events] == [alert["id"] for alert in raised]
    assert left == 0
    first_poll = [query_of(entry) for entry in listings(simulator)[:3]]
    assert [query["$top"] for query in first_poll] == ["3", "3", "3"]
    bounds = [query["$filter"] for query in first_poll]
    assert bounds[0] < bounds[1] < bounds[2]         # each page starts where the last one ended


def test_rate_limits_wait_for_retry_after(simulator, machine, source_args, monkeypatch):
    # Simulated minutes pass in real seconds; the client's clock runs as fast.
    simulator.configure(clock_speed=60, rate_limit_per_minute=3)
    monkeypatch.setenv("MDE_TIME_SCALE", "60")

    raised, event = alert_after(simulator, machine, dict(source_args, interval=0.01), 3, status=429)
    assert event["alert"]["id"] == raised["id"]
    statuses = [entry["status"] for entry in listings(simulator)]
    # A client that ignored Retry-After would be refused again at once: each 429 is followed by an admitted call.
    assert all(after == 200 for before, after in zip(statuses, statuses[1:]) if before == 429), statuses


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_survives_a_revoked_or_expired_token(simulator, machine, source_args, how):
    def disrupt():
        if how == "revoked":
            simulator.faults.add("alerts.list", "revoke_token", times=1)
        else:
            simulator.clock.advance(7200)

    raised, event = alert_after(simulator, machine, source_args, 2, disrupt=disrupt)
    assert event["alert"]["id"] == raised["id"]
    assert 401 in [entry["status"] for entry in listings(simulator)]
    assert len(simulator.log_for(route="token")) == 2


@pytest.mark.parametrize("kind", ["drop_before", "status", "html", "malformed", "unexpected_shape", "timeout_after"])
def test_survives_network_faults_and_garbage_answers(simulator, machine, source_args, monkeypatch, kind, caplog):
    monkeypatch.setenv("MDE_TIME_SCALE", "100")      # the transport's backoff between retries, in fast time
    simulator.faults.add("alerts.list", kind, times=4, delay=2.0)

    with caplog.at_level(logging.ERROR, logger="mde.response.alerts"):
        raised, event = alert_after(simulator, machine, dict(source_args, timeout=1), 5)
    assert event["alert"]["id"] == raised["id"]
    assert [entry["fault"] for entry in listings(simulator)][:4] == [kind] * 4
    if kind in ("malformed", "unexpected_shape"):
        # A 200 that is not a listing is not retried by the transport: the poll fails, is logged, and comes again.
        assert caplog.text.count("polling alerts failed") == 4 and "trying again" in caplog.text
    assert simulator.connection["client_secret"] not in caplog.text


def test_a_missing_permission_is_named_and_the_source_keeps_trying(simulator, machine, source_args, caplog):
    simulator.register_app(AppRegistration("0a1b2c3d-0000-4000-8000-000000000002", secret="s3cret~value", roles=("Machine.Read.All",)))

    async def scenario():
        source = RunningSource(dict(source_args, client_id="0a1b2c3d-0000-4000-8000-000000000002", client_secret="s3cret~value"))
        await polls_seen(simulator, 2, status=403)
        await source.stop()

    with caplog.at_level(logging.ERROR, logger="mde.response.alerts"):
        run(scenario())
    assert "Alert.Read.All" in caplog.text and "admin consent" in caplog.text


def test_connection_options_come_from_the_modules_environment_variables(simulator, machine, monkeypatch, tmp_path):
    connection = simulator.connection
    for variable, option in (("AZURE_TENANT_ID", "tenant_id"), ("AZURE_CLIENT_ID", "client_id"), ("AZURE_CLIENT_SECRET", "client_secret"),
                             ("AZURE_AUTHORITY_HOST", "authority_host"), ("MDE_API_URL", "api_url"), ("MDE_CA_PATH", "ca_path")):
        monkeypatch.setenv(variable, connection[option])
    raised = simulator.alerts.raise_alert(machine["id"], files=[SHA1])

    [event], _left = collect(simulator, {"interval": 0.05, "lookback": "1h", "state_file": str(tmp_path / "state.json")}, 1)
    assert event["alert"]["id"] == raised["id"]


@pytest.mark.parametrize("bad, message", [
    ({"severity": ["Critical"]}, "severity must be one or more of"),
    ({"interval": 0}, "interval must be a positive number"),
    ({"lookback": "yesterday"}, "lookback must be"),
    ({"page_size": 20000}, "page_size must be at most 10000"),
    ({"client_secret": None, "auth_method": "client_secret"}, "client_secret"),
])
def test_invalid_arguments_stop_the_source_before_any_request(simulator, source_args, bad, message):
    async def scenario():
        await runpy.run_path(SOURCE)["main"](asyncio.Queue(), dict(source_args, **bad))

    with pytest.raises(Exception, match=message) as raised:
        run(scenario())
    assert type(raised.value).__name__ == "InputError"
    assert simulator.request_log == []


def test_the_documentation_covers_every_option_and_environment_variable():
    module = runpy.run_path(SOURCE)
    documentation = yaml.safe_load(module["DOCUMENTATION"])
    examples = yaml.safe_load(module["EXAMPLES"])
    with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "eda.md"), encoding="utf-8") as stream:
        guide = stream.read()
    assert set(documentation["options"]) == set(FEED_ENVIRONMENT)
    for option, variables in FEED_ENVIRONMENT.items():
        described = " ".join(documentation["options"][option]["description"])
        for variable in variables:
            assert "E(%s)" % variable in described, option
            assert "`%s`" % variable in guide, variable
    for connection_option in CONNECTION_OPTIONS:
        assert "`%s`" % connection_option.name in guide, connection_option.name
        for variable in connection_option.env:
            assert "`%s`" % variable in guide, variable
    assert "mde.response.alerts" in examples[0]["sources"][0]


def sources_log(caplog, alert_id):
    return [record.getMessage() for record in caplog.records if record.name == "mde.response.alerts" and alert_id in record.getMessage()]


def test_an_alert_without_its_action_is_sent_again_even_after_a_restart_until_the_action_exists(simulator, machine, source_args, caplog):
    """A failed playbook run leaves no action: the alert comes again after resend_interval, also from a restarted
    source, and stops coming once its quarantine exists."""
    raised = simulator.alerts.raise_alert(machine["id"], files=[DROPPER, UNJUDGED], processes=[POWERSHELL])
    resending = dict(source_args, resend_interval=0.5)

    with caplog.at_level(logging.INFO, logger="mde.response.alerts"):
        [first], _left = collect(simulator, resending, 1)            # then stopped, as after a failed run
        listed = len(listings(simulator))

        async def after_restart():
            source = RunningSource(resending)
            [again] = await source.events(1)
            simulator.add_machine_action(machine["id"], SHA1, status="Pending", comment="Defender alert %s" % raised["id"])
            # Long enough for two more resends: the action now exists, so none is sent.
            await asyncio.sleep(1.5)
            await polls_seen(simulator, len(listings(simulator)) + 3)
            await source.stop()
            return again, source.queue.qsize()

        again, left = run(after_restart())

    assert (first["delivery"], again["delivery"]) == ({"reason": "new", "attempt": 1}, {"reason": "resend", "attempt": 2})
    assert again["alert"]["id"] == raised["id"] and again["sha1s"] == [SHA1] and left == 0
    by_id = [entry for entry in listings(simulator)[listed:] if "id eq" in query_of(entry)["$filter"]]
    assert by_id and all(query_of(entry)["$filter"] == "(id eq '%s')" % raised["id"] for entry in by_id)
    reads = simulator.log_for(route="machineactions.list")
    assert reads and all("machineId eq '%s'" % machine["id"] in query_of(entry)["$filter"] for entry in reads)
    assert simulator.log_for(route="machines.StopAndQuarantineFile") == []    # the source itself never writes
    with open(source_args["state_file"], encoding="utf-8") as stream:
        assert json.load(stream)["pending"] == {}
    log = sources_log(caplog, raised["id"])
    assert any(line.startswith("received alert %s (new, status New" % raised["id"]) for line in log)
    assert any(line.startswith("sent alert %s (new, attempt 1)" % raised["id"]) and "SHA-1 %s selected" % SHA1 in line
               and "left out %s (Process powershell.exe)" % POWERSHELL_SHA1 in line for line in log)
    assert any(line.startswith("held back alert %s: sent 1 time(s)" % raised["id"]) for line in log)
    assert any(line.startswith("sent alert %s (resend, attempt 2) because machine %s has no quarantine action yet for %s"
                               % (raised["id"], machine["id"], SHA1)) for line in log)
    assert any(line.startswith("alert %s is done: machine %s has a quarantine action" % (raised["id"], machine["id"])) for line in log)


def test_a_resolved_alert_is_not_sent_again_and_a_replay_sends_one_once(simulator, machine, source_args, caplog, monkeypatch):
    resolved = simulator.alerts.raise_alert(machine["id"], files=[SHA1])
    replayed = simulator.alerts.raise_alert(machine["id"], files=[OTHER_SHA1])
    resending = dict(source_args, resend_interval=0.3)

    with caplog.at_level(logging.INFO, logger="mde.response.alerts"):
        events, _left = collect(simulator, dict(resending, resend_interval=0), 2)
        simulator.add_machine_action(machine["id"], OTHER_SHA1, status="Succeeded")
        simulator.alerts.update_alert(resolved["id"], status="Resolved")
        simulator.clock.advance(1)

        # As docs/eda.md's replay command sets it.
        monkeypatch.setenv("MDE_ALERTS_REPLAY", "%s,da0000000000000000_0000000000" % replayed["id"])

        async def replay():
            source = RunningSource(resending)
            received = await source.events(2)
            await asyncio.sleep(1)
            await polls_seen(simulator, len(listings(simulator)) + 3)
            await source.stop()
            return received, source.queue.qsize()

        received, left = run(replay())

    assert [event["delivery"]["reason"] for event in events] == ["new", "new"]
    with open(source_args["state_file"], encoding="utf-8") as stream:
        assert json.load(stream)["pending"] == {}           # resend_interval 0: nothing is tracked
    # The replay first, then the resolved alert's change; after that nothing, the action of one existing, the other resolved.
    assert [(event["alert"]["id"], event["delivery"]) for event in received] == [
        (replayed["id"], {"reason": "replay", "attempt": 1}), (resolved["id"], {"reason": "changed", "attempt": 1})]
    assert left == 0
    assert any("skipped alert da0000000000000000_0000000000: the API does not list it" in line for line in caplog.messages)
    assert any(line.startswith("alert %s is done" % replayed["id"]) for line in sources_log(caplog, replayed["id"]))
    assert any("not sent again unless it changes" in line for line in sources_log(caplog, resolved["id"]))

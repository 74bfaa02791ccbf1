"""alert_feed: the event source's options, cursor state, paging and events, without a network."""

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._alerts.evidence import in_system_folder, select_evidence
from ansible_collections.mde.response.plugins.module_utils._alerts.feed import (
    MAX_BACKOFF, AlertPoll, FeedOptions, FeedState, alert_event, backoff, connection_values, default_state_file,
    describe_event, missing_actions)
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
THIRD_SHA1 = "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"


def stamp(seconds):
    """The API's timestamp text, ``seconds`` after NOW."""
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def alert(alert_id, seconds, **fields):
    return {"id": alert_id, "lastUpdateTime": stamp(seconds), **fields}


def options(tmp_path, environ=None, **args):
    return FeedOptions(dict({"state_file": str(tmp_path / "state.json")}, **args), {}, NOW, environ or {})


# ---------------------------------------------------------------------------------------------------- options

def test_defaults_and_the_filter(tmp_path):
    chosen = options(tmp_path, severity="high, medium", status=["New"], category=["Malware", "Malware"])
    assert (chosen.interval, chosen.overlap, chosen.page_size, chosen.start) == (60.0, 300.0, 1000, NOW)
    assert chosen.odata_filter(NOW) == ("lastUpdateTime ge 2026-03-02T09:00:00Z and (severity eq 'High' or severity eq 'Medium') "
                                        "and (status eq 'New') and (category eq 'Malware')")


def test_a_category_is_quoted_so_it_cannot_change_the_filter(tmp_path):
    assert "(category eq 'x'' or 1 eq 1')" in options(tmp_path, category=["x' or 1 eq 1"]).odata_filter(NOW)


def test_options_fall_back_to_environment_variables(tmp_path):
    chosen = FeedOptions({}, {}, NOW, {"MDE_ALERTS_INTERVAL": "5", "MDE_ALERTS_SEVERITY": "High", "MDE_ALERTS_LOOKBACK": "2h",
                                       "MDE_ALERTS_STATE_FILE": str(tmp_path / "env.json")})
    assert (chosen.interval, chosen.severities, chosen.start, chosen.state_file) == (5.0, ["High"], NOW - timedelta(hours=2),
                                                                                     str(tmp_path / "env.json"))


@pytest.mark.parametrize("args, message", [
    ({"interval": "soon"}, "interval must be a positive number"),
    ({"overlap": -1}, "overlap must be a non-negative number"),
    ({"page_size": 0}, "page_size must be a positive number"),
    ({"page_size": 10001}, "page_size must be at most 10000"),
    ({"status": ["Open"]}, "status must be one or more of Unknown, New, InProgress, Resolved"),
    ({"severity": {"High": 1}}, "severity must be a list"),
    ({"lookback": "last week"}, "lookback must be"),
    ({"include_processes": "sometimes"}, "include_processes must be true or false"),
    ({"resend_interval": -5}, "resend_interval must be a non-negative number"),
])
def test_invalid_options(tmp_path, args, message):
    with pytest.raises(InputError, match=message):
        options(tmp_path, **args)


def test_the_default_state_file_depends_on_tenant_app_and_filters():
    environ = {"XDG_STATE_HOME": "/state"}
    first = default_state_file(environ, json.dumps(["https://api", "tenant", "app", ["High"], [], []]))
    assert first.startswith("/state/mde.response/alerts-") and first.endswith(".json")
    assert first != default_state_file(environ, json.dumps(["https://api", "tenant", "app", [], [], []]))
    assert FeedOptions({}, {"tenant_id": "a"}, NOW, environ).state_file != FeedOptions({}, {"tenant_id": "b"}, NOW, environ).state_file


def test_connection_values_take_arguments_then_the_modules_variables():
    values = connection_values({"client_id": "from-args", "validate_certs": None},
                               {"AZURE_CLIENT_ID": "from-env", "AZURE_TENANT": "tenant", "AZURE_SECRET": "s",
                                "MDE_VALIDATE_CERTS": "no", "MDE_TOKEN_CACHE": "true"})
    assert (values["client_id"], values["tenant_id"], values["client_secret"]) == ("from-args", "tenant", "s")
    assert (values["validate_certs"], values["token_cache"], values["api_url"]) == (False, True, None)


# ------------------------------------------------------------------------------------------------------ state

def test_state_round_trip_prunes_what_left_the_overlap_window(tmp_path):
    path = str(tmp_path / "deep" / "state.json")
    state = FeedState.load(path, NOW, overlap=60)
    state.record(alert("old", 1))
    state.record(alert("new", 120))
    state.save()
    loaded = FeedState.load(path, NOW - timedelta(days=1), overlap=60)
    assert loaded.warning is None
    assert loaded.delivered == {"new": stamp(120)}
    assert loaded.cursor == NOW + timedelta(seconds=120) and loaded.floor == NOW
    assert loaded.lower_bound() == NOW + timedelta(seconds=60)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert os.listdir(os.path.dirname(path)) == ["state.json"]


def test_new_changed_old_and_repeated_alerts(tmp_path):
    state = FeedState(str(tmp_path / "s.json"), NOW, overlap=300)
    state.record(alert("a", 10))
    assert not state.is_new(alert("a", 10))
    assert state.is_new(alert("a", 11))
    assert not state.is_new(alert("a", 9))
    assert state.is_new(alert("b", 5))
    assert not state.is_new(alert("c", -1))       # before the first start


@pytest.mark.parametrize("content", ["{broken", json.dumps({"version": 99, "floor": stamp(0), "cursor": stamp(0), "delivered": {}}),
                                     json.dumps({"version": 1, "floor": "yesterday", "cursor": stamp(0), "delivered": {}}),
                                     json.dumps([1, 2])])
def test_an_unreadable_state_file_starts_fresh_with_a_warning(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_text(content)
    state = FeedState.load(str(path), NOW, overlap=0)
    assert state.delivered == {} and state.cursor == NOW
    assert "could not be read" in state.warning and str(path) in state.warning


# ------------------------------------------------------------------------------------------------------ paging

def test_pages_move_their_lower_bound_to_the_newest_update(tmp_path):
    state = FeedState(str(tmp_path / "s.json"), NOW, overlap=0)
    poll = AlertPoll(options(tmp_path, page_size=2), state)
    assert poll.params() == {"$filter": "lastUpdateTime ge 2026-03-02T09:00:00Z", "$orderby": "lastUpdateTime asc",
                             "$expand": "evidence", "$top": "2"}
    assert [entry["id"] for entry in poll.take([alert("a", 1), alert("b", 2)])] == ["a", "b"]
    assert poll.params()["$filter"] == "lastUpdateTime ge 2026-03-02T09:00:02Z" and "$skip" not in poll.params()
    for entry in (alert("a", 1), alert("b", 2)):
        state.record(entry)
    assert [entry["id"] for entry in poll.take([alert("b", 2), alert("c", 3)])] == ["c"]
    assert not poll.done
    assert poll.take([alert("c", 3)]) == [alert("c", 3)] and poll.done


def test_a_full_page_of_one_update_time_pages_on_with_skip(tmp_path):
    state = FeedState(str(tmp_path / "s.json"), NOW, overlap=0)
    poll = AlertPoll(options(tmp_path, page_size=2), state)
    poll.take([alert("a", 0), alert("b", 0)])
    assert poll.params()["$skip"] == "2"
    poll.take([alert("c", 0), alert("d", 0)])
    assert poll.params()["$skip"] == "4" and not poll.done


def test_malformed_entries_are_left_out_and_named(tmp_path):
    poll = AlertPoll(options(tmp_path), FeedState(str(tmp_path / "s.json"), NOW, overlap=0))
    taken = poll.take(["text", {"lastUpdateTime": stamp(1)}, alert("x", 1, lastUpdateTime="soon"), alert("ok", 2)])
    assert [entry["id"] for entry in taken] == ["ok"]
    assert len(poll.skipped) == 3 and "alert x without a readable lastUpdateTime" in poll.skipped[2]
    assert poll.done


def test_an_event_has_the_entity_the_selected_sha1s_and_why_each_was_chosen():
    entity = alert("a", 0, evidence=[{"entityType": "File", "sha1": SHA1.upper(), "detectionStatus": "Blocked"},
                                     {"entityType": "User", "sha1": None}, {"entityType": "File", "sha1": SHA1},
                                     {"sha1": "not-a-hash"}, "garbage"])
    event = alert_event(entity)
    assert (event["alert"], event["sha1s"], event["delivery"]) == (entity, [SHA1], {"reason": "new", "attempt": 1})
    assert [(choice["sha1"], choice["selected"], choice["reason"]) for choice in event["selection"]] == [
        (SHA1, True, "File evidence that Defender judged Blocked (detectionStatus)")]
    assert alert_event(alert("b", 0, evidence=None))["sha1s"] == []
    assert describe_event(event) == "SHA-1 %s selected" % SHA1


@pytest.mark.parametrize("entry, include_processes, reason", [
    ({"entityType": "File", "detectionStatus": None}, False, "did not judge it malicious or suspicious (detectionStatus None)"),
    ({"entityType": "File", "detectionStatus": "Detected", "verdict": "noThreatsFound"}, False, "verdict noThreatsFound"),
    ({"entityType": "Process", "detectionStatus": "Detected"}, False, "set the source's include_processes: true"),
    ({"entityType": "Process", "detectionStatus": "Detected", "filePath": "%SystemRoot%\\SysWOW64"}, True,
     "in the Windows system folder"),
    ({"entityType": "Process", "verdict": "malicious", "fileDetails": {"issuer": "Microsoft Code Signing PCA 2011"}}, True,
     "signed by Microsoft (Microsoft Code Signing PCA 2011)"),
    ({"entityType": "File", "detectionStatus": "Prevented", "filePath": "D:/Windows/WinSxS/amd64_x"}, False, "system folder"),
    ({"entityType": "Registry", "detectionStatus": "Detected"}, True, "Registry evidence is not a file"),
])
def test_evidence_left_out_says_why(entry, include_processes, reason):
    [choice] = select_evidence([dict(entry, sha1=SHA1)], include_processes)
    assert not choice["selected"] and reason in choice["reason"]


@pytest.mark.parametrize("folder", ["C:\\Windows\\Temp", "C:\\Users\\x\\AppData\\Local\\Temp", "C:\\ProgramData", None])
def test_files_outside_the_system_folders_are_selected(folder):
    [choice] = select_evidence([{"entityType": "Process", "sha1": SHA1, "detectionStatus": "Detected", "filePath": folder}], True)
    assert choice["selected"] and not in_system_folder(folder)


def test_a_sha1_seen_as_a_process_and_as_a_detected_file_is_selected_once():
    evidence = [{"entityType": "Process", "sha1": SHA1, "detectionStatus": "Detected"},
                {"entityType": "File", "sha1": SHA1, "detectionStatus": "Detected", "fileName": "drop.exe"}]
    assert [(choice["entityType"], choice["selected"]) for choice in select_evidence(evidence, False)] == [("File", True)]


def test_tracked_alerts_are_due_after_the_resend_interval_and_survive_a_restart(tmp_path):
    state = FeedState(str(tmp_path / "s.json"), NOW, overlap=0)
    entity = alert("a", 0, machineId="m1", status="New", alertCreationTime=stamp(0),
                   evidence=[{"entityType": "File", "sha1": SHA1, "detectionStatus": "Detected"}])
    assert state.track(alert_event(entity), NOW)
    assert state.due(NOW + timedelta(seconds=10), 60) == ([], [("a", 50.0)])
    assert state.due(NOW + timedelta(seconds=60), 60) == (["a"], [])
    assert state.due(NOW + timedelta(days=1), 0) == ([], [])          # 0: never sent again
    # A change is not a new attempt: the wait goes on from the last send.
    state.track(alert_event(entity, reason="changed"), NOW + timedelta(seconds=30))
    state.record(entity)
    state.save()
    loaded = FeedState.load(state.path, NOW, overlap=0)
    assert loaded.pending == {"a": {"machineId": "m1", "sha1s": [SHA1], "alertCreationTime": stamp(0), "sent": NOW.isoformat(), "attempt": 1}}
    assert not loaded.track(alert_event(dict(entity, status="Resolved"), attempt=2), NOW) and loaded.pending == {}


def test_a_version_1_state_file_is_read_with_nothing_pending(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "floor": stamp(0), "cursor": stamp(5), "delivered": {"a": stamp(5)}}))
    state = FeedState.load(str(path), NOW, overlap=60)
    assert state.warning is None and state.pending == {} and state.delivered == {"a": stamp(5)}


def test_an_action_in_flight_or_a_recent_success_is_the_alerts_action():
    event = alert_event(alert("a", 0, alertCreationTime=stamp(0), evidence=[
        {"entityType": "File", "sha1": sha1, "detectionStatus": "Detected"} for sha1 in (SHA1, OTHER_SHA1, THIRD_SHA1)]))

    def action(sha1, status, seconds):
        return {"type": "StopAndQuarantineFile", "status": status, "creationDateTimeUtc": stamp(seconds),
                "relatedFileInfo": {"fileIdentifier": sha1.upper()}}

    assert missing_actions(event, [action(SHA1, "Pending", -86400 * 30), action(OTHER_SHA1, "Succeeded", -3600),
                                   action(THIRD_SHA1, "Failed", 10)]) == [THIRD_SHA1]
    assert missing_actions(event, [action(SHA1, "Succeeded", -86400 * 2), action(OTHER_SHA1, "Cancelled", 5)]) == [SHA1, OTHER_SHA1, THIRD_SHA1]


def test_backoff_doubles_from_the_interval_up_to_a_ceiling():
    assert [backoff(failures, 10) for failures in (1, 2, 3)] == [10, 20, 40]
    assert backoff(30, 10) == MAX_BACKOFF
    assert backoff(3, 900) == 900            # an interval above the ceiling is never shortened

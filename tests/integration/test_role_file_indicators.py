"""Indicators as code through the file_indicators role: a 600-entry list, a list that owns only what it created, deletion
bounds, in-line expiries kept, and list files refused by name."""

from datetime import timedelta

import yaml

from tests.simulator.config import CLIENT_ID as APP
from tests.support.quarantine import OTHER_SHA1, SHA1

SHA256 = "2d6bdfb341be3a6234b24742377f93aa7c7cfb0d9fd64efa9282c87852e57085"
TASK = "Converge the tenant's file indicators to the list"


def converge(ansible, tmp_path, entries, check=False, env=None, **role_vars):
    path = tmp_path / "blocked-files.yml"
    path.write_text(entries if isinstance(entries, str) else yaml.safe_dump(entries))
    role_vars.setdefault("file_indicators_list_name", "blocked-files")
    run = ansible.playbook("role_file_indicators.yml", extra_vars=dict(file_indicators_file=str(path), **role_vars), check=check, env=env)
    return run, run.result(TASK)


def calls(simulator, method=None):
    return [entry for entry in simulator.request_log if entry["route"].startswith("indicators.") and (method is None or entry["method"] == method)]


def test_a_600_entry_list_converges_in_two_imports_and_then_stays(simulator, ansible, tmp_path):
    entries = [{"file_hash": "%040x" % number, "title": "blocked %d" % number, "severity": "High"} for number in range(600)]

    check_run, predicted = converge(ansible, tmp_path, entries, check=True)
    assert check_run.rc == 0, check_run.output
    assert predicted["changed"] is True and len(predicted["created"]) == 600
    assert calls(simulator, "POST") == [] and simulator.indicators.indicators() == []

    run, result = converge(ansible, tmp_path, entries)

    assert run.rc == 0, run.output
    assert len(result["created"]) == 600 and result["refused"] == []
    assert [len(entry["body"]["Indicators"]) for entry in calls(simulator, "POST")] == [500, 100]
    assert all(entry["route"] == "indicators.import" and entry["status"] == 200 for entry in calls(simulator, "POST"))
    assert len(calls(simulator, "GET")) == 2                    # the check run's listing and this one's
    assert "List blocked-files: 600 created, 0 updated, 0 deleted, 0 unchanged" in run.stdout
    assert {item["title"] for item in simulator.indicators.indicators()} == {"blocked %d" % number for number in range(600)}
    simulator.reset()

    rerun, again = converge(ansible, tmp_path, entries)
    assert rerun.rc == 0, rerun.output
    assert (again["changed"], again["unchanged"]) == (False, 600)
    assert calls(simulator, "POST") == [] and calls(simulator, "DELETE") == []


def seed_own(simulator, file_hash, list_name="blocked-files", **fields):
    """An indicator as the list ``list_name`` created it in an earlier run."""
    return simulator.indicators.add_indicator(file_hash, created_by=APP, source_type="AadApp", application="mde.response:" + list_name,
                                              title="File %s" % file_hash, **fields)


def test_exclusive_deletes_only_the_lists_own_names_each_deletion_and_keeps_an_in_line_expiry(simulator, ansible, tmp_path):
    in_twenty_days = (simulator.clock.now() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = seed_own(simulator, SHA1, severity="Low", expirationTime=in_twenty_days)
    left = seed_own(simulator, OTHER_SHA1)
    by_contain = simulator.indicators.add_indicator("%040x" % 7, created_by=APP, source_type="AadApp", application="mde.response",
                                                    title="INC-4711: contain")
    other_list = seed_own(simulator, "%040x" % 8, list_name="incident-4711")
    audit = simulator.indicators.add_indicator(SHA256, indicator_type="FileSha256", action="Audit", generateAlert=True, title="analyst watch")
    entries = [{"file_hash": SHA1, "severity": "High", "expiration": "30d"}, {"file_hash": SHA256, "title": "INC-9: dropper"}]
    simulator.reset()

    check_run, predicted = converge(ansible, tmp_path, entries, check=True, env={"ANSIBLE_DIFF_ALWAYS": "1"}, file_indicators_exclusive=True)

    assert check_run.rc == 0, check_run.output
    assert [item["id"] for item in predicted["deleted"]] == [left["id"]]
    assert "would be deleted: %s (indicator %s, File %s)" % (OTHER_SHA1, left["id"], OTHER_SHA1) in check_run.stdout
    # The diff shows the one field the write changes; the expiry is in line with 30d, so it is not among them.
    assert '"severity": "High"' in check_run.stdout and '"expirationTime"' not in check_run.stdout
    assert calls(simulator, "POST") == [] and calls(simulator, "DELETE") == []

    run, result = converge(ansible, tmp_path, entries, file_indicators_exclusive=True)

    assert run.rc == 0, run.output
    assert [entry["params"]["indicator_id"] for entry in calls(simulator, "DELETE")] == [left["id"]]
    [imported] = calls(simulator, "POST")
    assert [(body["indicatorValue"], body["severity"], body["expirationTime"]) for body in imported["body"]["Indicators"]] == [
        (SHA1, "High", kept["expirationTime"])]
    assert result["updated"] == [{"file_hash": SHA1, "before": {"severity": "Low"}, "after": {"severity": "High"}}]
    assert [(item["id"], item["action"]) for item in result["not_owned"]] == [(audit["id"], "Audit")]
    assert [item["id"] for item in result["legacy"]] == [by_contain["id"]]
    for line in ("List blocked-files: 0 created, 1 updated, 1 deleted, 0 unchanged",
                 "deleted: %s (indicator %s, File %s)" % (OTHER_SHA1, left["id"], OTHER_SHA1),
                 "left as it is: %s, indicator %s of analyst@contoso.com (Audit)" % (SHA256, audit["id"]),
                 "left alone: 1 indicator(s) of application mde.response"):
        assert line in run.stdout, run.stdout
    stored = {item["id"]: item for item in simulator.indicators.indicators()}
    assert sorted(stored) == sorted([kept["id"], by_contain["id"], other_list["id"], audit["id"]])
    assert (stored[audit["id"]]["action"], stored[audit["id"]]["title"]) == ("Audit", "analyst watch")
    assert stored[kept["id"]]["expirationTime"] == kept["expirationTime"]


def test_deleting_beyond_the_bound_or_an_empty_list_is_refused_before_any_write(simulator, ansible, tmp_path):
    owned = [seed_own(simulator, "%040x" % number) for number in range(3)]
    simulator.reset()

    run, result = converge(ansible, tmp_path, [{"file_hash": SHA1}], file_indicators_exclusive=True)

    assert run.rc != 0
    assert "exclusive would delete 3 of the 3 indicators the list blocked-files created (100%)" in result["msg"]
    assert "-e file_indicators_max_deletions=3 -e file_indicators_max_deletion_percent=100" in result["msg"]
    assert [entry["method"] for entry in calls(simulator)] == ["GET"]

    empty_run, empty = converge(ansible, tmp_path, [], file_indicators_exclusive=True)

    assert empty_run.rc != 0
    assert "The list blocked-files is empty and exclusive is true" in empty["msg"] and "file_indicators_allow_empty" in empty["msg"]
    assert [entry["method"] for entry in calls(simulator)] == ["GET"]
    assert len(simulator.indicators.indicators()) == len(owned)


def test_every_bad_list_file_is_named_with_what_is_wrong_before_any_request(simulator, ansible, tmp_path):
    files = {"missing": None, "empty": "", "malformed": "- file_hash: [unclosed\n", "mapping": "file_hash: %s\n" % SHA1,
             "bad-entry": "- file_hash: %s\n- file_hash: %s\n  action: Quarantine\n" % (SHA1, OTHER_SHA1),
             "bare": "- %s\n" % SHA1}
    for name, content in files.items():
        if content is not None:
            (tmp_path / (name + ".yml")).write_text(content)

    run = ansible.playbook("role_file_indicators_files.yml", extra_vars={"list_files": [str(tmp_path / (name + ".yml")) for name in files]})

    messages = dict(zip(files, (result["msg"] for result in run.results_of(TASK))))
    expected = {
        "missing": "The indicator list file %s was not found" % (tmp_path / "missing.yml"),
        "empty": "The indicator list file %s is empty: it must hold a YAML list of indicators" % (tmp_path / "empty.yml"),
        "malformed": "The indicator list file %s is not valid YAML at line 2, column 1" % (tmp_path / "malformed.yml"),
        "mapping": "The indicator list file %s holds a mapping, not a list" % (tmp_path / "mapping.yml"),
        "bad-entry": "entry 1 of %s (file_hash %s): action must be one of BlockAndRemediate" % (tmp_path / "bad-entry.yml", OTHER_SHA1),
        "bare": "entry 0 of %s must be a dict with at least file_hash" % (tmp_path / "bare.yml"),
    }
    for name, text in expected.items():
        assert text in messages[name], (name, messages[name])
        assert "Marker" not in messages[name] and "NoneType" not in messages[name] and "Lazy" not in messages[name]
    assert simulator.request_log == []


def test_a_bad_entry_is_refused_before_any_request(simulator, ansible, tmp_path):
    run, result = converge(ansible, tmp_path, [{"file_hash": SHA1}, {"file_hash": "not-a-hash"}])

    assert run.rc != 0
    assert "(file_hash not-a-hash): file_hash must be the SHA-1" in result["msg"]
    assert simulator.request_log == []

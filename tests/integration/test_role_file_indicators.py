"""Indicators as code through the file_indicators role: converge from a YAML file, exclusive removal, a 600-entry list."""

import yaml

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
    assert "600 created, 0 updated, 0 deleted, 0 unchanged" in run.stdout
    assert {item["title"] for item in simulator.indicators.indicators()} == {"blocked %d" % number for number in range(600)}
    simulator.reset()

    rerun, again = converge(ansible, tmp_path, entries)
    assert rerun.rc == 0, rerun.output
    assert (again["changed"], again["unchanged"]) == (False, 600)
    assert calls(simulator, "POST") == [] and calls(simulator, "DELETE") == []


def test_exclusive_removes_what_left_the_list_and_spares_foreign_indicators(simulator, ansible, tmp_path):
    run = converge(ansible, tmp_path, [{"file_hash": SHA1}, {"file_hash": OTHER_SHA1}])[0]
    assert run.rc == 0, run.output
    by_analyst = simulator.indicators.add_indicator(SHA256, indicator_type="FileSha256", created_by="analyst@contoso.com")
    by_tool = simulator.indicators.add_indicator("%040x" % 7, created_by="another tool", source_type="AadApp", application="soar")
    removed = next(item for item in simulator.indicators.indicators() if item["indicatorValue"] == OTHER_SHA1)
    simulator.reset()

    diff_run, predicted = converge(ansible, tmp_path, [{"file_hash": SHA1, "severity": "High"}], check=True, env={"ANSIBLE_DIFF_ALWAYS": "1"},
                                   file_indicators_exclusive=True)
    assert diff_run.rc == 0, diff_run.output
    assert [item["id"] for item in predicted["deleted"]] == [removed["id"]]
    assert '"severity": "High"' in diff_run.stdout and "indicator %s" % removed["id"] in diff_run.stdout
    assert calls(simulator, "POST") == [] and calls(simulator, "DELETE") == []

    run, result = converge(ansible, tmp_path, [{"file_hash": SHA1, "severity": "High"}], file_indicators_exclusive=True)

    assert run.rc == 0, run.output
    assert [entry["params"]["indicator_id"] for entry in calls(simulator, "DELETE")] == [removed["id"]]
    assert result["updated"][0]["after"] == {"severity": "High"}
    assert sorted(item["indicatorValue"] for item in simulator.indicators.indicators()) == sorted(
        [by_analyst["indicatorValue"], by_tool["indicatorValue"], SHA1])


def test_a_bad_entry_is_refused_before_any_request(simulator, ansible, tmp_path):
    run, result = converge(ansible, tmp_path, [{"file_hash": SHA1}, {"file_hash": "not-a-hash"}])

    assert run.rc != 0
    assert "indicators[1]: file_hash must be the SHA-1" in result["msg"]
    assert simulator.request_log == []

"""file_indicator (and file_indicators' input checks) against the simulator: outcomes, and what went over the wire.

Creating, updating with --diff, check mode, an in-line expiry and bad list entries run through ansible-playbook; the
other states, refusals and API variants run the module in this process (tests/support/in_process.py)."""

from datetime import timedelta

import pytest

from tests.support.quarantine import SHA1
from tests.simulator.config import AppRegistration

SHA256 = "2d6bdfb341be3a6234b24742377f93aa7c7cfb0d9fd64efa9282c87852e57085"
TASK = "File indicator"


def indicator_task(ansible, check=False, env=None, **options):
    options.setdefault("file_hash", SHA1)
    run = ansible.playbook("file_indicator.yml", extra_vars=options, check=check, env=env)
    return run, run.result(TASK)


def indicator_in_process(modules, env=None, **options):
    """indicator_task's module run, in this process: (run, result)."""
    options.setdefault("file_hash", SHA1)
    run = modules.run("file_indicator", env=env, **options)
    return run, run.result


def api_calls(simulator):
    return [entry for entry in simulator.request_log if entry["route"].startswith("indicators.")]


def writes(simulator):
    return [entry for entry in api_calls(simulator) if entry["method"] != "GET"]


def test_create_sends_one_indicator_then_a_rerun_sends_nothing(simulator, ansible):
    options = {"file_hash": SHA1.upper(), "title": "INC-4711: dropper", "severity": "High", "expiration": "30d", "generate_alert": True,
               "device_groups": ["Servers", "Laptops"], "recommended_actions": "Reimage the machine"}
    run, result = indicator_task(ansible, **options)

    assert run.rc == 0, run.output
    assert result["changed"] is True
    indicator = result["indicator"]
    assert (indicator["indicatorValue"], indicator["indicatorType"], indicator["action"], indicator["application"]) == (
        SHA1, "FileSha1", "BlockAndRemediate", "mde.response")
    assert [entry["route"] for entry in api_calls(simulator)] == ["indicators.list", "indicators.submit"]
    listing, submitted = api_calls(simulator)
    assert listing["query"].endswith("$filter=indicatorValue eq '%s' or indicatorValue eq '%s'" % (SHA1, SHA1.upper()))
    body = submitted["body"]
    assert (body["indicatorValue"], body["title"], body["severity"], body["generateAlert"], body["rbacGroupNames"]) == (
        SHA1, "INC-4711: dropper", "High", True, ["Laptops", "Servers"])
    assert submitted["status"] == 200
    simulator.reset()

    rerun, again = indicator_task(ansible, **options)

    assert rerun.rc == 0, rerun.output
    assert (again["changed"], again["indicator"]["id"]) == (False, indicator["id"])
    assert writes(simulator) == [] and len(api_calls(simulator)) == 1


def test_an_update_names_the_differing_fields_in_the_diff(simulator, ansible):
    simulator.indicators.add_indicator(SHA1, action="Alert", title="analyst's title", severity="Low")

    run, result = indicator_task(ansible, severity="High", show_diff=True)

    assert run.rc == 0, run.output
    assert result["changed"] is True
    # Ansible shows the diff (and keeps it out of the registered result): only the two fields that differ.
    shown = run.stdout.split("TASK [File indicator]")[1]
    for line in ('-    "action": "Alert"', '-    "severity": "Low"', '+    "action": "BlockAndRemediate"', '+    "severity": "High"'):
        assert line in shown, shown
    assert '"title"' not in shown
    [update] = writes(simulator)
    assert (update["route"], update["body"]["title"], update["body"]["action"]) == ("indicators.submit", "analyst's title", "BlockAndRemediate")
    assert [(found["action"], found["severity"], found["title"]) for found in simulator.indicators.indicators()] == [
        ("BlockAndRemediate", "High", "analyst's title")]


def test_check_mode_predicts_without_writing(simulator, ansible, modules):
    run, predicted = indicator_task(ansible, check=True, title="t", show_diff=True)

    assert run.rc == 0, run.output
    assert (predicted["changed"], predicted["indicator"]) == (True, None)
    assert '+    "title": "t"' in run.stdout
    assert writes(simulator) == [] and simulator.indicators.indicators() == []

    actual_run, actual = indicator_in_process(modules, title="t")
    assert not actual_run.failed and actual["changed"] is True
    simulator.reset()
    check_run = modules.run("file_indicator", check=True, file_hash=SHA1, title="t")
    assert not check_run.failed and check_run.result["changed"] is False and writes(simulator) == []


def test_absent_deletes_every_indicator_for_the_hash_and_nothing_else(simulator, modules):
    simulator.configure(indicator_match_case="sensitive")
    by_analyst = simulator.indicators.add_indicator(SHA256.upper(), indicator_type="FileSha256")
    by_tool = simulator.indicators.add_indicator(SHA256, indicator_type="FileSha256", created_by="another tool", source_type="AadApp")
    other = simulator.indicators.add_indicator(SHA1)
    simulator.reset()

    run, result = indicator_in_process(modules, file_hash=SHA256, state="absent")

    assert not run.failed, run.result
    assert (result["changed"], result["indicator"]) == (True, None)
    assert sorted(entry["params"]["indicator_id"] for entry in writes(simulator)) == sorted([by_analyst["id"], by_tool["id"]])
    assert all(entry["method"] == "DELETE" and entry["status"] == 204 for entry in writes(simulator))
    assert [found["id"] for found in simulator.indicators.indicators()] == [other["id"]]
    rerun = indicator_in_process(modules, file_hash=SHA256, state="absent")[1]
    assert rerun["changed"] is False and len(writes(simulator)) == 2


def test_a_403_names_the_permission_and_how_to_grant_it(simulator, modules):
    simulator.register_app(AppRegistration(client_id="11111111-2222-4333-8444-555555555555", secret="machine-only-app-secret",
                                           roles=("Machine.Read.All", "Machine.StopAndQuarantine")))
    machine_only = {"AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555", "AZURE_CLIENT_SECRET": "machine-only-app-secret"}

    run, result = indicator_in_process(modules, env=machine_only)

    assert run.failed
    assert result["error"] == {"code": "Forbidden", "http_status": 403, "message": result["error"]["message"],
                               "missing_permission": "Ti.ReadWrite"}
    assert "Ti.ReadWrite.All" in result["msg"] and "Grant admin consent" in result["msg"] and "WindowsDefenderATP" in result["msg"]
    assert writes(simulator) == [] and simulator.indicators.indicators() == []


@pytest.mark.parametrize("file_hash", [SHA1[:-1], "g" * 40, SHA1 + "00", "87662bc3-d60e-4200-ceaf-7aae249d1c34", ""])
def test_bad_hashes_are_refused_before_any_request(simulator, modules, file_hash):
    run, result = indicator_in_process(modules, file_hash=file_hash)

    assert run.failed
    assert result["msg"].startswith("file_hash must be the SHA-1 (40 hex characters), SHA-256 (64) or MD5 (32) of a file")
    assert simulator.request_log == []


def test_the_indicator_contains_the_file_on_machines_that_meet_it_later(simulator, modules):
    holder = simulator.add_machine("holder.contoso.local", observed_files=[SHA1])
    run, _result = indicator_in_process(modules)
    assert not run.failed, run.result

    newcomer = simulator.add_machine("newcomer.contoso.local")
    simulator.observe_file(SHA1, newcomer["id"])
    simulator.observe_file(SHA1, holder["id"])

    assert [(record["machineId"], record["outcome"]) for record in simulator.indicators.containments(SHA1)] == [(newcomer["id"], "remediated")]


@pytest.mark.parametrize("switch, value", [
    ("indicator_value_case", "as_sent"), ("indicator_value_case", "lower"),
    ("indicator_match_case", "insensitive"), ("indicator_match_case", "sensitive"),
    ("indicator_update_omitted", "reset"), ("indicator_update_omitted", "keep"),
])
def test_an_upper_case_hash_converges_under_every_unconfirmed_case_and_update_rule(simulator, modules, switch, value):
    """Whatever the API does with a hash's case and with fields an update leaves out, a second run sends nothing
    and the tenant holds one indicator for the file, with what the task asked for."""
    simulator.configure(**{switch: value})
    options = {"file_hash": SHA1.upper(), "title": "INC-4711: dropper", "severity": "High"}

    run, result = indicator_in_process(modules, **options)
    simulator.reset()
    rerun, again = indicator_in_process(modules, **options)

    assert (run.failed, rerun.failed) == (False, False), (run.result, rerun.result)
    assert (result["changed"], again["changed"]) == (True, False)
    assert writes(simulator) == []
    [stored] = simulator.indicators.indicators()
    assert (stored["indicatorValue"].lower(), stored["title"], stored["severity"]) == (SHA1, "INC-4711: dropper", "High")


def test_the_tenant_limit_refusal_reaches_the_user_with_the_apis_reason(simulator, modules):
    simulator.configure(indicator_limit=0)

    run, result = indicator_in_process(modules)

    assert run.failed, run.result
    assert simulator.indicators.indicators() == []
    assert [entry["route"] for entry in writes(simulator)] == ["indicators.submit"]
    assert result["error"]["http_status"] == 400
    assert "limit of 0 active indicators" in result["msg"]


def test_an_update_keeps_the_expiry_when_it_is_in_line_and_the_diff_shows_what_is_sent(simulator, ansible):
    # Made ten days ago with expiration 30d: it expires in twenty days.
    in_twenty_days = (simulator.clock.now() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seeded = simulator.indicators.add_indicator(SHA1, severity="High", expirationTime=in_twenty_days)
    simulator.reset()

    run, result = indicator_task(ansible, expiration="30d", severity="Medium", show_diff=True)

    assert run.rc == 0, run.output
    [update] = writes(simulator)
    assert (update["body"]["severity"], update["body"]["expirationTime"]) == ("Medium", seeded["expirationTime"])
    assert result["indicator"]["expirationTime"] == seeded["expirationTime"]
    shown = run.stdout.split("TASK [File indicator]")[1]
    assert '-    "severity": "High"' in shown and '+    "severity": "Medium"' in shown and "expirationTime" not in shown, shown


def test_bad_entries_of_a_list_are_named_by_position_and_hash_before_any_request(simulator, ansible):
    lists = [[{"file_hash": SHA1}, {"file_hash": SHA256, "action": "Quarantine"}], [{"file_hash": SHA1, "sevrity": "High"}], [SHA1],
             [{"file_hash": SHA1, "generate_alert": "sometimes"}]]

    run = ansible.playbook("file_indicators_lists.yml", extra_vars={"indicator_lists": lists})

    messages = [item["msg"] for item in run.result("Converge one list")["results"]]
    assert messages[0].startswith("indicators[1] (file_hash %s): action must be one of BlockAndRemediate" % SHA256), messages[0]
    assert "got 'Quarantine'" in messages[0]
    assert messages[1].startswith("indicators[0] (file_hash %s) has the unknown key(s) sevrity; the keys are file_hash, action" % SHA1)
    assert messages[2].startswith("indicators[0] must be a dict with at least file_hash (written `- file_hash: <hash>` in YAML), got '%s'" % SHA1)
    assert messages[3] == "indicators[0] (file_hash %s): generate_alert must be true or false, got 'sometimes'" % SHA1
    assert simulator.request_log == []

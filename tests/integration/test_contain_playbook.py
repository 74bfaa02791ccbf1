"""The mde.response.contain playbook (and its role) end to end: indicator first, quarantine where observed, one report."""

import json
import os

from tests.support.ansible_runner import REPO
from tests.support.quarantine import FAST, OTHER_SHA1, SHA1, TYPO_SHA1, ids, seed
from tests.simulator.config import AppRegistration

PLAYBOOK = os.path.join(REPO, "playbooks", "contain.yml")
SURVEY = os.path.join(REPO, "docs", "awx", "contain_survey.json")


def survey_answers(**answers):
    """What AWX passes for the survey: every field, defaults where the user typed nothing."""
    with open(SURVEY, encoding="utf-8") as handle:
        values = {question["variable"]: question["default"] for question in json.load(handle)["spec"]}
    assert set(answers) <= set(values)
    values.update(answers)
    return values


def reports(folder):
    names = sorted(os.listdir(folder))
    assert [name.rsplit(".", 1)[1] for name in names] == ["json", "md"], names
    with open(os.path.join(folder, names[0]), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(folder, names[1]), encoding="utf-8") as handle:
        return report, handle.read()


def nonzero(counts):
    return {outcome: count for outcome, count in counts.items() if count}


def test_the_survey_matches_the_playbook():
    with open(PLAYBOOK, encoding="utf-8") as handle:
        playbook = handle.read()
    with open(SURVEY, encoding="utf-8") as handle:
        spec = json.load(handle)
    for question in spec["spec"]:
        assert "%s |" % question["variable"] in playbook, "the playbook does not read %s" % question["variable"]
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"]
    assert {question["variable"] for question in spec["spec"] if question["required"] and question["default"] == ""} == {"sha1", "comment"}


def test_contain_puts_the_indicator_first_then_quarantines_where_observed_and_reports_both(simulator, ansible):
    observed = seed(simulator, 3)
    named = simulator.add_machine("named.contoso.local", observed_files=[SHA1])
    simulator.add_file(OTHER_SHA1, observed_on=[observed[0]["id"], named["id"]])
    simulator.configure(clock_speed=FAST)

    answers = survey_answers(sha1="%s, %s" % (SHA1.upper(), OTHER_SHA1), comment="INC-4711: dropper", machine_names="named.contoso.local",
                             expiration="30d", wait="yes", report_dir="reports")
    run = ansible.playbook(PLAYBOOK, extra_vars=answers, env={"MDE_TIME_SCALE": FAST})

    assert run.rc == 0, run.output
    # On the wire: each file's indicator is submitted before any of its quarantines.
    log = [entry for entry in simulator.request_log if entry["method"] == "POST"]
    for sha1 in (SHA1, OTHER_SHA1):
        submitted = next(entry["seq"] for entry in log if entry["route"] == "indicators.submit" and entry["body"]["indicatorValue"] == sha1)
        quarantined = [entry["seq"] for entry in log if entry["route"] == "machines.StopAndQuarantineFile" and entry["body"]["Sha1"] == sha1]
        assert quarantined and submitted < min(quarantined)
    assert sorted((entry["path"].split("/")[3], entry["body"]["Sha1"]) for entry in log if entry["route"] == "machines.StopAndQuarantineFile") == sorted(
        [(machine["id"], SHA1) for machine in observed + [named]] + [(observed[0]["id"], OTHER_SHA1), (named["id"], OTHER_SHA1)])
    assert {(item["indicatorValue"], item["action"], item["title"]) for item in simulator.indicators.indicators()} == {
        (SHA1, "BlockAndRemediate", "INC-4711: dropper"), (OTHER_SHA1, "BlockAndRemediate", "INC-4711: dropper")}

    report, markdown = reports(os.path.join(ansible.workdir, "reports"))
    assert report["summary"]["indicators"] == {"created": 2} and nonzero(report["summary"]["machines"]) == {"created": 6}
    assert report["failures"] == []
    assert [(file["sha1"], file["indicator"]["outcome"], file["machines"]["summary"]["created"]) for file in report["files"]] == [
        (SHA1, "created", 4), (OTHER_SHA1, "created", 2)]
    assert all(entry["status"] == "Succeeded" for file in report["files"] for entry in file["machines"]["actions"])
    assert "| %s | created |" % SHA1 in markdown and "| %s | named.contoso.local | created | Succeeded |" % SHA1 in markdown
    assert "2 file(s): indicators created 2; machines created 6" in run.stdout

    # A machine the file reaches afterwards is contained by the indicator alone.
    newcomer = simulator.add_machine("newcomer.contoso.local")
    simulator.observe_file(SHA1, newcomer["id"])
    assert [record["machineId"] for record in simulator.indicators.containments(SHA1)] == [newcomer["id"]]


def test_release_removes_the_indicator_and_cancels_pending_quarantines(simulator, ansible):
    machines = seed(simulator, 2)
    simulator.configure(pending_seconds=3600)
    assert ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1=SHA1, comment="INC-4711")).rc == 0
    simulator.reset()

    run = ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1=SHA1, comment="INC-4711: false positive", state="absent"))

    assert run.rc == 0, run.output
    assert [entry["route"] for entry in simulator.request_log if entry["method"] in ("POST", "DELETE")].count("indicators.delete") == 1
    assert simulator.indicators.indicators() == []
    assert {action["machineId"]: action["status"] for action in simulator.actions()} == {machine["id"]: "Cancelled" for machine in machines}
    assert "1 file(s): indicators deleted 1; machines cancelled 2" in run.stdout


def test_check_mode_writes_nothing_and_reports_what_would_happen(simulator, ansible):
    seed(simulator, 2)

    run = ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1=SHA1, comment="INC-4711", report_dir="reports"), check=True)

    assert run.rc == 0, run.output
    assert [entry for entry in simulator.request_log if entry["method"] not in ("GET",) and entry["route"] != "token"] == []
    report, markdown = reports(os.path.join(ansible.workdir, "reports"))
    assert report["check_mode"] is True and report["summary"]["indicators"] == {"created": 1}
    assert nonzero(report["summary"]["machines"]) == {"would_create": 2}
    assert "Check mode: nothing was changed." in markdown


def test_a_missing_indicator_permission_is_reported_and_fails_the_run_after_quarantining(simulator, ansible):
    machines = seed(simulator, 1)
    simulator.register_app(AppRegistration(client_id="11111111-2222-4333-8444-555555555555", secret="machine-only-app-secret",
                                           roles=("Machine.Read.All", "Machine.StopAndQuarantine")))

    run = ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1=SHA1, comment="INC-4711"),
                           env={"AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555", "AZURE_CLIENT_SECRET": "machine-only-app-secret"})

    assert run.rc != 0
    assert [action["machineId"] for action in simulator.actions()] == ids(machines)
    assert "%s: indicator not set: " % SHA1 in run.stdout and "Ti.ReadWrite.All" in run.stdout
    assert "1 failure(s)" in run.output
    # The playbook's variable, which its users can set, not the role's.
    assert run.result("Fail when an indicator or a machine failed")["msg"].endswith("Set allow_partial to true to accept them.")


def test_a_file_defender_does_not_know_fails_the_run_after_its_indicator_is_set(simulator, ansible):
    machines = seed(simulator, 2)

    # A named machine: the module asks whether Defender knows a file only when a machine said it is not there.
    run = ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1="%s %s" % (SHA1, TYPO_SHA1), comment="INC-4711: typo",
                                                               machine_names="ws-01.contoso.local"))

    assert run.rc != 0
    message = run.result("Fail when an indicator or a machine failed")["msg"]
    assert message.startswith("Defender has no record of %s and nothing was quarantined for it" % TYPO_SHA1)
    assert SHA1 not in message and message.endswith("set allow_unknown_files to true to accept files Defender does not know.")
    # Everything was done and reported first: both indicators, the known file's quarantines.
    assert {item["indicatorValue"] for item in simulator.indicators.indicators()} == {SHA1, TYPO_SHA1}
    assert sorted((action["machineId"], action["relatedFileInfo"]["fileIdentifier"]) for action in simulator.actions()) == sorted(
        (machine, SHA1) for machine in ids(machines))
    report = run.result("Put the report together")["ansible_facts"]["contain_report"]
    assert (report["unknown_files"], report["unknown_untouched"]) == ([TYPO_SHA1], [TYPO_SHA1])

"""An app without Machine.StopAndQuarantine, against the simulator: one refused write stops the run, check mode
predicts the refusal from the token's roles claim, and the output says what to grant. The module runs in this
process (tests/support/in_process.py); the role and the playbook through ansible-playbook."""

import pytest

from tests.integration.test_quarantine_playbook import run_collection_playbook, survey_answers
from tests.simulator.config import AppRegistration
from tests.support.quarantine import SHA1, WRITE, ids, quarantine_in_process, seed, writes
from tests.support.role_tasks import FACT_TASK, FINAL_TASK, PLAN_TASK, SUMMARY_TASK

# An app granted what the collection reads, but not the permission that writes.
LIMITED_APP_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
LIMITED_APP_SECRET = "limited8Q~app-secret.value"
LIMITED_APP = {"AZURE_CLIENT_ID": LIMITED_APP_ID, "AZURE_CLIENT_SECRET": LIMITED_APP_SECRET}
CANCEL = "machineactions.cancel"
FLEET = 30


@pytest.fixture
def limited_app(simulator):
    simulator.register_app(AppRegistration(client_id=LIMITED_APP_ID, secret=LIMITED_APP_SECRET,
                                           roles=("Machine.Read.All", "File.Read.All", "Alert.Read.All")))
    return LIMITED_APP


def assert_refused_or_not_sent(actions, http_status):
    assert len(actions) == FLEET
    for entry in actions:
        error = entry["error"]
        assert (entry["outcome"], error["code"], error["http_status"], error["missing_permission"]) == (
            "failed", "Forbidden", http_status, "Machine.StopAndQuarantine"), entry


def assert_says_what_to_grant(text):
    assert "Machine.StopAndQuarantine" in text
    assert "WindowsDefenderATP > Application permissions), then grant admin consent" in text
    assert "token_cache: false (MDE_TOKEN_CACHE=false)" in text


def test_the_first_refused_write_stops_every_other_write(simulator, modules, limited_app):
    machines = seed(simulator, FLEET)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env=limited_app)

    assert run.failed
    sent = writes(simulator)
    assert [entry["status"] for entry in sent] == [403]
    assert_refused_or_not_sent(result["actions"], 403)
    refused = sent[0]["path"].split("/")[3]
    not_sent = [entry for entry in result["actions"] if entry["machine_id"] != refused]
    assert len(not_sent) == FLEET - 1 and all(entry["error"]["message"].startswith("not sent: ") for entry in not_sent)
    assert result["msg"].startswith("%d of %d machines failed: " % (FLEET, FLEET))
    assert_says_what_to_grant(result["msg"])
    assert "allow_partial" not in result["msg"]


def test_check_mode_predicts_the_refusal_from_the_tokens_roles(simulator, modules, limited_app):
    machines = seed(simulator, FLEET)

    run, result = quarantine_in_process(modules, check=True, machine_ids=ids(machines), env=limited_app)

    assert run.failed
    assert {entry["method"] for entry in simulator.request_log if entry["route"] != "token"} == {"GET"}
    assert result["summary"]["would_create"] == 0 and result["changed"] is False
    assert_refused_or_not_sent(result["actions"], None)
    assert all("roles claim lacks the application permission Machine.StopAndQuarantine" in entry["error"]["message"]
               for entry in result["actions"])
    assert_says_what_to_grant(result["msg"])


def test_cancels_stop_at_the_first_refusal_and_check_mode_predicts_it(simulator, modules, limited_app):
    machines = seed(simulator, FLEET)
    for machine in machines:
        simulator.add_machine_action(machine["id"], SHA1, status="Pending")

    checked, predicted = quarantine_in_process(modules, check=True, machine_ids=ids(machines), state="cancelled", env=limited_app)

    assert checked.failed
    assert simulator.log_for(method="POST") == [] or {entry["route"] for entry in simulator.log_for(method="POST")} == {"token"}
    assert predicted["summary"]["would_cancel"] == 0
    assert_refused_or_not_sent(predicted["actions"], None)
    simulator.reset()

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), state="cancelled", env=limited_app)

    assert run.failed
    assert [entry["status"] for entry in simulator.log_for(route=CANCEL)] == [403]
    assert writes(simulator) == []
    assert_refused_or_not_sent(result["actions"], 403)
    assert {action["status"] for action in simulator.actions()} == {"Pending"}
    assert_says_what_to_grant(result["msg"])


@pytest.mark.parametrize("state", ["present", "cancelled"])
def test_the_playbook_names_the_permission_and_how_to_grant_it(simulator, ansible, limited_app, state):
    machines = seed(simulator, FLEET)
    if state == "cancelled":
        for machine in machines:
            simulator.add_machine_action(machine["id"], SHA1, status="Pending")

    answers = survey_answers(sha1=SHA1, comment="INC-4711: dropper", state=state, machine_ids="\n".join(ids(machines)))
    run = run_collection_playbook(ansible, answers, env=limited_app)

    assert run.rc != 0
    route = WRITE if state == "present" else CANCEL
    assert [entry["status"] for entry in simulator.log_for(route=route, method="POST")] == [403]
    report = run.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]
    assert_refused_or_not_sent(report["machines"], 403)
    plan = run.result(PLAN_TASK)["msg"]
    assert "%d machine result(s) would be refused: the access token lacks the application permission Machine.StopAndQuarantine" % FLEET in " ".join(plan)
    summary = run.result(SUMMARY_TASK)["msg"]
    [permission_line] = [line for line in summary if line.startswith("The application lacks the permission")]
    assert "(%d machine(s) refused or not sent)" % FLEET in permission_line
    assert_says_what_to_grant(permission_line)
    failure = run.result(FINAL_TASK)["msg"]
    assert ("%d machine(s) failed because the application lacks the permission Machine.StopAndQuarantine: grant it with admin "
            "consent as the summary above says, then run again with a new token." % FLEET) in failure
    assert "allow_partial" not in failure
    assert_says_what_to_grant(run.stdout)


def test_role_check_mode_reports_the_predicted_refusal(simulator, ansible, limited_app):
    machines = seed(simulator, FLEET)

    run = ansible.playbook("role_quarantine_file.yml", check=True, env=limited_app, extra_vars={
        "quarantine_file_sha1s": SHA1, "quarantine_file_comment": "INC-7", "quarantine_file_machine_ids": ids(machines)})

    assert run.rc != 0
    assert simulator.log_for(route=WRITE) == []
    summary = run.result(SUMMARY_TASK)["msg"]
    assert summary[0] == "CHECK MODE, nothing was changed. 1 file(s): failed %d" % FLEET
    assert_says_what_to_grant(" ".join(summary))

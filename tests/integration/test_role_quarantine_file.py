"""The quarantine_file role through ansible-playbook against the simulator: calls, outcomes, reports, refusals."""

import json
from datetime import datetime

import pytest

from tests.support.in_process import role_argument_errors
from tests.support.quarantine import FAST, OTHER_SHA1, SHA1, ids, seed
from tests.support.reports import report_files, report_rows, written
from tests.support.role_tasks import (
    FACT_TASK, FINAL_TASK, MODULE_TASK, PLAN_READ_TASK, PLAN_TASK, REFUSE_TASK, REPORT_PATHS_TASK, STATS_TASK, SUMMARY_TASK, TABLE_TASK)

PLAYBOOK = "role_quarantine_file.yml"


def role(ansible, check=False, env=None, **variables):
    variables.setdefault("quarantine_file_comment", "INC-7")
    return ansible.playbook(PLAYBOOK, extra_vars=variables, check=check, env=env)


def fact(run):
    return run.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]


def test_one_call_per_file_then_a_rerun_changes_nothing(simulator, ansible, tmp_path):
    machines = seed(simulator, 3)
    simulator.add_file(OTHER_SHA1, observed_on=ids(machines))
    targets = {
        "quarantine_file_sha1s": "%s, %s" % (SHA1.upper(), OTHER_SHA1),
        "quarantine_file_machine_ids": [machines[0]["id"]],
        # The text of a survey text area: one name a line.
        "quarantine_file_machine_names": "ws-02.contoso.local\nws-03.contoso.local\n",
    }

    run = role(ansible, quarantine_file_report_dir=str(tmp_path / "first"), **targets)

    assert run.rc == 0, run.output
    assert len(run.result(MODULE_TASK)["results"]) == 2
    assert written(simulator) == sorted((machine["id"], sha1) for machine in machines for sha1 in (SHA1, OTHER_SHA1))
    report, table = report_files(tmp_path / "first")
    assert report == fact(run)
    assert report["summary"]["created"] == 6 and report["summary"]["failed"] == 0 and report["failures"] == []
    assert report_rows(report) == sorted((sha1, machine["id"], "created") for machine in machines for sha1 in (SHA1, OTHER_SHA1))
    actions = {action["id"]: action for action in simulator.actions()}
    assert len(table) == 6
    for row in table:
        action = actions[row["action id"]]
        assert (row["file"], row["machine"], row["outcome"], row["status"], row["error"]) == (
            action["relatedFileInfo"]["fileIdentifier"], action["computerDnsName"], "created", "Pending", "-")
    assert run.result(SUMMARY_TASK)["msg"][0] == "2 file(s): created 6"
    assert run.result(STATS_TASK)["ansible_stats"]["data"] == {
        "quarantine_file_summary": report["summary"], "quarantine_file_failures": [], "quarantine_file_results": report["machines"],
        "quarantine_file_unknown_files": []}
    simulator.reset()

    rerun = role(ansible, quarantine_file_report_dir=str(tmp_path / "second"), **targets)

    assert rerun.rc == 0, rerun.output
    assert written(simulator) == []
    report, table = report_files(tmp_path / "second")
    assert report["summary"]["existing"] == 6 and report["summary"]["created"] == 0
    assert {row["outcome"] for row in table} == {"existing"}
    assert {row["action id"] for row in table} == set(actions)


def test_failed_machines_are_reported_then_fail_the_play_unless_partial_is_allowed(simulator, ansible, tmp_path):
    machines = seed(simulator, 2)
    # A device ID Defender does not know: its write is refused with 404 ResourceNotFound.
    ghost = "0" * 40

    run = role(ansible, quarantine_file_sha1s=[SHA1], quarantine_file_observed=True, quarantine_file_machine_ids=[ghost],
               quarantine_file_report_dir=str(tmp_path / "strict"))

    assert run.rc != 0
    final = run.result(FINAL_TASK)
    assert "1 failure(s)" in final["msg"] and "set quarantine_file_allow_partial to true" in final["msg"]
    assert len(simulator.log_for(route="machines.StopAndQuarantineFile")) == 3
    report, table = report_files(tmp_path / "strict")
    assert report_rows(report) == sorted([(SHA1, machine["id"], "created") for machine in machines] + [(SHA1, ghost, "failed")])
    [failure] = report["failures"]
    assert (failure["machine_id"], failure["error"]["code"]) == (ghost, "ResourceNotFound")
    [failed_row] = [row for row in table if row["outcome"] == "failed"]
    assert failed_row["machine"] == ghost and failed_row["error"].startswith("ResourceNotFound: ")
    assert "failed: %s on %s: ResourceNotFound: " % (SHA1, ghost) in "\n".join(run.result(SUMMARY_TASK)["msg"])

    allowed = role(ansible, quarantine_file_sha1s=[SHA1], quarantine_file_observed=True, quarantine_file_machine_ids=[ghost],
                   quarantine_file_allow_partial=True)

    assert allowed.rc == 0, allowed.output
    assert fact(allowed)["summary"]["existing"] == 2 and fact(allowed)["summary"]["failed"] == 1


def test_a_file_that_cannot_be_handled_fails_the_role_even_with_partial_allowed(simulator, ansible):
    machines = seed(simulator, 1)

    run = role(ansible, quarantine_file_sha1s=[SHA1, OTHER_SHA1], quarantine_file_machine_ids=ids(machines), quarantine_file_allow_partial=True,
               env={"AZURE_CLIENT_SECRET": "wrong secret"})

    assert run.rc != 0
    report = fact(run)
    assert [file["sha1"] for file in report["files"] if file["error"]] == [SHA1, OTHER_SHA1]
    assert {failure["error"]["code"] for failure in report["failures"]} == {"NotHandled"}
    assert "wrong secret" not in run.output and "wrong secret" not in json.dumps(run.results)
    assert written(simulator) == []


def test_the_argument_spec_refuses_bad_input_before_any_request(simulator, ansible):
    # Through ansible-playbook once: the check runs before the role's first task. Every refusal of the spec is
    # below, in this process.
    seed(simulator, 1)

    run = ansible.playbook(PLAYBOOK, extra_vars={"quarantine_file_sha1s": [SHA1], "quarantine_file_observed": True})

    assert run.rc != 0
    [validation] = [entry for entry in run.results if entry["task"].startswith("Validating arguments against arg spec 'main'")]
    assert validation["status"] == "failed" and "missing required arguments: quarantine_file_comment" in validation["result"]["msg"]
    assert [entry["task"] for entry in run.results] == [validation["task"]]
    assert simulator.request_log == []


@pytest.mark.parametrize("variables, message", [
    ({"quarantine_file_comment": None}, "missing required arguments: quarantine_file_comment"),
    ({"quarantine_file_wait_timeout": "soon"}, "quarantine_file_wait_timeout"),
    ({"quarantine_file_observed": "maybe"}, "quarantine_file_observed"),
    ({"quarantine_file_connection": {"tenant": "x"}}, "quarantine_file_connection.tenant. Supported parameters include"),
    ({"quarantine_file_connection": {"cloud": "azure"}}, "value of cloud must be one of: commercial, gcc, gcc_high, dod"),
])
def test_each_refusal_of_the_argument_spec(variables, message):
    arguments = {"quarantine_file_sha1s": [SHA1], "quarantine_file_comment": "INC-7", "quarantine_file_observed": True}
    arguments.update(variables)

    errors = role_argument_errors("quarantine_file", {name: value for name, value in arguments.items() if value is not None})

    assert any(message in error for error in errors), errors


def test_the_argument_spec_accepts_what_the_refusals_start_from():
    assert role_argument_errors("quarantine_file", {"quarantine_file_sha1s": [SHA1], "quarantine_file_comment": "INC-7",
                                                    "quarantine_file_observed": True}) == []


@pytest.mark.parametrize("variables, messages", [
    ({"quarantine_file_sha1s": [SHA1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},
     ["Not SHA-1s (40 hexadecimal characters): e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855."]),
    ({"quarantine_file_sha1s": " , "}, ["quarantine_file_sha1s lists no file."]),
    ({"quarantine_file_comment": "  "}, ["quarantine_file_comment is empty."]),
    # Every problem is named at once.
    ({"quarantine_file_sha1s": "d41d8cd98f00b204e9800998ecf8427e", "quarantine_file_observed": False},
     ["Not SHA-1s (40 hexadecimal characters): d41d8cd98f00b204e9800998ecf8427e.", "No target machine: "]),
])
def test_what_the_argument_spec_cannot_express_is_refused_by_the_first_task(simulator, ansible, variables, messages):
    seed(simulator, 1)
    arguments = {"quarantine_file_sha1s": [SHA1], "quarantine_file_observed": True}
    arguments.update(variables)

    run = role(ansible, **arguments)

    assert run.rc != 0
    refusal = run.result(REFUSE_TASK)
    assert all(message in refusal["msg"] for message in messages), refusal["msg"]
    assert MODULE_TASK not in {entry["task"] for entry in run.results}
    assert simulator.request_log == []


def test_check_mode_writes_nothing_to_defender_and_a_check_report_locally(simulator, ansible, tmp_path):
    machines = seed(simulator, 2)
    simulator.add_machine_action(machines[0]["id"], SHA1, status="InProgress")

    run = role(ansible, check=True, quarantine_file_sha1s=[SHA1], quarantine_file_machine_ids=ids(machines),
               quarantine_file_report_dir=str(tmp_path), quarantine_file_wait=True)

    assert run.rc == 0, run.output
    assert {entry["method"] for entry in simulator.request_log if entry["route"] != "token"} == {"GET"}
    report, table = report_files(tmp_path)
    assert report["check_mode"] is True and report["waited"] is False
    assert fact(run)["files"][0]["summary"]["would_create"] == 1
    # A machine given by id is named from its Machine entity, action or not.
    assert [(row["machine"], row["outcome"]) for row in table] == [("ws-01.contoso.local", "existing"), ("ws-02.contoso.local", "would_create")]
    assert run.result(REPORT_PATHS_TASK)["ansible_facts"]["quarantine_file_report_paths"]["markdown"].endswith("-check.md")
    assert run.result(SUMMARY_TASK)["msg"][0].startswith("CHECK MODE, nothing was changed. ")


def test_waiting_submits_every_file_before_waiting_and_reports_final_statuses(simulator, ansible, tmp_path):
    online = simulator.add_machine("ws-01.contoso.local", observed_files=[SHA1])
    offline = simulator.add_machine("ws-off.contoso.local", observed_files=[SHA1], quarantine_outcome="Pending")
    broken = simulator.add_machine("ws-bad.contoso.local", observed_files=[SHA1], quarantine_outcome="Failed")
    other = simulator.add_machine("ws-02.contoso.local", observed_files=[OTHER_SHA1])
    simulator.configure(clock_speed=FAST)
    # Seven and a half real seconds of waiting for the offline machine: files written one after the other would be
    # that far apart, files written together a second or less (80 simulated seconds when idle).
    wait_timeout = 900

    run = role(ansible, quarantine_file_sha1s=[SHA1, OTHER_SHA1], quarantine_file_observed=True, quarantine_file_wait=True,
               quarantine_file_wait_timeout=wait_timeout, quarantine_file_allow_partial=True, quarantine_file_report_dir=str(tmp_path),
               env={"MDE_TIME_SCALE": FAST})

    assert run.rc == 0, run.output
    report, table = report_files(tmp_path)
    assert report["waited"] is True
    assert sorted((row["machine"], row["outcome"], row["status"]) for row in table) == [
        ("ws-01.contoso.local", "created", "Succeeded"),
        ("ws-02.contoso.local", "created", "Succeeded"),
        ("ws-bad.contoso.local", "failed", "Failed"),
        ("ws-off.contoso.local", "failed", "Pending"),
    ]
    assert {failure["machine_id"]: failure["error"]["code"] for failure in report["failures"]} == {
        offline["id"]: "WaitTimeout", broken["id"]: "ActionFailed"}
    # The second file was submitted while the first one's offline machine was still being waited for.
    first_post = {}
    for entry in simulator.log_for(route="machines.StopAndQuarantineFile"):
        first_post.setdefault(entry["body"]["Sha1"], datetime.fromisoformat(entry["time"]))
    assert (first_post[OTHER_SHA1] - first_post[SHA1]).total_seconds() < wait_timeout
    assert written(simulator) == sorted([(online["id"], SHA1), (offline["id"], SHA1), (broken["id"], SHA1), (other["id"], OTHER_SHA1)])


def test_connection_options_are_passed_through_and_their_secrets_never_shown(simulator, ansible):
    machines = seed(simulator, 1)
    connection = simulator.connection
    unset = {name: None for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "MDE_API_URL", "MDE_CA_PATH")}

    run = role(ansible, env=unset, quarantine_file_sha1s=[SHA1], quarantine_file_machine_ids=ids(machines), quarantine_file_connection={
        name: connection[name] for name in ("tenant_id", "client_id", "client_secret", "authority_host", "api_url", "ca_path")})

    assert run.rc == 0, run.output
    assert fact(run)["summary"]["created"] == 1
    assert [entry["appid"] for entry in simulator.log_for(route="token")] == [connection["client_id"]]
    assert connection["client_secret"] not in run.output and connection["client_secret"] not in json.dumps(run.results)


def test_the_play_output_shows_a_row_per_machine_failures_first_and_publishes_every_row(simulator, ansible):
    machines = seed(simulator, 2)
    # A device ID Defender does not know: its write is refused with 404 ResourceNotFound.
    ghost = "0" * 40

    run = role(ansible, quarantine_file_sha1s=SHA1, quarantine_file_machine_names=[machine["computerDnsName"] for machine in machines],
               quarantine_file_machine_ids=[ghost], quarantine_file_allow_partial=True)

    assert run.rc == 0, run.output
    table = run.result(TABLE_TASK)["msg"]
    assert table[0].split() == ["outcome", "machine", "file", "status", "action", "id", "error"]
    assert [line.split()[:3] for line in table[1:]] == [["failed", ghost, SHA1]] + [
        ["created", machine["computerDnsName"], SHA1] for machine in machines]
    published = run.result(STATS_TASK)["ansible_stats"]["data"]["quarantine_file_results"]
    assert [(row["machine_name"] or row["machine_id"], row["outcome"]) for row in published] == [(ghost, "failed")] + [
        (machine["computerDnsName"], "created") for machine in machines]
    actions = {action["machineId"]: action["id"] for action in simulator.actions()}
    assert [row["action_id"] for row in published[1:]] == [actions[machine["id"]] for machine in machines]


def test_the_role_plans_with_reads_only_and_prints_the_writes_needed_and_the_expected_end(simulator, ansible):
    machines = seed(simulator, 3)
    simulator.add_machine_action(machines[0]["id"], SHA1, status="Pending")

    run = role(ansible, quarantine_file_sha1s=SHA1, quarantine_file_observed=True)

    assert run.rc == 0, run.output
    plan = run.result(PLAN_TASK)["msg"]
    assert plan[0] == "Plan: 2 of 3 machine result(s) of 1 file(s) need a quarantine; the others are already done or have nothing to do."
    assert plan[1].startswith("At Defender's limits (100 actions a minute, 1,500 an hour) the writes take about 1 minute(s): expected end ")
    [planned] = run.results_of(PLAN_READ_TASK)
    assert sorted(entry["outcome"] for entry in planned["results"][0]["actions"]) == ["existing", "would_create", "would_create"]
    # The plan reads before the first write, and the run writes exactly what the plan counted.
    first_write = min(entry["seq"] for entry in simulator.log_for(route="machines.StopAndQuarantineFile"))
    assert [entry["route"] for entry in simulator.request_log if entry["seq"] < first_write and entry["method"] == "POST"] == ["token"]
    assert len(written(simulator)) == 2


def test_a_failed_login_is_not_answered_with_allow_partial(simulator, ansible):
    machines = seed(simulator, 1)

    run = role(ansible, quarantine_file_sha1s=SHA1, quarantine_file_machine_ids=ids(machines), env={"AZURE_CLIENT_SECRET": "wrong secret"})

    assert run.rc != 0
    message = run.result(FINAL_TASK)["msg"]
    assert "1 file(s) could not be handled at all: fix the cause the summary names" in message
    assert "allow_partial" not in message
    assert written(simulator) == []

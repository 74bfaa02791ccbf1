"""Messages that name the right thing, against the simulator: the playbook's own variables, an action queued for an
offline machine, a machine name that matches nothing, a login to the wrong tenant. The role, the playbook and
machine_info's warning run through ansible-playbook; the module's queued actions in this process
(tests/support/in_process.py)."""

import re
from datetime import timedelta
from urllib.parse import parse_qs

from tests.integration.test_quarantine_playbook import run_collection_playbook, survey_answers
from tests.integration.test_role_quarantine_file import role
from tests.support.quarantine import FAST, SHA1, quarantine_in_process, seed
from tests.support.role_tasks import FACT_TASK, FINAL_TASK, REFUSE_TASK, REPORT_PATHS_TASK, SUMMARY_TASK

WRONG_TENANT = "11111111-2222-3333-4444-555555555555"


def offline_machine(simulator, name="laptop-07.contoso.local"):
    """A machine Defender has not heard from for three days: its actions stay Pending."""
    return simulator.add_machine(name, observed_files=[SHA1], health_status="Inactive", quarantine_outcome="Pending",
                                 last_seen=simulator.clock.now() - timedelta(days=3))


def machine_filters(simulator):
    return [parse_qs(entry["query"]).get("$filter", [None])[0] for entry in simulator.log_for(route="machines.list")]


# -- the playbook's variables, not the role's ----------------------------------------------------------------------
# A failed machine naming the playbook's allow_partial, and the role's own variable when called as a role: the runs
# with a failed machine of test_quarantine_playbook.py and test_role_quarantine_file.py check those messages.


def test_run_from_the_playbook_a_missing_target_names_the_playbooks_variables_before_any_request(simulator, ansible):
    seed(simulator, 1)

    run = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-1"))

    assert run.rc != 0
    message = run.result(REFUSE_TASK)["msg"]
    assert message == "No target machine: give machine_ids or machine_names, or set observed to true."
    assert "quarantine_file_" not in message
    assert simulator.request_log == []


def test_called_as_a_role_the_messages_keep_naming_the_role_variables(simulator, ansible):
    seed(simulator, 1)

    no_target = role(ansible, quarantine_file_sha1s=SHA1)

    assert no_target.result(REFUSE_TASK)["msg"] == (
        "No target machine: give quarantine_file_machine_ids or quarantine_file_machine_names, or set quarantine_file_observed"
        " or quarantine_file_target_play_hosts (with hosts in the play) to true.")
    assert no_target.rc != 0
    assert simulator.request_log == []


def test_a_caller_can_name_the_role_variables_its_own_way(simulator, ansible):
    seed(simulator, 1)

    run = role(ansible, quarantine_file_sha1s=" ", quarantine_file_variable_names={
        "quarantine_file_sha1s": "hashes", "quarantine_file_machine_ids": None, "quarantine_file_target_play_hosts": None})

    assert run.result(REFUSE_TASK)["msg"] == (
        "hashes lists no file. No target machine: give quarantine_file_machine_names, or set quarantine_file_observed to true.")
    assert simulator.request_log == []


# -- an action queued for an offline machine -----------------------------------------------------------------------


def test_the_module_reports_an_action_pending_on_an_offline_machine_as_queued_with_its_last_seen(simulator, modules):
    online = seed(simulator, 1)[0]
    offline = offline_machine(simulator)
    simulator.configure(clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=[online["id"], offline["id"]], wait=True, wait_timeout=120, env={"MDE_TIME_SCALE": FAST})

    assert not run.failed, run.result
    by_id = {entry["machine_id"]: entry for entry in result["actions"]}
    assert (by_id[online["id"]]["outcome"], by_id[online["id"]]["status"]) == ("created", "Succeeded")
    queued = by_id[offline["id"]]
    assert (queued["outcome"], queued["status"], queued["error"]) == ("queued", "Pending", None)
    assert (queued["queued"]["health_status"], queued["queued"]["last_seen"]) == ("Inactive", offline["lastSeen"])
    assert (result["summary"]["queued"], result["summary"]["failed"]) == (1, 0)
    assert any("queued for offline machines: laptop-07.contoso.local (last seen %s)" % offline["lastSeen"] in warning
               for warning in run.warnings), run.warnings
    # The machines are read once, when the run starts; the offline one is not read again at the end of the wait.
    assert machine_filters(simulator) == ["id eq '%s' or id eq '%s'" % (online["id"], offline["id"])]


def test_the_module_fails_on_a_queued_action_only_with_fail_when_queued(simulator, modules):
    offline = offline_machine(simulator)
    simulator.configure(clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=[offline["id"]], wait=True, wait_timeout=120, fail_when_queued=True,
                                        env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    assert result["msg"].startswith("1 of 1 machines failed: laptop-07.contoso.local (queued); the queued ones wait for offline machines")
    assert result["actions"][0]["outcome"] == "queued"
    assert len(simulator.log_for(route="machines.StopAndQuarantineFile")) == 1


def test_pending_on_an_online_machine_stays_a_wait_timeout(simulator, modules):
    machine = seed(simulator, 1, quarantine_outcome="Pending")[0]
    simulator.configure(clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=[machine["id"]], wait=True, wait_timeout=120, env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    assert (result["actions"][0]["outcome"], result["actions"][0]["error"]["code"]) == ("failed", "WaitTimeout")
    # Read when the run starts, and again at the end: an online machine may have gone offline meanwhile.
    assert machine_filters(simulator) == ["id eq '%s'" % machine["id"]] * 2


def test_the_playbook_shows_a_queued_machine_apart_and_fails_on_it_only_when_asked(simulator, ansible, tmp_path):
    online = seed(simulator, 1)[0]
    offline = offline_machine(simulator)
    simulator.configure(clock_speed=FAST)
    answers = survey_answers(sha1=SHA1, comment="INC-1", machine_ids="%s\n%s" % (online["id"], offline["id"]), wait="yes",
                             wait_timeout=120, report_dir=str(tmp_path / "reports"))

    accepted = run_collection_playbook(ansible, answers, env={"MDE_TIME_SCALE": FAST})
    refused = run_collection_playbook(ansible, dict(answers, fail_when_queued="yes", report_dir=""), env={"MDE_TIME_SCALE": FAST})

    assert accepted.rc == 0, accepted.output
    report = accepted.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]
    assert (report["summary"]["queued"], report["failures"]) == (1, [])
    summary = accepted.result(SUMMARY_TASK)["msg"]
    assert summary[0] == "1 file(s): created 1, queued 1"
    assert summary[-2].startswith("queued: %s on laptop-07.contoso.local: action " % SHA1)
    assert "machine laptop-07.contoso.local is offline (health status Inactive, last seen %s)" % offline["lastSeen"] in summary[-2]
    markdown = open(accepted.result(REPORT_PATHS_TASK)["ansible_facts"]["quarantine_file_report_paths"]["markdown"], encoding="utf-8").read()
    assert "| laptop-07.contoso.local | queued | Pending |" in markdown and "last seen %s" % offline["lastSeen"] in markdown
    assert refused.rc != 0
    message = refused.result(FINAL_TASK)["msg"]
    assert message.startswith("1 action(s) queued for offline machines: see the summary above.")
    assert "they fail the run because fail_when_queued is true: set it to false to accept them." in message
    assert "quarantine_file_" not in message
    # The second run finds the queued action and writes nothing new.
    assert len(simulator.log_for(route="machines.StopAndQuarantineFile")) == 2


def test_a_wrong_tenant_is_named_on_one_readable_line_with_its_aadsts_code_and_trace(simulator, ansible):
    seed(simulator, 1)

    run = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-1", machine_names="ws-01.contoso.local"),
                                  env={"AZURE_TENANT_ID": WRONG_TENANT})

    assert run.rc != 0
    file = run.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]["files"][0]
    for text in (file["error"], run.output):
        assert "\\r\\n" not in text and "\\\\r\\\\n" not in text
    assert "AADSTS90002: Tenant '%s' not found." % WRONG_TENANT in file["error"]
    assert re.search(r"\(Trace ID: [0-9a-f-]{36}; Correlation ID: [0-9a-f-]{36}; Timestamp: [0-9: -]+Z\)$", file["error"]), file["error"]
    # Only the login service was asked (the plan's read and the run each try once); the API never was.
    assert {entry["route"] for entry in simulator.request_log} == {"openid-configuration"}


def test_machine_info_warns_about_a_name_that_matches_no_machine(simulator, ansible):
    machines = seed(simulator, 2)

    run = ansible.playbook("machine_info.yml", extra_vars={"machine_names": ["WS-01.contoso.local", "ws-02", "ws-99.contoso.local"]})

    assert run.rc == 0, run.output
    result = run.result("Find machines")
    assert [machine["id"] for machine in result["machines"]] == [machines[0]["id"]]
    warnings = [line for line in run.output.splitlines() if line.startswith("[WARNING]")]
    assert len(warnings) == 1, run.output
    assert warnings[0].startswith("[WARNING]: machine_names: no Defender machine is named 'ws-02', 'ws-99.contoso.local'.")
    assert "check the spelling" in warnings[0] and "onboarded" in warnings[0]
    # One look-up of the names, nothing else.
    assert [entry["route"] for entry in simulator.request_log if entry["route"] not in ("token", "openid-configuration")] == ["machines.list"]

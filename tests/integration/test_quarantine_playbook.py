"""The collection playbook mde.response.quarantine, run by its name as an AWX job template with a survey runs it."""

import json
import os
import subprocess

from tests.support.ansible_runner import PlaybookRun, REPO
from tests.support.quarantine import OTHER_SHA1, SHA1, ids, seed
from tests.support.reports import report_files, written
from tests.support.role_tasks import FACT_TASK, FINAL_TASK, MODULE_TASK, PREVIEW_TASK

from ansible_collections.mde.response.plugins.plugin_utils.playbook_variables import EXAMPLE_RUNS

SURVEY = os.path.join(REPO, "docs", "awx", "survey.json")
PLAYBOOK = os.path.join(REPO, "playbooks", "quarantine.yml")
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def run_collection_playbook(ansible, extra_vars, env=None):
    """ansible-playbook mde.response.quarantine: by its collection name, which the harness's playbook() cannot do."""
    ansible.runs += 1
    results_path = os.path.join(ansible.workdir, "results-%d.jsonl" % ansible.runs)
    environment = ansible.environment(**(env or {}))
    environment["MDE_TEST_RESULTS"] = results_path
    command = [os.path.join(os.path.dirname(environment.get("ANSIBLE_PYTHON_INTERPRETER")), "ansible-playbook"), "mde.response.quarantine",
               "-i", "localhost,", "-e", json.dumps(extra_vars)]
    completed = subprocess.run(command, env=environment, cwd=ansible.workdir, capture_output=True, text=True, timeout=600, check=False)
    results = []
    if os.path.exists(results_path):
        with open(results_path, encoding="utf-8") as handle:
            results = [json.loads(line) for line in handle if line.strip()]
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, results)


def survey():
    with open(SURVEY, encoding="utf-8") as handle:
        return json.load(handle)


def survey_answers(**answers):
    """What AWX passes for the survey: every field, defaults where the user typed nothing, all text as text."""
    values = {question["variable"]: question["default"] for question in survey()["spec"]}
    values.update(answers)
    return values


def test_the_survey_spec_is_well_formed_and_matches_the_playbook():
    spec = survey()
    assert spec["name"] and spec["description"]
    with open(PLAYBOOK, encoding="utf-8") as handle:
        playbook = handle.read()
    for question in spec["spec"]:
        assert {"question_name", "variable", "type", "required", "default"} <= set(question), question
        assert question["type"] in SURVEY_TYPES
        assert "%s |" % question["variable"] in playbook, "the playbook does not read %s" % question["variable"]
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"]
    required = {question["variable"] for question in spec["spec"] if question["required"] and question["default"] in ("", None)}
    assert required == {"sha1", "comment"}


def test_survey_answers_quarantine_on_names_and_ids_write_a_report_and_raise_no_warning(simulator, ansible):
    machines = seed(simulator, 4)
    simulator.add_file(OTHER_SHA1, observed_on=ids(machines))

    run = run_collection_playbook(ansible, survey_answers(
        sha1="%s %s" % (SHA1, OTHER_SHA1.upper()),
        comment="INC-4711: dropper",
        machine_names="ws-01.contoso.local\r\nws-02.contoso.local\n",
        machine_ids="%s,%s" % (machines[2]["id"], machines[3]["id"]),
        report_dir="reports",
    ))

    assert run.rc == 0, run.output
    # Every variable of the survey is one the playbook knows.
    assert "WARNING: the playbook ignores" not in run.output
    assert written(simulator) == sorted((machine["id"], sha1) for machine in machines for sha1 in (SHA1, OTHER_SHA1))
    assert {entry["body"]["Comment"] for entry in simulator.log_for(route="machines.StopAndQuarantineFile")} == {"INC-4711: dropper"}
    # A relative report folder is relative to where ansible-playbook runs, not to the installed playbook.
    report, table = report_files(os.path.join(ansible.workdir, "reports"))
    assert report["summary"]["created"] == 8 and report["waited"] is False
    assert sorted((row["file"], row["machine"]) for row in table) == sorted(
        (sha1, machine["computerDnsName"]) for machine in machines for sha1 in (SHA1, OTHER_SHA1))


def test_survey_answers_with_observed_and_a_partial_result(simulator, ansible):
    seed(simulator, 2)
    # A device ID Defender does not know: its write is refused (404), one failed machine per run.
    ghost = "0" * 40

    strict = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-1", observed="yes", machine_ids=ghost))
    strict_writes = len(written(simulator))
    partial = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-1", observed="yes", machine_ids=ghost,
                                                              allow_partial="yes"))

    assert strict.rc != 0 and "1 failure(s)" in strict.output
    # The failure names the playbook's variable, not the role's.
    message = strict.result(FINAL_TASK)["msg"]
    assert "1 machine(s) failed: set allow_partial to true to accept failed machines." in message
    assert "quarantine_file_" not in message
    assert strict_writes == 3
    assert partial.rc == 0, partial.output
    summary = partial.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]["summary"]
    assert (summary["existing"], summary["failed"]) == (2, 1)
    assert len(written(simulator)) == 3 + 1


def test_an_awx_project_playbook_can_import_it(simulator, ansible, tmp_path):
    # A job template runs a playbook file of its project; this one-line file is all a project needs.
    machines = seed(simulator, 2)
    project_playbook = tmp_path / "quarantine.yml"
    project_playbook.write_text("---\n- name: Quarantine\n  ansible.builtin.import_playbook: mde.response.quarantine\n", encoding="utf-8")

    run = ansible.playbook(str(project_playbook), extra_vars=survey_answers(sha1=SHA1, comment="INC-1", machine_ids=machines[0]["id"]))

    assert run.rc == 0, run.output
    assert written(simulator) == [(machines[0]["id"], SHA1)]


def test_a_run_without_a_file_is_refused_before_any_request(simulator, ansible):
    seed(simulator, 1)

    run = run_collection_playbook(ansible, survey_answers(comment="INC-1", observed="yes"))

    assert run.rc != 0
    assert "-e sha1 is missing" in run.output
    assert "For example: " + EXAMPLE_RUNS["quarantine"] in run.output
    assert simulator.request_log == []


def test_mde_connection_sets_the_connection_options_and_a_misspelled_variable_is_named_before_anything_is_sent(simulator, ansible):
    machines = seed(simulator, 2)
    connection = simulator.connection
    unset = {name: None for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "MDE_API_URL", "MDE_CA_PATH")}

    # machine_name and stat are misspelled: the run warns about them and goes on without them (no name, state present).
    run = run_collection_playbook(ansible, {"sha1": SHA1, "comment": "INC-1", "machine_ids": [machines[0]["id"]], "mde_connection": connection,
                                            "machine_name": machines[1]["computerDnsName"], "stat": "cancelled"},
                                  env=unset)

    assert run.rc == 0, run.output
    assert written(simulator) == [(machines[0]["id"], SHA1)]
    assert connection["client_secret"] not in run.output
    warning = run.result("Warn about variables the playbook does not know")["msg"]
    assert warning.startswith("WARNING: the playbook ignores machine_name, stat:") and "machine_names" in warning
    assert run.result(PREVIEW_TASK)["msg"][3] == "machine names (0): none"
    tasks = [entry["task"] for entry in run.results]
    assert tasks.index("Warn about variables the playbook does not know") < tasks.index(MODULE_TASK)


def test_state_cancelled_cancels_the_quarantines_in_flight_and_writes_nothing(simulator, ansible):
    machines = seed(simulator, 3)
    pending = [simulator.add_machine_action(machine["id"], SHA1, status="Pending") for machine in machines[:2]]

    run = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-4711: false positive", state="cancelled", observed="yes"))

    assert run.rc == 0, run.output
    assert written(simulator) == []
    cancels = simulator.log_for(method="POST", route="machineactions.cancel")
    assert sorted(entry["path"].split("/")[3] for entry in cancels) == sorted(action["id"] for action in pending)
    assert {entry["body"]["Comment"] for entry in cancels} == {"INC-4711: false positive"}
    assert {action["id"]: action["status"] for action in simulator.actions()} == {action["id"]: "Cancelled" for action in pending}


def test_the_plan_names_every_value_before_the_first_request(simulator, ansible):
    machines = seed(simulator, 2)

    run = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-4711: ransomware dropper", state="cancelled",
                                                          machine_names=machines[0]["computerDnsName"], machine_ids=machines[1]["id"],
                                                          wait="yes", wait_timeout=120))

    plan = run.result(PREVIEW_TASK)["msg"]
    assert plan == [
        "Cancel the quarantines still in flight of 1 file(s): %s" % SHA1,
        "state: cancelled",
        "comment: INC-4711: ransomware dropper",
        "machine names (1): %s" % machines[0]["computerDnsName"],
        "machine IDs (1): %s" % machines[1]["id"],
        "every machine that observed the file: no",
        "wait: yes, up to 120 s per file",
    ]
    tasks = [entry["task"] for entry in run.results]
    assert tasks.index(PREVIEW_TASK) < tasks.index(MODULE_TASK)

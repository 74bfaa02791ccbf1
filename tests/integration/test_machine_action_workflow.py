"""The AWX workflow of docs/docsite/rst/awx.rst through ansible-runner (the engine of an AWX job), with the project
playbook and the check job's extra variables exactly as the guide prints them: the check job (job type Check) sends
no write and predicts, machine by machine, what the real job then does after the approval; the protected machine is
never written; the artifacts the approver reads hold every machine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import yaml

from tests.support.ansible_runner import REPO
from tests.support.machine_actions import RESPONDER, action_writes, register_responder

GUIDE = os.path.join(REPO, "docs", "docsite", "rst", "awx.rst")
SURVEY = os.path.join(REPO, "docs", "awx", "machine_action_survey.json")


def guide_block(header):
    """The YAML code block of the guide whose first line is ``header``, as YAML text."""
    with open(GUIDE, encoding="utf-8") as handle:
        text = handle.read()
    blocks = [block for block in re.findall(r"^\.\. code-block:: yaml\n\n((?:    .*\n|\n)+)", text, flags=re.MULTILINE)
              if block.strip().startswith(header)]
    assert len(blocks) == 1, "the guide should show %r once" % header
    return "\n".join(line[4:] for line in blocks[0].splitlines()) + "\n"


def run_job(directory, ansible, extra_vars, check):
    """ansible-runner over a private data dir as AWX hands a job to it; returns (status, events)."""
    (directory / "project").mkdir(parents=True)
    (directory / "project" / "machine_action.yml").write_text(guide_block("# machine_action.yml"), encoding="utf-8")
    (directory / "inventory").mkdir()
    (directory / "inventory" / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable,
                                                   encoding="utf-8")
    (directory / "env").mkdir()
    (directory / "env" / "extravars").write_text(json.dumps(extra_vars), encoding="utf-8")
    if check:
        # What a job template of job type Check adds to the command line.
        (directory / "env" / "cmdline").write_text("--check", encoding="utf-8")
    environment = ansible.environment(**RESPONDER)
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", str(directory), "--playbook",
                                "machine_action.yml", "--ident", "job"], env=environment, capture_output=True, text=True, timeout=600,
                               check=False)
    events = [json.loads(path.read_text(encoding="utf-8")) for path in (directory / "artifacts" / "job" / "job_events").iterdir()]
    events.sort(key=lambda event: event["counter"])
    status = (directory / "artifacts" / "job" / "status").read_text(encoding="utf-8")
    return status, events, completed.stdout + completed.stderr


def artifacts(events):
    """What set_stats published: the job's artifacts in AWX, and the next workflow nodes' extra variables."""
    [stats] = [event for event in events if event["event"] == "playbook_on_stats"]
    return stats["event_data"]["artifact_data"]


def test_the_documented_check_job_predicts_the_approved_job_exactly(simulator, ansible, tmp_path):
    register_responder(simulator)
    extra_vars = yaml.safe_load(guide_block("# The check job's extra variables"))
    names = extra_vars["machine_names"].split()
    machines = {name: simulator.add_machine(name) for name in names}
    with open(SURVEY, encoding="utf-8") as handle:
        asked = {question["variable"] for question in json.load(handle)["spec"]}
    assert set(extra_vars) <= asked, "the guide's variables are the survey's"

    status, events, output = run_job(tmp_path / "check", ansible, extra_vars, check=True)

    assert status == "successful", output
    assert action_writes(simulator) == []
    predicted = artifacts(events)
    stdout = "".join(event.get("stdout", "") for event in events)
    assert "Check mode: reading only, nothing is sent. isolate with mde.response.machine_isolation" in stdout
    assert {row["machine_name"]: row["outcome"] for row in predicted["machine_action_results"]} == {
        "ws-0042.contoso.local": "would_create", "ws-0043.contoso.local": "would_create", "dc-01.contoso.local": "protected"}
    assert predicted["machine_action_summary"] == {"would_create": 2, "protected": 1}

    # The approval is granted: the workflow runs the same job template for real, with the same answers.
    status, events, output = run_job(tmp_path / "run", ansible, extra_vars, check=False)

    assert status == "successful", output
    done = artifacts(events)
    assert {row["machine_name"]: row["outcome"] for row in done["machine_action_results"]} == {
        name: outcome.replace("would_create", "created") for name, outcome in
        ((row["machine_name"], row["outcome"]) for row in predicted["machine_action_results"])}
    assert sorted(action_writes(simulator)) == sorted(("Isolate", machines[name]["id"], 201) for name in names[:2])
    assert {entry["body"]["IsolationType"] for entry in simulator.log_for(route="machines.isolate")} == {"Full"}
    assert {entry["body"]["Comment"] for entry in simulator.log_for(route="machines.isolate")} == {extra_vars["comment"]}


def test_the_survey_asks_only_what_the_playbook_reads_and_leaves_other_actions_settings_empty():
    with open(SURVEY, encoding="utf-8") as handle:
        spec = json.load(handle)
    with open(os.path.join(REPO, "playbooks", "machine_action.yml"), encoding="utf-8") as handle:
        playbook = handle.read()
    assert spec["name"] and spec["description"]
    for question in spec["spec"]:
        assert {"question_name", "variable", "type", "required", "default"} <= set(question), question
        assert "%s |" % question["variable"] in playbook, "the playbook does not read %s" % question["variable"]
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"] + [""]
    assert {question["variable"] for question in spec["spec"] if question["required"]} == {"action", "comment"}
    # A workflow passes every answer to every node: a setting of one action answered by default would be refused by
    # the others, so those are empty unless asked.
    defaults = {question["variable"]: question["default"] for question in spec["spec"]}
    assert (defaults["isolation_type"], defaults["scan_type"], defaults["package_dir"]) == ("", "", "")

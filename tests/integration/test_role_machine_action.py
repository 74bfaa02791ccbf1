"""The machine_action role through ansible-playbook, once: the plan, the progress, the table, the summary, the reports
and the wire for an isolation with a protected machine, then the same settings again changing nothing. Its rules are
unit-tested in tests/unit/plugins/plugin_utils/test_machine_action.py; its refusals of bad settings are checked
against its argument spec here, in process."""

from __future__ import annotations

import os

import pytest

from tests.support.in_process import role_argument_errors
from tests.support.machine_actions import (FACT_TASK, INTRO_TASK, PLAN_TASK, RESPONDER, SUMMARY_TASK, TABLE_TASK, action_reports,
                                           action_writes, register_responder)


def test_the_role_isolates_all_but_the_protected_and_a_rerun_changes_nothing(simulator, ansible, tmp_path):
    register_responder(simulator)
    workstations = [simulator.add_machine("ws-%02d.contoso.local" % number) for number in (1, 2)]
    tier0 = simulator.add_machine("jump-01.contoso.local", tags=("Tier0",))
    controller = simulator.add_machine("dc-01.contoso.local")
    reports = tmp_path / "reports"

    run = ansible.playbook("role_machine_action.yml", env=RESPONDER, extra_vars={
        "machine_names": "%s\n%s\n%s" % (workstations[0]["computerDnsName"], tier0["computerDnsName"], controller["computerDnsName"]),
        "machine_ids": [workstations[1]["id"]], "report_dir": str(reports)})

    assert run.rc == 0, run.output
    # On the wire: one Isolate for each workstation, nothing for the protected machines, nothing in the rerun.
    assert sorted(action_writes(simulator)) == sorted(("Isolate", machine["id"], 201) for machine in workstations)
    [intro, _again] = run.results_of(INTRO_TASK)
    assert intro["msg"][0] == "isolate with mde.response.machine_isolation (state isolated)"
    assert "protected, never sent: tags tier0; name patterns dc-*" in intro["msg"]
    [plan, plan_again] = run.results_of(PLAN_TASK)
    assert plan["msg"][0] == "Plan: 2 of 4 machine(s) need to be isolated; protected 2."
    assert "jump-01.contoso.local (it has the protected tag Tier0)" in plan["msg"][1]
    assert "dc-01.contoso.local (its name dc-01.contoso.local matches the protected pattern dc-*)" in plan["msg"][1]
    assert plan_again["msg"][0] == "Plan: 0 of 4 machine(s) need to be isolated; existing 2, protected 2."
    [table, table_again] = run.results_of(TABLE_TASK)
    rows = {line.split()[1]: line.split()[0] for line in table["msg"][1:]}
    assert rows == {"ws-01.contoso.local": "created", "ws-02.contoso.local": "created", "jump-01.contoso.local": "protected",
                    "dc-01.contoso.local": "protected"}
    assert all("released -> isolated" in line for line in table["msg"][1:] if line.startswith("created"))
    assert {line.split()[0] for line in table_again["msg"][1:]} == {"existing", "protected"}
    [summary, _summary_again] = run.results_of(SUMMARY_TASK)
    assert summary["msg"][0].startswith("isolate on 4 machine(s): ")
    assert sorted(summary["msg"][0].split(": ", 1)[1].split(", ")) == ["created 2", "protected 2"]
    assert summary["msg"][-1].startswith("Report: %s/isolate-" % os.path.realpath(reports))
    # The reports: one pair per run, the same machines in the JSON and the Markdown.
    (first, first_rows), (second, second_rows) = action_reports(str(reports), "isolate")
    assert first["summary"] == {"created": 2, "protected": 2} and second["summary"] == {"existing": 2, "protected": 2}
    assert first["protect"] == {"tags": ["tier0"], "device_groups": [], "name_patterns": ["dc-*"]}
    assert sorted((row["machine"], row["outcome"]) for row in first_rows) == sorted(
        [("ws-01.contoso.local", "created"), ("ws-02.contoso.local", "created"), ("jump-01.contoso.local", "protected"),
         ("dc-01.contoso.local", "protected")])
    assert {row["state after"] for row in second_rows if row["outcome"] == "existing"} == {"isolated"}
    assert [result["ansible_facts"]["machine_action_report"]["waited"] for result in run.results_of(FACT_TASK)] == [False, False]
    # The rerun changes nothing: every task of the second include reports changed=false.
    second_include = run.results[[entry["task"] for entry in run.results].index("Isolate again") + 1:]
    assert second_include and [entry["task"] for entry in second_include if entry["result"].get("changed")] == []


@pytest.mark.parametrize("variables, message", [
    ({"machine_action_action": "quarantine"}, "machine_action_action"),
    ({"machine_action_change_isolation_type": "sometimes"}, "machine_action_change_isolation_type"),
    ({"machine_action_protect": {"tags": ["a"], "owners": ["b"]}}, "owners"),
    ({"machine_action_max_machines": "many"}, "machine_action_max_machines"),
])
def test_the_argument_spec_refuses_what_it_can_check(variables, message):
    errors = role_argument_errors("machine_action", dict({"machine_action_action": "isolate", "machine_action_comment": "INC-1"}, **variables))

    assert errors and message in " ".join(errors), errors

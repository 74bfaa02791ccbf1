"""Messages that name the right thing, run through ansible-playbook against the simulator: the playbook's own variables,
an action queued for an offline machine, a machine name that matches nothing, a login to the wrong tenant."""

import re

from tests.integration.test_quarantine_playbook import run_collection_playbook, survey_answers
from tests.support.quarantine import SHA1, seed

WRONG_TENANT = "11111111-2222-3333-4444-555555555555"


def test_a_wrong_tenant_is_named_on_one_readable_line_with_its_aadsts_code_and_trace(simulator, ansible):
    seed(simulator, 1)

    run = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-1", machine_names="ws-01.contoso.local"),
                                  env={"AZURE_TENANT_ID": WRONG_TENANT})

    assert run.rc != 0
    file = run.result("Put the results together")["ansible_facts"]["quarantine_file_report"]["files"][0]
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

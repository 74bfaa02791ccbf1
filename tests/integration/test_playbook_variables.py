"""The playbooks check their extra variables first: one short line per mistake naming the -e variable, a command that
works when pasted, nothing sent; and both take the same states (absent and cancelled are the same)."""

import shlex

from tests.integration.test_contain_playbook import PLAYBOOK as CONTAIN, survey_answers as contain_answers
from tests.integration.test_quarantine_playbook import run_collection_playbook, survey_answers
from tests.support.quarantine import SHA1, seed

from ansible_collections.mde.response.plugins.plugin_utils.playbook_variables import EXAMPLE_RUNS

SHA256 = "a" * 64
# The role's argument spec failure printed its whole spec (8.8 KB) under this key.
SPEC_DUMP = "argument_spec_data"


def failure_message(run):
    return run.result("Refuse a mistake in the extra variables before anything runs")["msg"]


def test_mistakes_in_the_extra_variables_are_named_by_their_e_variable_before_anything_is_sent(simulator, ansible):
    quarantine = run_collection_playbook(ansible, {"sha1": SHA256, "comment": "", "state": "stopped", "wait": "maybe",
                                                   "wait_timeout": "15m"})
    contain = ansible.playbook(CONTAIN, extra_vars=contain_answers(sha1=SHA1, comment="", state="released"))

    assert quarantine.rc == 2 and contain.rc == 2
    assert simulator.request_log == []
    message = failure_message(quarantine)
    for line in ("-e sha1 must be the SHA-1 of a file: that is a SHA-256",
                 "To block the file by its SHA-256, use mde.response.file_indicator or mde.response.file_indicators",
                 "-e comment is missing", "-e state=stopped is not a state", "-e state=absent (or cancelled, the same)",
                 "-e wait=maybe is neither true nor false", "-e wait_timeout=15m is not a number of seconds",
                 "For example: " + EXAMPLE_RUNS["quarantine"]):
        assert line in message
    assert "quarantine_file_" not in message and SPEC_DUMP not in quarantine.output and len(message) < 1200
    contain_message = failure_message(contain)
    assert contain_message.startswith("-e comment is missing") and "-e state=released is not a state" in contain_message
    assert contain_message.endswith("For example: " + EXAMPLE_RUNS["contain"])
    assert "contain_" not in contain_message and SPEC_DUMP not in contain.output
    # The printed command keeps the comment whole when pasted into a shell.
    assert 'comment="INC-4711: ransomware dropper"' in shlex.split(EXAMPLE_RUNS["contain"])


def test_both_playbooks_take_absent_and_cancelled_alike(simulator, ansible):
    machines = seed(simulator, 2)
    simulator.indicators.add_indicator(SHA1, action="BlockAndRemediate", title="INC-4711")
    for machine in machines:
        simulator.add_machine_action(machine["id"], SHA1, status="Pending")

    quarantine = run_collection_playbook(ansible, survey_answers(sha1=SHA1, comment="INC-4711: cancel", state="absent",
                                                                 machine_names=machines[0]["computerDnsName"]))
    contain = ansible.playbook(CONTAIN, extra_vars=contain_answers(sha1=SHA1, comment="INC-4711: release", state="cancelled",
                                                                   machine_names=machines[1]["computerDnsName"]))

    assert quarantine.rc == 0, quarantine.output
    assert contain.rc == 0, contain.output
    cancels = simulator.log_for(method="POST", route="machineactions.cancel")
    assert [entry["body"]["Comment"] for entry in cancels] == ["INC-4711: cancel", "INC-4711: release"]
    # contain's "cancelled" is its release: the indicator goes too; the quarantine playbook never touches indicators.
    assert simulator.indicators.indicators() == []
    assert len(simulator.log_for(route="indicators.delete")) == 1
    assert simulator.log_for(route="machines.StopAndQuarantineFile") == []

"""The playbooks' extra-variable check, every variant in process (the ansible-playbook runs are in
tests/integration/test_playbook_variables.py)."""

import shlex

import pytest

from ansible_collections.mde.response.plugins.filter.playbook_variables import FilterModule
from ansible_collections.mde.response.plugins.plugin_utils.playbook_variables import EXAMPLE_RUNS, check

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
GOOD = {"sha1": SHA1, "comment": "INC-4711: dropper"}


@pytest.mark.parametrize("playbook, given, state", [
    ("quarantine", None, "present"), ("quarantine", "", "present"), ("quarantine", "present", "present"),
    ("quarantine", "cancelled", "cancelled"), ("quarantine", "absent", "cancelled"),
    ("contain", None, "present"), ("contain", "absent", "absent"), ("contain", "cancelled", "absent"),
])
def test_one_vocabulary_of_states_for_both_playbooks(playbook, given, state):
    assert check(dict(GOOD, state=given), playbook) == {"errors": [], "state": state}


@pytest.mark.parametrize("variables, line", [
    ({"comment": "x"}, "-e sha1 is missing"),
    ({"sha1": "  ", "comment": "x"}, "-e sha1 is missing"),
    ({"sha1": SHA1, "comment": " "}, "-e comment is missing"),
    ({"sha1": "%s, %s" % (SHA1, "b" * 64), "comment": "x"}, "that is a SHA-256"),
    ({"sha1": "c" * 32, "comment": "x"}, "To block the file by its MD5, use mde.response.file_indicator"),
    ({"sha1": [SHA1, "nope"], "comment": "x"}, "-e sha1 must be the SHA-1 of a file (40 hex characters), got 'nope'"),
    (dict(GOOD, state="stop"), "-e state=stop is not a state"),
    (dict(GOOD, wait="sometimes"), "-e wait=sometimes is neither true nor false: use -e wait=true or -e wait=false."),
    (dict(GOOD, allow_partial="maybe"), "-e allow_partial=maybe is neither true nor false"),
    (dict(GOOD, wait_timeout="15m"), "-e wait_timeout=15m is not a number of seconds"),
])
@pytest.mark.parametrize("playbook", ["quarantine", "contain"])
def test_each_mistake_is_one_line_naming_the_e_variable_and_ends_with_a_working_command(variables, line, playbook):
    errors = check(variables, playbook)["errors"]
    assert len(errors) == 2 and line in errors[0]
    assert errors[-1] == "For example: " + EXAMPLE_RUNS[playbook]


@pytest.mark.parametrize("variables", [
    dict(GOOD, wait=True, wait_timeout=900, allow_partial="no", observed="yes", fail_when_queued=""),
    dict(GOOD, sha1="%s\n%s" % (SHA1.upper(), "d" * 40), wait="true", wait_timeout="60"),
])
def test_what_a_survey_or_a_command_line_sends_is_accepted(variables):
    assert check(variables, "quarantine")["errors"] == []


def test_flags_only_the_playbook_reads_are_checked():
    assert check(dict(GOOD, observed="perhaps"), "contain")["errors"] == []
    assert "-e observed=perhaps" in check(dict(GOOD, observed="perhaps"), "quarantine")["errors"][0]


def test_the_undo_says_what_each_playbook_undoes():
    assert "remove the indicators" in check(dict(GOOD, state="x"), "contain")["errors"][0]
    assert "remove the indicators" not in check(dict(GOOD, state="x"), "quarantine")["errors"][0]


@pytest.mark.parametrize("playbook", sorted(EXAMPLE_RUNS))
def test_the_examples_keep_the_comment_whole_in_a_shell(playbook):
    words = shlex.split(EXAMPLE_RUNS[playbook])
    assert words[:2] == ["ansible-playbook", "mde.response." + playbook]
    assert 'comment="INC-4711: ransomware dropper"' in words


def test_an_unknown_playbook_is_a_programming_error_and_the_filter_is_the_check():
    with pytest.raises(ValueError, match="playbook must be one of contain, machine_action, quarantine"):
        check(GOOD, "release")
    assert FilterModule().filters() == {"playbook_variables": check}


ACTION = {"action": "isolate", "comment": "INC-4711: ransomware"}


@pytest.mark.parametrize("variables, line", [
    ({"comment": "x"}, "-e action is missing: give one of isolate, release, restrict, unrestrict, scan, collect."),
    (dict(ACTION, action="quarantine"), "-e action=quarantine is not an action: use one of isolate, release"),
    (dict(ACTION, comment=""), "-e comment is missing"),
    (dict(ACTION, max_machines="many"), "-e max_machines=many is not a number of machines: use for example -e max_machines=50."),
    (dict(ACTION, change_isolation_type="perhaps"), "-e change_isolation_type=perhaps is neither true nor false"),
    (dict(ACTION, wait_timeout="1h"), "-e wait_timeout=1h is not a number of seconds"),
])
def test_the_machine_action_playbook_names_its_own_variables(variables, line):
    errors = check(variables, "machine_action")["errors"]
    assert len(errors) == 2 and line in errors[0], errors
    assert errors[-1] == "For example: " + EXAMPLE_RUNS["machine_action"]


def test_the_machine_action_playbook_takes_no_file_and_no_state():
    assert check(dict(ACTION, max_machines="40", wait="yes", state="whatever"), "machine_action") == {"errors": [], "state": "whatever"}

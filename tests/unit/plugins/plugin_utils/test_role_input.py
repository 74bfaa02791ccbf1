# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' input rules: survey answers split into values, and what the argument specs cannot check."""

import pytest

from ansible_collections.mde.response.plugins.plugin_utils.role_input import input_problems, survey_values

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"


@pytest.mark.parametrize("value, values", [
    ("ws-01, ws-02;ws-03\nws-04 ", ["ws-01", "ws-02", "ws-03", "ws-04"]),
    (["ws-01 ws-02", ["ws-03"]], ["ws-01", "ws-02", "ws-03"]),
    ("", []), (None, []), ([], []), (" , ", []),
    (["ws-01", "ws-01"], ["ws-01", "ws-01"]),
])
def test_survey_answers_and_lists_give_their_values_in_order(value, values):
    assert survey_values(value) == values


def test_hashes_are_lowercased_and_each_kept_once():
    assert survey_values("%s,%s %s" % (SHA1.upper(), OTHER_SHA1, SHA1), lower=True) == [SHA1, OTHER_SHA1]


def test_good_input_has_no_problem():
    assert input_problems([SHA1], "INC-1", "quarantine_file", targeted=True) == []
    assert input_problems([SHA1], "INC-1", "contain") == []


def test_every_problem_is_named_at_once_with_the_roles_variables():
    assert input_problems(["d41d8cd98f00b204e9800998ecf8427e"], "  ", "quarantine_file", targeted=False) == [
        "Not SHA-1s (40 hexadecimal characters): d41d8cd98f00b204e9800998ecf8427e.",
        "quarantine_file_comment is empty.",
        "No target machine: give quarantine_file_machine_ids or quarantine_file_machine_names, or set quarantine_file_observed"
        " or quarantine_file_target_play_hosts (with hosts in the play) to true."]
    assert input_problems([], None, "contain") == ["contain_sha1s lists no file.", "contain_comment is empty."]


def test_the_callers_names_are_used_and_a_variable_its_users_cannot_set_is_left_out():
    names = {"quarantine_file_sha1s": "sha1", "quarantine_file_machine_ids": "machine_ids", "quarantine_file_machine_names": None,
             "quarantine_file_observed": "observed", "quarantine_file_target_play_hosts": None}
    assert input_problems([], "INC-1", "quarantine_file", names, targeted=False) == [
        "sha1 lists no file.", "No target machine: give machine_ids, or set observed to true."]

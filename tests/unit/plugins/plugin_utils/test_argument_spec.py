# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An action plugin's argument spec comes from its documentation."""

from ansible_collections.mde.response.plugins.action.quarantine_progress import ARGUMENT_SPEC, ActionModule
from ansible_collections.mde.response.plugins.plugin_utils.argument_spec import documented_argument_spec


def test_the_spec_takes_each_options_type_elements_required_default_and_choices_and_the_suboptions():
    documentation = """
options:
  jobs: {description: [The jobs.], type: list, elements: dict, required: true,
         suboptions: {jid: {description: [A job ID.], type: str, no_log: true}}}
  mode: {description: [How.], type: str, choices: [a, b], default: a, aliases: [how]}
"""
    assert documented_argument_spec(documentation) == {
        "jobs": {"type": "list", "elements": "dict", "required": True, "options": {"jid": {"type": "str", "no_log": True}}},
        "mode": {"type": "str", "choices": ["a", "b"], "default": "a", "aliases": ["how"]},
    }


def test_quarantine_progress_accepts_what_it_documents_with_the_documented_defaults():
    assert ARGUMENT_SPEC == {
        "jobs": {"type": "list", "elements": "raw", "required": True},
        "progress_dir": {"type": "str"},
        "report_interval": {"type": "int", "default": 30},
        "poll_interval": {"type": "int", "default": 5},
        "timeout": {"type": "int", "default": 18000},
    }
    assert ActionModule._VALID_ARGS == frozenset(ARGUMENT_SPEC)  # pylint: disable=protected-access

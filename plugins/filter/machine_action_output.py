# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machine_action_output
short_description: The machine_action role's per-machine table, summary and failure message
version_added: 0.1.0
description:
  - From the C(machine_action_report) fact of the P(mde.response.machine_action#role) role, the lines the play shows
    and why the role fails, if it does.
  - The table has one row per machine, failures first - outcome, machine, status of the action, state before and
    after (isolation and app restriction), action ID, and the error, the protection that kept the machine out, the
    downloaded package or why the action is queued. Past O(shown) rows a last line counts the others.
  - The summary gives the outcomes, what permission to grant when one is missing, and the first failures.
  - The failure message names the caller's variables (O(names)) and says what to do; it is empty when the role
    does not fail.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The C(machine_action_report) fact of the P(mde.response.machine_action#role) role.
    type: dict
    required: true
  shown:
    description: How many rows of the table, and failures of the summary, are shown.
    type: int
    default: 300
  allow_partial:
    description: Whether failed machines are accepted.
    type: bool
    default: false
  fail_when_queued:
    description: Whether an action still queued for an offline machine fails the role.
    type: bool
    default: false
  names:
    description: The role's variables by the names the caller's users set them by (C(machine_action_variable_names)).
    type: dict
    default: {}
  report_path:
    description: The Markdown report's path, named in the summary and the failure message.
    type: str
"""

EXAMPLES = r"""
- name: Show the result per machine
  ansible.builtin.debug:
    msg: "{{ (machine_action_report | mde.response.machine_action_output).table }}"
"""

RETURN = r"""
_value:
  description: What to show.
  type: dict
  contains:
    table:
      description: The lines of the per-machine table, the header first.
      type: list
      elements: str
    summary:
      description: The lines of the summary.
      type: list
      elements: str
    failure:
      description: Why the role fails the play and what to do; empty when it does not fail.
      type: str
"""

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import output


class FilterModule:
    def filters(self):
        return {"machine_action_output": output}

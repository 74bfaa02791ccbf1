# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_machine_table
short_description: Show the quarantine_file role's result per machine as a table
version_added: 0.1.0
description:
  - Turns the C(quarantine_file_report) fact of the P(mde.response.quarantine_file#role) role into aligned lines of
    text for the play output, one per file and machine, failures first (the files that could not be handled at all,
    then the machines that failed), then every other machine.
  - Columns are outcome, machine (its name, else its ID), file (SHA-1), status of the action, action ID and error.
  - Past O(shown) rows, a last line counts the rows left out per outcome.
  - An action queued for an offline machine (outcome V(queued), status C(Pending)) is not a failure; the summary
    (P(mde.response.quarantine_summary_lines#filter)) says when its machine was last seen.
author:
  - mde.response maintainers (@mde-response)
extends_documentation_fragment:
  - mde.response.quarantine_report
options:
  shown:
    description: How many rows are shown; a last line counts the others.
    type: int
    required: true
seealso:
  - plugin: mde.response.quarantine_summary_lines
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the result per machine, at most 300 rows
  ansible.builtin.debug:
    msg: "{{ quarantine_file_report | mde.response.quarantine_machine_table(300) }}"
"""

RETURN = r"""
_value:
  description: The lines of the table, the header first.
  type: list
  elements: str
  sample:
    - "outcome  machine              file                                      status     action id  error"
    - "failed   ws-02.contoso.local  87662bc3d60e4200ceaf7aae249d1c343f4b83c9  Failed     9b2f...    Forbidden: Machine is offline"
    - "created  ws-01.contoso.local  87662bc3d60e4200ceaf7aae249d1c343f4b83c9  Succeeded  7c1e...    -"
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import machine_table


class FilterModule:
    def filters(self):
        return {"quarantine_machine_table": machine_table}

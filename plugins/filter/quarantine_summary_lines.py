# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_summary_lines
short_description: Write the closing summary of the quarantine_file role
version_added: 0.1.0
description:
  - Turns the C(quarantine_file_report) fact of the P(mde.response.quarantine_file#role) role into the lines of
    its closing message, one line for the totals, one per file, a warning for each file Defender has no record of
    (its C(file_known) is C(false)), then the first failed machines, then the first actions queued for offline
    machines (outcome V(queued)) with the machine's last seen time.
author:
  - mde.response maintainers (@mde-response)
extends_documentation_fragment:
  - mde.response.quarantine_report
options:
  shown:
    description: How many failed machines, and how many queued actions, get a line of their own; a line counts the others.
    type: int
    required: true
  report_path:
    description: The report file to name in the last line; no line when not given.
    type: str
seealso:
  - plugin: mde.response.quarantine_results
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the summary, with at most 20 failed machines
  ansible.builtin.debug:
    msg: "{{ quarantine_file_report | mde.response.quarantine_summary_lines(20) }}"
"""

RETURN = r"""
_value:
  description: The lines of the summary.
  type: list
  elements: str
  sample:
    - "1 file(s): created 1, failed 1"
    - "87662bc3d60e4200ceaf7aae249d1c343f4b83c9: created 1, failed 1"
    - "failed: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9 on ws-02.contoso.local: Forbidden: Machine is offline"
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import summary_lines


class FilterModule:
    def filters(self):
        return {"quarantine_summary_lines": summary_lines}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: contain_summary
short_description: The play-output lines of a contain report
version_added: 0.1.0
description:
  - The totals, one line per file and the first 20 failed machines of a report made by P(mde.response.contain_report#filter).
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: A report made by P(mde.response.contain_report#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ contain_report | mde.response.contain_summary }}"
"""

RETURN = r"""
_value:
  description: The lines.
  type: list
  elements: str
"""

from ansible_collections.mde.response.plugins.plugin_utils.contain_report import summary_lines


class FilterModule:
    def filters(self):
        return {"contain_summary": summary_lines}

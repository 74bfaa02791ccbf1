# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: markdown_cell
short_description: Write a value as a Markdown table cell that never breaks the table
version_added: 0.1.0
description:
  - Escapes pipes, turns line breaks into spaces, and writes C(-) for nothing (C(null) or an empty string).
  - The Markdown reports of the P(mde.response.quarantine_file#role) and P(mde.response.contain#role) roles write
    every cell with it.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The value of the cell.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: A table row whose error message holds a pipe and a line break
  ansible.builtin.debug:
    msg: "| ws-01 | {{ 'Forbidden: a|b\nc' | mde.response.markdown_cell }} |"
"""

RETURN = r"""
_value:
  description: The text of the cell.
  type: str
  sample: 'Forbidden: a\|b c'
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import markdown_cell


class FilterModule:
    def filters(self):
        return {"markdown_cell": markdown_cell}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: survey_values
short_description: Split a variable that may hold several values (a survey answer) into a list
version_added: 0.1.0
description:
  - Returns the values of a list, or of text that holds several values separated by commas, semicolons, spaces or
    line breaks, as an AWX survey answer (text or text area) arrives; list items may hold several values too.
  - The roles of the collection read their SHA-1s, machine IDs and machine names with it.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: A string, a list, or nothing.
    type: raw
    required: true
  lower:
    description: Lowercase the values and keep each once, in the order first given (for hashes).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the SHA-1s of a survey text area
  ansible.builtin.debug:
    msg: "{{ 'A0C659857CCBE457FDAF5FE21D54EFDCBF6F6508,\n87662bc3d60e4200ceaf7aae249d1c343f4b83c9' | mde.response.survey_values(lower=true) }}"
"""

RETURN = r"""
_value:
  description: The values, in the order given.
  type: list
  elements: str
  sample: [a0c659857ccbe457fdaf5fe21d54efdcbf6f6508, 87662bc3d60e4200ceaf7aae249d1c343f4b83c9]
"""

from ansible_collections.mde.response.plugins.plugin_utils.role_input import survey_values


class FilterModule:
    def filters(self):
        return {"survey_values": survey_values}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_unknown_file_warnings
short_description: The warning of each file Defender has no record of, in the quarantine_file role's report
version_added: 0.1.0
description:
  - Returns, for each file in C(unknown_files) of the C(quarantine_file_report) fact of the
    P(mde.response.quarantine_file#role) role, the warning M(mde.response.stop_and_quarantine_file) gives for it,
    worded for a check run when the report is one.
author:
  - mde.response maintainers (@mde-response)
extends_documentation_fragment:
  - mde.response.quarantine_report
"""

EXAMPLES = r"""
- name: Show why a file could not be quarantined anywhere
  ansible.builtin.debug:
    msg: "{{ quarantine_file_report | mde.response.quarantine_unknown_file_warnings }}"
"""

RETURN = r"""
_value:
  description: One warning per unknown file, in the order of the files.
  type: list
  elements: str
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import unknown_file_warnings


class FilterModule:
    def filters(self):
        return {"quarantine_unknown_file_warnings": unknown_file_warnings}

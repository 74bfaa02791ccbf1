# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: indicator_sync_lines
short_description: The play-output lines of a file_indicators result
version_added: 0.2.0
description:
  - The counts of a result of M(mde.response.file_indicators), then one line per deleted indicator, per indicator taken
    over, per listed file whose indicator someone else made (left as it is), and the first 20 writes refused or not sent.
  - An empty list for a result without counts (a task that failed before converging).
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The registered result of M(mde.response.file_indicators).
    type: dict
    required: true
  check_mode:
    description: Whether the result is a check run's prediction; the lines then say so.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Show what the list changed
  ansible.builtin.debug:
    msg: "{{ converged | mde.response.indicator_sync_lines(check_mode=ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description:
    - The counts line first (prefixed C(CHECK MODE, nothing was changed.) in check mode), then the lines that start with
      C(deleted:), C(taken over:), C(left as it is:), C(left alone:), C(not sent:) and C(refused:).
  type: list
  elements: str
"""

from ansible_collections.mde.response.plugins.module_utils._indicators.sync import summary_lines


class FilterModule:
    def filters(self):
        return {"indicator_sync_lines": summary_lines}

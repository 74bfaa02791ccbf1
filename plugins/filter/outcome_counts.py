# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: outcome_counts
short_description: Write a summary of outcomes as text
version_added: 0.1.0
description:
  - Turns a C(summary) of M(mde.response.stop_and_quarantine_file) (outcome to count) into text such as
    C(created 2, failed 1), leaving out the outcomes that did not happen.
  - Returns an empty string when no outcome happened, so that C(or) can name that case.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: Outcome to count, in the order to write them.
    type: dict
    required: true
seealso:
  - plugin: mde.response.quarantine_results
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Say what happened to the file
  ansible.builtin.debug:
    msg: "{{ result.summary | mde.response.outcome_counts or 'no machine result' }}"
"""

RETURN = r"""
_value:
  description: C(outcome count) for every outcome with a count, separated by commas; empty when there is none.
  type: str
  sample: created 2, failed 1
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import outcome_counts


class FilterModule:
    def filters(self):
        return {"outcome_counts": outcome_counts}

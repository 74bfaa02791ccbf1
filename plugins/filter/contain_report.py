# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: contain_report
short_description: Build the contain role's report from its registered loop results
version_added: 0.1.0
description:
  - Puts together, per file, the result of M(mde.response.file_indicator) and of
    M(mde.response.stop_and_quarantine_file), with totals and failures, as the C(mde.response.contain) role reports them.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The C(results) list registered by the loop over M(mde.response.file_indicator), one item per file.
    type: list
    elements: dict
    required: true
  quarantine_results:
    description: The C(results) list registered by the loop over M(mde.response.stop_and_quarantine_file).
    type: list
    elements: dict
    required: true
  comment:
    description: The comment of the run.
    type: str
    required: true
  state:
    description: V(present) (contain) or V(absent) (release).
    type: str
    required: true
  check_mode:
    description: Whether the run was in check mode.
    type: bool
    required: true
  generated:
    description: When the report was made (UTC, ISO 8601).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Put the report together
  ansible.builtin.set_fact:
    contain_report: >-
      {{ indicators.results | mde.response.contain_report(quarantines.results, comment='INC-4711', state='present',
         check_mode=ansible_check_mode, generated=now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ')) }}
"""

RETURN = r"""
_value:
  description:
    - C(generated), C(state), C(comment), C(check_mode); C(summary) with C(indicators) (count per indicator outcome) and
      C(machines) (count per machine outcome); C(failures) (C(sha1), C(what), C(machine_name), C(machine_id), C(error));
      C(files), one per file with C(sha1), C(indicator) (C(outcome), C(id), C(action), C(expiration), C(error)) and
      C(machines) (C(summary), C(actions), C(error)); C(unknown_files), the SHA-1s Defender has no record of, and
      C(unknown_untouched), those of them that nothing was quarantined for.
  type: dict
"""

from ansible_collections.mde.response.plugins.plugin_utils.contain_report import contain_report


class FilterModule:
    def filters(self):
        return {"contain_report": contain_report}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_results
short_description: Put the results of stop_and_quarantine_file runs together, per file and in total
version_added: 0.1.0
description:
  - Takes the loop results of M(mde.response.stop_and_quarantine_file) (one run per file), or of the
    C(ansible.builtin.async_status) task that waited for those runs, and returns the files, the outcomes added up
    and the failures.
  - The P(mde.response.quarantine_file#role) role builds its report with it.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description:
      - The C(results) list of a registered loop over M(mde.response.stop_and_quarantine_file), whose items are the
        SHA-1s; or the C(results) of an C(ansible.builtin.async_status) loop over those.
    type: list
    elements: dict
    required: true
seealso:
  - plugin: mde.response.outcome_counts
    plugin_type: filter
  - plugin: mde.response.quarantine_summary_lines
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Stop and quarantine two files
  mde.response.stop_and_quarantine_file:
    sha1: "{{ item }}"
    comment: INC-1234
    observed: true
    allow_partial: true
  loop:
    - 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    - a0c659857ccbe457fdaf5fe21d54efdcbf6f6508
  register: runs
  failed_when: false

- name: Show the outcomes of both files added up
  ansible.builtin.debug:
    msg: "{{ (runs.results | mde.response.quarantine_results).summary }}"
"""

RETURN = r"""
_value:
  description: The files, their outcomes added up, and the failures.
  type: dict
  contains:
    files:
      description: One entry per file, in the order of the loop.
      type: list
      elements: dict
      contains:
        sha1:
          description: The SHA-1 of the file, as the loop item gave it.
          type: str
        error:
          description: Why the file could not be handled at all (the module's message); C(null) when it was.
          type: str
        summary:
          description: The module's C(summary) for the file (outcome to count); empty when it was not handled.
          type: dict
        actions:
          description: The module's per-machine C(actions) for the file; empty when it was not handled.
          type: list
          elements: dict
        file_known:
          description: The module's C(file_known) for the file; C(false) when Defender has no record of it.
          type: bool
    unknown_files:
      description: The SHA-1s of the files Defender has no record of (C(file_known) is C(false)), in the order of the loop.
      type: list
      elements: str
    summary:
      description: The C(summary) of every file added up, outcomes in the order they first appear.
      type: dict
      sample: {"created": 3, "existing": 1, "queued": 1, "failed": 1}
    failures:
      description:
        - The files that could not be handled at all (error code C(NotHandled), no machine), then every machine
          whose outcome is C(failed).
      type: list
      elements: dict
      contains:
        sha1:
          description: The file that failed, or failed on the machine.
          type: str
        machine_name:
          description: The machine's name; C(null) for a file that was not handled.
          type: str
        machine_id:
          description: The machine's Defender device ID; C(null) for a file that was not handled.
          type: str
        error:
          description: The error, with C(code) and C(message).
          type: dict
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import quarantine_results


class FilterModule:
    def filters(self):
        return {"quarantine_results": quarantine_results}

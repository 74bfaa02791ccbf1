# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_failure
short_description: Say why the quarantine_file role fails the play, and what to do
version_added: 0.1.0
description:
  - Decides from the C(quarantine_file_report) fact of the P(mde.response.quarantine_file#role) role whether the
    role fails the play, and returns its closing message; an empty string when the play goes on.
  - The play fails when a file could not be handled at all; when a file is unknown to Defender (its C(file_known) is
    C(false)) and nothing was quarantined for it, unless O(allow_unknown_files); and when a machine failed, or with
    O(fail_when_queued) an action is still queued for an offline machine, unless O(allow_partial).
author:
  - mde.response maintainers (@mde-response)
extends_documentation_fragment:
  - mde.response.role_failure
  - mde.response.quarantine_report
options:
  allow_partial:
    description: Accept failed machines (and queued actions); a file not handled at all still fails.
    type: bool
    default: false
  fail_when_queued:
    description: Count the actions still queued for offline machines as failures.
    type: bool
    default: false
  report_path:
    description: The report file to name in the message.
    type: str
seealso:
  - plugin: mde.response.quarantine_summary_lines
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Stop the play with the reason when the role's report says so
  ansible.builtin.fail:
    msg: "{{ quarantine_file_report | mde.response.quarantine_failure(allow_unknown_files=true) }}"
  when: quarantine_file_report | mde.response.quarantine_failure(allow_unknown_files=true) | length > 0
"""

RETURN = r"""
_value:
  description: Why the play fails and what to do about each cause; empty when it does not fail.
  type: str
  sample: >-
    1 failure(s): see the summary above. 1 machine(s) failed: set quarantine_file_allow_partial to true to accept
    failed machines.
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import failure_message


class FilterModule:
    def filters(self):
        return {"quarantine_failure": failure_message}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: contain_failure
short_description: Say why the contain role fails the play, and what to do
version_added: 0.1.0
description:
  - Decides from the C(contain_report) fact of the P(mde.response.contain#role) role whether the role fails the play,
    and returns its closing message; an empty string when the play goes on.
  - The play fails when an indicator or a machine failed, unless O(allow_partial); and, when containing, for a file
    Defender has no record of that nothing was quarantined for, unless O(allow_unknown_files).
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The C(contain_report) fact of the role (P(mde.response.contain_report#filter)).
    type: dict
    required: true
  allow_partial:
    description: Accept failed indicators and machines.
    type: bool
    default: false
  allow_unknown_files:
    description: Accept files Defender has no record of.
    type: bool
    default: false
  names:
    description:
      - The names the caller's users set the role's variables by (the role's C(contain_variable_names)), for the
        message; a variable mapped to C(null) is left out of it.
    type: dict
    default: {}
  report_dir:
    description: The folder of the report files, to name in the message.
    type: str
"""

EXAMPLES = r"""
- name: Stop the play with the reason when the role's report says so
  ansible.builtin.fail:
    msg: "{{ contain_report | mde.response.contain_failure(allow_partial=true) }}"
  when: contain_report | mde.response.contain_failure(allow_partial=true) | length > 0
"""

RETURN = r"""
_value:
  description: Why the play fails and what to do about each cause; empty when it does not fail.
  type: str
  sample: "1 failure(s): see the summary above. Set contain_allow_partial to true to accept them."
"""

from ansible_collections.mde.response.plugins.plugin_utils.contain_report import contain_failure


class FilterModule:
    def filters(self):
        return {"contain_failure": contain_failure}

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
extends_documentation_fragment:
  - mde.response.role_failure
options:
  _input:
    description: The C(contain_report) fact of the role (P(mde.response.contain_report#filter)).
    type: dict
    required: true
  allow_partial:
    description: Accept failed indicators and machines.
    type: bool
    default: false
  report_dir:
    description: The folder of the report files, to name in the message.
    type: str
"""

EXAMPLES = r"""
- name: Say why the contain role would fail the play, without failing it
  ansible.builtin.debug:
    msg: "{{ contain_report | mde.response.contain_failure(allow_unknown_files=true) or 'nothing fails the play' }}"
"""

RETURN = r"""
_value:
  description: The role's closing message, one sentence per cause with what to do; an empty string when the play goes on.
  type: str
  sample: "1 failure(s): see the summary above. Set contain_allow_partial to true to accept them."
"""

from ansible_collections.mde.response.plugins.plugin_utils.contain_report import contain_failure


class FilterModule:
    def filters(self):
        return {"contain_failure": contain_failure}

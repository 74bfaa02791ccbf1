# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: role_input_problems
short_description: Name what is wrong with a role's files, comment and targets, before any request
version_added: 0.1.0
description:
  - Checks what the argument specs of the P(mde.response.quarantine_file#role) and P(mde.response.contain#role) roles
    cannot express, and returns every problem at once; an empty list when there is none.
  - A file must be a SHA-1 (40 hexadecimal characters, lowercase as P(mde.response.survey_values#filter) returns
    them), at least one file must be given, and the comment must not be empty; with O(targeted=false), no target
    machine was given.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The role's SHA-1s, as a list.
    type: list
    elements: str
    required: true
  comment:
    description: The role's comment.
    type: str
    required: true
  role:
    description: The prefix of the role's variables, which the problems name, for example V(quarantine_file).
    type: str
    required: true
  names:
    description:
      - The names the caller's users set the role's variables by (the role's C(<role>_variable_names)); a variable
        mapped to C(null) is left out of the problems.
    type: dict
    default: {}
  targeted:
    description: Whether a target machine was given; not checked when not given.
    type: bool
"""

EXAMPLES = r"""
- name: Refuse what the argument spec cannot check
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
    quiet: true
  vars:
    problems: "{{ ['87662bc3d60e4200ceaf7aae249d1c343f4b83c9'] | mde.response.role_input_problems('INC-4711', 'contain') }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem.
  type: list
  elements: str
  sample: ["Not SHA-1s (40 hexadecimal characters): d41d8cd98f00b204e9800998ecf8427e.", "contain_comment is empty."]
"""

from ansible_collections.mde.response.plugins.plugin_utils.role_input import input_problems


class FilterModule:
    def filters(self):
        return {"role_input_problems": input_problems}

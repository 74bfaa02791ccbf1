# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: playbook_variables
short_description: Check the extra variables of the collection's playbooks
version_added: 0.1.0
positional: playbook
description:
  - Checks the extra variables (C(-e)) of the playbooks C(mde.response.quarantine), C(mde.response.contain) and
    C(mde.response.machine_action) before their roles run, so that a mistake is one short line that names the C(-e)
    variable, not a failure of the role's argument spec.
  - C(mde.response.machine_action) takes an C(action) (V(isolate), V(release), V(restrict), V(unrestrict), V(scan),
    V(collect)) instead of files and a state, and whole numbers for C(wait_timeout) and C(max_machines).
  - The two file playbooks take the same states. V(present) acts; V(absent) and V(cancelled) are the same and undo
    (cancel the quarantines still in flight, and for C(contain) also remove the indicators).
  - A SHA-256 or MD5 given as C(sha1) is named as such, with the modules that take it
    (M(mde.response.file_indicator), M(mde.response.file_indicators)).
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description:
      - The playbook's extra variables by name (C(sha1), C(comment), C(state), C(wait), C(wait_timeout),
        C(allow_partial), for C(quarantine) C(observed) and C(fail_when_queued), for C(machine_action) C(action),
        C(fail_when_queued), C(change_isolation_type) and C(max_machines) instead of C(sha1) and C(state)). A variable not given is
        V(null) or absent; an empty string is a survey field left empty.
    type: dict
    required: true
  playbook:
    description: The playbook whose variables these are.
    type: str
    choices: [quarantine, contain, machine_action]
    required: true
"""

EXAMPLES = r"""
- name: Refuse a mistake in the extra variables before anything runs
  vars:
    checked: "{{ {'sha1': sha1 | default(none), 'comment': comment | default(none), 'state': state | default(none)}
                 | mde.response.playbook_variables('contain') }}"
  ansible.builtin.assert:
    that: checked.errors | length == 0
    fail_msg: "{{ checked.errors | join(' ') }}"
    quiet: true
"""

RETURN = r"""
_value:
  description: What the check found.
  type: dict
  contains:
    errors:
      description:
        - One line per mistake, naming the C(-e) variable, then a command that works when pasted into a shell.
        - Empty when there is no mistake.
      type: list
      elements: str
      sample:
        - "-e wait=maybe is neither true nor false: use -e wait=true or -e wait=false."
        - "For example: ansible-playbook mde.response.contain -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9
          -e 'comment=\"INC-4711: ransomware dropper\"'"
    state:
      description: The state the playbook's role takes for the C(-e state) given; V(present) when none is given.
      type: str
      sample: cancelled
"""

from ansible_collections.mde.response.plugins.plugin_utils.playbook_variables import check


class FilterModule:
    def filters(self):
        return {"playbook_variables": check}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machine_action_request
short_description: Turn the machine_action role's settings into a module and its options
version_added: 0.1.0
description:
  - Says which module does an action of the P(mde.response.machine_action#role) role (V(isolate) and V(release)
    M(mde.response.machine_isolation), V(restrict) and V(unrestrict) M(mde.response.app_restriction), V(scan)
    M(mde.response.antivirus_scan), V(collect) M(mde.response.investigation_package)), with the options that make
    it this action, and what is wrong with the settings, before any request is sent.
  - Survey text (several values separated by commas, spaces or line breaks) is split into lists, for the targets and
    for each field of the protection list. The protection list is passed only to the actions that cut a machine off
    (V(isolate), V(restrict)).
  - A setting of another action (for example C(scan_type) with V(isolate)) is a problem, not ignored.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description:
      - The role's variables without their C(machine_action_) prefix - C(action), C(comment), C(machine_ids),
        C(machine_names), C(protect), C(max_machines), C(isolation_type), C(change_isolation_type), C(scan_type),
        C(succeeded_within), C(package_dir), C(wait_timeout).
    type: dict
    required: true
  names:
    description:
      - Maps the role's variables to the names the caller's users set them by (C(machine_action_variable_names)), so
        that the problems name those.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Which module isolates, and with what
  ansible.builtin.debug:
    msg: "{{ {'action': 'isolate', 'comment': 'INC-1', 'machine_names': 'ws-01 ws-02'} | mde.response.machine_action_request }}"
"""

RETURN = r"""
_value:
  description: The request.
  type: dict
  contains:
    action:
      description: The action.
      type: str
    module:
      description: The module's short name, for example C(machine_isolation); null for an unknown action.
      type: str
    options:
      description: The module's options, without C(wait), C(progress_path) and C(lease_path), which the run sets.
      type: dict
    problems:
      description: What is wrong with the settings, one sentence each; empty when nothing is.
      type: list
      elements: str
    always_waits:
      description: Whether the run waits for its actions whatever the role's wait says (V(collect), to download).
      type: bool
    permission:
      description: The application permission the action needs, for example C(Machine.Isolate).
      type: str
    protect:
      description: The protection list (tags, device_groups, name_patterns), or null for an action it does not apply to.
      type: dict
"""

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import build_request


class FilterModule:
    def filters(self):
        return {"machine_action_request": build_request}

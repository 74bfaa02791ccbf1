# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machine_action_plan
short_description: Say what a machine action is about to do, before and after reading
version_added: 0.1.0
description:
  - With O(check_result) not given, the lines the P(mde.response.machine_action#role) role shows before it reads
    anything - the action and its module, the targets, the protection list, max_machines and the wait.
  - With O(check_result), the module's result in check mode, the plan - how many machines a real run writes to,
    which are protected (never sent) and why, which would be refused for a missing permission, and the expected
    end at Defender's limits.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The request, as P(mde.response.machine_action_request#filter) returns it.
    type: dict
    required: true
  check_result:
    description: The registered result of the module run in check mode.
    type: dict
  check_mode:
    description: Whether the play runs in check mode (the first line says so).
    type: bool
    default: false
  wait:
    description: Whether the run waits for the actions.
    type: bool
    default: false
  now:
    description: The current UTC time as C(YYYY-MM-DDTHH:MM:SSZ), for the expected end.
    type: str
  wait_timeout:
    description: Seconds the run waits for its actions, added to the expected end; 0 when it does not wait.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Show the plan of a check-mode read
  ansible.builtin.debug:
    msg: "{{ request | mde.response.machine_action_plan(check_result=plan, now=now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ')) }}"
"""

RETURN = r"""
_value:
  description: The lines to show.
  type: list
  elements: str
  sample:
    - "Plan: 2 of 3 machine(s) need to be isolated; protected 1."
    - "1 machine(s) are protected and get no request: dc-01.contoso.local (it has the protected tag tier0)."
"""

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import plan


class FilterModule:
    def filters(self):
        return {"machine_action_plan": plan}

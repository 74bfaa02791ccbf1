# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machine_action_cap
short_description: Count an automation's recent machine actions against a cap
version_added: 0.1.0
description:
  - Counts the machine actions of one type whose comment holds an automation's marker (cancelled ones aside) in a
    listing of M(mde.response.machine_action_info), and says when a new one would pass the cap.
  - Stateless and truthful - the count is what Defender holds, so restarts, several controllers and hand-made
    actions with the marker all count.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The C(machine_actions) of M(mde.response.machine_action_info), for example those of the last hour.
    type: list
    elements: dict
    required: true
  marker:
    description: The text the automation puts in every comment it writes.
    type: str
    required: true
  cap:
    description: How many such actions the period allows.
    type: int
    required: true
  action_type:
    description: The machine action type counted.
    type: str
    default: Isolate
  machine_id:
    description:
      - The machine about to be acted on. When it already has one of the counted actions, nothing new would be sent,
        so the cap does not refuse.
    type: str
"""

EXAMPLES = r"""
- name: Isolations this automation created in the last hour
  mde.response.machine_action_info:
    type: Isolate
    created_after: 1h
  register: recent

- name: Refuse above 5 an hour
  ansible.builtin.assert:
    that: (recent.machine_actions | mde.response.machine_action_cap('[eda-isolate]', 5)).refused == ''
"""

RETURN = r"""
_value:
  description: The count.
  type: dict
  contains:
    count:
      description: How many actions the listing holds of the type with the marker.
      type: int
    machines:
      description: Their machine IDs, each once.
      type: list
      elements: str
    refused:
      description: Why a new action would pass the cap and what to do; empty when it would not.
      type: str
"""

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import action_cap


class FilterModule:
    def filters(self):
        return {"machine_action_cap": action_cap}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: quarantine_plan_lines
short_description: Say how many machines a quarantine_file run will write to, and when it will end
version_added: 0.1.0
description:
  - Turns the results of M(mde.response.stop_and_quarantine_file) run in check mode, one per file, into the lines the
    P(mde.response.quarantine_file#role) role prints before it writes.
  - Counts the machine results that need a write (V(would_create), V(would_cancel)) and the others.
  - Gives the expected end at Defender's documented limits for machine actions, 100 a minute and 1,500 an hour, and
    after the wait for offline machines' actions when the run waits.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The loop results of the module in check mode, one per file.
    type: list
    elements: dict
    required: true
  state:
    description: The state the run will apply.
    type: str
    choices: [present, cancelled]
    required: true
  now:
    description: The current UTC time, as C(YYYY-MM-DDTHH:MM:SSZ).
    type: str
    required: true
  wait_timeout:
    description:
      - The seconds the run waits for its actions, or V(0) when it does not wait.
      - When machines that need an action are offline (their C(healthStatus)), a line names them; with a wait, another
        gives the expected end after the wait, since their actions stay Pending until the machines connect.
    type: int
    default: 0
seealso:
  - plugin: mde.response.quarantine_machine_table
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ plan.results | mde.response.quarantine_plan_lines('present', now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ')) }}"
"""

RETURN = r"""
_value:
  description: The lines of the plan.
  type: list
  elements: str
  sample:
    - "Plan: 250 of 260 machine result(s) of 1 file(s) need a quarantine; the others are already done or have nothing to do."
    - "At Defender's limits (100 actions a minute, 1,500 an hour) the writes take about 3 minute(s): expected end 2026-11-28 04:12 UTC."
"""

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_plan import plan_lines


class FilterModule:
    def filters(self):
        return {"quarantine_plan_lines": plan_lines}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machine_action_report
short_description: Build the machine_action role's report from the module's result
version_added: 0.1.0
description:
  - Puts the result of M(mde.response.machine_isolation), M(mde.response.app_restriction),
    M(mde.response.antivirus_scan) or M(mde.response.investigation_package) together as the
    P(mde.response.machine_action#role) role reports it - the run's facts, the outcomes counted, one row per machine
    (failures first) and the failures.
author:
  - mde.response maintainers (@mde-response)
options:
  _input:
    description: The registered result of the module (or of the follow of its background run).
    type: dict
    required: true
  request:
    description: The request, as P(mde.response.machine_action_request#filter) returns it.
    type: dict
    required: true
  check_mode:
    description: Whether the play ran in check mode.
    type: bool
    required: true
  generated:
    description: When the report was made, in UTC (C(YYYY-MM-DDTHH:MM:SSZ)).
    type: str
    required: true
  waited:
    description: Whether the run waited for the actions to be final.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Put the report together
  ansible.builtin.set_fact:
    report: "{{ isolated | mde.response.machine_action_report(request=request, check_mode=ansible_check_mode, generated='2026-01-01T00:00:00Z') }}"
"""

RETURN = r"""
_value:
  description: The report, which the JSON report file holds as it is.
  type: dict
  contains:
    generated:
      description: When it was made (UTC).
      type: str
    action:
      description: The action (V(isolate), V(release), V(restrict), V(unrestrict), V(scan), V(collect)).
      type: str
    module:
      description: The module that did it.
      type: str
    comment:
      description: The actions' comment.
      type: str
    check_mode:
      description: Whether nothing was sent (the outcomes say what a real run would do).
      type: bool
    waited:
      description: Whether the run waited for final statuses.
      type: bool
    protect:
      description: The protection list of an action that cuts machines off; null for the others.
      type: dict
    summary:
      description: Each outcome that happened and how many machines had it.
      type: dict
    error:
      description: Why the module gave no machine result at all (for example max_machines, or no token); null otherwise.
      type: str
    failures:
      description: The failed machines, each with C(machine_id), C(machine_name) and C(error) (C(code), C(message)).
      type: list
      elements: dict
    machines:
      description:
        - One row per machine, failures first - C(machine_id), C(machine_name), C(outcome), C(status), C(action_id),
          C(error), and when the module gives them C(state_before), C(state_after), C(package) (C(path), C(size),
          C(sha256)), C(protected) (C(reason)), C(queued) and C(warning).
      type: list
      elements: dict
"""

from ansible_collections.mde.response.plugins.plugin_utils.machine_action import report


class FilterModule:
    def filters(self):
        return {"machine_action_report": report}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: machine_tags
short_description: Make tags present or absent on many Microsoft Defender for Endpoint machines, idempotently
version_added: 0.1.0
description:
  - Makes sure each of O(tags) is on (O(state=present)) or off (O(state=absent)) every target machine.
  - Decides from each machine's C(machineTags) as C(GET /api/machines) lists them, read for the whole target set
    at once (filtered calls of 20 ids or names for up to 100 of them, one listing of the fleet beyond), so it never
    writes a tag a machine already has, and a rerun writes nothing.
  - Writes through the bulk tag API (C(POST /api/machines/AddOrRemoveTagForMultipleMachines)), one call per tag and
    direction for up to 500 machines, so 1,000 machines and one tag take two calls. Calls are paced under the API's
    limits (100 calls a minute and 1,500 an hour) and C(Retry-After) is honoured.
  - Whether Defender compares tags ignoring case is not documented, so a machine that has the tag in another case
    counts as having it (a warning says so), and O(state=absent) removes every spelling of it.
  - Refuses a task that names more than O(max_machines) machines before any request is sent.
  - The first call the API refuses for a missing permission (HTTP 403) stops the writes, and so does a failed login
    midway; the machines of the calls not sent are reported V(unsent), and what was written stays reported.
  - Returns one result per target machine, and fails (after returning every result) when any machine is V(failed)
    or V(unsent).
  - "Required API permissions (application): C(Machine.ReadWrite.All), which also reads the machines (or
    C(Machine.Read.All) for the reads and C(Machine.ReadWrite.All) for the writes)."
author:
  - mde.response maintainers (@mde-response)
options:
  tags:
    description:
      - The tags, each a non-empty line of at most 200 characters. Repeats differing only in case count once.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds each tag to every target machine that does not have it.
      - V(absent) removes each tag from every target machine that has it.
    type: str
    choices: [present, absent]
    default: present
  machine_ids:
    description:
      - Defender device IDs (40 hexadecimal characters) to tag.
    type: list
    elements: str
  machine_names:
    description:
      - Device names (C(computerDnsName)) to tag, resolved through the machines API.
      - When Defender has several entries for one name (re-imaged devices keep their old ones), the most recently
        seen onboarded entry is used and a warning names the others; when none is onboarded the machine fails.
      - At least one of O(machine_ids) or O(machine_names) is required.
    type: list
    elements: str
  max_machines:
    description:
      - The most machines one task may tag. A task whose O(machine_ids) and O(machine_names) together name more
        fails before any request, saying how to raise it.
      - The default, V(1000), fits tagging a large part of a fleet at once while stopping a target list that grew
        by mistake.
    type: int
    default: 1000
extends_documentation_fragment:
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description:
      - Reads the machines but never writes; RV(machines[].outcome) is V(would_add) or V(would_remove) for exactly the
        machines a real run would write, and RV(writes) the calls it would send. When the access token's roles claim
        lacks C(Machine.ReadWrite.All), the first call is predicted V(failed) with the permission and the rest V(unsent).
    support: full
  diff_mode:
    description: RV(diff) shows the tags of each machine that changes (or would), before and after.
    support: full
notes:
  - Bad input (no tag, a tag too long, a malformed machine id, more machines than O(max_machines)) fails the task
    before any request is sent.
  - Tags are labels on the machine entities, not machine actions, so nothing appears in the action center.
seealso:
  - module: mde.response.machine_info
  - name: Add or Remove a tag for multiple machines API
    description: Microsoft's reference of the bulk tag call.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/add-or-remove-multiple-machine-tags
"""

EXAMPLES = r"""
- name: Tag the machines of an incident
  mde.response.machine_tags:
    tags: [INC-4711, quarantine-review]
    machine_names:
      - desktop-01.contoso.local
      - desktop-02.contoso.local

- name: Take the incident tag off again
  mde.response.machine_tags:
    tags: [INC-4711]
    state: absent
    machine_ids: "{{ incident_machine_ids }}"

- name: Tag a whole site of 3,000 machines, deliberately more than the default cap
  mde.response.machine_tags:
    tags: [site-berlin]
    machine_ids: "{{ berlin_machine_ids }}"
    max_machines: 3000
"""

RETURN = r"""
changed:
  description: Whether any tag was added or removed (in check mode, would be).
  returned: always
  type: bool
summary:
  description: How many machines ended with each outcome (every outcome is a key, zero included).
  returned: always
  type: dict
  sample: {added: 998, already: 2, removed: 0, would_add: 0, would_remove: 0, failed: 0, unsent: 0}
writes:
  description: How many bulk tag calls the run sent (in check mode, would send).
  returned: always
  type: int
  sample: 2
machines:
  description: One entry per target machine, in the order given (ids first, then names).
  returned: always
  type: list
  elements: dict
  contains:
    machine_id:
      description: The Defender device ID; null for a name that matched no machine.
      type: str
    machine_name:
      description: The name given, or the machine's C(computerDnsName).
      type: str
    outcome:
      description:
        - V(added) or V(removed) when a tag was written, V(already) when the machine already was as asked,
          V(would_add) or V(would_remove) in check mode.
        - V(failed) when the machine was not found (when a call is refused for a machine gone since the read, that
          machine fails and the call is sent again without it), or the call that carried it was refused or its answer was lost
          twice (a lost answer is sent once more, which changes nothing if the first call took effect); V(unsent) when
          an earlier refusal for a missing permission or a failed login stopped the writes before its call.
        - With several tags, the worst of theirs (failed, unsent, a change, already).
      type: str
      choices: [added, removed, already, would_add, would_remove, failed, unsent]
    tags:
      description: The outcome of each asked tag on this machine.
      type: dict
      sample: {INC-4711: added, quarantine-review: already}
    tags_before:
      description: The machine's tags as listed before the run; null when it was not found.
      type: list
      elements: str
    tags_after:
      description: The machine's tags after the calls that were answered (in check mode, predicted).
      type: list
      elements: str
    error:
      description: What went wrong for a V(failed) or V(unsent) machine; null otherwise.
      type: dict
      contains:
        code:
          description: The API's error code, V(MachineNotFound), V(AmbiguousMachineName), V(TransportError),
            V(AmbiguousWrite) or V(AuthenticationError).
          type: str
        message:
          description: What happened, and for a missing permission how to grant it.
          type: str
        http_status:
          description: The HTTP status of the answer; null when none came.
          type: int
        missing_permission:
          description: The permission a 403 asked for.
          type: str
          returned: when the API refused (or would refuse) for a missing permission
          sample: Machine.ReadWrite.All
diff:
  description: C(before) and C(after), each the tags of every machine that changes (or would), by machine name or ID.
  returned: always
  type: dict
error:
  description:
    - When the module fails on an answer of the API while reading the machines, what went wrong. C(msg) says the
      same in words.
  returned: on failure, when the API answered with an error or could not be reached
  type: dict
  contains:
    code:
      description: The API's error code, or V(TransportError) when no usable answer came.
      type: str
      sample: Forbidden
    message:
      description: The API's error message, or what happened to the connection.
      type: str
    http_status:
      description: The HTTP status of the answer; null when none came.
      type: int
      sample: 403
    missing_permission:
      description: The application permission a 403 answer asked for, to be granted with admin consent.
      type: str
      returned: when the API refused for a missing permission
      sample: Machine.Read.All
"""

from ansible_collections.mde.response.plugins.module_utils._tags.converge import converge_tags
from ansible_collections.mde.response.plugins.module_utils._tags.request import DEFAULT_MAX_MACHINES, TagRequest
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            tags=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            machine_ids=dict(type="list", elements="str"),
            machine_names=dict(type="list", elements="str"),
            max_machines=dict(type="int", default=DEFAULT_MAX_MACHINES),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        request = TagRequest.from_options(module.params)
        result = converge_tags(module.defender_client(), request, check_mode=module.check_mode)
    module.finish(result.as_dict(), result.warnings, result.failure)


if __name__ == "__main__":
    main()

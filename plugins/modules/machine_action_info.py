#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: machine_action_info
short_description: Find Microsoft Defender for Endpoint machine actions
version_added: 0.1.0
description:
  - Returns Defender for Endpoint machine actions (quarantines, isolations, scans, ...) exactly as the API describes
    them, newest first.
  - Every option given must match. O(action_ids), O(machine_ids), O(type), O(status), O(requestor) and
    O(created_after) become an OData C($filter) on documented properties, with every value quoted, so no value can
    change the query. O(sha1) is matched by the module, because the API cannot filter on the file of an action.
  - Without any option, every machine action of the tenant is returned; give at least O(created_after) on a large
    tenant.
  - "Required API permissions (application): C(Machine.Read.All) or C(Machine.ReadWrite.All)."
author:
  - mde.response maintainers (@mde-response)
options:
  action_ids:
    description:
      - Machine action IDs (GUIDs), for example the RV(mde.response.stop_and_quarantine_file#module:actions[].action_id)
        values of an earlier run.
    type: list
    elements: str
  machine_ids:
    description:
      - Only actions on these machines (Defender device IDs, 40 hexadecimal characters).
      - Use M(mde.response.machine_info) to find the IDs of machines by name.
    type: list
    elements: str
  type:
    description:
      - Only actions of this type.
    type: str
    choices:
      - RunAntiVirusScan
      - Offboard
      - LiveResponse
      - CollectInvestigationPackage
      - Isolate
      - Unisolate
      - StopAndQuarantineFile
      - RestrictCodeExecution
      - UnrestrictCodeExecution
  status:
    description:
      - Only actions with one of these statuses. V(Pending) and V(InProgress) are in flight, the others are final.
    type: list
    elements: str
    choices: [Pending, InProgress, Succeeded, Failed, TimeOut, Cancelled]
  requestor:
    description:
      - Only actions requested by this identity (a user principal name, or the application for API calls).
    type: str
  created_after:
    description:
      - Only actions created after this moment, given as a date or date and time in ISO 8601 (V(2025-05-01),
        V(2025-05-01T13:30:00Z); UTC when no offset is given) or as an age (V(30m), V(24h), V(7d)).
    type: str
  sha1:
    description:
      - Only actions about the file with this SHA-1 (C(relatedFileInfo.fileIdentifier)), such as stop and quarantine
        actions. Matched by the module after the API's answer, ignoring case.
    type: str
extends_documentation_fragment:
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description: The module only reads, so it runs in check mode as it does otherwise.
    support: full
  diff_mode:
    description: Not applicable; the module changes nothing.
    support: N/A
notes:
  - Invalid option values (an action ID that is not a GUID, an unknown status, a SHA-256 instead of a SHA-1) fail the
    task before any request is sent.
seealso:
  - module: mde.response.machine_info
  - module: mde.response.stop_and_quarantine_file
  - name: List machine actions API
    description: The Defender for Endpoint API this module calls.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machineactions-collection
"""

EXAMPLES = r"""
- name: Stop and quarantine actions for a file that are still in flight
  mde.response.machine_action_info:
    type: StopAndQuarantineFile
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    status: [Pending, InProgress]
  register: in_flight

- name: Everything done on one machine in the last day
  mde.response.machine_action_info:
    machine_ids:
      - 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    created_after: 24h
  register: recent

- name: Read back the actions an earlier quarantine created
  mde.response.machine_action_info:
    action_ids: "{{ quarantine.actions | map(attribute='action_id') | select | list }}"
  register: followed
"""

RETURN = r"""
machine_actions:
  description:
    - The MachineAction entities, exactly as the API returned them, newest first.
    - Only a few of the entity's properties are listed here; see the API documentation for all of them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Machine action ID.
      type: str
      sample: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
    type:
      description: Action type.
      type: str
      sample: StopAndQuarantineFile
    status:
      description: C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut) or C(Cancelled).
      type: str
      sample: Succeeded
    machineId:
      description: Defender device ID of the machine the action is for.
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    computerDnsName:
      description: Name of that machine.
      type: str
      sample: ws-0042.contoso.local
    requestor:
      description: Who requested the action.
      type: str
      sample: analyst@contoso.com
    requestorComment:
      description: The comment given with the request.
      type: str
      sample: "INC-4711: ransomware dropper"
    creationDateTimeUtc:
      description: When the action was created.
      type: str
      sample: "2025-03-01T10:00:00.1234567Z"
    relatedFileInfo:
      description: The file the action is about (C(fileIdentifier), C(fileIdentifierType)), or null.
      type: dict
      sample: {"fileIdentifier": "87662bc3d60e4200ceaf7aae249d1c343f4b83c9", "fileIdentifierType": "Sha1"}
error:
  description:
    - When the module fails on an answer of the API or on the network, what went wrong, for playbooks to act on
      (for example in a C(rescue) block). C(msg) says the same in words.
    - Not set for refused input or a failed login, where C(msg) alone says what to fix.
  returned: on failure, when the API answered with an error or could not be reached
  type: dict
  contains:
    code:
      description:
        - The API's error code, or V(TransportError) when no usable answer came, or V(AmbiguousWrite) when the
          answer to a write was lost and the write may or may not have taken effect.
      type: str
      sample: ResourceNotFound
    message:
      description: The API's error message, or what happened to the connection.
      type: str
      sample: Machine 1e5bc9d7e413ddd7902c2932e418702b84d0cc07 was not found
    http_status:
      description: The HTTP status of the answer; null when none came.
      type: int
      sample: 404
    missing_permission:
      description: The application permission a 403 answer asked for, to be granted with admin consent.
      type: str
      returned: when the API refused for a missing permission
      sample: Machine.Read.All
"""

from ansible_collections.mde.response.plugins.module_utils._model.entities import ACTION_STATUSES, ACTION_TYPES
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule
from ansible_collections.mde.response.plugins.module_utils._info.queries import MachineActionQuery, find_machine_actions


def main():
    module = DefenderModule(
        argument_spec=dict(
            action_ids=dict(type="list", elements="str"),
            machine_ids=dict(type="list", elements="str"),
            type=dict(type="str", choices=list(ACTION_TYPES)),
            status=dict(type="list", elements="str", choices=list(ACTION_STATUSES)),
            requestor=dict(type="str"),
            created_after=dict(type="str"),
            sha1=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        query = MachineActionQuery.from_options(module.params, module.clock.now())
        actions = find_machine_actions(module.defender_client(), query)
    module.exit_json(changed=False, machine_actions=actions)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: machine_info
short_description: Find Microsoft Defender for Endpoint machines
version_added: 0.1.0
description:
  - Returns Defender for Endpoint machines (devices) exactly as the API describes them.
  - Select machines by O(machine_ids), by O(machine_names), or as those on which Defender observed a file
    (O(observed_sha1)); the selections add up. Without any, every machine is considered.
  - Narrow them with O(tag), O(health_status), O(os_platform), O(risk_score), O(rbac_group_id) and
    O(last_seen_after); every one given must match. They become an OData C($filter) on documented properties,
    with every value quoted, so no value can change the query.
  - Only machines seen within the tenant's data retention period are returned, as by the API.
  - "Required API permissions (application): C(Machine.Read.All) or C(Machine.ReadWrite.All)."
author:
  - mde.response maintainers (@mde-response)
options:
  machine_ids:
    description:
      - Defender device IDs (40 hexadecimal characters) to return.
    type: list
    elements: str
  machine_names:
    description:
      - Device names (C(computerDnsName)) to return, compared ignoring case.
      - Every entry Defender has for a name is returned; re-imaged devices keep their old entries, so look at
        RV(machines[].lastSeen) and RV(machines[].onboardingStatus).
      - A name must be the whole C(computerDnsName), usually the fully qualified name; there is no prefix search. A
        name (or an ID of O(machine_ids)) that matches no returned machine gets a warning that names it.
    type: list
    elements: str
  observed_sha1:
    description:
      - Return the machines on which Defender observed the file with this SHA-1 (C(GET /api/files/{sha1}/machines)).
    type: str
  tag:
    description:
      - Only machines with this machine tag (exact text).
    type: str
  health_status:
    description:
      - Only machines with this sensor health status.
    type: str
    choices: [Active, Inactive, ImpairedCommunication, NoSensorData, NoSensorDataImpairedCommunication, Unknown]
  os_platform:
    description:
      - Only machines with this operating system platform, as Defender names it, for example V(Windows11), V(Windows10),
        V(WindowsServer2019), V(Linux) or V(macOS).
    type: str
  risk_score:
    description:
      - Only machines with this risk score.
    type: str
    choices: [None, Informational, Low, Medium, High]
  rbac_group_id:
    description:
      - Only machines in the device group with this ID.
    type: int
  last_seen_after:
    description:
      - Only machines last seen after this moment, given as a date or date and time in ISO 8601 (V(2025-05-01),
        V(2025-05-01T13:30:00Z); UTC when no offset is given) or as an age (V(30m), V(24h), V(7d)).
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
  - Invalid option values (an ID that is not 40 hexadecimal characters, a SHA-256 instead of a SHA-1, an unknown date)
    fail the task before any request is sent.
seealso:
  - module: mde.response.machine_action_info
  - module: mde.response.stop_and_quarantine_file
  - name: List machines API
    description: The Defender for Endpoint API this module calls.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machines
"""

EXAMPLES = r"""
- name: Find two machines by name
  mde.response.machine_info:
    machine_names:
      - ws-0042.contoso.local
      - ws-0043.contoso.local
  register: found

- name: Active Windows 11 machines of the finance team seen in the last week
  mde.response.machine_info:
    tag: finance
    health_status: Active
    os_platform: Windows11
    last_seen_after: 7d
  register: finance

- name: Where was the dropper seen, among the high-risk machines?
  mde.response.machine_info:
    observed_sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    risk_score: High
  register: exposed

- name: Quarantine the file on those machines
  mde.response.stop_and_quarantine_file:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: ransomware dropper"
    machine_ids: "{{ exposed.machines | map(attribute='id') | list }}"
  when: exposed.machines | length > 0
"""

RETURN = r"""
machines:
  description:
    - The Machine entities, exactly as the API returned them; by ID, then by name, then observed machines, each
      machine once. Without a selection, in the API's order.
    - Only a few of the entity's properties are listed here; see the API documentation for all of them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Defender device ID.
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    computerDnsName:
      description: Device name.
      type: str
      sample: ws-0042.contoso.local
    osPlatform:
      description: Operating system platform.
      type: str
      sample: Windows11
    healthStatus:
      description: Sensor health status.
      type: str
      sample: Active
    onboardingStatus:
      description: Whether the device is onboarded (C(Onboarded)) or not.
      type: str
      sample: Onboarded
    lastSeen:
      description: When Defender last received a full device report.
      type: str
      sample: "2025-03-01T11:00:00.1234567Z"
    riskScore:
      description: Risk score.
      type: str
      sample: High
    machineTags:
      description: Machine tags.
      type: list
      elements: str
      sample: [finance]
    rbacGroupId:
      description: ID of the device group.
      type: int
      sample: 42
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

from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule
from ansible_collections.mde.response.plugins.module_utils._model.entities import HEALTH_STATUSES, RISK_SCORES
from ansible_collections.mde.response.plugins.module_utils._info.queries import MachineQuery, find_machines, unmatched_selections


def main():
    module = DefenderModule(
        argument_spec=dict(
            machine_ids=dict(type="list", elements="str"),
            machine_names=dict(type="list", elements="str"),
            observed_sha1=dict(type="str"),
            tag=dict(type="str"),
            health_status=dict(type="str", choices=list(HEALTH_STATUSES)),
            os_platform=dict(type="str"),
            risk_score=dict(type="str", choices=list(RISK_SCORES)),
            rbac_group_id=dict(type="int"),
            last_seen_after=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        query = MachineQuery.from_options(module.params, module.clock.now())
        machines = find_machines(module.defender_client(), query)
    for warning in unmatched_selections(query, machines):
        module.warn(warning)
    module.exit_json(changed=False, machines=machines)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: machine_isolation
short_description: Isolate Microsoft Defender for Endpoint machines from the network, or release them, idempotently
version_added: 0.1.0
description:
  - Makes every target machine isolated (O(state=isolated)) or released (O(state=released)), sending an C(Isolate)
    or C(Unisolate) machine action only to the machines that are not already so, and never across an action still in
    flight.
  - Defender has no field saying whether a machine is isolated, so each machine's state is read from its own
    C(Isolate) and C(Unisolate) actions, listed for the whole target set with a few calls before anything is
    written. Only Succeeded actions change the state; of those, the one that completed last (the newest
    C(lastUpdateDateTimeUtc), else C(creationDateTimeUtc)) decides, because crossed actions can complete out of
    order. Failed, TimeOut and Cancelled actions change nothing, and a machine without a Succeeded action of either
    type is released. The isolation type of an isolated machine is the C(scope) of the Isolate that decided
    (V(Full) when it has none).
  - A machine already as asked is V(existing) and gets nothing; so is one with an action of the asked kind (and, for
    isolating, the asked isolation type) Pending or InProgress. A rerun writes nothing.
  - An action in flight that the request would cross (an C(Unisolate) while isolating, an C(Isolate) while
    releasing, or an C(Isolate) of another isolation type) is never crossed. With O(wait=true) the module waits for it
    to be final and decides again; without, that machine fails with C(CrossingActionInFlight), naming the action,
    while the other machines are still written.
  - An isolated machine asked for another isolation type stays as it is (V(existing), with a warning) unless
    O(change_isolation_type=true), which sends a new C(Isolate) of the asked type.
  - Machines matching O(protect) are never isolated (V(protected), unsent), and a task reaching more than
    O(max_machines) machines is refused before any write. Machines that cannot run the asked isolation type are
    V(unsupported), unsent.
  - Duplicate answers of the API (the pending action returned, or HTTP 400 "Action is already in progress") are
    V(existing); after a lost answer the action list is read before at most one more request.
  - The guide R(Isolation and app restriction as a state, ansible_collections.mde.response.docsite.containment)
    has the table of how each history is read.
  - "Required API permissions (application): C(Machine.Isolate), and C(Machine.Read.All) (or C(Machine.ReadWrite.All))
    for the reads."
author:
  - mde.response maintainers (@mde-response)
options:
  state:
    description:
      - V(isolated) isolates every target machine that is not isolated; V(released) releases every one that is.
    type: str
    choices: [isolated, released]
    required: true
  isolation_type:
    description:
      - With O(state=isolated), how the machine is isolated. V(Full) (Windows 10 version 1703 or later, Windows 11,
        Linux) cuts it off the network but for Defender. V(Selective) (Windows 10 version 1709 or later, Windows 11)
        keeps Outlook, Teams and Skype for Business working.
      - V(UnManagedDevice) contains a device Defender has seen on the network that is not onboarded; it is only for
        such devices, so an onboarded machine asked for it is V(unsupported), and a machine that is not onboarded
        asked for V(Full) or V(Selective) is V(unsupported) too.
      - Defaults to V(Full). Not taken with O(state=released), which undoes any isolation type.
    type: str
    choices: [Full, Selective, UnManagedDevice]
  change_isolation_type:
    description:
      - With O(state=isolated), what to do with a machine isolated with another isolation type than asked.
      - V(false) leaves it isolated as it is (V(existing), RV(actions[].isolation_type_after) its own type) with a
        warning that says so; V(true) sends a new C(Isolate) of the asked type.
      - Not taken with O(state=released).
    type: bool
    default: false
extends_documentation_fragment:
  - mde.response.machine_action
  - mde.response.containment
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description:
      - Reads exactly what a real run reads and writes nothing. RV(actions[].outcome) is V(would_create) for
        exactly the machines a real run would send an action to, and every other machine has the outcome a real run
        would give it. When the access token's roles claim lacks C(Machine.Isolate), those machines are predicted
        V(failed) with the permission, as a real run would be refused.
      - Check mode waits for nothing, so a machine with a crossing action in flight is V(failed) with
        C(CrossingActionInFlight) even with O(wait=true), where a real run would wait for it.
    support: full
  diff_mode:
    description: Nothing is shown as a diff; RV(actions[].state_before) and RV(actions[].state_after) say what changes.
    support: none
notes:
  - Bad input (an unknown state or isolation type, an isolation type with O(state=released), a malformed machine
    ID, more machines than O(max_machines)) fails the task before any request is sent.
  - Without O(wait), RV(actions[].state_after) is the state once the action has run; Defender carries it out when the
    machine picks it up.
seealso:
  - module: mde.response.app_restriction
  - module: mde.response.machine_action_info
  - name: Isolate machine API
    description: Microsoft's reference of the call.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/isolate-machine
  - name: Release machine from isolation API
    description: Microsoft's reference of the call.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/unisolate-machine
"""

EXAMPLES = r"""
- name: Isolate the compromised workstation and wait until it is cut off
  mde.response.machine_isolation:
    state: isolated
    comment: "INC-4711: contain ws-0042"
    machine_names: [ws-0042.contoso.local]
    protect:
      tags: [domain-controller]
      device_groups: [Tier 0]
    wait: true

- name: Keep mail and Teams working on the executives' laptops
  mde.response.machine_isolation:
    state: isolated
    isolation_type: Selective
    comment: "INC-4711: contain, keep Outlook and Teams"
    machine_ids: "{{ incident_machine_ids }}"

- name: Move machines isolated Selective to Full isolation
  mde.response.machine_isolation:
    state: isolated
    isolation_type: Full
    change_isolation_type: true
    comment: "INC-4711: the attacker uses Teams"
    machine_ids: "{{ incident_machine_ids }}"

- name: Contain an unmanaged device Defender saw on the network
  mde.response.machine_isolation:
    state: isolated
    isolation_type: UnManagedDevice
    comment: "INC-4711: unknown device in the server VLAN"
    machine_ids: [1e5bc9d7e413ddd7902c2932e418702b84d0cc07]

- name: Release them once the investigation is done
  mde.response.machine_isolation:
    state: released
    comment: "INC-4711: remediated"
    machine_ids: "{{ incident_machine_ids }}"
"""

RETURN = r"""
changed:
  description: Whether any action was sent (in check mode, would be).
  returned: always
  type: bool
summary:
  description: How many machines had each outcome. Every outcome is present, with zero when none had it.
  returned: always
  type: dict
  sample: {"created": 2, "existing": 1, "would_create": 0, "queued": 0, "failed": 0, "protected": 1, "unsupported": 0}
actions:
  description: One result per target machine, in the order the targets were given (IDs, then names).
  returned: always
  type: list
  elements: dict
  contains:
    machine_id:
      description: Defender device ID; null for a name that matched no machine.
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    machine_name:
      description: Device name (C(computerDnsName)) when known.
      type: str
      sample: ws-0042.contoso.local
    outcome:
      description:
        - V(created) an action was sent; V(existing) the machine already was as asked, or an action doing it was
          in flight (also when the API answered a duplicate); V(would_create) check mode, an action would be sent;
          V(queued) with O(wait), the action is still Pending because the machine is offline (see
          RV(actions[].queued)); V(protected) the machine matches O(protect), nothing was sent; V(unsupported) the
          machine cannot run the asked isolation (see RV(actions[].unsupported)), nothing was sent; V(failed) see
          RV(actions[].error), for example C(CrossingActionInFlight).
      type: str
      sample: created
    state_before:
      description:
        - V(isolated) or V(released), as the machine's Succeeded actions said before the run wrote anything.
        - Null when the run did not read the machine's actions (V(protected), V(unsupported) for its platform or
          version, a name that matched no machine).
      type: str
      sample: released
    state_after:
      description:
        - The state once the run's actions complete as asked. For V(created), V(existing), V(would_create) and
          V(queued), the asked state; for every other outcome (including, with O(wait), an action that ended
          Failed, Cancelled or TimeOut), RV(actions[].state_before).
      type: str
      sample: isolated
    isolation_type_before:
      description: The isolation type of an isolated machine (V(Full), V(Selective), V(UnManagedDevice)) before the
        run; null when released or not read.
      type: str
      sample: null
    isolation_type_after:
      description:
        - The isolation type once the run's actions complete as asked, as RV(actions[].state_after) is read; with
          O(change_isolation_type=false), a machine isolated with another type keeps it. Null when released.
      type: str
      sample: Full
    health_status:
      description: The machine's C(healthStatus) as the run read it, or null when the run did not read the machine.
      type: str
      sample: Active
    action_id:
      description:
        - ID of the machine action this result is about, when there is one - the one sent, the one in flight, the
          Succeeded one the state was read from, or for C(CrossingActionInFlight) the crossing one.
      type: str
      sample: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
    status:
      description: That action's status (C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut), C(Cancelled)).
      type: str
      sample: Pending
    error:
      description: Null, or why the machine failed, with the API's error code, message and HTTP status.
      type: dict
      contains:
        code:
          description:
            - The API's error code (for example C(Forbidden)), or one of the module's own -
              C(CrossingActionInFlight) (an action the request would cross is in flight; the message names it and
              says to rerun with O(wait=true) or once it has finished), C(MachineNotFound), C(AmbiguousMachineName),
              C(WaitTimeout), C(ActionFailed), C(ActionTimeOut), C(ActionCancelled), C(RunStopped),
              C(AuthenticationFailed), C(TransportError), C(AmbiguousWrite).
          type: str
        message:
          description: What went wrong and what to do, with the API's correlation ID when it gave one.
          type: str
        http_status:
          description: HTTP status of the API's answer, or null (also in check mode, for a predicted refusal).
          type: int
        missing_permission:
          description: The application permission a 403 answer asked for (C(Machine.Isolate)), to be granted with
            admin consent.
          type: str
          returned: when the API refused (or would refuse) for a missing permission
          sample: Machine.Isolate
    protected:
      description: Why the machine is protected, for an outcome V(protected).
      returned: when the outcome is V(protected)
      type: dict
      contains:
        reason:
          description: The O(protect) entry it matched, in words.
          type: str
          sample: it has the protected tag domain-controller
    queued:
      description: Why the action waits, for an outcome V(queued).
      returned: when the outcome is V(queued)
      type: dict
      contains:
        health_status:
          description: The machine's C(healthStatus) at the end of the wait.
          type: str
          sample: Inactive
        last_seen:
          description: The machine's C(lastSeen).
          type: str
          sample: "2026-11-20T08:12:44.1234567Z"
        message:
          description: What this means and what to do, in words.
          type: str
    unsupported:
      description: Why the machine cannot run the asked isolation, for an outcome V(unsupported).
      returned: when the outcome is V(unsupported)
      type: dict
      contains:
        code:
          description: C(OsPlatformNotSupported) or C(ClientVersionNotSupported) as the API names them, or
            C(DeviceNotOnboarded) (V(Full) or V(Selective) for a machine that is not onboarded) or C(DeviceOnboarded)
            (V(UnManagedDevice) for an onboarded one).
          type: str
          sample: ClientVersionNotSupported
        os_platform:
          description: The machine's C(osPlatform).
          type: str
          sample: Windows10
        version:
          description: The machine's C(version).
          type: str
          sample: "1703"
        os_build:
          description: The machine's C(osBuild).
          type: int
        message:
          description: Where the isolation runs, what this machine reports, and what to do instead.
          type: str
    action:
      description: The MachineAction entity exactly as the API returned it, or null.
      type: dict
error:
  description:
    - When the module fails on an answer of the API or on the network before any machine's result, what went wrong.
      C(msg) says the same in words.
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

from ansible_collections.mde.response.plugins.module_utils._actions.request import action_argument_spec
from ansible_collections.mde.response.plugins.module_utils._containment.containment import ISOLATION, ISOLATION_TYPES
from ansible_collections.mde.response.plugins.module_utils._containment.request import DEFAULT_MAX_MACHINES, run_containment
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            action_argument_spec(DEFAULT_MAX_MACHINES, protects=True),
            state=dict(type="str", choices=list(ISOLATION.states), required=True),
            isolation_type=dict(type="str", choices=list(ISOLATION_TYPES)),
            change_isolation_type=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        outcome = run_containment(ISOLATION, module.params, module.defender_client, module.clock, module.check_mode)
    module.finish(outcome.output, outcome.warnings, outcome.failure)


if __name__ == "__main__":
    main()

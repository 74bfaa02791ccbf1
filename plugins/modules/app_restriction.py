#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: app_restriction
short_description: Restrict app execution on Microsoft Defender for Endpoint machines, or lift it, idempotently
version_added: 0.1.0
description:
  - Makes every target machine restricted (O(state=restricted), where only files signed by Microsoft run), or
    unrestricted (O(state=unrestricted)). It sends a C(RestrictCodeExecution) or C(UnrestrictCodeExecution) machine
    action only to the machines that are not already so, and never across an action still in flight.
  - Defender has no field saying whether a machine is restricted, so each machine's state is read from its own
    C(RestrictCodeExecution) and C(UnrestrictCodeExecution) actions, listed for the whole target set with a few calls
    before anything is written. Only Succeeded actions change the state; of those, the one that completed last (the
    newest C(lastUpdateDateTimeUtc), else C(creationDateTimeUtc)) decides, because crossed actions can complete out
    of order. Failed, TimeOut and Cancelled actions change nothing, and a machine without a Succeeded action of
    either type is unrestricted.
  - A machine already as asked is V(existing) and gets nothing; so is one with an action of the asked kind Pending
    or InProgress. A rerun writes nothing.
  - An action of the opposite kind in flight is never crossed. With O(wait=true) the module waits for it to be final
    and decides again; without, that machine fails with C(CrossingActionInFlight), naming the action, while the other
    machines are still written.
  - Machines matching O(protect) are never restricted (V(protected), unsent), and a task reaching more than
    O(max_machines) machines is refused before any write. Machines that cannot run it (app restriction runs on
    Windows 10 version 1709 or later and Windows 11, on onboarded machines) are V(unsupported), unsent.
  - Duplicate answers of the API (the pending action returned, or HTTP 400 "Action is already in progress") are
    V(existing); after a lost answer the action list is read before at most one more request.
  - The guide R(Isolation and app restriction as a state, ansible_collections.mde.response.docsite.containment)
    has the table of how each history is read.
  - "Required API permissions (application): C(Machine.RestrictExecution), and C(Machine.Read.All) (or
    C(Machine.ReadWrite.All)) for the reads."
author:
  - mde.response maintainers (@mde-response)
options:
  state:
    description:
      - V(restricted) restricts app execution on every target machine that is not restricted; V(unrestricted) lifts
        it on every one that is.
    type: str
    choices: [restricted, unrestricted]
    required: true
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
        would give it. When the access token's roles claim lacks C(Machine.RestrictExecution), those machines are
        predicted V(failed) with the permission, as a real run would be refused.
      - Check mode waits for nothing, so a machine with a crossing action in flight is V(failed) with
        C(CrossingActionInFlight) even with O(wait=true), where a real run would wait for it.
    support: full
  diff_mode:
    description: Nothing is shown as a diff; RV(actions[].state_before) and RV(actions[].state_after) say what changes.
    support: none
notes:
  - Bad input (an unknown state, a malformed machine ID, more machines than O(max_machines)) fails the task before
    any request is sent.
  - Without O(wait), RV(actions[].state_after) is the state once the action has run; Defender carries it out when the
    machine picks it up.
seealso:
  - module: mde.response.machine_isolation
  - module: mde.response.machine_action_info
  - name: Restrict app execution API
    description: Microsoft's reference of the call.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/restrict-code-execution
  - name: Remove app restriction API
    description: Microsoft's reference of the call.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/unrestrict-code-execution
"""

EXAMPLES = r"""
- name: Restrict app execution on the incident's machines while they are investigated
  mde.response.app_restriction:
    state: restricted
    comment: "INC-4711: only Microsoft-signed code until cleaned"
    machine_names: [ws-0042.contoso.local, ws-0043.contoso.local]
    protect:
      device_groups: [Tier 0]

- name: Lift the restriction, waiting until it is done
  mde.response.app_restriction:
    state: unrestricted
    comment: "INC-4711: remediated"
    machine_names: [ws-0042.contoso.local, ws-0043.contoso.local]
    wait: true
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
          machine cannot run the action (see RV(actions[].unsupported)), nothing was sent; V(failed) see
          RV(actions[].error), for example C(CrossingActionInFlight).
      type: str
      sample: created
    state_before:
      description:
        - V(restricted) or V(unrestricted), as the machine's Succeeded actions said before the run wrote anything.
        - Null when the run did not read the machine's actions (V(protected), V(unsupported) for its platform or
          version, a name that matched no machine).
      type: str
      sample: unrestricted
    state_after:
      description:
        - The state once the run's actions complete as asked. For V(created), V(existing), V(would_create) and
          V(queued), the asked state; for every other outcome (including, with O(wait), an action that ended
          Failed, Cancelled or TimeOut), RV(actions[].state_before).
      type: str
      sample: restricted
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
          description: The application permission a 403 answer asked for (C(Machine.RestrictExecution)), to be granted with
            admin consent.
          type: str
          returned: when the API refused (or would refuse) for a missing permission
          sample: Machine.RestrictExecution
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
      description: Why the machine cannot run the action, for an outcome V(unsupported).
      returned: when the outcome is V(unsupported)
      type: dict
      contains:
        code:
          description: C(OsPlatformNotSupported) or C(ClientVersionNotSupported) as the API names them, or
            C(DeviceNotOnboarded) for a machine that is not onboarded.
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
          description: Where app restriction runs, what this machine reports, and what to do instead.
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
from ansible_collections.mde.response.plugins.module_utils._containment.containment import RESTRICTION
from ansible_collections.mde.response.plugins.module_utils._containment.request import DEFAULT_MAX_MACHINES, run_containment
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            action_argument_spec(DEFAULT_MAX_MACHINES, protects=True),
            state=dict(type="str", choices=list(RESTRICTION.states), required=True),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        outcome = run_containment(RESTRICTION, module.params, module.defender_client, module.clock, module.check_mode)
    module.finish(outcome.output, outcome.warnings, outcome.failure)


if __name__ == "__main__":
    main()

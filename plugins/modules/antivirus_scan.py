#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: antivirus_scan
short_description: Run antivirus scans on Microsoft Defender for Endpoint machines, none where a covering scan is there
version_added: 0.1.0
description:
  - Makes sure each target machine has had a Microsoft Defender Antivirus scan of O(scan_type) through the
    C(runAntiVirusScan) machine action.
  - Before it posts anything it reads the scans that already exist for the whole target set (a handful of list
    calls, not one per machine). A machine needs no new scan, and is reported V(existing), when a scan that covers
    the request is in flight (C(Pending) or C(InProgress)), or C(Succeeded) and was requested within
    O(succeeded_within). A V(Full) scan covers a V(Quick) one; a V(Quick) scan never covers a V(Full) one.
    RV(actions[].covered_by) names the scan. So a rerun sends nothing.
  - A V(Full) scan is never sent while a V(Quick) scan is in flight on the machine, because Defender may answer it as
    the quick scan's duplicate and run no full scan (whether it does is not documented). With O(wait=true) the
    module waits for the quick scan to end and then sends the full scan; otherwise that machine fails with the code
    C(ScanInProgress), naming the quick scan's action, and the other machines are scanned as usual.
  - Answers the API gives to a duplicate (HTTP 400 "Action is already in progress", or the pending scan returned
    instead of a new one) are reported V(existing); but a V(Quick) scan returned for a V(Full) request (one the action
    list did not show yet) carries nothing out, and the machine fails with C(ScanInProgress). A write whose answer
    was lost is looked up again before it is sent a second time.
  - Machines that cannot run the action are decided from their Machine entity before anything is sent (Windows 10
    version 1709 or later and Windows 11 can) and reported V(unsupported), in check mode too; the API's own
    refusal (C(OsPlatformNotSupported), C(ClientVersionNotSupported)) for a platform the entity does not settle is
    reported the same way.
  - Calls are paced under the scan API's own limits (100 calls a minute and 1,500 an hour per application), apart
    from the other action APIs', and C(Retry-After) is honoured.
  - The first write the API refuses for a missing permission (HTTP 403 naming it) stops the run's writes; the
    machines not yet written are reported V(failed) with the same code, unsent.
  - A scan cuts no machine off, so the module takes no protection list.
  - "Required API permissions (application): C(Machine.Scan) and C(Machine.Read.All) (or C(Machine.ReadWrite.All))."
author:
  - mde.response maintainers (@mde-response)
options:
  scan_type:
    description:
      - V(Quick) scans where malware usually registers itself to start (the registry, startup folders); V(Full) scans
        every file and folder and takes hours on a large disk.
    type: str
    choices: [Quick, Full]
    default: Quick
  succeeded_within:
    description:
      - How recently an earlier C(Succeeded) scan that covers the request must have been requested to make a new one
        unnecessary, as V(30m), V(24h), V(7d), a number of seconds, or V(0) to count no earlier scan (every run then
        starts one on each machine where none is in flight). Scans in flight always count.
    type: str
    default: 24h
  max_machines:
    description:
      - The most machines one task may scan. A task whose targets are more fails before any write (before any
        request when O(machine_ids) and O(machine_names) alone name more), saying how to raise it.
      - The default, V(1000), fits scanning a large part of a fleet at once while stopping a target list that grew
        by mistake.
    type: int
    default: 1000
extends_documentation_fragment:
  - mde.response.machine_action
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description:
      - Reads the machines and their scans but never writes; RV(actions[].outcome) is V(would_create) for exactly the
        machines a real run would scan, and V(existing), V(unsupported) or V(failed) (C(ScanInProgress)) as a real run
        without O(wait) reports them.
      - Two cases only the real run settles. A check run never waits, so a V(Full) scan held back by a V(Quick) one
        in flight is predicted V(failed) (C(ScanInProgress)) even with O(wait=true), where a real run waits and then
        scans. A platform that only Defender's answer rules out (macOS, Linux, Windows Server) is predicted
        V(would_create), where a real run reports V(unsupported).
      - When the access token's C(roles) claim lacks C(Machine.Scan), the machines a real run would write to are
        predicted V(failed) (code C(Forbidden), RV(actions[].error.missing_permission) set). A token without a
        C(roles) claim predicts nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
seealso:
  - name: Run antivirus scan API
    description: The Defender for Endpoint API this module calls.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/run-av-scan
  - module: mde.response.machine_action_info
    description: Read the scans a run created or found, by RV(actions[].action_id).
"""

EXAMPLES = r"""
- name: Quick scan of two machines, by ID and by name; none where one ran in the last day
  mde.response.antivirus_scan:
    comment: "INC-4711: scan after the alert"
    machine_ids:
      - 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    machine_names:
      - ws-0042.contoso.local

- name: Full scan of the incident's machines, waiting for any quick scan in flight first and for the results
  mde.response.antivirus_scan:
    scan_type: Full
    comment: "INC-4711: full scan after the quarantine"
    machine_names: "{{ incident_machines }}"
    wait: true
    wait_timeout: 7200
  register: scans

- name: Scan again even where a scan succeeded today (one in flight still counts)
  mde.response.antivirus_scan:
    comment: "INC-4711: new signatures"
    machine_ids: "{{ incident_machine_ids }}"
    succeeded_within: "0"
"""

RETURN = r"""
changed:
  description: Whether any scan was requested (in check mode, would be).
  returned: always
  type: bool
summary:
  description: How many machines had each outcome. Every outcome is present, with zero when none had it.
  returned: always
  type: dict
  sample: {"created": 2, "existing": 1, "would_create": 0, "unsupported": 1, "queued": 0, "failed": 0}
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
        - V(created) a scan was requested; V(existing) a scan that covers the request is in flight, or succeeded within
          O(succeeded_within) (see RV(actions[].covered_by)); V(would_create) check mode, a scan would be requested;
          V(unsupported) the machine cannot run the action (see RV(actions[].unsupported)), so nothing was sent to it;
          V(queued) with O(wait), the scan is still Pending because the machine is offline, and Defender runs it when
          the machine next connects (see RV(actions[].queued)); V(failed) see RV(actions[].error).
      type: str
      choices: [created, existing, would_create, unsupported, queued, failed]
      sample: created
    scan_type:
      description: The scan type asked for, O(scan_type).
      type: str
      sample: Quick
    covered_by:
      description:
        - For an outcome V(existing), the scan that covers the request; null otherwise, and when the API said a scan
          was in progress that the action list did not show yet.
      type: dict
      contains:
        action_id:
          description: The scan's machine action ID.
          type: str
          sample: 7f3c2a1e-5b4d-4c6e-9f8a-0b1c2d3e4f5a
        scan_type:
          description: Its scan type (C(Quick) or C(Full)), as the action's C(scope) says.
          type: str
          sample: Full
        status:
          description: Its status as last read (C(Pending), C(InProgress), C(Succeeded), ...).
          type: str
          sample: Succeeded
        requested:
          description: When it was requested (the action's C(creationDateTimeUtc)).
          type: str
          sample: "2026-12-08T09:12:44.1234567Z"
    health_status:
      description: The machine's C(healthStatus) as the run read it (C(Active), C(Inactive), ...), or null when the run
        did not read the machine.
      type: str
      sample: Active
    action_id:
      description: ID of the machine action this result is about, when there is one.
      type: str
      sample: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
    status:
      description: The action's status (C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut), C(Cancelled)).
      type: str
      sample: Pending
    error:
      description: Null, or why the machine failed, with the API's error code, message and HTTP status.
      type: dict
      contains:
        code:
          description: The API's error code (for example C(Forbidden)), or one of the module's own (C(ScanInProgress) for
            a V(Full) scan not sent while a V(Quick) one is in flight, C(MachineNotFound), C(AmbiguousMachineName),
            C(WaitTimeout), C(ActionFailed), C(ActionTimeOut), C(ActionCancelled), C(RunStopped), C(AuthenticationFailed),
            C(TransportError), C(AmbiguousWrite)).
          type: str
          sample: ScanInProgress
        message:
          description: What went wrong and what to do, with the API's correlation ID when it gave one.
          type: str
        http_status:
          description: HTTP status of the API's answer, or null (also for C(ScanInProgress) and in check mode).
          type: int
        missing_permission:
          description: The application permission a 403 answer asked for, to be granted with admin consent.
          type: str
          returned: when the API refused (or would refuse) for a missing permission
          sample: Machine.Scan
    queued:
      description: For an outcome V(queued), the offline machine the scan waits for.
      returned: when the outcome is V(queued)
      type: dict
      contains:
        health_status:
          description: Its C(healthStatus) when the wait ended (C(Inactive), C(ImpairedCommunication), ...).
          type: str
          sample: Inactive
        last_seen:
          description: Its C(lastSeen).
          type: str
          sample: "2026-11-20T08:12:44.1234567Z"
        message:
          description: That Defender starts the scan when the machine next connects, and how to follow it.
          type: str
    unsupported:
      description: For an outcome V(unsupported), why no scan was requested.
      returned: when the outcome is V(unsupported)
      type: dict
      contains:
        code:
          description: V(ClientVersionNotSupported) for a Windows 10 older than 1709, V(OsPlatformNotSupported) for another
            platform, as Defender names its refusals.
          type: str
          sample: ClientVersionNotSupported
        os_platform:
          description: The C(osPlatform) the machine reports.
          type: str
          sample: Windows10
        version:
          description: The Windows C(version) it reports.
          type: str
          sample: "1703"
        os_build:
          description: The C(osBuild) it reports.
          type: int
          sample: 15063
        message:
          description: Where scans run, what this machine reports, and how to scan it instead.
          type: str
    action:
      description: The MachineAction entity exactly as the API returned it, or null.
      type: dict
error:
  description:
    - When the module fails on an answer of the API or on the network, what went wrong, for playbooks to act on
      (for example in a C(rescue) block). C(msg) says the same in words.
    - Not set for refused input or a failed login, where C(msg) alone says what to fix.
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

from ansible_collections.mde.response.plugins.module_utils._actions.module_run import run_machine_action
from ansible_collections.mde.response.plugins.module_utils._actions.request import ActionRequest, action_argument_spec
from ansible_collections.mde.response.plugins.module_utils._scans.scan import (
    DEFAULT_MAX_MACHINES, DEFAULT_SCAN_TYPE, SCAN_TYPES, AntivirusScan)
from ansible_collections.mde.response.plugins.module_utils._actions.request import DEFAULT_SUCCEEDED_WITHIN
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            action_argument_spec(DEFAULT_MAX_MACHINES, protects=False),
            scan_type=dict(type="str", choices=list(SCAN_TYPES), default=DEFAULT_SCAN_TYPE),
            succeeded_within=dict(type="str", default=DEFAULT_SUCCEEDED_WITHIN),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        request = ActionRequest.from_options(module.params, DEFAULT_MAX_MACHINES, protects=False)
        kind = AntivirusScan.from_options(module.params, request, module.clock.now())
        outcome = run_machine_action(request, kind, module.defender_client, module.clock, module.check_mode)
    module.finish(outcome.output, outcome.warnings, outcome.failure)


if __name__ == "__main__":
    main()

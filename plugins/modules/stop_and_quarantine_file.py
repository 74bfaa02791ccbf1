#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stop_and_quarantine_file
short_description: Stop and quarantine a file on Microsoft Defender for Endpoint machines, idempotently
version_added: 0.1.0
description:
  - Makes sure a Defender for Endpoint "Stop and Quarantine File" machine action exists for a file (by SHA-1) on
    every target machine, or, with O(state=cancelled), that none is in flight.
  - Before it posts anything it reads the machine actions that already exist for the whole target set (a handful
    of list calls, not one per machine), so a rerun never fires a duplicate action. A pending, in-progress or
    recently succeeded action for the same file counts as done.
  - Answers the API gives to a duplicate (HTTP 400 C(ActiveRequestAlreadyExists) or "Action is already in
    progress", or a 201 carrying the action that already existed) are reported as RV(actions[].outcome=existing).
  - A write whose answer was lost (timeout, dropped connection, server error) is looked up again before any
    second write, so it never creates a second action.
  - Calls are paced under the API's limits (100 calls a minute and 1,500 an hour per API), together with the other
    module runs of the same play, and C(Retry-After) is honoured, so the module works the same on ten or ten
    thousand machines.
  - Returns one result per target machine, and fails (after returning every result) when any machine failed,
    unless O(allow_partial=true).
  - The first write the API refuses for a missing permission (HTTP 403 naming it) stops the run's writes; the
    machines not yet written are reported V(failed) with the same code and status and no call is made for them,
    and the task's message names the permission and how to grant it.
  - When no access token can be had in the middle of a run (a client secret rotated or revoked, a refused renewal),
    no further write is sent either; the machines already written keep their outcome, RV(changed) and RV(summary)
    stay true, and the others are reported V(failed) with the code C(AuthenticationFailed).
  - Machines that cannot run the action are decided from their Machine entity before anything is sent (Windows 10
    version 1703 or later, Windows 11 and Windows Server 2012 R2 or later can; macOS, Linux and older Windows cannot)
    and reported V(unsupported), in check mode too, with a warning that a file indicator blocks the file there.
    Machines given by ID are read for this (one call per 20 IDs).
  - A listing whose pages repeat themselves (a server that ignores C($skip)) ends at the first page that brings
    nothing new, and any listing ends after 100 calls; either way a warning says the answer may be incomplete.
  - "Required API permissions (application): C(Machine.StopAndQuarantine) and C(Machine.Read.All) (or
    C(Machine.ReadWrite.All)). The read permission is needed both by the API itself and for the look-up of
    existing actions, names and observed machines."
  - With the optional permission C(File.Read.All), a run that finds the file absent from a machine, and every run in
    check mode, asks Defender once whether it has any record of the file (C(GET /api/files/{sha1})). When it has
    none, the result warns that nothing could be quarantined (a mistyped hash gives this) and RV(file_known) is
    V(false); without the permission RV(file_known) is null and the run is otherwise the same.
author:
  - mde.response maintainers (@mde-response)
options:
  sha1:
    description:
      - SHA-1 of the file, 40 hexadecimal characters in any case. SHA-256 and MD5 hashes are refused, because the
        action takes only a SHA-1.
    type: str
    required: true
  comment:
    description:
      - Comment stored with the action, for example the incident or alert it answers. Up to 1000 characters.
    type: str
    required: true
  machine_ids:
    description:
      - Defender device IDs (40 hexadecimal characters) to act on.
    type: list
    elements: str
  machine_names:
    description:
      - Device names (C(computerDnsName)) to act on, resolved through the machines API.
      - When Defender has several entries for one name (re-imaged devices keep their old ones), the most recently
        seen onboarded entry is used and a warning names the others; when none is onboarded the machine fails.
      - A name without a dot may also be a short name (V(desktop-01) for C(desktop-01.contoso.local)), as inventories
        from Active Directory or a CMDB name hosts. When no machine has it as its whole C(computerDnsName), the one
        onboarded machine whose first label it is gets the action and a warning names it; when several onboarded
        machines have that short name, the machine fails with C(AmbiguousMachineName) and the message lists each
        candidate's full name and id.
      - Hosts of an inventory from the P(mde.response.machines#inventory) plugin carry their machine id in
        C(mde_id); pass those to O(machine_ids) instead, so that nothing is looked up again.
    type: list
    elements: str
  observed:
    description:
      - Also act on every machine on which Defender observed the file (C(GET /api/files/{sha1}/machines)).
      - At least one of O(machine_ids), O(machine_names) or O(observed=true) is required.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure an action exists on each machine (in flight, or succeeded within
        O(succeeded_within)).
      - V(cancelled) cancels the in-flight (Pending or InProgress) actions for this file on each machine, then reads
        them back to confirm. Cancelling does not restore a file, so a machine where an earlier action succeeded is
        reported V(quarantined), with a warning giving the C(MpCmdRun.exe -Restore) command that brings the file back.
    type: str
    choices: [present, cancelled]
    default: present
  force:
    description:
      - Submit a new action even when a matching one exists. Not idempotent; meant for re-quarantining a file that
        came back.
    type: bool
    default: false
  succeeded_within:
    description:
      - How recent an earlier Succeeded action must be to count as done, as V(30m), V(24h), V(7d), a number of
        seconds, or V(0) to never count a Succeeded action. Pending and InProgress actions always count.
    type: str
    default: 24h
  wait:
    description:
      - Poll until every action reaches a final status. An action that ends Failed, TimeOut or Cancelled, or is still
        in flight after O(wait_timeout), counts as failed.
      - An exception is an action still C(Pending) after O(wait_timeout) on a machine Defender reports offline (its
        C(healthStatus) is neither C(Active) nor C(Unknown), as read when the run started or, for a machine online
        then, read again at the end of the wait). Its outcome is V(queued), since Defender keeps the action and runs it
        when the machine next connects. A warning names the machines and when they were last seen. See
        O(fail_when_queued).
      - An offline machine's action stays C(Pending) until the machine connects, so the wait lasts until
        O(wait_timeout) ends; with O(progress_path), the progress names those machines from the start of the wait and
        counts a machine as done only once its action is final.
    type: bool
    default: false
  fail_when_queued:
    description:
      - Count an action V(queued) for an offline machine at the end of O(wait) as a failed machine.
      - V(false) by default because the action is in Defender's hands and nothing a rerun does can hasten it; the
        outcome, the warning and RV(actions[].queued) still say which machines wait. Set V(true) when the job must
        confirm that the file is quarantined everywhere.
    type: bool
    default: false
  max_machines:
    description:
      - The most machines one task may act on. A task whose O(machine_ids) and O(machine_names) together name more
        fails before any request; one whose O(observed=true) brings the targets above it fails before any write.
        The message says how to raise it.
      - Unset, there is no limit (quarantining a file cuts no machine off); set it in automation whose targets come
        from elsewhere (an alert, an inventory) to bound what one task may touch.
    type: int
  progress_path:
    description:
      - A file in which the module keeps its progress while it runs (machines done and total, outcomes so far, the
        expected end at Defender's limits, a wait for a limit, with O(wait) the actions' statuses at each read), for
        a task started with C(async) and C(poll=0) that
        M(mde.response.quarantine_progress) follows. Its folder must exist; the file is replaced in one step and
        readable by its owner only. M(mde.response.quarantine_progress) removes it once it has read the run's
        result; a run stopped by its O(lease_path) removes it itself.
      - Without it, nothing is written.
    type: path
  lease_path:
    description:
      - For a run started with C(async) and C(poll=0) and followed by M(mde.response.quarantine_progress), a file
        the follower touches every 2 seconds and removes when the play is interrupted (Ctrl-C), its AWX job
        cancelled or its controller process gone. Before each write the run looks at it; once it is missing or
        has not been touched for 10 seconds, the run sends no further write. The machines it had not written
        by then fail with RV(actions[].error.code=RunStopped), unsent; running the same task again finishes them
        (the machines already written show as V(existing)), O(state=cancelled) undoes what was sent.
      - The run creates the file (owner-only) when it starts, valid for 2 minutes, so that the follower can start
        after the loop that starts the runs; its folder must exist.
        M(mde.response.quarantine_progress) renews the file named like the job's progress file with the extension
        C(.lease) (C(<folder>/<label>.lease) next to C(<folder>/<label>.json)), or the job's own C(lease_path).
      - Without it (a run followed with C(ansible.builtin.async_status), or not in the background), nothing stops
        the run but its end.
    type: path
extends_documentation_fragment:
  - mde.response.machine_action
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description:
      - Reads existing actions but never writes; the outcomes predict what a real run would do.
      - When the access token's C(roles) claim lacks C(Machine.StopAndQuarantine) (needed by both states), the
        machines a real run would write to are predicted V(failed) (code C(Forbidden), RV(actions[].error.missing_permission)
        set) instead of V(would_create) or V(would_cancel). A token without a C(roles) claim predicts nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
seealso:
  - name: Stop and quarantine file API
    description: The Defender for Endpoint API this module calls.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/stop-and-quarantine-file
  - module: mde.response.quarantine_progress
    description: Print the progress of background runs of this module at least once a minute.
"""

EXAMPLES = r"""
- name: Quarantine a file on two machines, by ID and by name
  mde.response.stop_and_quarantine_file:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: ransomware dropper"
    machine_ids:
      - 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    machine_names:
      - ws-0042.contoso.local
  register: quarantine

- name: Quarantine it everywhere Defender saw it and wait for the outcome
  mde.response.stop_and_quarantine_file:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: ransomware dropper"
    observed: true
    wait: true
    wait_timeout: 1800

- name: Cancel pending quarantines of a file (false positive)
  mde.response.stop_and_quarantine_file:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: false positive, cancelled"
    observed: true
    state: cancelled

- name: On a big fleet, start the run in the background and keep its progress in a file
  mde.response.stop_and_quarantine_file:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: ransomware dropper"
    observed: true
    progress_path: /tmp/quarantine-87662bc3.json
    # Followed by mde.response.quarantine_progress: Ctrl-C on the play stops the run's writes too.
    lease_path: /tmp/quarantine-87662bc3.lease
  async: 14400
  poll: 0
  register: quarantine_job

- name: Set the credentials once for every module of the collection
  module_defaults:
    group/mde.response.defender:
      tenant_id: "{{ mde_tenant_id }}"
      client_id: "{{ mde_client_id }}"
      client_secret: "{{ mde_client_secret }}"
  block:
    - name: Quarantine on the hosts of this play
      mde.response.stop_and_quarantine_file:
        sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
        comment: "INC-4711"
        machine_names: "{{ ansible_play_hosts }}"
      run_once: true
      delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether any action was created or cancelled (in check mode, would be).
  returned: always
  type: bool
summary:
  description: How many machines had each outcome. Every outcome is present, with zero when none had it.
  returned: always
  type: dict
  sample: {"created": 2, "existing": 1, "would_create": 0, "cancelled": 0, "would_cancel": 0, "not_present": 0, "quarantined": 0,
           "unsupported": 1, "queued": 0, "failed": 0}
actions:
  description: One result per target machine, in the order the targets were given (IDs, names, observed).
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
        - V(created) a new action was submitted; V(existing) a matching action already existed (in flight, or
          succeeded within O(succeeded_within)); V(would_create) check mode, an action would be submitted;
          V(cancelled) an in-flight action was cancelled; V(would_cancel) check mode, it would be cancelled;
          V(not_present) nothing to do (the file is not on the machine, or no action was in flight to cancel);
          V(quarantined) with O(state=cancelled), an earlier action for the file succeeded on the machine, so the file is
          quarantined there and stays so (a cancel does not restore it; the warning says what does);
          V(unsupported) the machine cannot run the action (its platform or version, see RV(actions[].unsupported)),
          so nothing was sent to it;
          V(queued) with O(wait), the action is still Pending because the machine is offline, and Defender runs it when
          the machine next connects (see RV(actions[].queued)); V(failed) see RV(actions[].error).
      type: str
      sample: created
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
          description: The API's error code (for example C(Forbidden), C(DisallowedOperation)), or one of the
            module's own (C(MachineNotFound), C(AmbiguousMachineName), C(WaitTimeout), C(ActionFailed),
            C(ActionTimeOut), C(ActionCancelled), C(CancelNotConfirmed), C(RunStopped) for a machine left unsent
            because the run's O(lease_path) lapsed, C(AuthenticationFailed) when no access token
            could be had, C(TransportError), C(AmbiguousWrite)).
          type: str
        message:
          description: What went wrong, with the API's correlation ID when it gave one.
          type: str
        http_status:
          description: HTTP status of the API's answer, or null (also in check mode, for a predicted refusal).
          type: int
        missing_permission:
          description:
            - The application permission the API asked for in a 403 answer (either of its two wordings), to be
              granted to the app registration with admin consent.
          type: str
          returned: when the API refused for a missing permission
          sample: Machine.StopAndQuarantine
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
          description: The machine's C(lastSeen), when Defender last received a full report from it.
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
          description: C(OsPlatformNotSupported) or C(ClientVersionNotSupported), as the API names the refusal.
          type: str
          sample: OsPlatformNotSupported
        os_platform:
          description: The machine's C(osPlatform).
          type: str
          sample: macOS
        version:
          description: The machine's C(version).
          type: str
          sample: "14.5"
        os_build:
          description: The machine's C(osBuild).
          type: int
        message:
          description: Which machines can run the action, what this one reports, and what blocks the file there.
          type: str
    action:
      description: The MachineAction entity exactly as the API returned it, or null.
      type: dict
file_known:
  description:
    - Whether Defender has a record of the file in this tenant (C(GET /api/files/{sha1})), asked once when the run
      reported a machine V(not_present) with O(state=present), and in every check run with O(state=present).
    - V(false) comes with a warning that nothing could be quarantined, because Defender has never seen this hash
      here; check the hash (a mistyped one gives this) and where it came from. It differs from
      RV(actions[].outcome=not_present) alone, which says only that the file is not on that machine.
    - Null when the module did not ask, or the answer could not be had (the app lacks C(File.Read.All), or the call
      failed); that never fails the run.
  returned: always
  type: bool
  sample: false
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
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._actions.module_result import module_result
from ansible_collections.mde.response.plugins.module_utils._actions.module_run import run_leased
from ansible_collections.mde.response.plugins.module_utils._actions.request import DEFAULT_SUCCEEDED_WITHIN, action_argument_spec


def main():
    module = DefenderModule(
        argument_spec=dict(
            action_argument_spec(None, protects=False),
            sha1=dict(type="str", required=True),
            observed=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "cancelled"], default="present"),
            force=dict(type="bool", default=False),
            succeeded_within=dict(type="str", default=DEFAULT_SUCCEEDED_WITHIN),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        request = QuarantineRequest.from_options(module.params)
        result = run_leased(module.params["progress_path"], module.params["lease_path"], module.defender_client, module.clock,
                            lambda client, progress, lease: StopAndQuarantineEngine(
                                client, module.clock, progress=progress, lease=lease).run(request, check_mode=module.check_mode))
    outcome = module_result(result, allow_partial=request.allow_partial, fail_when_queued=request.fail_when_queued)
    module.finish(outcome.output, outcome.warnings, outcome.failure)


if __name__ == "__main__":
    main()

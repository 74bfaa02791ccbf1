#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: investigation_package
short_description: Collect Microsoft Defender for Endpoint investigation packages and download them to the controller
version_added: 0.1.0
description:
  - Makes sure every target machine's investigation package (the forensic snapshot Defender collects with the
    C(CollectInvestigationPackage) machine action) is in O(dest) on the machine the module runs on, normally the
    controller.
  - Before it posts anything it reads the collections that already exist for the whole target set (a handful of list
    calls, not one per machine). A collection in flight is V(existing) and waited for; one that Succeeded within
    O(succeeded_within) is V(existing) and its package is downloaded, not collected again. Otherwise a collection is
    requested (V(created)).
  - The API refuses a collection while one runs (HTTP 400); the one it means is then V(existing) and waited for. When
    the action list does not show that one yet, the machine fails with C(CollectionNotListed), and running the task
    again a few minutes later waits for it and downloads its package.
  - Always waits for the collections to be final (up to O(wait_timeout)), because a package can only be downloaded
    once collected, then downloads each machine's package, one after the other.
  - The download link (C(GET /api/machineactions/{id}/getPackageUri)) is short-lived, so it is asked for when each
    download starts, and again when the store refuses it as expired. The link's calls are paced under their own limits
    (2 a minute and 120 an hour), so a task of N machines to download takes about N/2 minutes.
  - The download is a plain C(GET) of the link, with no bearer token, through the same TLS trust (O(ca_path),
    O(validate_certs)) and proxy as the API. A transfer that breaks goes on from where it broke when the server
    honours C(Range), and starts over when it does not, up to 5 transfers. The file is written under a temporary
    name beginning with a dot in O(dest), readable by its owner only, and renamed when complete, so a file under the
    final name is always a whole package. The link is a credential while it lives; it is never shown in results,
    warnings or messages.
  - A package is saved as C(<machine name>_<action id>.zip) (the machine's C(computerDnsName) in lower case, or its ID).
    A rerun finds the file of the same collection in O(dest), whatever machine name it was saved under, downloads
    nothing, and reports RV(changed=false).
  - Refuses a task that names more than O(max_machines) machines before any request is sent.
  - Returns one result per target machine, and fails (after returning every result) when any machine failed,
    unless O(allow_partial=true). A machine whose collection Succeeded but whose package could not be downloaded is
    V(failed) with code C(PackageDownloadFailed) (or the API's code), and a rerun within O(succeeded_within) downloads
    that collection's package without collecting again.
  - "Required API permissions (application): C(Machine.CollectForensics), and C(Machine.Read.All) (or
    C(Machine.ReadWrite.All)) for reading the machines, the collections and the package link."
author:
  - mde.response maintainers (@mde-response)
options:
  dest:
    description:
      - The folder the packages go to, as an absolute path on the machine the module runs on; it is created (readable
        by its owner only) when missing. A module does not run in the playbook's folder, so write a folder beside the
        playbook as C("{{ playbook_dir }}/packages").
    type: path
    required: true
  succeeded_within:
    description:
      - How recent a Succeeded collection must be for its package to be downloaded instead of collecting a new one,
        as a duration such as C(30m), C(24h) or C(7d), or seconds. V(0) always collects again (a collection in flight is
        still waited for).
    type: str
    default: 24h
  wait:
    description:
      - The module always waits for the collections, since a package can only be downloaded once collected; V(false)
        is refused before any request is sent.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the collections to be final. A collection takes from a few minutes to a quarter of an hour;
        one still running at the timeout fails with C(WaitTimeout) (or is V(queued) on a machine that is offline), and a
        rerun waits for the same collection.
      - The downloads come after this wait and are not part of it.
    type: int
    default: 1800
  max_machines:
    description:
      - The most machines the task may act on, checked on the names and IDs given before any request, and on the
        machines they resolve to before any write.
      - A package is up to tens of megabytes per machine and the link allows 2 calls a minute, so the default suits an
        investigation; raise it when more machines are meant.
    type: int
    default: 25
attributes:
  check_mode:
    description:
      - Reads the machines and the existing collections but requests nothing and downloads nothing; each result says
        what a real run would do (V(would_create), or V(existing) with RV(actions[].download=would_download) and the
        path it would write, or RV(actions[].download=present)).
      - When the access token's C(roles) claim lacks C(Machine.CollectForensics), the machines a real run would request
        a collection for are predicted V(failed) (code C(Forbidden)) instead of V(would_create).
    support: full
  diff_mode:
    description: Not supported.
    support: none
extends_documentation_fragment:
  - mde.response.machine_action
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
seealso:
  - name: Collect investigation package API
    description: The Defender for Endpoint API this module calls to collect.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/collect-investigation-package
  - name: Get package SAS URI API
    description: The Defender for Endpoint API that gives the download link.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-package-sas-uri
"""

EXAMPLES = r"""
- name: Collect the packages of two machines and keep them beside the playbook
  mde.response.investigation_package:
    comment: "INC-4711: forensics"
    machine_names:
      - ws-0042.contoso.local
      - ws-0043.contoso.local
    dest: "{{ playbook_dir }}/packages/INC-4711"
  register: packages

- name: Show where each package went and its SHA-256
  ansible.builtin.debug:
    msg: "{{ item.machine_name }}: {{ item.package.path }} {{ item.package.sha256 }}"
  loop: "{{ packages.actions | selectattr('package') | list }}"

- name: Always collect anew, and give slow machines an hour
  mde.response.investigation_package:
    comment: "INC-4711: forensics after the scan"
    machine_ids:
      - 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    dest: /var/lib/forensics/INC-4711
    succeeded_within: 0
    wait_timeout: 3600
"""

RETURN = r"""
changed:
  description: Whether a collection was requested or a package file written (in check mode, would be).
  returned: always
  type: bool
summary:
  description: The number of machines per outcome, every outcome listed (zero for those no machine had).
  returned: always
  type: dict
  sample: {"created": 1, "existing": 1, "would_create": 0, "unsupported": 0, "queued": 0, "failed": 0}
actions:
  description: Each target machine's result, the machines given by ID first and then those given by name, each in order.
  returned: always
  type: list
  elements: dict
  contains:
    machine_id:
      description: The machine's Defender device ID, or null for a name no machine has.
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    machine_name:
      description: The machine's name as given, or its C(computerDnsName); null when neither is known.
      type: str
      sample: ws-0042.contoso.local
    outcome:
      description:
        - V(created) a collection was requested; V(existing) a collection was in flight (and was waited for) or
          Succeeded within O(succeeded_within); V(would_create) check mode, a collection would be requested;
          V(unsupported) the machine cannot run a collection (see RV(actions[].unsupported)), so nothing was sent;
          V(queued) the collection is still Pending at the end of the wait because the machine is offline, and Defender
          runs it when the machine next connects (see RV(actions[].queued)); V(failed) see RV(actions[].error), also
          when the collection Succeeded but its package could not be downloaded.
      type: str
      sample: created
    health_status:
      description: C(healthStatus) of the machine as this run listed it; null for a machine not listed.
      type: str
      sample: Active
    action_id:
      description: ID of the collection (the machine action) this result is about, when there is one.
      type: str
      sample: 7b3e9a12-5c4d-4e8f-a1b2-c3d4e5f60718
    status:
      description: The collection's status (C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut), C(Cancelled)).
      type: str
      sample: Succeeded
    download:
      description:
        - V(downloaded) this run wrote the package to RV(actions[].package.path); V(present) a file of this collection
          was already in O(dest), so nothing was downloaded; V(would_download) check mode, a real run would download it
          (for a collection in flight, once it Succeeded); V(failed) the download failed (see RV(actions[].error));
          null when there is no package to download (no Succeeded collection).
      type: str
      sample: downloaded
    package:
      description: The package on the controller, or null when there is none.
      type: dict
      contains:
        path:
          description: The file's absolute path; in check mode, the path a real run would write (null for a
            collection not yet requested, whose action ID is not known).
          type: str
          sample: /home/analyst/packages/INC-4711/ws-0042.contoso.local_7b3e9a12-5c4d-4e8f-a1b2-c3d4e5f60718.zip
        size:
          description: Its size in bytes; null in check mode for a file not yet downloaded.
          type: int
          sample: 18204571
        sha256:
          description: The SHA-256 of the file, in lower-case hexadecimal; null in check mode for a file not yet
            downloaded.
          type: str
          sample: 9f2b5d0c5a0e4b6e8f8d8c7f4a3b2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a59
    error:
      description: Null, or why the machine failed, with the API's error code, message and HTTP status.
      type: dict
      contains:
        code:
          description: The API's error code (for example C(Forbidden), C(ResourceNotFound) for a package link the API
            did not give), or one of the module's own (C(PackageDownloadFailed), C(PackageNotWritten) when the file
            could not be written, C(CollectionNotListed), C(MachineNotFound), C(AmbiguousMachineName), C(WaitTimeout), C(ActionFailed),
            C(ActionTimeOut), C(ActionCancelled), C(RunStopped), C(AuthenticationFailed), C(TransportError),
            C(AmbiguousWrite)).
          type: str
        message:
          description: What went wrong and what to do, with the API's correlation ID when it gave one.
          type: str
        http_status:
          description: HTTP status of the answer, or null (also in check mode, for a predicted refusal).
          type: int
        missing_permission:
          description: The application permission the API asked for in a 403 answer, to be granted with admin consent.
          type: str
          returned: when the API refused (or would refuse) for a missing permission
          sample: Machine.CollectForensics
    queued:
      description: For an outcome V(queued), the machine's state that keeps its collection Pending.
      returned: when the outcome is V(queued)
      type: dict
      contains:
        health_status:
          description: C(healthStatus) as read at the end of the wait (C(Inactive), C(ImpairedCommunication), ...).
          type: str
          sample: Inactive
        last_seen:
          description: C(lastSeen), the last full report Defender had from the machine.
          type: str
          sample: "2026-11-20T08:12:44.1234567Z"
        message:
          description: What happens next (Defender collects when the machine connects again) and what to do.
          type: str
    unsupported:
      description: For an outcome V(unsupported), what the machine reports and why no collection was asked for.
      returned: when the outcome is V(unsupported)
      type: dict
      contains:
        code:
          description: V(ClientVersionNotSupported) (a Windows 10 older than 1703) or V(OsPlatformNotSupported).
          type: str
          sample: ClientVersionNotSupported
        os_platform:
          description: C(osPlatform) as Defender lists it.
          type: str
          sample: Windows10
        version:
          description: C(version) as Defender lists it.
          type: str
          sample: "1607"
        os_build:
          description: C(osBuild) as Defender lists it.
          type: int
        message:
          description: Which machines can run a collection, what this one reports, and what to do there.
          type: str
    action:
      description: The collection (a MachineAction entity) as the API last returned it, or null.
      type: dict
error:
  description:
    - Set when the task fails before any machine has a result (reading the machines or the existing collections),
      with what the API or the network said; C(msg) has it in words.
  returned: on failure, when the API answered with an error or could not be reached
  type: dict
  contains:
    code:
      description: The API's own error code, or V(TransportError) for no usable answer.
      type: str
      sample: Forbidden
    message:
      description: The API's message, or what became of the connection.
      type: str
    http_status:
      description: The answer's HTTP status, or null without one.
      type: int
      sample: 403
    missing_permission:
      description: The application permission a 403 answer named, to be granted with admin consent.
      type: str
      returned: when the API refused for a missing permission
      sample: Machine.Read.All
"""

from ansible_collections.mde.response.plugins.module_utils._packages.run import collect_packages, package_argument_spec
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(argument_spec=package_argument_spec(), supports_check_mode=True)
    with module.failing_on_errors():
        outcome = collect_packages(module.params, module.defender_client, module.clock, module.check_mode)
    module.finish(outcome.output, outcome.warnings, outcome.failure)


if __name__ == "__main__":
    main()

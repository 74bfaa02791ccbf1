#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: file_indicator
short_description: Block a file on every Microsoft Defender for Endpoint machine with a file indicator, idempotently
version_added: 0.1.0
description:
  - Makes sure a Defender for Endpoint file indicator exists for a file hash with the given settings (O(state=present)),
    or that none does (O(state=absent)).
  - With the default O(action=BlockAndRemediate), one call blocks the file on every onboarded machine and quarantines
    it wherever Defender finds it, including on machines the file reaches later. It does not stop a copy that is
    already running; pair it with M(mde.response.stop_and_quarantine_file) on the machines where the file was observed.
  - Reads the indicators for the hash first (C(GET /api/indicators) filtered on C(indicatorValue)); sends nothing when
    one matches, submits an update when one differs (only the options given are compared), and creates one otherwise.
    O(state=absent) deletes every indicator for the hash.
  - Indicators this module creates carry the application name C(mde.response), so that they can be told apart from
    those made by people or other tools.
  - Calls are paced under the API's limits (100 calls a minute and 1,500 an hour) and C(Retry-After) is honoured.
    A tenant holds at most 15,000 active indicators; the API refuses new ones beyond that.
  - "Required API permissions (application): C(Ti.ReadWrite.All), or C(Ti.ReadWrite), with which the app sees and
    changes only the indicators it created itself."
author:
  - mde.response maintainers (@mde-response)
options:
  file_hash:
    description:
      - SHA-1, SHA-256 or MD5 of the file, told apart by length (40, 64 or 32 hexadecimal characters), in any case.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure an indicator for the hash exists with the given settings.
      - V(absent) deletes every indicator for the hash, whoever created it.
    type: str
    choices: [present, absent]
    default: present
  action:
    description:
      - What Defender does when it meets the file. V(BlockAndRemediate) blocks it and quarantines it where it is found.
      - V(Audit) needs O(generate_alert=true).
    type: str
    choices: [BlockAndRemediate, Block, AlertAndBlock, Alert, Warn, Audit, Allowed]
    default: BlockAndRemediate
  title:
    description:
      - Title of the indicator, shown on its alerts. When not given, a new indicator gets V(File <hash>) and an existing
        one keeps its own.
    type: str
  description:
    description:
      - Description of the indicator. When not given, a new indicator gets a line naming this collection and an
        existing one keeps its own.
    type: str
  severity:
    description:
      - Severity of the indicator's alerts.
    type: str
    choices: [Informational, Low, Medium, High]
  expiration:
    description:
      - When the indicator expires, as a date and time in ISO 8601 (V(2026-12-31T18:00:00Z); UTC when no offset is
        given) or as a duration from now (V(90m), V(12h), V(30d), or a number of seconds).
      - A duration is met by an existing indicator that expires after now and no later than the duration from now,
        so a rerun does not push the expiry further each time. Without this option the expiry is not managed.
    type: str
  generate_alert:
    description:
      - Whether Defender raises an alert when it meets the file.
    type: bool
  recommended_actions:
    description:
      - Recommended actions shown on the indicator's alerts.
    type: str
  device_groups:
    description:
      - Names of the device groups the indicator applies to (the API's C(rbacGroupNames)), compared regardless of
        order. An empty list means every device.
    type: list
    elements: str
extends_documentation_fragment:
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the existing indicators but never writes; RV(changed) and RV(diff) predict what a real run would do.
    support: full
  diff_mode:
    description: RV(diff) shows the fields that differ (all fields for a new indicator, the deleted indicators for V(absent)).
    support: full
notes:
  - An invalid hash, an expiration in the past, or V(Audit) without alerts fails the task before any request is sent.
  - A 403 answer names the permission to grant and where to grant it.
seealso:
  - module: mde.response.stop_and_quarantine_file
  - name: Submit or Update Indicator API
    description: The Defender for Endpoint API this module calls to create and update indicators.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/post-ti-indicator
  - name: Indicator resource type
    description: The fields of an indicator.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/ti-indicator
"""

EXAMPLES = r"""
- name: Block and remediate a ransomware dropper on every machine, for 30 days
  mde.response.file_indicator:
    file_hash: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    title: "INC-4711: ransomware dropper"
    description: Dropper seen on finance workstations
    severity: High
    expiration: 30d
    generate_alert: true

- name: Only alert on a SHA-256, for the servers' device group
  mde.response.file_indicator:
    file_hash: 2d6bdfb341be3a6234b24742377f93aa7c7cfb0d9fd64efa9282c87852e57085
    action: Alert
    device_groups:
      - Servers

- name: Remove every indicator for the file (false positive)
  mde.response.file_indicator:
    file_hash: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    state: absent
"""

RETURN = r"""
changed:
  description: Whether an indicator was (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
  sample: true
outcome:
  description:
    - V(created), V(updated) or V(unchanged) with O(state=present); V(deleted) or V(absent) (there was none) with
      O(state=absent). In check mode, what a real run would do.
  returned: always
  type: str
  sample: created
indicator:
  description:
    - The indicator as the API returned it after the change, or the existing one when nothing changed (or in check
      mode); null when there is none (O(state=absent), or a creation in check mode).
    - Only a few of the entity's fields are listed here; see the API documentation for all of them.
  returned: always
  type: dict
  contains:
    id:
      description: ID of the indicator.
      type: str
      sample: "995"
    indicatorValue:
      description: The hash.
      type: str
      sample: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    indicatorType:
      description: C(FileSha1), C(FileSha256) or C(FileMd5).
      type: str
      sample: FileSha1
    action:
      description: The indicator's action.
      type: str
      sample: BlockAndRemediate
    application:
      description: C(mde.response) for indicators this collection created.
      type: str
      sample: mde.response
    expirationTime:
      description: When the indicator expires, or null.
      type: str
      sample: "2026-12-31T18:00:00Z"
diff:
  description:
    - C(before) and C(after) hold the fields that differ (API names), all fields of a new indicator, or, for
      O(state=absent), C(indicators) listing those deleted.
    - An update sends exactly these changes. A field found in line (above all an expiry within the duration of
      O(expiration)) is sent as the indicator has it.
  returned: always
  type: dict
  sample: {"before": {"severity": "Low"}, "after": {"severity": "High"}}
unsent:
  description:
    - With O(state=absent), when a deletion failed, the indicators not deleted from that one on, with the reason; the
      deletions before it happened (RV(changed) says so).
  returned: on failure, when a deletion failed
  type: list
  elements: dict
  contains:
    id:
      description: ID of the indicator not deleted.
      type: str
    reason:
      description: Why it was not deleted.
      type: str
error:
  description:
    - When the module fails on an answer of the API or on the network, what went wrong, for playbooks to act on
      (for example in a C(rescue) block). C(msg) says the same in words.
    - Not set for refused input or a login that failed before any write, where C(msg) alone says what to fix; set, with
      the code V(AuthenticationFailed), when the token could not be renewed between deletions.
  returned: on failure, when the API answered with an error, could not be reached, or the token could not be renewed
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
      sample: Ti.ReadWrite
"""

from ansible_collections.mde.response.plugins.module_utils._indicators.indicators import INDICATOR_ARGUMENT_SPEC, FileIndicatorRequest, converge_file_indicator
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(INDICATOR_ARGUMENT_SPEC, state=dict(type="str", choices=["present", "absent"], default="present")),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        request = FileIndicatorRequest.from_options(module.params, module.clock.now())
        result = converge_file_indicator(module.defender_client(), request, check_mode=module.check_mode)
    module.exit_with_outcome(result)


if __name__ == "__main__":
    main()

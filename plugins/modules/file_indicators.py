#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: file_indicators
short_description: Converge Microsoft Defender for Endpoint file indicators to a list (indicators as code)
version_added: 0.1.0
description:
  - Makes the tenant's file indicators match a list kept, for example, in a YAML file in git, in one run.
  - Reads every indicator once, then writes the listed files whose indicator is missing or differs with the batch
    import API (up to 500 indicators a call; the API allows 30 import calls a minute, and its C(Retry-After) is
    honoured). Entries compare as in M(mde.response.file_indicator), where only the keys given are compared.
  - With O(exclusive=true), also deletes the indicators that this collection created (their application is
    C(mde.response)) for files no longer listed. Indicators made by people or other tools are never deleted.
  - "Required API permissions (application): C(Ti.ReadWrite.All), or C(Ti.ReadWrite), with which the app sees and
    changes only the indicators it created itself."
author:
  - mde.response maintainers (@mde-response)
options:
  indicators:
    description:
      - The wanted indicators, one dict per file, each file once.
    type: list
    elements: dict
    required: true
    suboptions:
      file_hash:
        description: SHA-1, SHA-256 or MD5 of the file, in any case.
        type: str
        required: true
      action:
        description: See M(mde.response.file_indicator).
        type: str
        choices: [BlockAndRemediate, Block, AlertAndBlock, Alert, Warn, Audit, Allowed]
        default: BlockAndRemediate
      title:
        description: Title; a new indicator without one gets V(File <hash>).
        type: str
      description:
        description: Description; a new indicator without one gets a line naming this collection.
        type: str
      severity:
        description: Severity of the indicator's alerts.
        type: str
        choices: [Informational, Low, Medium, High]
      expiration:
        description: A date and time in ISO 8601, or a duration from now such as V(30d); see M(mde.response.file_indicator).
        type: str
      generate_alert:
        description: Whether Defender raises an alert when it meets the file.
        type: bool
      recommended_actions:
        description: Recommended actions shown on the alerts.
        type: str
      device_groups:
        description: Names of the device groups the indicator applies to; an empty list means every device.
        type: list
        elements: str
  exclusive:
    description:
      - Delete the indicators this collection created for files that are not in O(indicators).
    type: bool
    default: false
extends_documentation_fragment:
  - mde.response.connection
  - mde.response.connection.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the indicators but never writes; the results predict what a real run would do.
    support: full
  diff_mode:
    description: RV(diff) shows, per file, the fields that differ, the files created and the indicators deleted.
    support: full
notes:
  - Every entry is checked (hash, expiration, keys, repeated files) before any request is sent.
seealso:
  - module: mde.response.file_indicator
  - name: Import Indicators API
    description: The batch API this module writes with.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/import-ti-indicators
"""

EXAMPLES = r"""
- name: Converge the tenant to the blocked hashes kept in git
  mde.response.file_indicators:
    indicators: "{{ lookup('ansible.builtin.file', 'blocked-files.yml') | from_yaml }}"
    exclusive: true
  register: converged

- name: Two indicators given inline
  mde.response.file_indicators:
    indicators:
      - file_hash: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
        title: "INC-4711: ransomware dropper"
        severity: High
      - file_hash: 2d6bdfb341be3a6234b24742377f93aa7c7cfb0d9fd64efa9282c87852e57085
        action: Audit
        generate_alert: true
"""

RETURN = r"""
changed:
  description: Whether any indicator was (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
created:
  description: Hashes (lower case) of the listed files that had no indicator.
  returned: always
  type: list
  elements: str
updated:
  description: The listed files whose indicator differed, with the fields that differed.
  returned: always
  type: list
  elements: dict
  contains:
    file_hash:
      description: The hash, lower case.
      type: str
    before:
      description: The differing fields as they were (API names).
      type: dict
    after:
      description: The differing fields as wanted.
      type: dict
deleted:
  description: With O(exclusive=true), the indicators of this collection deleted because their file is no longer listed.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ID of the indicator.
      type: str
    file_hash:
      description: The hash, lower case.
      type: str
    title:
      description: Title of the indicator.
      type: str
unchanged:
  description: How many listed files already had a matching indicator.
  returned: always
  type: int
refused:
  description: Indicators the import refused, with the API's reason; the task fails when there is any.
  returned: always
  type: list
  elements: dict
  contains:
    file_hash:
      description: The hash, lower case.
      type: str
    reason:
      description: The API's failure reason.
      type: str
diff:
  description: C(before) and C(after) per file hash.
  returned: always
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

from ansible_collections.mde.response.plugins.module_utils._indicators.sync import requests_from_list, sync_file_indicators
from ansible_collections.mde.response.plugins.module_utils._indicators.indicators import INDICATOR_ARGUMENT_SPEC
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            indicators=dict(type="list", elements="dict", required=True, options=INDICATOR_ARGUMENT_SPEC),
            exclusive=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        requests = requests_from_list(module.params["indicators"], module.clock.now())
        result = sync_file_indicators(module.defender_client(), requests, exclusive=module.params["exclusive"], check_mode=module.check_mode)
    output = result.as_dict()
    if result.refused:
        module.fail_json(msg="The API refused %d of the indicators: %s; see refused[] and fix those entries" % (
            len(result.refused), ", ".join("%s (%s)" % (item["file_hash"], item["reason"]) for item in result.refused[:5])), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()

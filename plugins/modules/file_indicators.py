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
    honoured). Entries compare as in M(mde.response.file_indicator), where only the keys given are compared; an update
    changes only the fields that differ, so an expiry found in line is sent as it is and never moved.
  - Each list has a name, O(list_name), that the indicators it creates carry in their application
    (C(mde.response:<list_name>)), which the API keeps from creation on. The list owns those and only those.
  - An indicator someone else made for a listed file (a person, another tool, M(mde.response.file_indicator), the
    contain role, another list, or a release of this module before lists had names, whose application is
    C(mde.response)) is left as it is and reported in RV(not_owned), unless O(take_over=true).
  - With O(exclusive=true), also deletes the list's own indicators for files no longer listed, each named in
    RV(deleted). More deletions than O(max_deletions) or O(max_deletion_percent) allow, and an empty list
    (unless O(allow_empty=true)), are refused before any write. Indicators of application C(mde.response) for files
    not listed are reported in RV(legacy) and never deleted. For the list to own one, list its file and delete its
    indicator once (M(mde.response.file_indicator) with O(mde.response.file_indicator#module:state=absent)); the
    next run creates it under the list's name.
  - When a write fails part way (a refused batch, a lost connection, a token that cannot be renewed), what was written
    stays in the result (RV(changed), RV(created), RV(updated), RV(deleted)), the writes not sent are named in
    RV(unsent) with the reason, and the task fails. After an authentication failure or a 403 no further write is sent.
  - "Required API permissions (application): C(Ti.ReadWrite.All), or C(Ti.ReadWrite), with which the app sees and
    changes only the indicators it created itself."
author:
  - mde.response maintainers (@mde-response)
options:
  indicators:
    description:
      - The wanted indicators, one dict per file, each file once, with the keys below. Each entry is checked before
        any request, and a message names the entry (its position and hash) and what is wrong with it.
      - C(file_hash) (required) is the SHA-1, SHA-256 or MD5 of the file, in any case.
      - C(action) is one of V(BlockAndRemediate) (the default), V(Block), V(AlertAndBlock), V(Alert), V(Warn), V(Audit)
        (which needs C(generate_alert=true)) or V(Allowed); see M(mde.response.file_indicator).
      - C(title) and C(description) are texts; a new indicator without them gets V(File <hash>) and a line naming this
        collection.
      - C(severity) is one of V(Informational), V(Low), V(Medium) or V(High).
      - C(expiration) is a date and time in ISO 8601, or a duration from now such as V(30d).
      - C(generate_alert) is a boolean, C(recommended_actions) a text, and C(device_groups) a list of device group
        names (an empty list means every device).
    type: list
    elements: raw
    required: true
  list_name:
    description:
      - The list's name, 1 to 64 letters, digits, C(.), C(_) or C(-), starting with a letter or digit. The indicators
        the list creates carry it, so keep it once chosen.
    type: str
    required: true
  exclusive:
    description:
      - Delete the indicators this list created for files that are not in O(indicators).
    type: bool
    default: false
  take_over:
    description:
      - Make the indicators someone else made for listed files match the list, updated in place (listed in
        RV(taken_over)). They keep their application, so O(exclusive) never deletes them.
    type: bool
    default: false
  max_deletions:
    description:
      - With O(exclusive), the most indicators one run may delete; a run that would delete more is refused before any
        write (check mode included).
    type: int
    default: 20
  max_deletion_percent:
    description:
      - With O(exclusive), the largest share, in percent, of the indicators the list owns that one run may delete; more
        is refused before any write.
    type: int
    default: 50
  allow_empty:
    description:
      - Accept an empty O(indicators) with O(exclusive), which deletes every indicator the list created (within
        O(max_deletions) and O(max_deletion_percent)). Without it an empty list with O(exclusive) is refused before any
        request.
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
  - Before this module had O(list_name), the indicators it created carried the application C(mde.response), as those
    of M(mde.response.file_indicator) and the contain role do; they cannot be told apart, so no list owns them.
seealso:
  - module: mde.response.file_indicator
  - name: Import Indicators API
    description: The batch API this module writes with.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/import-ti-indicators
"""

EXAMPLES = r"""
- name: Converge the tenant to the blocked hashes kept in git
  mde.response.file_indicators:
    list_name: blocked-files
    indicators: "{{ lookup('mde.response.indicator_list', 'blocked-files.yml') }}"
    exclusive: true
  register: converged

- name: Two indicators given inline
  mde.response.file_indicators:
    list_name: incident-4711
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
    file_hash: &file_hash
      description: The hash, lower case.
      type: str
    before:
      description: The differing fields as they were (API names).
      type: dict
    after:
      description: The differing fields as wanted.
      type: dict
taken_over:
  description: With O(take_over=true), hashes of the updated indicators that someone else had made (also in RV(updated)).
  returned: always
  type: list
  elements: str
deleted:
  description: With O(exclusive=true), the indicators of this list deleted (in check mode, to be deleted) because their file is no longer listed.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ID of the indicator.
      type: str
    file_hash: *file_hash
    title:
      description: Title of the indicator.
      type: str
unchanged:
  description: How many listed files already had a matching indicator of this list (or, with O(take_over), of anyone).
  returned: always
  type: int
list_name:
  description: The list's name, as given.
  returned: always
  type: str
not_owned:
  description: Listed files whose indicator someone else made, left as it is (without O(take_over)).
  returned: always
  type: list
  elements: dict
  contains: &indicator_owner
    id:
      description: ID of the indicator.
      type: str
    file_hash: *file_hash
    application:
      description: The indicator's application, null when it has none (made in the portal).
      type: str
    created_by:
      description: Who created the indicator (a user or an application ID).
      type: str
    action:
      description: The indicator's action.
      type: str
    title:
      description: The indicator's title.
      type: str
    differs:
      description: The fields (API names) that differ from the entry, with the values the entry wants; empty when it matches.
      type: dict
      returned: in not_owned
legacy:
  description:
    - With O(exclusive=true), the indicators of application C(mde.response) for files not listed, left alone (see the
      description for how a list adopts one).
  returned: always
  type: list
  elements: dict
  contains: *indicator_owner
refused:
  description: Writes the API refused, with the API's reason; the task fails when there is any.
  returned: always
  type: list
  elements: dict
  contains:
    file_hash: *file_hash
    reason:
      description: The API's failure reason.
      type: str
unsent:
  description:
    - Writes not sent because an earlier one failed with an authentication error or a 403, or whose answer was lost (they may
      have taken effect; the next run sees), with the reason; the task fails when there is any.
  returned: always
  type: list
  elements: dict
  contains:
    file_hash: *file_hash
    write:
      description: V(create), V(update) or V(delete).
      type: str
    reason:
      description: Why it was not sent.
      type: str
diff:
  description: C(before) and C(after) per file hash.
  returned: always
  type: dict
error:
  description:
    - When the module fails on an answer of the API or on the network, what went wrong, for playbooks to act on
      (for example in a C(rescue) block). C(msg) says the same in words.
    - Not set for refused input or a login that failed before any write, where C(msg) alone says what to fix; set, with
      the code V(AuthenticationFailed), when the token could not be renewed part way through the writes.
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

from ansible_collections.mde.response.plugins.module_utils._indicators.sync import (
    DEFAULT_MAX_DELETION_PERCENT,
    DEFAULT_MAX_DELETIONS,
    ListPolicy,
    requests_from_list,
    sync_file_indicators,
)
from ansible_collections.mde.response.plugins.module_utils.mde_module import DefenderModule


def main():
    module = DefenderModule(
        argument_spec=dict(
            # Each entry is checked by requests_from_list, which names it (index and hash) in every message.
            indicators=dict(type="list", elements="raw", required=True),
            list_name=dict(type="str", required=True),
            exclusive=dict(type="bool", default=False),
            take_over=dict(type="bool", default=False),
            max_deletions=dict(type="int", default=DEFAULT_MAX_DELETIONS),
            max_deletion_percent=dict(type="int", default=DEFAULT_MAX_DELETION_PERCENT),
            allow_empty=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    with module.failing_on_errors():
        policy = ListPolicy.from_options(module.params)
        requests = requests_from_list(module.params["indicators"], module.clock.now())
        result = sync_file_indicators(module.defender_client(), requests, policy, check_mode=module.check_mode)
    module.exit_with_outcome(result)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The options the machine-action modules share, as plugins/module_utils/_actions/request.py reads them
# (action_argument_spec). Each module documents max_machines (its default differs) and, where it takes it, protect.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  comment:
    description:
      - The comment recorded with each action (C(requestorComment)), at most 1,000 characters; put the incident or
        ticket number in it, as the action center shows it.
    type: str
    required: true
  machine_ids:
    description:
      - Defender device IDs (40 hexadecimal characters) to act on.
      - Hosts of an inventory from the P(mde.response.machines#inventory) plugin carry their machine id in
        C(mde_id); pass those here, so that nothing is looked up again.
    type: list
    elements: str
  machine_names:
    description:
      - Device names (C(computerDnsName)) to act on, resolved through the machines API; a name without a dot may be a
        short name, as for M(mde.response.stop_and_quarantine_file).
      - When Defender has several entries for one name, the most recently seen onboarded entry is used and a warning
        names the others; when none is onboarded, or several onboarded machines share a short name, the machine fails.
      - At least one of O(machine_ids) or O(machine_names) is required.
    type: list
    elements: str
  wait:
    description:
      - Poll until every action reaches a final status; an action that ends Failed, TimeOut or Cancelled, or is still
        in flight after O(wait_timeout), counts as failed, except one still C(Pending) on a machine Defender reports
        offline, which is V(queued) (see O(fail_when_queued)).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true).
    type: int
    default: 900
  allow_partial:
    description:
      - When V(false), the task fails if any machine's outcome is V(failed) (or V(queued), with
        O(fail_when_queued=true)); every result is still returned.
    type: bool
    default: false
  fail_when_queued:
    description:
      - Count an action V(queued) for an offline machine at the end of O(wait) as a failed machine.
    type: bool
    default: false
  progress_path:
    description:
      - A file in which the module keeps its progress while it runs, for a task started with C(async) and C(poll=0)
        that M(mde.response.quarantine_progress) follows (the same file as
        M(mde.response.stop_and_quarantine_file)'s O(mde.response.stop_and_quarantine_file#module:progress_path)).
        Its folder must exist. Without it, nothing is written.
    type: path
  lease_path:
    description:
      - For a run started with C(async) and C(poll=0) and followed by M(mde.response.quarantine_progress), a file the
        follower renews; once it is missing or has not been touched for 10 seconds (Ctrl-C, an AWX cancel), the run
        sends no further write and the machines not yet written fail with RV(actions[].error.code=RunStopped),
        unsent. Running the same task again finishes them. Without it, nothing stops the run but its end.
    type: path
"""

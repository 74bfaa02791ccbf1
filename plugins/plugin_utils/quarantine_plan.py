# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The quarantine_file role's plan: how many machines a run will write to, and when it will end at Defender's limits.

The role reads first (the module in check mode), so the counts are those of the real run unless the fleet changes in
between; the duration is the floor the API's documented limits set, which the modules' pacing keeps to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The arithmetic of Defender's limits lives with the pacing that keeps to them; the plan only tells it.
from ansible_collections.mde.response.plugins.module_utils._model.entities import OFFLINE_HEALTH_STATUSES, is_in_flight
from ansible_collections.mde.response.plugins.module_utils._client.pacing import PER_HOUR, PER_MINUTE, minutes_to_write

# The outcomes of a check-mode run that mean a real run writes.
WRITING_OUTCOMES = ("would_create", "would_cancel")


def plan_lines(plan_results, state, now, wait_timeout=0):
    """The lines the role prints before it writes: machines that need an action, the others, the expected end.

    ``plan_results`` are the loop results of the module in check mode, one per file; ``now`` is the current UTC time
    as ``YYYY-MM-DDTHH:MM:SSZ``; ``wait_timeout`` the seconds a run waits for its actions (0: it does not wait).
    """
    outcomes = [entry.get("outcome") for result in plan_results for entry in result.get("actions", [])]
    needed = sum(1 for outcome in outcomes if outcome in WRITING_OUTCOMES)
    not_read = sum(1 for result in plan_results if "actions" not in result)
    verb = "a quarantine" if state == "present" else "a cancel"
    lines = ["Plan: %d of %d machine result(s) of %d file(s) need %s; the others are already done or have nothing to do." % (
        needed, len(outcomes), len(plan_results), verb)]
    if not_read:
        lines.append("%d file(s) could not be read (the results below say why)." % not_read)
    refused = [entry["error"]["missing_permission"] for result in plan_results for entry in result.get("actions", [])
               if (entry.get("error") or {}).get("missing_permission")]
    if refused:
        lines.append("%d machine result(s) would be refused: the access token lacks the application permission %s, so the "
                     "run stops at its first refused write (the summary says how to grant it)." % (
                         len(refused), ", ".join(sorted(set(refused)))))
    minutes = minutes_to_write(needed)
    end = datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ") + timedelta(minutes=minutes)
    if minutes:
        lines.append("At Defender's limits (%d actions a minute, %s an hour) the writes take about %d minute(s): expected end %s UTC." % (
            PER_MINUTE, "{:,}".format(PER_HOUR), minutes, end.strftime("%Y-%m-%d %H:%M")))
    offline = [entry.get("machine_name") or entry.get("machine_id") for result in plan_results for entry in result.get("actions", [])
               if state == "present" and entry.get("health_status") in OFFLINE_HEALTH_STATUSES
               and (entry.get("outcome") == "would_create" or (entry.get("outcome") == "existing" and is_in_flight(entry.get("action"))))]
    if offline:
        lines.append("%d machine(s) are offline (%s): their actions stay Pending until the machines connect, which may be days." % (
            len(offline), ", ".join(offline)))
    if offline and wait_timeout:
        lines.append("The run waits for them until its wait of %d s ends: expected end %s UTC. Set quarantine_file_wait=false not "
                     "to wait; Defender keeps the actions and runs them when the machines connect." % (
                         wait_timeout, (end + timedelta(seconds=wait_timeout)).strftime("%Y-%m-%d %H:%M")))
    return lines

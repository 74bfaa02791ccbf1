# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``state: cancelled``: cancel a machine's in-flight actions for the file and read back that it took effect.

The API may answer a cancel with 200 and leave the action as it was, so only a read-back showing Cancelled
counts as cancelled.
"""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome, error_dict
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    CANCELLED_STATUS,
    SUCCEEDED,
    action_status,
    commands_completed,
    entity_id,
    is_in_flight,
)
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, AuthenticationError, MdeError, error_entry
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier

# How a quarantined file comes back, on the machine (respond-file-alerts.md, section 8 of the API reference).
RESTORE_HINT = '"%ProgramFiles%\\Windows Defender\\MpCmdRun.exe" -Restore -Name EUS:Win32/CustomEnterpriseBlock -All'
# Seconds between the read-backs after the first, immediate one.
CANCEL_CONFIRM_DELAYS = (2.0, 4.0, 8.0)


def quarantined_warning(machines: str, count: int) -> str:
    """What a release says of the machines where the file stays quarantined."""
    return ("releasing does not restore a file: it stays quarantined on %d machine(s) where an earlier action succeeded: %s."
            " Cancelling only stops actions still in flight; to bring the file back, run %s in an administrator's command"
            " prompt on each of them" % (count, machines, RESTORE_HINT))


class ActionCanceller:
    """Cancels actions with the request's comment; success warnings go to ``warnings``; every cancel goes through
    ``barrier`` (write_barrier.py), shared with the run's other writers."""

    def __init__(self, client, clock, comment, warnings, barrier=None):
        self._client = client
        self._clock = clock
        self._comment = comment
        self._warnings = warnings
        self._barrier = barrier or WriteBarrier()

    def cancel_on_machine(self, result, in_flight):
        """Cancel every in-flight action for the file on one machine (normally just one) and settle ``result``."""
        outcomes = [self._cancel(action) for action in in_flight]
        failures = [item for item in outcomes if item[0] == Outcome.FAILED]
        cancelled = [item for item in outcomes if item[0] == Outcome.CANCELLED]
        outcome, action, error = (failures or cancelled or outcomes)[0]
        result.settle(outcome, action, error, changed=bool(cancelled))

    def _cancel(self, action):
        """(outcome, action as last read, error) for one in-flight action."""
        try:
            self._barrier.send("machine %s" % action.get("machineId"),
                               lambda: self._client.cancel_machine_action(entity_id(action), self._comment))
        except AmbiguousWriteError:
            # Cancelling twice is harmless and the read-back below tells whether it took effect.
            pass
        except ApiError as error:
            return self._after_refusal(action, error)
        except MdeError as error:
            return Outcome.FAILED, action, error_dict(error)
        return self._confirm(action)

    def _confirm(self, action):
        current, read_error = action, None
        for delay in (0.0,) + CANCEL_CONFIRM_DELAYS:
            if delay:
                self._clock.sleep(delay)
            try:
                current = self._client.get_machine_action(entity_id(action))
            except AuthenticationError as error:
                # Without a token no later read can tell either.
                return Outcome.FAILED, current, error_entry("CancelNotConfirmed", (
                    "the cancel of action %s was accepted, but reading it back failed: %s; once the credentials work, rerun"
                    " the task to see whether it is still in flight" % (entity_id(action), error)))
            except MdeError as error:
                read_error = error
                continue
            if not is_in_flight(current):
                return self._report_final(current, cancelled_by_us=True)
        message = "the cancel of action %s was accepted, but it is still %s after %d reads over %d s" % (
            entity_id(action), action_status(current), len(CANCEL_CONFIRM_DELAYS) + 1, sum(CANCEL_CONFIRM_DELAYS))
        if read_error is not None:
            message += " (last read error: %s)" % read_error
        return Outcome.FAILED, current, error_entry("CancelNotConfirmed", message)

    def _after_refusal(self, action, refusal):
        # The usual reason for a refusal is that the action reached a final state meanwhile: find out.
        try:
            current = self._client.get_machine_action(entity_id(action))
        except MdeError:
            return Outcome.FAILED, action, error_dict(refusal)
        if is_in_flight(current):
            return Outcome.FAILED, current, error_dict(refusal)
        return self._report_final(current, cancelled_by_us=False)

    def _report_final(self, action, cancelled_by_us):
        """Report a final action truthfully: only a cancel of ours counts as cancelled.

        A success means the file is quarantined after all (quarantined, as a rerun would report too); anything else
        that is final leaves nothing in flight (not_present).
        """
        status = action_status(action)
        if commands_completed(action) and status == CANCELLED_STATUS:
            # The action reads Cancelled, yet its command reports completed: the machine did the work first.
            self._warnings.add(
                "action %s on machine %s is cancelled, but its command had already completed on the machine: the file is "
                "probably quarantined there (check the machine; restore the file with %s)" % (entity_id(action), action.get("machineId"), RESTORE_HINT)
            )
        if status == CANCELLED_STATUS and cancelled_by_us:
            return Outcome.CANCELLED, action, None
        if status == SUCCEEDED:
            # The run's warning for every quarantined machine says what this means and how to restore the file.
            return Outcome.QUARANTINED, action, None
        return Outcome.NOT_PRESENT, action, None

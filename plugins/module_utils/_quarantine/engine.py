# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""StopAndQuarantineEngine: stop and quarantine a file on many machines without ever firing a duplicate action.

``state: present`` is the machine-action engine (_actions/engine.py) with the file's action kind (file_action.py);
``state: cancelled`` plans from the same existing-action read and cancels (action_cancel.py). A run resolves its
targets, reads the file's existing StopAndQuarantineFile actions for the whole target set with a few list calls (the
API cannot filter on the file hash, so matching happens here), decides per machine, and only then writes. Reads made
while planning raise: without them no decision is safe. Everything after that is reported per machine, so one
machine's failure never hides what happened on the others.

How each machine's outcome is decided (``error`` is set exactly when the outcome is ``failed``):

- ``existing``: the pre-check found an in-flight (Pending/InProgress) action for the file, or a Succeeded one
  created within ``succeeded_within``; or the POST answered 201 with an action the pre-check knew, or 400
  ActiveRequestAlreadyExists / "already in progress" (the action is then looked up by machine and type).
- ``created``: the POST answered 201 with a new action; or its answer was lost and the action turned up in the
  list afterwards (looked for during a grace period, since the list lags, before the one permitted re-POST).
- ``not_present``: the API said "Sha1 ... was not found in machine ..." (400 or 404); with ``state: cancelled``,
  nothing was in flight and nothing succeeded, or the action reached a final state other than Succeeded before the
  cancel took effect.
- ``quarantined``: with ``state: cancelled``, nothing is in flight but an earlier action for the file succeeded (or
  the one being cancelled succeeded first): the file is quarantined there, which a cancel cannot undo (a warning says
  what restores it).
- ``unsupported``: the machine cannot run the action, decided from its Machine entity before anything is sent
  (machine_support.py), or refused by the API with OsPlatformNotSupported / ClientVersionNotSupported.
- ``cancelled``: our cancel was accepted and a read-back shows the action Cancelled.
- ``would_create`` / ``would_cancel``: check mode, where a real run would write (unless the token's roles claim
  lacks the write permission: then ``failed``, as a real run would be refused).
- ``queued``: with ``wait``, the action is still Pending at ``wait_timeout`` on a machine Defender reports offline
  (action_wait.py): Defender runs it when the machine connects.
- ``failed``: any other refusal (with the API's code, message and status), a transport error, a name that matches
  no machine (MachineNotFound) or only machines that are not onboarded (AmbiguousMachineName), an answer lost
  twice (AmbiguousWrite), a cancel still not visible after a few reads (CancelNotConfirmed), and with ``wait`` an
  action that ended Failed/TimeOut/Cancelled (ActionFailed, ActionTimeOut, ActionCancelled) or is still in flight
  at ``wait_timeout`` on a machine that is not offline (WaitTimeout). After a write refused for a missing
  permission, or when no access token can be had any more, no further write is sent: the machines not yet written
  fail with the refusal's code (AuthenticationFailed for the token), unsent (write_barrier.py); after the run's lease
  lapsed (run_lease.py) none either: those machines fail as RunStopped, unsent. Any error while writing to one machine
  becomes that machine's result. ``changed`` still counts an action this run created that later failed.
"""

from __future__ import annotations

from typing import Optional, Sequence, cast

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import (
    EngineResult,
    MachineResult,
    Outcome,
    Warnings,
    named_machines,
    unknown_file_warning,
)
from ansible_collections.mde.response.plugins.module_utils._actions.engine import DEFAULT_MAX_WORKERS, MachineActionEngine, warn_of_outcomes
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import ExistingActionIndex
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Targets
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier
from ansible_collections.mde.response.plugins.module_utils._model.entities import SUCCEEDED, action_status
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import unsupported_code, unsupported_details
from ansible_collections.mde.response.plugins.module_utils._quarantine.action_cancel import ActionCanceller, quarantined_warning
from ansible_collections.mde.response.plugins.module_utils._quarantine.file_action import QuarantineKind
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest, State
from ansible_collections.mde.response.plugins.module_utils.errors import MdeError

__all__ = ["DEFAULT_MAX_WORKERS", "StopAndQuarantineEngine", "WRITE_PERMISSION"]

# The application permission each state's writes need: cancelling an action takes the permission of its type (the API
# reference's cancel-machine-action.md), which for StopAndQuarantineFile is the one that creates it.
WRITE_PERMISSION = {State.PRESENT: QuarantineKind.spec.permission, State.CANCELLED: QuarantineKind.spec.permission}


class StopAndQuarantineEngine:
    """Plans, writes, waits for and cancels StopAndQuarantineFile actions through a DefenderClient.

    One engine can carry out several requests; everything one request's workers share is passed to them.
    """

    def __init__(self, client: DefenderClient, clock: Clock, max_workers: int = DEFAULT_MAX_WORKERS,
                 progress: Optional[RunProgress] = None, lease: Optional[RunLease] = None) -> None:
        self._client = client
        self._clock = clock
        self._engine = MachineActionEngine(client, clock, max_workers, progress, lease)

    def run(self, request: QuarantineRequest, check_mode: bool = False) -> EngineResult:
        """Carry out a QuarantineRequest (in check mode: read only and predict); returns an EngineResult."""
        warnings = Warnings()
        kind = QuarantineKind(request, self._clock.now())
        targets = Targets(request.machine_ids, request.machine_names, request.sha1 if request.observed else None,
                          max_machines=request.max_machines)
        if request.state == State.CANCELLED:
            results = self._cancel(kind, targets, check_mode, warnings)
        else:
            results = self._engine.execute(kind, targets, check_mode, warnings)
        file_known = self._file_known(request, results, check_mode, warnings)
        self._engine.progress.finish()
        return EngineResult.from_machine_results(results, warnings, kind.outcomes, file_known=file_known)

    def _file_known(self, request: QuarantineRequest, results: Sequence[MachineResult], check_mode: bool,
                    warnings: Warnings) -> Optional[bool]:
        """Whether Defender has a record of the file, asked once when it matters: a run that found the file absent
        somewhere, where a mistyped hash looks the same, and check mode, which cannot see absence. None otherwise."""
        if request.state != State.PRESENT or not (check_mode or any(result.outcome == Outcome.NOT_PRESENT for result in results)):
            return None
        try:
            known = self._client.find_file(request.sha1) is not None
        except MdeError:
            # Without File.Read.All (or on any other failure) only this check is lost, never the run.
            return None
        if not known:
            warnings.add(unknown_file_warning(request.sha1, check_mode))
        return known

    def _cancel(self, kind: QuarantineKind, targets: Targets, check_mode: bool, warnings: Warnings) -> list[MachineResult]:
        """Cancel the file's actions in flight; a machine where one succeeded is reported quarantined."""
        results = self._engine.resolve(targets, warnings)
        reachable = [result for result in results if result.outcome is None]
        index = ExistingActionIndex(kind.matches)
        if reachable:
            index.read(self._client, [cast(str, result.machine_id) for result in reachable], kind.read_types,
                       kind.status_clauses(self._clock.now()))
        refusal = self._engine.predicted_refusal(kind.spec.permission) if check_mode and reachable else None
        to_cancel = []
        for result in reachable:
            machine_id = cast(str, result.machine_id)
            in_flight, code = index.in_flight(machine_id), unsupported_code(result.machine, kind.support)
            succeeded = [action for action in index.history(machine_id) if action_status(action) == SUCCEEDED]
            if not in_flight and succeeded:
                result.settle(Outcome.QUARANTINED, succeeded[0])
            elif not in_flight and code is not None:
                result.refuse_unsupported(unsupported_details(code, result.machine, rule=kind.support))
            elif not in_flight:
                result.settle(Outcome.NOT_PRESENT)
            elif check_mode:
                self._engine.predict_write(result, Outcome.WOULD_CANCEL, in_flight[0], refusal)
            else:
                to_cancel.append((result, in_flight))
        canceller = ActionCanceller(self._client, self._clock, kind.comment, warnings, WriteBarrier())
        self._engine.in_parallel(lambda item: canceller.cancel_on_machine(*item), to_cancel)
        _warn_of_outcomes(kind, results, warnings)
        return results


def _warn_of_outcomes(kind: QuarantineKind, results: list[MachineResult], warnings: Warnings) -> None:
    """The warnings a release adds: machines that cannot run the action, and files it leaves quarantined."""
    warn_of_outcomes(kind, results, warnings)
    quarantined = [entry for entry in (result.as_dict() for result in results) if entry["outcome"] == Outcome.QUARANTINED]
    if quarantined:
        warnings.add(quarantined_warning(named_machines(quarantined, lambda entry: "action %s" % entry["action_id"]), len(quarantined)))

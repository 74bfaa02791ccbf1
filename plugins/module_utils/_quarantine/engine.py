# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""StopAndQuarantineEngine: stop and quarantine a file on many machines without ever firing a duplicate action.

A run resolves its targets, reads the file's existing StopAndQuarantineFile actions for the whole target set
with a few list calls (the API cannot filter on the file hash, so matching happens here), decides per machine,
and only then writes. Reads made while planning raise: without them no decision is safe. Everything after that
is reported per machine, so one machine's failure never hides what happened on the others.

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

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, Sequence, cast

from ansible_collections.mde.response.plugins.module_utils._quarantine.action_cancel import ActionCanceller, quarantined_warning
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._actions.action_results import (
    EngineResult,
    MachineResult,
    Outcome,
    Warnings,
    error_dict,
    named_machines,
    unknown_file_warning,
)
from ansible_collections.mde.response.plugins.module_utils._actions.action_wait import wait_until_final
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    action_created,
    action_status,
    entity_id,
    id_key,
    is_in_flight,
    is_quarantine_of,
    related_file,
    says_file_not_on_machine,
)
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, MdeError, error_entry, permission_hint
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import ExistingActionIndex, machine_quarantines
from ansible_collections.mde.response.plugins.module_utils._actions.list_lag import ListLag
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import (
    INDICATOR_ADVICE,
    SUPPORT_RULE,
    UNSUPPORTED_CODES,
    unsupported_code,
    unsupported_details,
)
from ansible_collections.mde.response.plugins.module_utils._actions.machine_targets import resolve_targets
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest, State
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier

DEFAULT_MAX_WORKERS = 8
# A lost write can take a while to appear in the action list (how long is undocumented), and re-posting too soon
# would duplicate it once the first action has finished and no longer blocks a second one: it is looked for as
# long as the run's own answered writes took to show (list_lag.py). Only runs that lost an answer pay for this wait.
LOST_ANSWER_FIRST_DELAY = 2.0
LOST_ANSWER_MAX_DELAY = 30.0
# Server and client clocks differ; a lost write is searched for from a little before the client thinks it began.
CLOCK_SKEW = timedelta(minutes=2)
# An action a write creates is stamped while the server handles it, its answer's Date a moment later (to the second):
# one created longer than this before the answer's Date was already there.
WRITE_HANDLING = timedelta(seconds=10)
_DUPLICATE_CODE = "ActiveRequestAlreadyExists"
_DUPLICATE_MESSAGE = "already in progress"
# The application permission each state's writes need: cancelling an action takes the permission of its type (the API
# reference's cancel-machine-action.md), which for StopAndQuarantineFile is the one that creates it.
WRITE_PERMISSION = {State.PRESENT: "Machine.StopAndQuarantine", State.CANCELLED: "Machine.StopAndQuarantine"}


class StopAndQuarantineEngine:
    """Plans, writes, waits for and cancels StopAndQuarantineFile actions through a DefenderClient.

    One engine can carry out several requests; everything one request's workers share is passed to them.
    """

    def __init__(self, client: DefenderClient, clock: Clock, max_workers: int = DEFAULT_MAX_WORKERS,
                 progress: Optional[RunProgress] = None, lease: Optional[RunLease] = None) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._clock = clock
        self._max_workers = max_workers
        # Without a file to keep it in, the progress is counted and kept nowhere.
        self._progress = progress or RunProgress(None, clock)
        # A run whose lease lapsed sends no write (the client's write gate refuses them) and waits for nothing.
        self._lease = lease or RunLease(None)

    def run(self, request: QuarantineRequest, check_mode: bool = False) -> EngineResult:
        """Carry out a QuarantineRequest (in check mode: read only and predict); returns an EngineResult."""
        warnings = Warnings()
        index = ExistingActionIndex(request.sha1, self._succeeded_since(request), every_success=request.state == State.CANCELLED)
        results = resolve_targets(self._client, request, warnings)
        self._progress.track(results)
        if request.state == State.PRESENT:
            # Before the pre-check: a machine that cannot run the action needs no look-up and gets no write.
            for result in results:
                code = unsupported_code(result.machine) if result.outcome is None else None
                if code is not None:
                    result.refuse_unsupported(unsupported_details(code, result.machine))
        reachable = [result for result in results if result.outcome is None]
        if reachable:
            index.read(self._client, [result.machine_id for result in reachable])
        # In check mode, the refusal a real run's writes would get; a real run finds it with its first write.
        refusal = self._predicted_refusal(request) if check_mode and reachable else None
        barrier = WriteBarrier()
        if request.state == State.CANCELLED:
            self._plan_and_cancel(request, index, reachable, check_mode, warnings, barrier, refusal)
        else:
            self._plan_and_create(request, index, reachable, check_mode, warnings, barrier, refusal)
            if request.wait and not check_mode and not self._lease.stopped:
                self._progress.waiting_for_actions(request.wait_timeout)
                wait_until_final(self._client, self._clock, reachable, request.wait_timeout, on_read=self._progress.actions_read)
        _warn_of_outcomes(results, warnings)
        file_known = self._file_known(request, results, check_mode, warnings)
        self._progress.finish()
        return EngineResult.from_machine_results(results, warnings, file_known)

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

    def _succeeded_since(self, request: QuarantineRequest) -> Optional[datetime]:
        """Since when a Succeeded action makes a new one unnecessary, or None when none does."""
        if request.state == State.PRESENT and not request.force and request.succeeded_within:
            return self._clock.now() - timedelta(seconds=request.succeeded_within)
        return None

    def _predicted_refusal(self, request: QuarantineRequest) -> Optional[dict[str, Any]]:
        """The error a real run's writes would get when the token's roles claim lacks their permission, else None
        (also when the token does not say what it grants)."""
        granted = self._client.granted_roles()
        permission = WRITE_PERMISSION[request.state]
        if granted is None or permission in granted:
            return None
        return {"code": "Forbidden", "http_status": None, "missing_permission": permission, "message": (
            "not sent (check mode): the access token's roles claim lacks the application permission %s, so a real run "
            "would be refused (HTTP 403 Forbidden); %s" % (permission, permission_hint(permission)))}

    @staticmethod
    def _predict_write(result: MachineResult, outcome: str, action: Optional[Entity], refusal: Optional[dict[str, Any]]) -> None:
        """Check mode, for a machine a real run would write to."""
        if refusal is None:
            result.settle(outcome, action, changed=True)
        else:
            result.fail(dict(refusal), action)

    # -- present ----------------------------------------------------------------------------------------------------

    def _plan_and_create(self, request: QuarantineRequest, index: ExistingActionIndex, results: Sequence[MachineResult],
                         check_mode: bool, warnings: Warnings, barrier: WriteBarrier, refusal: Optional[dict[str, Any]]) -> None:
        to_create = []
        for result in results:
            satisfying = None if request.force else index.satisfying(result.machine_id)
            if satisfying is not None:
                result.settle(Outcome.EXISTING, satisfying)
            elif check_mode:
                self._predict_write(result, Outcome.WOULD_CREATE, None, refusal)
            else:
                to_create.append(result)
        lag = ListLag(self._clock)
        self._in_parallel(lambda result: self._create(request, index, result, warnings, lag, barrier), to_create)

    def _create(self, request: QuarantineRequest, index: ExistingActionIndex, result: MachineResult, warnings: Warnings,
                lag: ListLag, barrier: WriteBarrier) -> None:
        """POST the action, at most twice: a second time only when the first answer was lost and the action
        did not turn up in the list within the grace the run's list lag calls for."""
        # Searched from a little before the write, to allow for the server's clock being behind ours.
        written_since = self._clock.now() - CLOCK_SKEW
        first_loss = None
        reposted = False
        while True:
            try:
                action = barrier.send("machine %s" % result.machine_id, lambda: self._client.stop_and_quarantine_file(
                    cast(str, result.machine_id), request.sha1, request.comment))
                answered = self._client.answer_date()
                if action is None or entity_id(action) is None:
                    # A success whose body is not a machine action: the write went through, but which action it
                    # made is unknown, exactly as when the answer is lost.
                    raise AmbiguousWriteError(
                        "POST machines.StopAndQuarantineFile: the successful answer is not a machine action (no id)")
            except AmbiguousWriteError as loss:
                if first_loss is not None:
                    result.fail(error_entry(
                        loss.code,
                        "the answer was lost twice (%s; then %s): an action may exist, rerun the task to check"
                        % (first_loss.message, loss.message),
                        loss.http_status,
                    ))
                    return
                first_loss = loss
                try:
                    action = self._find_written_action(request.sha1, result.machine_id, written_since, lag)
                except MdeError as error:
                    result.fail(error_entry(
                        loss.code,
                        "%s; looking the action up failed too (%s), so it was not sent again: rerun the task to check"
                        % (loss.message, error),
                        loss.http_status,
                    ))
                    return
                if action is None:
                    # Not in the list after the grace period: the write most likely never happened, so re-post.
                    reposted = True
                    continue
                # Found in the list: its answer's Date is the list's, so only the client's clock can date the write.
                answered = None
            except ApiError as refusal:
                self._interpret_refusal(request, result, refusal, warnings)
                return
            except MdeError as error:
                # No answer, no token (the barrier then stops the writes not yet sent), or a write not sent.
                result.fail(error_dict(error))
                return
            created = action_created(action)
            made_by_this_write = answered is None or created is None or created >= answered - WRITE_HANDLING
            # After a lost answer, an action older than the second write may be the first one's: then only the
            # client's clock, from before the first write, can tell.
            self._accept(index, result, action, request.comment,
                         written_since if answered is None or first_loss is not None else answered - WRITE_HANDLING)
            if result.outcome == Outcome.CREATED and first_loss is None:
                lag.acknowledged(action)
            elif result.outcome == Outcome.CREATED and reposted and made_by_this_write:
                warnings.add(self._written_twice(request.sha1, result.machine_id, written_since, action, lag))
            return

    def _find_written_action(self, sha1: str, machine_id: Optional[str], written_since: datetime, lag: ListLag) -> Optional[Entity]:
        """The action a lost write made, looked for as long as the list's lag calls for, or None."""
        started = self._clock.monotonic()
        delay = LOST_ANSWER_FIRST_DELAY
        while True:
            ours = [action for action in machine_quarantines(self._client, machine_id, written_since) if is_quarantine_of(action, sha1)]
            if ours:
                return ours[0]
            lag.observe(self._client)
            remaining = started + lag.grace() - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, LOST_ANSWER_MAX_DELAY)

    def _written_twice(self, sha1: str, machine_id: Optional[str], written_since: datetime, second: Optional[Entity],
                       lag: ListLag) -> str:
        """The warning for a machine written a second time after a lost answer: whether the list shows both."""
        try:
            others = [entity_id(action) for action in machine_quarantines(self._client, machine_id, written_since)
                      if is_quarantine_of(action, sha1) and id_key(action) != id_key(second)]
        except MdeError:
            others = []
        if others:
            return ("machine %s was written twice: the answer to the first write was lost and its action %s showed "
                    "in the list only after the second write made %s (the list lagged more than %d s); both quarantine "
                    "the same file, so nothing needs undoing, but its action history shows two"
                    % (machine_id, others[0], entity_id(second), lag.grace()))
        return ("machine %s may have been written twice: the answer to the first write was lost and no action showed "
                "in the list within %d s, so it was sent again (%s); a first action would show later (both quarantine "
                "the same file): list them with mde.response.machine_action_info and machine_ids: ['%s']"
                % (machine_id, lag.grace(), entity_id(second), machine_id))

    @staticmethod
    def _accept(index: ExistingActionIndex, result: MachineResult, action: Entity, comment: str,
                written_since: Optional[datetime]) -> None:
        # A duplicate POST may answer 201 with the action that was already pending: one the pre-check saw, or one
        # the lagging list hid from it, which gives itself away by its creation time (before this write, by the
        # server's clock when the answer has a Date) or by a comment that is not this run's.
        created = action_created(action)
        if (index.knows(action) or (created is not None and created < written_since)
                or action.get("requestorComment") not in (None, comment)):
            result.settle(Outcome.EXISTING, action)
        else:
            result.settle(Outcome.CREATED, action, changed=True)

    def _interpret_refusal(self, request: QuarantineRequest, result: MachineResult, refusal: ApiError, warnings: Warnings) -> None:
        if refusal.code == _DUPLICATE_CODE or _DUPLICATE_MESSAGE in refusal.message.lower():
            self._adopt_in_flight(request, result, refusal, warnings)
        elif refusal.http_status in (400, 404) and says_file_not_on_machine(refusal.message):
            # The HTTP status of this answer is undocumented; its message is what tells it from an unknown machine.
            result.settle(Outcome.NOT_PRESENT)
        elif refusal.code in UNSUPPORTED_CODES:
            # A machine whose entity did not tell (an unknown platform, or one not listed): the API did.
            result.refuse_unsupported(unsupported_details(refusal.code, result.machine, refusal.message))
        else:
            result.fail(error_dict(refusal))

    def _adopt_in_flight(self, request: QuarantineRequest, result: MachineResult, refusal: ApiError, warnings: Warnings) -> None:
        """The API says an action is already in progress: report the one it means."""
        try:
            in_flight = [action for action in machine_quarantines(self._client, result.machine_id) if is_in_flight(action)]
        except MdeError as error:
            warnings.add("machine %s: the API reports an action in progress, but reading it failed: %s" % (result.machine_id, error))
            result.settle(Outcome.EXISTING)
            return
        for_this_file = [action for action in in_flight if is_quarantine_of(action, request.sha1)]
        if for_this_file:
            result.settle(Outcome.EXISTING, for_this_file[0])
        elif in_flight:
            other = in_flight[0]
            result.fail(error_entry(
                refusal.code or _DUPLICATE_CODE,
                "%s: action %s for another file (%s) is still %s on this machine; rerun when it has finished"
                % (error_dict(refusal)["message"], entity_id(other), related_file(other), action_status(other)),
                refusal.http_status,
            ))
        else:
            warnings.add("machine %s: the API reports an action in progress that the action list does not show yet" % result.machine_id)
            result.settle(Outcome.EXISTING)

    # -- cancelled --------------------------------------------------------------------------------------------------

    def _plan_and_cancel(self, request: QuarantineRequest, index: ExistingActionIndex, results: Sequence[MachineResult],
                         check_mode: bool, warnings: Warnings, barrier: WriteBarrier, refusal: Optional[dict[str, Any]]) -> None:
        to_cancel = []
        for result in results:
            in_flight, succeeded, code = index.in_flight(result.machine_id), index.succeeded(result.machine_id), unsupported_code(result.machine)
            if not in_flight and succeeded is not None:
                result.settle(Outcome.QUARANTINED, succeeded)
            elif not in_flight and code is not None:
                result.refuse_unsupported(unsupported_details(code, result.machine))
            elif not in_flight:
                result.settle(Outcome.NOT_PRESENT)
            elif check_mode:
                self._predict_write(result, Outcome.WOULD_CANCEL, in_flight[0], refusal)
            else:
                to_cancel.append((result, in_flight))
        canceller = ActionCanceller(self._client, self._clock, request.comment, warnings, barrier)
        self._in_parallel(lambda item: canceller.cancel_on_machine(*item), to_cancel)

    def _in_parallel(self, work: Callable[[Any], None], items: Sequence[Any]) -> None:
        self._progress.writing()
        if not items:
            return

        def work_and_report(item: Any) -> None:
            work(item)
            self._progress.machine_done()

        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(items))) as pool:
            # list() surfaces an unexpected exception instead of losing it in a future.
            list(pool.map(work_and_report, items))


def _warn_of_outcomes(results: list, warnings: Warnings) -> None:
    """One warning per outcome that asks the user to act elsewhere: machines that cannot run the action, and files a
    release leaves quarantined."""
    entries = [result.as_dict() for result in results]
    unsupported = [entry for entry in entries if entry["outcome"] == Outcome.UNSUPPORTED]
    if unsupported:
        warnings.add("%d machine(s) cannot run StopAndQuarantineFile and got no action: %s. %s; %s (see actions[].unsupported)" % (
            len(unsupported), named_machines(unsupported, lambda entry: entry["unsupported"]["code"]), SUPPORT_RULE, INDICATOR_ADVICE))
    quarantined = [entry for entry in entries if entry["outcome"] == Outcome.QUARANTINED]
    if quarantined:
        warnings.add(quarantined_warning(named_machines(quarantined, lambda entry: "action %s" % entry["action_id"]), len(quarantined)))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MachineActionEngine: carry out one kind of machine action on many machines without ever firing a duplicate.

A run resolves its targets, checks the blast radius, sets aside protected and unsupported machines, reads the
existing actions that bear on the request for the whole target set with a few list calls, lets the kind decide per
machine, and only then writes. Reads made while planning raise: without them no decision is safe. Everything after
that is reported per machine, so one machine's failure never hides what happened on the others.

How each machine's outcome is decided (``error`` is set exactly when the outcome is ``failed``):

- ``protected``: the machine matches the task's protection list (protection.py): nothing is sent to it. A machine
  Defender does not list cannot be checked, so with a protection list it fails unsent (MachineNotFound).
- ``unsupported``: the machine cannot run the action, decided from its Machine entity before anything is sent
  (machine_support.py), or refused by the API with OsPlatformNotSupported / ClientVersionNotSupported.
- what the kind decided from the machine's history (``existing`` for an action that already does it, say).
- ``existing``: the POST answered 201 with an action the pre-check knew, or 400 ActiveRequestAlreadyExists /
  "already in progress" and an action of this request is in flight (looked up by machine and type).
- ``created``: the POST answered 201 with a new action; or its answer was lost and the action turned up in the list
  afterwards (looked for during a grace period, since the list lags, before the one permitted re-POST).
- ``would_create``: check mode, where a real run would write (unless the token's roles claim lacks the write
  permission: then ``failed``, as a real run would be refused).
- ``queued``: with ``wait``, the action is still Pending at ``wait_timeout`` on a machine Defender reports offline.
- ``failed``: any other refusal (with the API's code, message and status), a transport error, a name that matches no
  machine, an answer lost twice (AmbiguousWrite), an action in flight that the request would cross
  (CrossingActionInFlight, unless ``wait`` waited it out), and with ``wait`` an action that ended Failed, TimeOut or
  Cancelled or is still in flight at ``wait_timeout`` on a machine that is not offline (WaitTimeout). After a write
  refused for a missing permission, or when no access token can be had any more, no further write is sent
  (write_barrier.py); after the run's lease lapsed (run_lease.py) none either.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, Sequence, cast

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import (
    EngineResult,
    MachineResult,
    Outcome,
    Warnings,
    error_dict,
    named_machines,
)
from ansible_collections.mde.response.plugins.module_utils._actions.action_wait import wait_until_final
from ansible_collections.mde.response.plugins.module_utils._actions.action_writer import ActionWriter
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import ExistingActionIndex, machine_actions_of
from ansible_collections.mde.response.plugins.module_utils._actions.kind import BLOCKED, SETTLE, ActionKind, Decision, Targets
from ansible_collections.mde.response.plugins.module_utils._actions.list_lag import ListLag
from ansible_collections.mde.response.plugins.module_utils._actions.machine_targets import resolve_targets
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier
from ansible_collections.mde.response.plugins.module_utils._model.blast_radius import check_blast_radius
from ansible_collections.mde.response.plugins.module_utils._model.entities import action_status, entity_id, is_in_flight
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import unsupported_code, unsupported_details
from ansible_collections.mde.response.plugins.module_utils.errors import MdeError, error_entry, permission_hint

DEFAULT_MAX_WORKERS = 8
# While waiting for a crossing action to be final, it is read again after 2 s, then ever less often, up to every 30 s.
CROSSING_FIRST_DELAY = 2.0
CROSSING_MAX_DELAY = 30.0
CROSSING_CODE = "CrossingActionInFlight"


class MachineActionEngine:
    """Plans, writes and waits for the actions an ActionKind describes, through a DefenderClient.

    One engine can carry out several requests; everything one request's workers share is passed to them.
    """

    def __init__(self, client: DefenderClient, clock: Clock, max_workers: int = DEFAULT_MAX_WORKERS,
                 progress: Optional[RunProgress] = None, lease: Optional[RunLease] = None) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._clock = clock
        self._max_workers = max_workers
        self._writer = ActionWriter(client, clock)
        # Without a file to keep it in, the progress is counted and kept nowhere.
        self.progress = progress or RunProgress(None, clock)
        # A run whose lease lapsed sends no write (the client's write gate refuses them) and waits for nothing.
        self.lease = lease or RunLease(None)

    def run(self, kind: ActionKind, targets: Targets, check_mode: bool = False,
            then: Optional[Callable[[EngineResult], EngineResult]] = None) -> EngineResult:
        """Carry out ``kind`` on ``targets`` (in check mode: read only and predict); returns an EngineResult.

        ``then`` is the run's last step on that result (downloading what the actions made), before the progress says
        the run is done."""
        warnings = Warnings()
        results = self.execute(kind, targets, check_mode, warnings)
        result = EngineResult.from_machine_results(results, warnings, outcomes=kind.outcomes, finish=kind.finish)
        if then is not None:
            result = then(result)
        self.progress.finish()
        return result

    def execute(self, kind: ActionKind, targets: Targets, check_mode: bool, warnings: Warnings) -> list[MachineResult]:
        """The steps of ``run`` up to the last machine's result, for a caller that adds to the results."""
        results = self.plan(kind, targets, warnings)
        reachable = [result for result in results if result.outcome is None]
        index = ExistingActionIndex(kind.matches)
        if reachable:
            index.read(self._client, [cast(str, result.machine_id) for result in reachable], kind.read_types,
                       kind.status_clauses(self._clock.now()))
        # In check mode, the refusal a real run's writes would get; a real run finds it with its first write.
        refusal = self.predicted_refusal(kind.spec.permission) if check_mode and reachable else None
        barrier = WriteBarrier()
        to_write, blocked = [], []
        for result in reachable:
            decision = kind.decide(result.machine, index.history(cast(str, result.machine_id)))
            self._apply(result, decision, warnings)
            if decision.step == SETTLE:
                continue
            if decision.step == BLOCKED and not (kind.wait and not check_mode):
                result.fail(dict(cast(dict, decision.error)), decision.action)
            elif decision.step == BLOCKED:
                blocked.append((result, decision))
            elif check_mode:
                self.predict_write(result, Outcome.WOULD_CREATE, None, refusal)
            else:
                to_write.append(result)
        lag = ListLag(self._clock)
        self.in_parallel(lambda result: self._writer.create(kind, index, result, warnings, lag, barrier), to_write)
        self.in_parallel(lambda item: self._after_crossing(kind, item[0], item[1], warnings, lag, barrier), blocked)
        if kind.wait and not check_mode and not self.lease.stopped:
            self.progress.waiting_for_actions(kind.wait_timeout)
            wait_until_final(self._client, self._clock, reachable, kind.wait_timeout, kind.spec.type,
                             on_read=self.progress.actions_read)
        warn_of_outcomes(kind, results, warnings)
        return results

    def plan(self, kind: ActionKind, targets: Targets, warnings: Warnings) -> list[MachineResult]:
        """The targets' results, with the machines that get nothing (protected, unsupported, unknown) settled."""
        results = self.resolve(targets, warnings)
        for result in results:
            if result.outcome is not None:
                continue
            if targets.protection.active and result.machine is None:
                result.fail(error_entry("MachineNotFound", (
                    "Defender lists no machine %s, so whether the protection list covers it cannot be checked and "
                    "nothing was sent: check the id (mde.response.machine_info lists the machines)" % result.machine_id)))
                continue
            reason = targets.protection.reason(result.machine) if targets.protection.active else None
            if reason is not None:
                result.protect(reason)
                continue
            code = unsupported_code(result.machine, kind.support)
            if code is not None:
                result.refuse_unsupported(unsupported_details(code, result.machine, rule=kind.support))
        return results

    def resolve(self, targets: Targets, warnings: Warnings) -> list[MachineResult]:
        """One result per target machine, once their number is known to be within max_machines."""
        results = resolve_targets(self._client, targets, warnings)
        if targets.max_machines is not None:
            check_blast_radius(sum(result.machine_id is not None for result in results), targets.max_machines,
                               "the task targets")
        self.progress.track(results)
        return results

    def predicted_refusal(self, permission: str) -> Optional[dict[str, Any]]:
        """The error a real run's writes would get when the token's roles claim lacks their permission, else None
        (also when the token does not say what it grants)."""
        granted = self._client.granted_roles()
        if granted is None or permission in granted:
            return None
        return {"code": "Forbidden", "http_status": None, "missing_permission": permission, "message": (
            "not sent (check mode): the access token's roles claim lacks the application permission %s, so a real run "
            "would be refused (HTTP 403 Forbidden); %s" % (permission, permission_hint(permission)))}

    @staticmethod
    def predict_write(result: MachineResult, outcome: str, action: Optional[Entity], refusal: Optional[dict[str, Any]]) -> None:
        """Check mode, for a machine a real run would write to."""
        if refusal is None:
            result.settle(outcome, action, changed=True)
        else:
            result.fail(dict(refusal), action)

    def in_parallel(self, work: Callable[[Any], None], items: Sequence[Any]) -> None:
        self.progress.writing()
        if not items:
            return

        def work_and_report(item: Any) -> None:
            work(item)
            self.progress.machine_done()

        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(items))) as pool:
            # list() surfaces an unexpected exception instead of losing it in a future.
            list(pool.map(work_and_report, items))

    @staticmethod
    def _apply(result: MachineResult, decision: Decision, warnings: Warnings) -> None:
        result.details.update(decision.details)
        if decision.warning is not None:
            warnings.add(decision.warning)
        if decision.step == SETTLE:
            result.settle(cast(str, decision.outcome), decision.action, decision.error)

    # -- an action in flight that the request would cross -------------------------------------------------------------

    def _after_crossing(self, kind: ActionKind, result: MachineResult, decision: Decision, warnings: Warnings,
                        lag: ListLag, barrier: WriteBarrier) -> None:
        """Wait for the crossing action to be final, then decide again from the machine's history as it is now."""
        crossing = cast(Entity, decision.action)
        deadline = self._clock.monotonic() + kind.wait_timeout
        delay = CROSSING_FIRST_DELAY
        while is_in_flight(crossing):
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0 or self.lease.stopped:
                error = dict(cast(dict, decision.error))
                error["message"] = "%s; still %s after waiting %d s" % (error["message"], action_status(crossing), kind.wait_timeout)
                result.fail(error, crossing)
                return
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, CROSSING_MAX_DELAY)
            try:
                crossing = self._client.get_machine_action(cast(str, entity_id(crossing))) or crossing
            except MdeError as error:
                result.fail(error_dict(error), crossing)
                return
        try:
            history = [action for action in machine_actions_of(self._client, cast(str, result.machine_id), kind.read_types)
                       if kind.matches(action)]
        except MdeError as error:
            result.fail(error_dict(error), crossing)
            return
        index = ExistingActionIndex(kind.matches)
        index.add(history)
        again = kind.decide(result.machine, index.history(cast(str, result.machine_id)))
        self._apply(result, again, warnings)
        if again.step == BLOCKED:
            result.fail(dict(cast(dict, again.error)), again.action)
        elif again.step != SETTLE:
            self._writer.create(kind, index, result, warnings, lag, barrier)


def crossing_error(action: Entity, asked: str, wait_advice: str = "rerun with wait: true to wait for it") -> dict[str, Any]:
    """The error of a machine whose request would cross ``action``, which is still in flight."""
    return error_entry(CROSSING_CODE, (
        "action %s (%s) is still %s on this machine, and sending %s across it could complete out of order and leave the "
        "machine as it was: nothing was sent; %s, or rerun once it has finished"
        % (entity_id(action), action.get("type"), action_status(action), asked, wait_advice)))


def warn_of_outcomes(kind: ActionKind, results: list[MachineResult], warnings: Warnings) -> None:
    """One warning per outcome that asks the user to act elsewhere: machines that cannot run the action, and machines
    the protection list kept out."""
    entries = [result.as_dict() for result in results]
    unsupported = [entry for entry in entries if entry["outcome"] == Outcome.UNSUPPORTED]
    if unsupported:
        warnings.add("%d machine(s) cannot run %s and got no action: %s. %s; %s (see actions[].unsupported)" % (
            len(unsupported), kind.spec.type, named_machines(unsupported, lambda entry: entry["unsupported"]["code"]),
            kind.support.rule, kind.support.advice))
    protected = [entry for entry in entries if entry["outcome"] == Outcome.PROTECTED]
    if protected:
        warnings.add("%d machine(s) are on the protection list and got no %s: %s; to act on one, take it out of protect "
                     "(see actions[].protected)" % (len(protected), kind.spec.type,
                                                    named_machines(protected, lambda entry: entry["protected"]["reason"])))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ActionWriter: one machine's write, sent so that it never makes a duplicate action, and its answer read truthfully.

The POST is sent at most twice: a second time only when the first answer was lost and the action did not turn up in
the list within the grace the run's list lag calls for (list_lag.py). A 201 carrying an action that existed before the
write is ``existing``; a 400 "already in progress" is looked up among the machine's actions in flight, and an action
of this request there is ``existing`` while one that blocks it fails the machine as the kind decides. Other refusals
are the kind's outcome, ``unsupported``, or a failure with the API's code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, cast

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import MachineResult, Outcome, Warnings, error_dict
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import ExistingActionIndex, machine_actions_of
from ansible_collections.mde.response.plugins.module_utils._actions.kind import BLOCKED, ActionKind
from ansible_collections.mde.response.plugins.module_utils._actions.list_lag import ListLag
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier
from ansible_collections.mde.response.plugins.module_utils._model.entities import action_created, action_status, entity_id, id_key, is_in_flight
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import UNSUPPORTED_CODES, unsupported_details
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, MdeError, error_entry

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
DUPLICATE_CODE = "ActiveRequestAlreadyExists"
_DUPLICATE_MESSAGE = "already in progress"


class ActionWriter:
    """Writes the run's actions through ``client``; shared by its worker threads (it keeps no state of its own)."""

    def __init__(self, client: DefenderClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    def create(self, kind: ActionKind, index: ExistingActionIndex, result: MachineResult, warnings: Warnings,
               lag: ListLag, barrier: WriteBarrier) -> None:
        """POST the action, at most twice: a second time only when the first answer was lost and the action
        did not turn up in the list within the grace the run's list lag calls for."""
        # Searched from a little before the write, to allow for the server's clock being behind ours.
        written_since = self._clock.now() - CLOCK_SKEW
        machine_id = cast(str, result.machine_id)
        first_loss = None
        reposted = False
        while True:
            try:
                action = barrier.send("machine %s" % machine_id, lambda: self._client.post_machine_action(
                    kind.spec, machine_id, kind.body()))
                answered = self._client.answer_date()
                if action is None or entity_id(action) is None:
                    # A success whose body is not a machine action: the write went through, but which action it
                    # made is unknown, exactly as when the answer is lost.
                    raise AmbiguousWriteError(
                        "POST machines.%s: the successful answer is not a machine action (no id)" % kind.spec.endpoint)
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
                    action = self._find_written_action(kind, machine_id, written_since, lag)
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
                self._interpret_refusal(kind, result, refusal, warnings)
                return
            except MdeError as error:
                # No answer, no token (the barrier then stops the writes not yet sent), or a write not sent.
                result.fail(error_dict(error))
                return
            created = action_created(action)
            made_by_this_write = answered is None or created is None or created >= answered - WRITE_HANDLING
            # After a lost answer, an action older than the second write may be the first one's: then only the
            # client's clock, from before the first write, can tell.
            self._accept(index, result, action, kind.comment,
                         written_since if answered is None or first_loss is not None else answered - WRITE_HANDLING)
            if result.outcome == Outcome.CREATED and first_loss is None:
                lag.acknowledged(action)
            elif result.outcome == Outcome.CREATED and reposted and made_by_this_write:
                warnings.add(self._written_twice(kind, machine_id, written_since, action, lag))
            return

    def _find_written_action(self, kind: ActionKind, machine_id: str, written_since: datetime, lag: ListLag) -> Optional[Entity]:
        """The action a lost write made, looked for as long as the list's lag calls for, or None."""
        started = self._clock.monotonic()
        delay = LOST_ANSWER_FIRST_DELAY
        while True:
            ours = [action for action in machine_actions_of(self._client, machine_id, (kind.spec.type,), written_since)
                    if kind.made_by_request(action)]
            if ours:
                return ours[0]
            lag.observe(self._client)
            remaining = started + lag.grace() - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, LOST_ANSWER_MAX_DELAY)

    def _written_twice(self, kind: ActionKind, machine_id: str, written_since: datetime, second: Optional[Entity],
                       lag: ListLag) -> str:
        """The warning for a machine written a second time after a lost answer: whether the list shows both."""
        try:
            others = [entity_id(action) for action in machine_actions_of(self._client, machine_id, (kind.spec.type,), written_since)
                      if kind.made_by_request(action) and id_key(action) != id_key(second)]
        except MdeError:
            others = []
        if others:
            return ("machine %s was written twice: the answer to the first write was lost and its action %s showed "
                    "in the list only after the second write made %s (the list lagged more than %d s); both %s, so "
                    "nothing needs undoing, but its action history shows two"
                    % (machine_id, others[0], entity_id(second), lag.grace(), kind.same_request))
        return ("machine %s may have been written twice: the answer to the first write was lost and no action showed "
                "in the list within %d s, so it was sent again (%s); a first action would show later (both %s): list "
                "them with mde.response.machine_action_info and machine_ids: ['%s']"
                % (machine_id, lag.grace(), entity_id(second), kind.same_request, machine_id))

    @staticmethod
    def _accept(index: ExistingActionIndex, result: MachineResult, action: Entity, comment: str,
                written_since: Optional[datetime]) -> None:
        # A duplicate POST may answer 201 with the action that was already pending: one the pre-check saw, or one
        # the lagging list hid from it, which gives itself away by its creation time (before this write, by the
        # server's clock when the answer has a Date) or by a comment that is not this run's.
        created = action_created(action)
        if (index.knows(action) or (created is not None and written_since is not None and created < written_since)
                or action.get("requestorComment") not in (None, comment)):
            result.settle(Outcome.EXISTING, action)
        else:
            result.settle(Outcome.CREATED, action, changed=True)

    def _interpret_refusal(self, kind: ActionKind, result: MachineResult, refusal: ApiError, warnings: Warnings) -> None:
        outcome = kind.refused(refusal)
        if refusal.code == DUPLICATE_CODE or _DUPLICATE_MESSAGE in refusal.message.lower():
            self._adopt_in_flight(kind, result, refusal, warnings)
        elif outcome is not None:
            result.settle(outcome)
        elif refusal.code in UNSUPPORTED_CODES:
            # A machine whose entity did not tell (an unknown platform, or one not listed): the API did.
            result.refuse_unsupported(unsupported_details(refusal.code, result.machine, refusal.message, kind.support))
        else:
            result.fail(error_dict(refusal))

    def _adopt_in_flight(self, kind: ActionKind, result: MachineResult, refusal: ApiError, warnings: Warnings) -> None:
        """The API says an action is already in progress: report the one it means. Every type the kind reads is looked
        at, so that an opposite action the pre-check's lagging list hid fails the machine as the crossing it is."""
        machine_id = cast(str, result.machine_id)
        try:
            in_flight = [action for action in machine_actions_of(self._client, machine_id, kind.read_types) if is_in_flight(action)]
        except MdeError as error:
            warnings.add("machine %s: the API reports an action in progress, but reading it failed: %s" % (machine_id, error))
            result.settle(Outcome.EXISTING)
            return
        ours = [action for action in in_flight if kind.made_by_request(action)]
        bearing = [action for action in in_flight if kind.matches(action)]
        blocking = kind.decide(result.machine, bearing) if bearing and not ours else None
        if ours:
            result.settle(Outcome.EXISTING, ours[0])
        elif blocking is not None and blocking.step == BLOCKED:
            result.fail(dict(cast(dict, blocking.error)), blocking.action)
        elif in_flight:
            other = in_flight[0]
            result.fail(error_entry(
                refusal.code or DUPLICATE_CODE,
                "%s: action %s %s is still %s on this machine; rerun when it has finished"
                % (error_dict(refusal)["message"], entity_id(other), kind.describe(other), action_status(other)),
                refusal.http_status,
            ))
        else:
            warnings.add("machine %s: the API reports an action in progress that the action list does not show yet" % machine_id)
            result.settle(Outcome.EXISTING)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ContainmentKind: isolating or releasing, restricting or unrestricting a machine, as a desired state.

What each machine needs is decided from its actions of both opposite types (containment.py reads the state):

- An action in flight of the opposite type (an Isolate while a release is asked) would be crossed by sending now, and
  crossed actions can complete out of order (#5903); so would one of the same type with another isolation type, which
  the API may take as the request's duplicate. Either blocks the machine: with ``wait`` the engine waits for it and
  decides again, without it the machine fails with CrossingActionInFlight, naming the action. Nothing is ever sent
  across it.
- An action in flight of the asked type (and isolation type) is already on its way: ``existing``.
- Otherwise the state decides: already as asked is ``existing`` (the action that made it so is the result's action);
  else the asked action is sent. An isolated machine asked for another isolation type stays as it is (``existing``,
  with a warning) unless ``change_isolation_type`` asks for a new Isolate of the asked type.

Every result carries ``state_before`` and ``state_after`` (and for isolation ``isolation_type_before`` /
``isolation_type_after``): ``state_after`` is the state once the run's actions complete as asked. ``created``,
``existing``, ``would_create`` and ``queued`` reach the asked state (an existing action in flight: the state it
brings); every other outcome, including with ``wait`` an action that ended Failed, Cancelled or TimeOut, leaves the
machine in ``state_before``. A machine the run did not read the history of (protected, unsupported for its platform
or version, not found) has null for both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._actions.engine import crossing_error
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Decision
from ansible_collections.mde.response.plugins.module_utils._client.api import Entity
from ansible_collections.mde.response.plugins.module_utils._containment.containment import (
    RELEASE_SUPPORT,
    Containment,
    MachineState,
    current_state,
    onboarding_refusal,
    scope_of,
)
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    IN_FLIGHT_STATUSES,
    SUCCEEDED,
    entity_id,
    is_in_flight,
    value_of,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import BUSY, CROSSES, SERVES, relation
from ansible_collections.mde.response.plugins.module_utils._model.odata import equals
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

OUTCOMES = Outcome.COMMON + (Outcome.PROTECTED,)
# The outcomes after which the machine is (or, once its action has run, will be) in the asked state.
REACHED = (Outcome.CREATED, Outcome.EXISTING, Outcome.WOULD_CREATE, Outcome.QUEUED)


class ContainmentKind:
    """One containment request (``state`` of ``containment``) for the machine-action engine."""

    def __init__(self, containment: Containment, state: str, comment: str, wait: bool, wait_timeout: int,
                 isolation_type: Optional[str] = None, change_isolation_type: bool = False) -> None:
        self.containment = containment
        self.state = state
        self.spec = containment.spec_for(state)
        # Only a containing action has a scope: a release undoes whichever the machine has.
        self.scope = isolation_type if self.spec.scope_parameter else None
        self._releasing = self.spec is containment.release
        self.support = RELEASE_SUPPORT if self._releasing else containment.support[self.scope]
        self.same_request = "%s the machine" % ("release" if self._releasing else "contain")
        self.change_isolation_type = change_isolation_type
        self.read_types: tuple[str, ...] = containment.types
        self.outcomes: tuple[str, ...] = OUTCOMES
        self.comment = comment
        self.wait = wait
        self.wait_timeout = wait_timeout

    @property
    def _isolation(self) -> bool:
        return self.containment.contain.scope_parameter is not None

    def status_clauses(self, now: datetime) -> list[str]:
        # Every Succeeded action however old: the one that completed last says what the machine is.
        return [equals("status", status) for status in IN_FLIGHT_STATUSES + (SUCCEEDED,)]

    def matches(self, action: Entity) -> bool:
        return value_of(action, "type") in self.read_types

    def decide(self, machine: Optional[Entity], history: list[Entity]) -> Decision:
        before = current_state(self.containment, history)
        details = self._details(before)
        refusal = None if self._releasing else onboarding_refusal(self.containment, machine, self.scope)
        if refusal is not None:
            return Decision.settle(Outcome.UNSUPPORTED, unsupported=refusal, **details)
        in_flight = [action for action in history if is_in_flight(action)]
        # An Isolate listed without a scope is read as the API takes it (Full), as the state is.
        relations = [(relation(self.spec, dict(action, scope=scope_of(action, self.containment.contain)), self.scope), action)
                     for action in in_flight]
        blocking = [action for bearing, action in relations if bearing in (CROSSES, BUSY)]
        if blocking:
            return Decision.blocked(blocking[0], crossing_error(blocking[0], self._asked()), **details)
        serving = [action for bearing, action in relations if bearing == SERVES]
        if serving:
            return Decision.settle(Outcome.EXISTING, serving[0], **details)
        if before.state != self.state:
            return Decision.write(**details)
        if not self._isolation or self.state != self.containment.contained or before.scope == self.scope:
            return Decision.settle(Outcome.EXISTING, before.action, **details)
        if self.change_isolation_type:
            return Decision.write(**details)
        return Decision.settle(Outcome.EXISTING, before.action, warning=self._kept_type_warning(machine, before), **details)

    def body(self) -> dict[str, str]:
        return self.spec.body(self.comment, self.scope)

    def made_by_request(self, action: Entity) -> bool:
        return value_of(action, "type") == self.spec.type and (
            self.spec.scope_parameter is None or scope_of(action, self.spec) in self.spec.scopes_serving(self.scope))

    def describe(self, action: Entity) -> str:
        action_type = value_of(action, "type") or "an action"
        if action_type == self.containment.contain.type and self._isolation:
            return "(%s %s)" % (action_type, scope_of(action, self.containment.contain))
        return "(%s)" % action_type

    def refused(self, refusal: ApiError) -> Optional[str]:
        return None

    def finish(self, entry: dict[str, Any]) -> None:
        for name, value in self._details(None).items():
            entry.setdefault(name, value)
        action = entry.get("action")
        if entry.get("outcome") in (Outcome.CREATED, Outcome.EXISTING) and isinstance(action, dict) and action.get("type") == self.spec.opposite:
            # The API answered with the opposite action (a crossed request returning the pending one, when the
            # lagging list hid it from the pre-check): the request was not carried out, and that action decides.
            entry["outcome"] = Outcome.FAILED
            entry["error"] = crossing_error(action, self._asked())
        if entry.get("outcome") not in REACHED:
            entry["state_after"] = entry["state_before"]
            if self._isolation:
                entry["isolation_type_after"] = entry["isolation_type_before"]
            return
        entry["state_after"] = self.state
        if self._isolation:
            # The action the machine ends up isolated by: this run's, one in flight, or (a kept isolation type) the
            # Succeeded one its state was read from; none yet in check mode.
            contained = self.state == self.containment.contained
            entry["isolation_type_after"] = (scope_of(action, self.spec) if action else self.scope) if contained else None

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _details(self, before: Optional[MachineState]) -> dict[str, Any]:
        details: dict[str, Any] = {"state_before": before.state if before else None}
        if self._isolation:
            details["isolation_type_before"] = before.scope if before else None
        return details

    def _asked(self) -> str:
        return "%s (%s)" % (self.spec.type, self.scope) if self.scope else self.spec.type

    def _kept_type_warning(self, machine: Optional[Entity], before: MachineState) -> str:
        name = value_of(machine, "computerDnsName") or value_of(machine, "id")
        return ("machine %s stays isolated as %s (action %s): isolation_type %s was asked, and changing the isolation type "
                "of an isolated machine is explicit; set change_isolation_type: true to isolate it again as %s"
                % (name, before.scope, entity_id(before.action), self.scope, self.scope))

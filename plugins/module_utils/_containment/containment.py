# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A machine's containment (isolation, app restriction) as Defender's action history tells it.

No field of the Machine entity says whether a machine is isolated or restricted (docs issue #8033), so the state is
read from the machine's actions of the two opposite types (Isolate and Unisolate, RestrictCodeExecution and
UnrestrictCodeExecution):

- Only Succeeded actions change the state. Failed, TimeOut and Cancelled ones left the machine as it was, and
  actions in flight have not done anything yet.
- Of the Succeeded ones, the one that completed last decides: the newest by ``lastUpdateDateTimeUtc`` (the moment it
  reached Succeeded), or by ``creationDateTimeUtc`` when it has none. Completion, not creation, because crossed
  actions can complete out of order (#5903): the one that completed last is what the machine is.
- No Succeeded action of either type: the machine was never contained, so it is released (unrestricted).
- An Isolate's isolation type is its ``scope``; one without a scope was sent without IsolationType, which the API
  takes as Full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._client.api import Entity
from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    EPOCH,
    SUCCEEDED,
    action_created,
    action_last_update,
    action_status,
    is_onboarded,
    parse_timestamp,
    value_of,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import (
    ACTIONS,
    ISOLATE,
    RESTRICT,
    UNISOLATE,
    UNRESTRICT,
    ActionSpec,
)
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import (
    MINIMUM_WINDOWS10_BUILD,
    MINIMUM_WINDOWS10_VERSION,
    NO_ACTION_PLATFORMS,
    WINDOWS10_1709,
    SupportRule,
    action_support,
)

FULL = "Full"
SELECTIVE = "Selective"
UNMANAGED = "UnManagedDevice"
ISOLATION_TYPES = (FULL, SELECTIVE, UNMANAGED)
# Selective isolation and app restriction are Windows features (isolate-machine.md, restrict-code-execution.md):
# no Linux or macOS sensor carries them out.
WINDOWS_ONLY = NO_ACTION_PLATFORMS | frozenset(("Linux", "macOS"))


@dataclass(frozen=True)
class Containment:
    """One way of containing a machine: the action that contains it, the one that releases it, the states' names."""

    name: str                     # in messages: "isolation"
    contain: ActionSpec
    release: ActionSpec
    contained: str                # the state a Succeeded ``contain`` action leaves: "isolated"
    released: str                 # the state otherwise: "released"
    # Where the containing action runs, per scope (None for an action without one).
    support: Mapping[Optional[str], SupportRule]

    @property
    def states(self) -> tuple[str, str]:
        return (self.contained, self.released)

    @property
    def types(self) -> tuple[str, str]:
        return (self.contain.type, self.release.type)

    def spec_for(self, state: str) -> ActionSpec:
        """The action that brings a machine into ``state``."""
        return self.contain if state == self.contained else self.release

    def state_after(self, action_type: str) -> str:
        return self.contained if action_type == self.contain.type else self.released


# The codes of a machine whose onboarding status does not fit the action (the API's own answer is a plain BadRequest).
NOT_ONBOARDED_CODE = "DeviceNotOnboarded"
ONBOARDED_CODE = "DeviceOnboarded"
_UNMANAGED_ADVICE = "contain it with isolation_type UnManagedDevice if it is an unmanaged device seen on the network"

ISOLATION = Containment(
    "isolation", ACTIONS[ISOLATE], ACTIONS[UNISOLATE], "isolated", "released",
    {
        FULL: action_support("Full isolation", (MINIMUM_WINDOWS10_VERSION, MINIMUM_WINDOWS10_BUILD),
                             "runs on Windows 10 version 1703 or later, Windows 11 and Linux",
                             "isolate the machine by other means, or with isolation_type UnManagedDevice if it is not onboarded"),
        SELECTIVE: SupportRule(WINDOWS_ONLY, WINDOWS10_1709, "Selective isolation runs on Windows 10 version 1709 or later and Windows 11",
                               "isolate it with isolation_type Full instead"),
        # The onboarding status decides alone (onboarding_refusal).
        UNMANAGED: SupportRule(frozenset(), (0, 0), "Isolation type UnManagedDevice contains devices Defender has seen that are "
                               "not onboarded", "isolate onboarded machines with isolation_type Full or Selective"),
    },
)
RESTRICTION = Containment(
    "app restriction", ACTIONS[RESTRICT], ACTIONS[UNRESTRICT], "restricted", "unrestricted",
    {None: SupportRule(WINDOWS_ONLY, WINDOWS10_1709, "App restriction runs on Windows 10 version 1709 or later and Windows 11",
                       "isolate the machine instead (mde.response.machine_isolation)")},
)


# A release undoes what a containing action did, so it runs wherever one could; the API decides the rest.
RELEASE_SUPPORT = SupportRule(frozenset(), (0, 0), "A release runs wherever the machine could be contained",
                              "nothing needs releasing where nothing was contained")


@dataclass(frozen=True)
class MachineState:
    """Where a machine's containment stands before a run writes: its state, its scope, and the action that decided."""

    state: str
    scope: Optional[str] = None          # the isolation type of an isolated machine
    action: Optional[Entity] = None


def completed_at(action: Entity) -> datetime:
    """When a final action reached its status: its last update, else its creation (EPOCH when neither is readable)."""
    return parse_timestamp(action_last_update(action)) or action_created(action) or EPOCH


def scope_of(action: Optional[Entity], spec: ActionSpec) -> Optional[str]:
    """The scope an action of ``spec`` carries out: its own, or what the API assumes when it has none."""
    if spec.scope_parameter is None:
        return None
    scope = value_of(action, "scope")
    return scope if scope in spec.scopes else spec.scopes[0]


def current_state(containment: Containment, history: list[Entity]) -> MachineState:
    """The machine's state from its actions of both types (any order): the Succeeded one that completed last decides."""
    succeeded = [action for action in history
                 if action_status(action) == SUCCEEDED and value_of(action, "type") in containment.types]
    if not succeeded:
        return MachineState(containment.released)
    # max keeps the first of equal completion times; creation breaks a tie, as the later request completed later.
    decisive = max(succeeded, key=lambda action: (completed_at(action), action_created(action) or EPOCH))
    state = containment.state_after(decisive["type"])
    scope = scope_of(decisive, containment.contain) if state == containment.contained else None
    return MachineState(state, scope, decisive)


def onboarding_refusal(containment: Containment, machine: Optional[Entity], scope: Optional[str]) -> Optional[dict[str, Any]]:
    """A result's ``unsupported`` when the machine's onboarding status does not fit the containing action, else None.

    A device Defender has seen but that is not onboarded has no sensor to carry an action out; only the contain
    device action (IsolationType UnManagedDevice) reaches it, whatever its platform. Conversely that action is for
    such devices only (isolate-machine.md): an onboarded machine is isolated with Full or Selective, so it is refused
    here whatever the API would do. A machine the run could not read is left to the API.
    """
    if machine is None or is_onboarded(machine) == (scope != UNMANAGED):
        return None
    if scope == UNMANAGED:
        code, reason = ONBOARDED_CODE, ("isolation type UnManagedDevice contains devices that are not onboarded, and this "
                                        "machine is onboarded, so nothing was sent; isolate it with isolation_type Full or Selective")
    else:
        status = value_of(machine, "onboardingStatus") or value_of(machine, "onboardingstatus")
        code, reason = NOT_ONBOARDED_CODE, ("the machine is not onboarded (onboardingStatus %s), so it has no sensor to carry "
                                            "out %s and nothing was sent; %s" % (status, containment.contain.type, _UNMANAGED_ADVICE))
    return {"code": code, "os_platform": value_of(machine, "osPlatform"), "version": value_of(machine, "version"),
            "os_build": value_of(machine, "osBuild"), "message": reason}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of machine_isolation and app_restriction, validated before any request, and the kind they make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.kind import Connect
from ansible_collections.mde.response.plugins.module_utils._actions.module_result import ModuleResult
from ansible_collections.mde.response.plugins.module_utils._actions.module_run import run_machine_action
from ansible_collections.mde.response.plugins.module_utils._actions.request import ActionRequest
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._containment.containment import FULL, ISOLATION_TYPES, Containment
from ansible_collections.mde.response.plugins.module_utils._containment.kind import ContainmentKind
from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

# Cutting machines off is an outage when the target list is wrong: a task reaches a handful of machines unless
# max_machines says otherwise.
DEFAULT_MAX_MACHINES = 25


@dataclass(frozen=True)
class DesiredState:
    """The state asked of every target machine: ``state``, and for isolation its type and whether to change it."""

    containment: Containment
    state: str
    isolation_type: Optional[str] = None
    change_isolation_type: bool = False

    @classmethod
    def from_options(cls, containment: Containment, options: Mapping[str, Any]) -> "DesiredState":
        state = validation.choice(options.get("state"), "state", containment.states)
        if containment.contain.scope_parameter is None:
            return cls(containment, state)
        isolation_type = options.get("isolation_type")
        change = validation.flag(options, "change_isolation_type", False)
        if state == containment.released:
            given = [name for name, value in (("isolation_type", isolation_type), ("change_isolation_type", change)) if value]
            if given:
                raise InputError("%s applies to state %s only: a release undoes whichever isolation the machine has; "
                                 "leave %s out" % (" and ".join(given), containment.contained, " and ".join(given)))
            return cls(containment, state)
        return cls(containment, state, validation.choice(isolation_type or FULL, "isolation_type", ISOLATION_TYPES), change)

    @property
    def protects(self) -> bool:
        """Whether the protection list applies: it keeps machines from being cut off, never from being released."""
        return self.state == self.containment.contained

    def kind(self, comment: str, wait: bool, wait_timeout: int) -> ContainmentKind:
        return ContainmentKind(self.containment, self.state, comment, wait, wait_timeout, self.isolation_type, self.change_isolation_type)


def run_containment(containment: Containment, options: Mapping[str, Any], connect: Connect, clock: Clock,
                    check_mode: bool) -> ModuleResult:
    """What machine_isolation and app_restriction do with their options: every input checked, then the engine's run."""
    desired = DesiredState.from_options(containment, options)
    request = ActionRequest.from_options(options, DEFAULT_MAX_MACHINES, protects=desired.protects)
    return run_machine_action(request, desired.kind(request.comment, request.wait, request.wait_timeout), connect, clock, check_mode)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QuarantineRequest: what stop_and_quarantine_file was asked to do, validated before any request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._actions import request as shared_options
from ansible_collections.mde.response.plugins.module_utils._actions.request import DEFAULT_WAIT_TIMEOUT
from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils._model.blast_radius import check_blast_radius, max_machines
from ansible_collections.mde.response.plugins.module_utils.errors import InputError


class State:
    """The values of the ``state`` option: what the file's action should be on each machine."""

    PRESENT = "present"
    CANCELLED = "cancelled"
    ALL = (PRESENT, CANCELLED)


@dataclass(frozen=True)
class QuarantineRequest:
    """What the user asked for, validated: build it with ``from_options``."""

    sha1: str
    comment: str
    machine_ids: tuple = ()
    machine_names: tuple = ()
    observed: bool = False
    state: str = State.PRESENT
    force: bool = False
    succeeded_within: int = 86400
    wait: bool = False
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT
    # Whether failed machines fail the task (False) or only show in the results (True).
    allow_partial: bool = False
    # Whether an action queued for an offline machine at the end of the wait counts as a failed machine.
    fail_when_queued: bool = False
    # Quarantining a file cuts no machine off, so there is no cap unless the task sets one.
    max_machines: Optional[int] = None

    @classmethod
    def from_options(cls, options):
        """Validate the module's option values; raises InputError before anything is sent.

        Options this class does not know (the connection options) are ignored.
        """
        state = options.get("state") or State.PRESENT
        if state not in State.ALL:
            raise InputError("state must be %s or %s, got %r" % (State.PRESENT, State.CANCELLED, state))
        request = cls(
            sha1=validation.sha1(options.get("sha1")),
            comment=shared_options.comment(options.get("comment")),
            machine_ids=validation.each(options, "machine_ids", validation.machine_id),
            machine_names=shared_options.machine_names(options),
            observed=validation.flag(options, "observed", False),
            state=state,
            force=validation.flag(options, "force", False),
            succeeded_within=shared_options.succeeded_within(options),
            wait=validation.flag(options, "wait", False),
            wait_timeout=validation.whole_seconds(options.get("wait_timeout"), "wait_timeout", DEFAULT_WAIT_TIMEOUT),
            allow_partial=validation.flag(options, "allow_partial", False),
            fail_when_queued=validation.flag(options, "fail_when_queued", False),
            max_machines=None if options.get("max_machines") is None else max_machines(options["max_machines"], 0),
        )
        if not (request.machine_ids or request.machine_names or request.observed):
            raise InputError("no target: give machine_ids, machine_names, or observed: true")
        if request.max_machines is not None:
            check_blast_radius(len(request.machine_ids) + len(request.machine_names), request.max_machines, "the task names")
        return request

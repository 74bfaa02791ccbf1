# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ActionRequest: the options every machine-action module shares, validated before any request is sent.

The argument spec of those options is built here too (``action_argument_spec``), so that each module's main() takes
them from one place; the doc fragment ``mde.response.machine_action`` documents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.kind import Targets
from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils._model.blast_radius import check_blast_radius, max_machines
from ansible_collections.mde.response.plugins.module_utils._model.protection import PROTECT_OPTION, Protection
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

MAX_COMMENT_LENGTH = 1000
# How recent an earlier Succeeded action must be to make a new one unnecessary, for the modules that take it.
DEFAULT_SUCCEEDED_WITHIN = "24h"
MAX_MACHINE_NAMES = 10000
DEFAULT_WAIT_TIMEOUT = 900
# Tabs and line breaks are kept so that multi-line YAML comments work; other control characters are refused.
_COMMENT_WHITESPACE = frozenset("\t\n\r")


def comment(value: object) -> str:
    """The ``comment`` option: required, at most MAX_COMMENT_LENGTH characters, no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("comment is required and must not be empty")
    text = value.strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise InputError("comment is %d characters long; at most %d are allowed" % (len(text), MAX_COMMENT_LENGTH))
    bad = validation.control_character(text, _COMMENT_WHITESPACE)
    if bad is not None:
        raise InputError("comment contains the control character U+%04X" % ord(bad))
    return text


def machine_names(options: Mapping[str, Any]) -> tuple:
    """The ``machine_names`` option. Device names are DNS names, which ignore case: repeats are dropped ignoring case."""
    names = validation.each(options, "machine_names", validation.text)
    if len(names) > MAX_MACHINE_NAMES:
        raise InputError("machine_names has %d names; at most %d are allowed in one task" % (len(names), MAX_MACHINE_NAMES))
    return names


def succeeded_within(options: Mapping[str, Any]) -> int:
    """The ``succeeded_within`` option in seconds (0: no earlier success counts); InputError for a bad duration."""
    value = options.get("succeeded_within")
    return validation.parse_duration(DEFAULT_SUCCEEDED_WITHIN if value is None else value, "succeeded_within")


def action_argument_spec(default_max_machines: Optional[int], protects: bool) -> dict[str, dict[str, Any]]:
    """The argument spec of the options ActionRequest reads, with the module's own max_machines default (None: no
    default, so no limit unless the task sets one)."""
    spec: dict[str, dict[str, Any]] = dict(
        comment=dict(type="str", required=True),
        machine_ids=dict(type="list", elements="str"),
        machine_names=dict(type="list", elements="str"),
        max_machines=dict(type="int") if default_max_machines is None else dict(type="int", default=default_max_machines),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=DEFAULT_WAIT_TIMEOUT),
        allow_partial=dict(type="bool", default=False),
        fail_when_queued=dict(type="bool", default=False),
        progress_path=dict(type="path"),
        lease_path=dict(type="path"),
    )
    if protects:
        spec["protect"] = PROTECT_OPTION
    return spec


@dataclass(frozen=True)
class ActionRequest:
    """What a machine-action module was asked to do on which machines, validated: build it with ``from_options``."""

    comment: str
    targets: Targets
    wait: bool = False
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT
    # Whether failed machines fail the task (False) or only show in the results (True).
    allow_partial: bool = False
    # Whether an action queued for an offline machine at the end of the wait counts as a failed machine.
    fail_when_queued: bool = False
    progress_path: Optional[str] = None
    lease_path: Optional[str] = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], default_max_machines: int, protects: bool) -> "ActionRequest":
        """Validate the shared options; raises InputError before anything is sent. Other options are ignored.

        A task that names more machines than ``max_machines`` fails here; the engine checks again once the names are
        resolved, before any write."""
        ids = validation.each(options, "machine_ids", validation.machine_id)
        names = machine_names(options)
        if not (ids or names):
            raise InputError("no target: give machine_ids or machine_names")
        limit = max_machines(options.get("max_machines"), default_max_machines)
        check_blast_radius(len(ids) + len(names), limit, "the task names")
        return cls(
            comment=comment(options.get("comment")),
            targets=Targets(ids, names, protection=Protection.from_option(options.get("protect")) if protects else Protection(),
                            max_machines=limit),
            wait=validation.flag(options, "wait", False),
            wait_timeout=validation.whole_seconds(options.get("wait_timeout"), "wait_timeout", DEFAULT_WAIT_TIMEOUT),
            allow_partial=validation.flag(options, "allow_partial", False),
            fail_when_queued=validation.flag(options, "fail_when_queued", False),
            progress_path=options.get("progress_path"),
            lease_path=options.get("lease_path"),
        )

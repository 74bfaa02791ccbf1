# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TagRequest: what machine_tags was asked to do, validated before any request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils._model.blast_radius import check_blast_radius, max_machines
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

PRESENT = "present"
ABSENT = "absent"
STATES = (PRESENT, ABSENT)
# Tagging is routine and reversible, so the default cap is one bulk-sized fleet rather than the handful an
# isolation may reach; it still stops a task whose target list grew by mistake.
DEFAULT_MAX_MACHINES = 1000
# The API documents no limit; the portal's tags are short labels, and a longer one is refused here, not per machine.
MAX_TAG_LENGTH = 200


def _tag(value: Any, option: str) -> str:
    if isinstance(value, str) and len(value.strip()) > MAX_TAG_LENGTH:
        raise InputError("%s is %d characters long; a tag is at most %d" % (option, len(value.strip()), MAX_TAG_LENGTH))
    return validation.text(value, option)


@dataclass(frozen=True)
class TagRequest:
    """What the user asked for, validated: build it with ``from_options``."""

    tags: tuple
    state: str = PRESENT
    machine_ids: tuple = ()
    machine_names: tuple = ()
    max_machines: int = DEFAULT_MAX_MACHINES

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TagRequest:
        tags = validation.each(options, "tags", _tag)
        if not tags:
            raise InputError("tags is empty: give at least one tag")
        request = cls(
            tags=tags,
            state=validation.choice(options.get("state") or PRESENT, "state", STATES),
            machine_ids=validation.each(options, "machine_ids", validation.machine_id),
            machine_names=validation.each(options, "machine_names", validation.text),
            max_machines=max_machines(options.get("max_machines"), DEFAULT_MAX_MACHINES),
        )
        if not (request.machine_ids or request.machine_names):
            raise InputError("no target: give machine_ids, machine_names, or both")
        # Each id and each name is at most one machine, so the count given bounds the machines the task reaches.
        check_blast_radius(len(request.machine_ids) + len(request.machine_names), request.max_machines,
                           "machine_ids and machine_names name")
        return request

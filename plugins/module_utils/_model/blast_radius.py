# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The blast radius of a task: how many machines one task may act on (``max_machines``), checked before any write."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils.errors import InputError


def max_machines(value: object, default: int) -> int:
    """The ``max_machines`` option: a whole number of machines, at least 1, or ``default`` when unset."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError("max_machines must be a whole number of machines, at least 1, got %r" % (value,))
    return value


def check_blast_radius(count: int, limit: int, what: str) -> None:
    """Refuse a task that would act on more than ``limit`` machines; ``what`` names its targets for the message."""
    if count > limit:
        raise InputError(
            "%s %d machines, more than max_machines (%d): nothing was sent. Narrow the targets, or set max_machines: %d "
            "if every one of them is meant" % (what, count, limit, count))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The protection list: machines that are never isolated or restricted, whatever a task targets.

A domain controller or the SOC's own jump host isolated by a mistyped group is an outage. The ``protect`` option
names such machines by tag (``machineTags``), device group (``rbacGroupName``) or name pattern (``computerDnsName``,
shell-style wildcards); all compare ignoring case, as Defender's names and the portal do. A machine that matches is
reported ``protected`` and gets no request. A protected machine can always be released: protection only stops the
actions that cut a machine off.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils._model.entities import value_of
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

FIELDS = ("tags", "device_groups", "name_patterns")
# The argument spec of the ``protect`` option, shared by the modules that take it.
PROTECT_OPTION = dict(type="dict", options={name: dict(type="list", elements="str", default=[]) for name in FIELDS})


@dataclass(frozen=True)
class Protection:
    """Tags, device groups and name patterns (each lower-cased) whose machines a task never isolates or restricts."""

    tags: tuple[str, ...] = ()
    device_groups: tuple[str, ...] = ()
    name_patterns: tuple[str, ...] = ()

    @classmethod
    def from_option(cls, value: Optional[Mapping[str, Any]], option: str = "protect") -> "Protection":
        """The ``protect`` option's value (None: nothing is protected); InputError names a bad entry."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise InputError("%s must be a dictionary with the keys %s" % (option, ", ".join(FIELDS)))
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise InputError("%s has unknown key(s) %s; it takes %s" % (option, ", ".join(unknown), ", ".join(FIELDS)))
        # Named in messages as the task spells them (protect.tags[0]), not as bare keys.
        named = {"%s.%s" % (option, name): value.get(name) for name in FIELDS}
        lists = {name: tuple(entry.lower() for entry in validation.each(named, "%s.%s" % (option, name), validation.text))
                 for name in FIELDS}
        return cls(**lists)

    @property
    def active(self) -> bool:
        return bool(self.tags or self.device_groups or self.name_patterns)

    def reason(self, machine: Optional[Mapping[str, Any]]) -> Optional[str]:
        """Why ``machine`` (a Machine entity) is protected, in words, or None when nothing protects it."""
        tags = value_of(machine, "machineTags")
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, str) and tag.lower() in self.tags:
                return "it has the protected tag %s" % tag
        group = value_of(machine, "rbacGroupName")
        if isinstance(group, str) and group.lower() in self.device_groups:
            return "it is in the protected device group %s" % group
        name = value_of(machine, "computerDnsName")
        for pattern in self.name_patterns:
            if isinstance(name, str) and fnmatch.fnmatchcase(name.lower(), pattern):
                return "its name %s matches the protected pattern %s" % (name, pattern)
        return None

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in FIELDS}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' input rules that their argument specs cannot express, written once for every role."""

from __future__ import annotations

import re
from collections.abc import Mapping

# One value of a survey answer: commas, semicolons, spaces and line breaks separate values.
_VALUE = re.compile(r"[^\s,;]+")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def _flat(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [item for element in value for item in _flat(element)]
    return [value]


def survey_values(value: object, lower: bool = False) -> list[str]:
    """The values of a variable that may be a list or text holding several values (a survey answer arrives as text).
    With ``lower``, lowercased and each value once, in the order first given (for hashes)."""
    values = _VALUE.findall(" ".join(str(item) for item in _flat(value)))
    if lower:
        values = list(dict.fromkeys(text.lower() for text in values))
    return values


def input_problems(sha1s: list[str], comment: object, role: str, names: Mapping | None = None,
                   targeted: bool | None = None) -> list[str]:
    """What is wrong with a role's files, comment and (when ``targeted`` is not None) targets, all at once.

    ``role`` is the prefix of the role's variables; ``names`` maps them to the names the caller's users set them by,
    a variable mapped to None being one they cannot set (quarantine_file_variable_names, contain_variable_names).
    """
    names = names or {}

    def name(variable: str) -> str | None:
        return names.get("%s_%s" % (role, variable), "%s_%s" % (role, variable))

    problems = []
    if not sha1s:
        problems.append("%s lists no file." % name("sha1s"))
    wrong = [value for value in sha1s if not _SHA1.match(value)]
    if wrong:
        problems.append("Not SHA-1s (40 hexadecimal characters): %s." % ", ".join(wrong))
    if not str(comment or "").strip():
        problems.append("%s is empty." % name("comment"))
    if targeted is False:
        hosts = name("target_play_hosts")
        given = " or ".join(filter(None, (name("machine_ids"), name("machine_names"))))
        flags = " or ".join(filter(None, (name("observed"), hosts and "%s (with hosts in the play)" % hosts)))
        problems.append("No target machine: give %s, or set %s to true." % (given, flags))
    return problems

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The extra variables of the playbooks mde.response.quarantine, mde.response.contain and mde.response.machine_action,
checked before their roles run.

A mistake there used to reach the role's argument spec, whose failure names the role's variable (not the ``-e`` one
the user typed) and prints the whole spec. Here each mistake is one line that names the ``-e`` variable, and the
message ends with a command that works when pasted into a shell.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ansible_collections.mde.response.plugins.module_utils._model import validation
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.plugin_utils.machine_action import ACTIONS

# One vocabulary for both playbooks: present acts, absent and cancelled both undo (each playbook's own word first).
STATES = {
    "quarantine": {"present": "present", "cancelled": "cancelled", "absent": "cancelled"},
    "contain": {"present": "present", "absent": "absent", "cancelled": "absent"},
}
UNDO = {
    "quarantine": "cancel the quarantines still in flight",
    "contain": "remove the indicators and cancel the quarantines still in flight",
}
# A run that works as printed: the shell's single quotes keep the argument whole, Ansible's double quotes the value.
EXAMPLE_RUNS = {
    "quarantine": "ansible-playbook mde.response.quarantine -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
                  "-e 'comment=\"INC-4711: ransomware dropper\"' -e machine_names=ws-0042.contoso.local",
    "contain": "ansible-playbook mde.response.contain -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
               "-e 'comment=\"INC-4711: ransomware dropper\"'",
    "machine_action": "ansible-playbook mde.response.machine_action -e action=isolate "
                      "-e 'comment=\"INC-4711: ransomware dropper\"' -e machine_names=ws-0042.contoso.local",
}
FLAGS = {
    "quarantine": ("observed", "wait", "allow_partial", "fail_when_queued", "allow_unknown_files"),
    "contain": ("wait", "allow_partial", "allow_unknown_files"),
    "machine_action": ("wait", "allow_partial", "fail_when_queued", "change_isolation_type"),
}
# Extra variables that are whole numbers: what each counts, and an example value.
_TIMEOUT = ("a number of seconds", 900)
NUMBERS = {
    "quarantine": {"wait_timeout": _TIMEOUT},
    "contain": {"wait_timeout": _TIMEOUT},
    "machine_action": {"wait_timeout": _TIMEOUT, "max_machines": ("a number of machines", 50)},
}
# What ansible.builtin.bool makes true or false; anything else it would quietly turn into false.
_FLAG_WORDS = frozenset(("true", "false", "yes", "no", "on", "off", "1", "0", "y", "n", "t", "f"))
# A survey text area or a command line separates several files by commas, spaces or line breaks.
_SEPARATORS = re.compile(r"[\s,]+")


def _empty(value: Any) -> bool:
    """A variable not given, or a survey field left empty."""
    return value is None or (isinstance(value, str) and not value.strip())


def _sha1_errors(value: Any) -> list[str]:
    if _empty(value):
        return ["-e sha1 is missing: give the SHA-1 of the file (40 hexadecimal characters), or several separated by commas."]
    items = value if isinstance(value, (list, tuple)) else _SEPARATORS.split(str(value).strip())
    errors = []
    for item in items:
        try:
            validation.sha1(item, "-e sha1")
        except InputError as error:
            errors.append("%s." % error)
    return errors


def _state_errors(value: Any, playbook: str) -> list[str]:
    if _empty(value) or value in STATES[playbook]:
        return []
    return ["-e state=%s is not a state: use -e state=present (the default) to act, or -e state=absent (or cancelled, "
            "the same) to %s." % (value, UNDO[playbook])]


def _flag_errors(variables: Mapping[str, Any], playbook: str) -> list[str]:
    return ["-e %s=%s is neither true nor false: use -e %s=true or -e %s=false." % (name, variables[name], name, name)
            for name in FLAGS[playbook]
            if not _empty(variables.get(name)) and not isinstance(variables[name], bool)
            and str(variables[name]).strip().lower() not in _FLAG_WORDS]


def _number_errors(variables: Mapping[str, Any], playbook: str) -> list[str]:
    return ["-e %s=%s is not %s: use for example -e %s=%d." % (name, variables[name], what, name, example)
            for name, (what, example) in NUMBERS[playbook].items()
            if not (_empty(variables.get(name)) or isinstance(variables[name], int) or str(variables[name]).strip().isdigit())]


def _action_errors(value: Any) -> list[str]:
    if _empty(value):
        return ["-e action is missing: give one of %s." % ", ".join(ACTIONS)]
    if str(value).strip() not in ACTIONS:
        return ["-e action=%s is not an action: use one of %s." % (value, ", ".join(ACTIONS))]
    return []


def check(variables: Mapping[str, Any], playbook: str) -> dict[str, Any]:
    """``errors``, one line per mistake in the extra variables (and a command that works, when there is one), and
    ``state``, the state the role gets for the ``-e state`` given (``present`` when it is not given)."""
    if playbook not in EXAMPLE_RUNS:
        raise ValueError("playbook must be one of %s, got %r" % (", ".join(sorted(EXAMPLE_RUNS)), playbook))
    # The machine actions name what they do by their action; the file playbooks by their files and a state.
    errors = _action_errors(variables.get("action")) if playbook == "machine_action" else _sha1_errors(variables.get("sha1"))
    if _empty(variables.get("comment")):
        errors.append("-e comment is missing: give the incident number or the reason, stored with every action.")
    if playbook in STATES:
        errors += _state_errors(variables.get("state"), playbook)
    errors += _flag_errors(variables, playbook)
    errors += _number_errors(variables, playbook)
    if errors:
        errors.append("For example: %s" % EXAMPLE_RUNS[playbook])
    state = variables.get("state")
    return {"errors": errors, "state": "present" if _empty(state) else STATES.get(playbook, {}).get(str(state), state)}

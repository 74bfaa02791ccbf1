# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The blast-radius options of the modules that cut machines off (machine_isolation, app_restriction).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  max_machines:
    description:
      - The most machines one task may act on. A task whose O(machine_ids) and O(machine_names) together name more
        fails before any request; one whose names resolve to more fails before any write. Either way nothing is
        sent, and the message says how to raise it.
      - The default, V(25), is a handful of machines, because cutting off the wrong thousand machines is an outage; a
        larger containment raises it deliberately, for the incident at hand.
    type: int
    default: 25
  protect:
    description:
      - Machines that are never contained, whatever the targets say. A target machine that matches any entry is
        reported V(protected), with the entry in RV(actions[].protected), and no request is sent for it.
      - Entries compare ignoring case. Applies to containing only; releasing ignores it, so a protected machine that
        is contained can always be released.
      - Set it once for a play with C(module_defaults).
    type: dict
    suboptions:
      tags:
        description: Machine tags (C(machineTags)) whose machines are protected.
        type: list
        elements: str
        default: []
      device_groups:
        description: Device groups (C(rbacGroupName)) whose machines are protected.
        type: list
        elements: str
        default: []
      name_patterns:
        description: Shell-style patterns (C(*), C(?), C([...])) matched against the whole C(computerDnsName).
        type: list
        elements: str
        default: []
"""

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# What the filters that read the machine_action role's report take as their input.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  _input:
    description: The C(machine_action_report) fact of the P(mde.response.machine_action#role) role.
    type: dict
    required: true
"""

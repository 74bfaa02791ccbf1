# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# What the filters that read the quarantine_file role's report take as their input.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  _input:
    description: The C(quarantine_file_report) fact of the P(mde.response.quarantine_file#role) role.
    type: dict
    required: true
"""

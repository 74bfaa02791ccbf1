# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The options of the filters that decide whether a role fails the play (quarantine_failure, contain_failure).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  allow_unknown_files:
    description: Accept files Defender has no record of.
    type: bool
    default: false
  names:
    description:
      - The names the caller's users set the role's variables by (the role's C(<role>_variable_names)), for the
        message; a variable mapped to C(null) is left out of it.
    type: dict
    default: {}
"""

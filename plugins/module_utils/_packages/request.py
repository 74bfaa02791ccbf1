# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What investigation_package takes besides the machine-action options: where packages go, and which collections
are recent enough to download instead of collecting again. Validated before any request."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from ansible_collections.mde.response.plugins.module_utils._actions.request import succeeded_within
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

# A package is a forensic snapshot of up to tens of MB per machine, collected one link every 30 seconds at the link's
# limits: a few dozen machines is an investigation; more is likely a mistake in the targets.
DEFAULT_MAX_MACHINES = 25
# A collection takes from a few minutes to a quarter of an hour on a busy machine; twice that leaves room for a
# machine that is slow to pick it up. One still running then fails with WaitTimeout, and a rerun adopts it.
DEFAULT_WAIT_TIMEOUT = 1800


@dataclass(frozen=True)
class PackageOptions:
    """``dest`` (an absolute folder on the controller) and ``succeeded_within`` (seconds)."""

    dest: str
    succeeded_within: int

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "PackageOptions":
        dest = options.get("dest")
        if not isinstance(dest, str) or not dest.strip():
            raise InputError("dest is empty: give the folder on the controller that the packages go to")
        folder = os.path.expanduser(dest.strip())
        if not os.path.isabs(folder):
            raise InputError("dest must be an absolute path, got %r: a module does not run in the playbook's folder, so "
                             "write it as \"{{ playbook_dir }}/%s\" for a folder beside the playbook" % (dest, dest.strip()))
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise InputError("dest %s is a file, not a folder: give a folder (it is created when missing)" % folder)
        return cls(os.path.normpath(folder), succeeded_within(options))

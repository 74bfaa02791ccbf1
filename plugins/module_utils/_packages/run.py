# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What investigation_package's main() hands over to: its options validated, the collections, then the downloads."""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import EngineResult
from ansible_collections.mde.response.plugins.module_utils._actions.engine import MachineActionEngine
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Connect
from ansible_collections.mde.response.plugins.module_utils._actions.module_result import ModuleResult, module_result
from ansible_collections.mde.response.plugins.module_utils._actions.module_run import run_leased
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import succeeded_since
from ansible_collections.mde.response.plugins.module_utils._actions.request import DEFAULT_SUCCEEDED_WITHIN, ActionRequest, action_argument_spec
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._packages.collection import CollectionKind
from ansible_collections.mde.response.plugins.module_utils._packages.download import fetch_packages
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._packages.request import DEFAULT_MAX_MACHINES, DEFAULT_WAIT_TIMEOUT, PackageOptions


def package_argument_spec() -> dict[str, dict[str, Any]]:
    """The module's options: the machine-action ones, with ``wait`` always true (a package needs its collection
    complete), and where the packages go."""
    spec = action_argument_spec(DEFAULT_MAX_MACHINES, protects=False)
    spec["wait"] = dict(type="bool", default=True)
    spec["wait_timeout"] = dict(type="int", default=DEFAULT_WAIT_TIMEOUT)
    spec["dest"] = dict(type="path", required=True)
    spec["succeeded_within"] = dict(type="str", default=DEFAULT_SUCCEEDED_WITHIN)
    return spec


def collect_packages(options: Mapping[str, Any], connect: Connect, clock: Clock, check_mode: bool) -> ModuleResult:
    """Validate ``options`` (InputError before any request), collect where needed, wait, download; the module's result."""
    if options.get("wait") is False:
        raise InputError("wait: false cannot be honoured: a package can only be downloaded once its collection is complete;"
                         " leave wait out, and raise wait_timeout for machines slow to collect")
    request = ActionRequest.from_options(options, DEFAULT_MAX_MACHINES, protects=False)
    packages = PackageOptions.from_options(options)
    kind = CollectionKind(request.comment, request.wait_timeout, succeeded_since(clock.now(), packages.succeeded_within))

    def work(client: DefenderClient, progress: RunProgress, lease: RunLease) -> EngineResult:
        # A run stopped by its lease (Ctrl-C, an AWX cancel) downloads nothing more; a rerun finds the collections. The
        # downloads come before the progress says the run is done, so that a follower keeps waiting for them.
        return MachineActionEngine(client, clock, progress=progress, lease=lease).run(
            kind, request.targets, check_mode,
            then=lambda result: result if lease.stopped else fetch_packages(client, result, packages.dest, check_mode))

    result = run_leased(request.progress_path, request.lease_path, connect, clock, work)
    return module_result(result, allow_partial=request.allow_partial, fail_when_queued=request.fail_when_queued,
                         with_file_known=False)

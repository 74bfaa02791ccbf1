# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_machine_action: what a machine-action module's main() does once its options are validated.

The progress file and the lease are set up as stop_and_quarantine_file sets them up, so that a run started in the
background can be followed by mde.response.quarantine_progress and stopped by Ctrl-C or an AWX cancel.
"""

from __future__ import annotations

from typing import Callable, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import EngineResult
from ansible_collections.mde.response.plugins.module_utils._actions.engine import MachineActionEngine
from ansible_collections.mde.response.plugins.module_utils._actions.kind import ActionKind, Connect
from ansible_collections.mde.response.plugins.module_utils._actions.module_result import ModuleResult, module_result
from ansible_collections.mde.response.plugins.module_utils._actions.request import ActionRequest
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease, finish_leased_run
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock


def run_leased(progress_path: Optional[str], lease_path: Optional[str], connect: Connect, clock: Clock,
               work: Callable[[DefenderClient, RunProgress, RunLease], EngineResult]) -> EngineResult:
    """``work(client, progress, lease)`` with the run's progress file and lease, which go once it has returned."""
    progress = RunProgress(progress_path, clock)
    lease = RunLease(lease_path, on_stop=progress.stopped)
    lease.grant()
    client = connect(progress.waiting_for_limit, write_gate=lease.check)
    result = work(client, progress, lease)
    finish_leased_run(lease, progress)
    return result


def run_machine_action(request: ActionRequest, kind: ActionKind, connect: Connect, clock: Clock, check_mode: bool) -> ModuleResult:
    """Carry out ``kind`` for ``request`` and return the module's result."""
    result = run_leased(request.progress_path, request.lease_path, connect, clock, lambda client, progress, lease: (
        MachineActionEngine(client, clock, progress=progress, lease=lease).run(kind, request.targets, check_mode)))
    return module_result(result, allow_partial=request.allow_partial, fail_when_queued=request.fail_when_queued,
                         with_file_known=False)

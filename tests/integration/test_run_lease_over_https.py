# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine with a lease against the simulator over HTTPS: once the lease is gone no write is sent, the result and
the progress file say which machines were written and which were left unsent, and a run again finishes them."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import DEFAULT_MAX_WORKERS, StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RunLease, finish_leased_run
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from tests.simulator import Simulator
from tests.support.quarantine import LIST_ACTIONS, SHA1, WRITE, ids, seed, writes

MACHINES = 40
# Real seconds each write is held, so that the lease goes while most machines are still to be written.
HELD_WRITE = 0.2
STOP_AFTER_WRITES = 8


@pytest.fixture(name="simulator")
def fixture_simulator(tmp_path):
    with Simulator(state_dir=tmp_path / "simulator") as running:
        yield running


def run(simulator, lease, progress, **options):
    settings = ConnectionSettings.from_options(dict(simulator.connection, token_cache=False, timeout=10), environ={})
    clock = SystemClock()
    client = build_client(settings, clock, write_gate=lease.check)
    request = QuarantineRequest.from_options(dict({"sha1": SHA1, "comment": "INC-4711"}, **options))
    return StopAndQuarantineEngine(client, clock, progress=progress, lease=lease).run(request)


def remove_after_writes(simulator, path, count):
    """Remove the lease, as an interrupted follower does, once `count` writes have reached the simulator."""
    answered = []

    def watch():
        while len(writes(simulator)) < count:
            threading.Event().wait(0.02)
        os.unlink(path)
        answered.append(len(writes(simulator)))
    threading.Thread(target=watch, daemon=True).start()
    return answered


@pytest.mark.parametrize("options", [{}, {"wait": True, "wait_timeout": 600}], ids=["present", "wait"])
def test_a_removed_lease_leaves_the_rest_unsent_and_a_run_again_finishes_it(simulator, tmp_path, options):
    machines = seed(simulator, MACHINES)
    simulator.faults.add(WRITE, "latency", delay=HELD_WRITE)
    lease_path, progress_path = str(tmp_path / "run.lease"), str(tmp_path / "run.json")
    told = []
    progress = RunProgress(progress_path, SystemClock())
    lease = RunLease(lease_path, on_stop=lambda reason: told.append(progress.stopped(reason) or json.load(open(progress_path, encoding="utf-8"))))
    lease.grant()
    answered_at_removal = remove_after_writes(simulator, lease_path, STOP_AFTER_WRITES)

    result = run(simulator, lease, progress, machine_ids=ids(machines), **options)

    sent = len(writes(simulator))
    outcomes = [entry["outcome"] for entry in result.actions]
    unsent = [entry for entry in result.actions if (entry.get("error") or {}).get("code") == "RunStopped"]
    # Writes the engine's workers had already sent when the lease went still land: at most one per worker.
    assert STOP_AFTER_WRITES <= sent <= answered_at_removal[0] + DEFAULT_MAX_WORKERS
    assert outcomes.count("created") == sent and len(unsent) == MACHINES - sent
    assert all(entry["outcome"] == "failed" and "lease %s was removed" % lease_path in entry["error"]["message"] for entry in unsent)
    [file_content] = told
    assert file_content["stopped"].startswith("the play that started this run stopped following it")
    # A stopped run waits for nothing: its wait would only keep a process nobody follows.
    first_write = writes(simulator)[0]["seq"]
    assert not [entry for entry in simulator.log_for(route=LIST_ACTIONS) + simulator.log_for(route="machineactions.get")
                if entry["seq"] > first_write]
    finish_leased_run(lease, progress)
    assert not os.path.exists(progress_path) and not os.path.exists(lease_path)

    again = RunLease(lease_path)
    again.grant()
    rerun = run(simulator, again, RunProgress(None, SystemClock()), machine_ids=ids(machines))
    assert rerun.summary["existing"] == sent and rerun.summary["created"] == MACHINES - sent
    assert len(writes(simulator)) == MACHINES


def test_what_a_stopped_run_sent_is_undone_with_state_cancelled(simulator, tmp_path):
    machines = seed(simulator, MACHINES)
    simulator.faults.add(WRITE, "latency", delay=HELD_WRITE)
    lease_path = str(tmp_path / "run.lease")
    lease = RunLease(lease_path)
    lease.grant()
    remove_after_writes(simulator, lease_path, STOP_AFTER_WRITES)
    stopped = run(simulator, lease, RunProgress(None, SystemClock()), machine_ids=ids(machines))

    undo = run(simulator, RunLease(None), RunProgress(None, SystemClock()), machine_ids=ids(machines), state="cancelled")

    created = {entry["machine_id"] for entry in stopped.actions if entry["outcome"] == "created"}
    assert created and len(created) < MACHINES
    assert {entry["machine_id"] for entry in undo.actions if entry["outcome"] == "cancelled"} == created
    assert {entry["outcome"] for entry in undo.actions if entry["machine_id"] not in created} == {"not_present"}
    assert len(simulator.log_for(route="machineactions.cancel")) == len(created)
    assert len(writes(simulator)) == len(created)

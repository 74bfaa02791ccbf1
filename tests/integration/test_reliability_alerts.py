"""Alerts to quarantine: the event source and the engine its playbook runs, in process, against the simulator.

The rulebook's playbook is stood in for by the quarantine engine, run on each event's ``sha1s`` and machine as the
playbook passes them, so that the request log shows which files were quarantined where; ansible-rulebook itself
runs in `make test-eda`.
"""

import asyncio
import logging

from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from tests.integration.test_eda_source import (  # pylint: disable=unused-import  # token_cache_in_tmp is autouse
    GIVE_UP_SECONDS, RunningSource, listings, polls_seen, token_cache_in_tmp)

WRITE = "machines.StopAndQuarantineFile"
DROPPER_SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
POWERSHELL_SHA1 = "04c6f0d2c2b0e7a6b1e1f1f8a2b63c3a9f2a1a10"
PARENT_SHA1 = "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"
RESEND_INTERVAL = 0.5


def playbook_run(simulator, event):
    """What the rulebook's playbook does with an event: quarantine each of its sha1s on its machine (the summaries)."""
    settings = ConnectionSettings.from_options(dict(simulator.connection, token_cache=False, timeout=10), environ={})
    clock = SystemClock()
    client = build_client(settings, clock)
    return [StopAndQuarantineEngine(client, clock).run(QuarantineRequest.from_options({
        "sha1": sha1, "machine_ids": [event["alert"]["machineId"]], "comment": "Defender alert %s" % event["alert"]["id"]})).summary
        for sha1 in event["sha1s"]]


def test_an_alert_quarantines_only_its_judged_file_and_a_failed_run_is_tried_again(simulator, tmp_path, measured, caplog):
    """An alert whose evidence lists the dropped file (detected) and the processes involved (Microsoft's
    powershell.exe, an unjudged parent) quarantines the dropped file only, on the alerted machine; when that first
    run's write is refused, the source sends the alert again after resend_interval, the second run quarantines, and
    the alert is not sent again once its action exists."""
    machine = simulator.add_machine("desktop-1.contoso.local")
    simulator.add_machine("desktop-2.contoso.local")
    raised = simulator.alerts.raise_alert(machine["id"], files=[{"sha1": DROPPER_SHA1, "fileName": "dropper.exe"}], processes=[
        {"sha1": POWERSHELL_SHA1},
        {"sha1": PARENT_SHA1, "fileName": "updater.exe", "filePath": "C:\\Users\\Public", "detectionStatus": None, "signer": None}])
    simulator.faults.add(WRITE, "status", times=1, status=400)
    args = dict(simulator.connection, interval=0.05, lookback="1h", resend_interval=RESEND_INTERVAL, include_processes=True,
                state_file=str(tmp_path / "alerts.json"))

    async def scenario():
        source = RunningSource(args)
        events, runs = [], []
        for _attempt in range(2):
            [event] = await source.events(1)
            events.append(event)
            runs.append(await asyncio.to_thread(playbook_run, simulator, event))
        await asyncio.sleep(3 * RESEND_INTERVAL)
        await polls_seen(simulator, len(listings(simulator)) + 3)
        await source.stop()
        return events, runs, source.queue.qsize()

    with caplog.at_level(logging.INFO, logger="mde.response.alerts"):
        events, runs, left = asyncio.run(asyncio.wait_for(scenario(), GIVE_UP_SECONDS))
    writes = [(entry["params"]["machine_id"], entry["body"]["Sha1"], entry["status"]) for entry in simulator.log_for(route=WRITE)]
    measured("events %s; runs %s; writes (machine, SHA-1, status) %s; %d more events after the action existed" % (
        [(event["delivery"]["reason"], event["delivery"]["attempt"], event["sha1s"]) for event in events],
        runs, writes, left))
    assert [event["sha1s"] for event in events] == [[DROPPER_SHA1]] * 2
    assert [event["delivery"] for event in events] == [{"reason": "new", "attempt": 1}, {"reason": "resend", "attempt": 2}]
    reasons = {choice["sha1"]: choice["reason"] for choice in events[0]["selection"]}
    assert reasons[POWERSHELL_SHA1].startswith("in the Windows system folder")
    assert reasons[PARENT_SHA1].startswith("Defender did not judge it")
    assert writes == [(machine["id"], DROPPER_SHA1, 400), (machine["id"], DROPPER_SHA1, 201)]
    assert (runs[0][0]["failed"], runs[1][0]["created"]) == (1, 1)
    assert left == 0
    assert any(message.startswith("alert %s is done" % raised["id"]) for message in caplog.messages)

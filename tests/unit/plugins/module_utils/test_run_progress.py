"""RunProgress: the file a long run keeps, how often it is written, the expected end and the waits for a limit."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from types import SimpleNamespace

from ansible_collections.mde.response.plugins.module_utils._client.pacing import RateLimiter
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import SHA1, START, FakeClock, fleet, machine_ids


class Timer:
    """Real time for the file's write interval, moved by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def machines(*outcomes):
    return [SimpleNamespace(outcome=outcome) for outcome in outcomes]


def content(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_file_follows_the_phases_and_counts_the_outcomes_so_far(tmp_path):
    path = str(tmp_path / "progress.json")
    clock = FakeClock()
    progress = RunProgress(path, clock, timer=Timer())
    assert content(path)["phase"] == "planning"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    results = machines("existing", "failed", None, None, None)
    progress.track(results)
    progress.writing()

    assert content(path) == {
        "phase": "writing", "done": 2, "total": 5, "outcomes": {"existing": 1, "failed": 1},
        # Three writes left fit in one minute of Defender's limits.
        "expected_end": stamp(START + timedelta(minutes=1)), "limit_wait": None, "actions_deadline": None, "action_statuses": None,
        "stopped": None, "unsent": 0, "offline": None, "updated": stamp(START)}

    progress.waiting_for_actions(900)
    assert content(path)["actions_deadline"] == stamp(START + timedelta(seconds=900))
    assert content(path)["expected_end"] is None


def test_while_waiting_for_the_actions_each_read_writes_their_statuses(tmp_path):
    path = str(tmp_path / "progress.json")
    results = [SimpleNamespace(outcome="created", action={"id": "a%d" % number, "status": "Pending"}) for number in range(3)]
    progress = RunProgress(path, FakeClock(), timer=Timer())
    progress.track(results)
    progress.writing()
    assert content(path)["action_statuses"] is None, "only the wait counts statuses"
    progress.waiting_for_actions(900)
    assert content(path)["action_statuses"] == {"Pending": 3}

    results[0].action = dict(results[0].action, status="Succeeded")
    results[1].action = dict(results[1].action, status="InProgress")
    progress.actions_read()
    # Written at once, although the last write was a moment ago: a read comes every 10 to 30 seconds at most.
    assert content(path)["action_statuses"] == {"Succeeded": 1, "InProgress": 1, "Pending": 1}
    progress.finish()
    assert content(path)["phase"] == "done"


def test_settled_machines_rewrite_the_file_at_most_every_interval(tmp_path):
    path = str(tmp_path / "progress.json")
    timer = Timer()
    progress = RunProgress(path, FakeClock(), interval=2.0, timer=timer)
    results = machines(None, None, None)
    progress.track(results)
    progress.writing()

    results[0].outcome = "created"
    timer.now = 1.0
    progress.machine_done()
    assert content(path)["done"] == 0, "rewritten a second after the last write"
    results[1].outcome = "created"
    timer.now = 2.5
    progress.machine_done()
    assert content(path)["done"] == 2
    assert content(path)["outcomes"] == {"created": 2}


def test_a_wait_for_the_hourly_limit_is_written_at_once_and_moves_the_expected_end(tmp_path):
    path = str(tmp_path / "progress.json")
    clock = FakeClock()
    progress = RunProgress(path, clock, interval=2.0, timer=Timer())
    progress.track(machines(*[None] * 250))
    progress.writing()

    progress.waiting_for_limit(1200.0, 3600.0, 1500)

    written = content(path)
    assert written["limit_wait"] == {"window": "hour", "limit": 1500, "until": stamp(START + timedelta(seconds=1200))}
    # 250 writes take three minutes at 100 a minute, from the end of the wait.
    assert written["expected_end"] == stamp(START + timedelta(seconds=1200, minutes=3))
    clock.sleep(1200)
    assert progress.snapshot()["limit_wait"] is None


def test_the_pacing_tells_of_each_wait_and_which_limit_it_is_for():
    waits = []
    clock = FakeClock()
    limiter = RateLimiter(per_minute=2, per_hour=100, clock=clock, listener=lambda *wait: waits.append(wait))
    limiter.acquire("a")
    limiter.acquire("a")
    assert waits == []
    limiter.acquire("a")
    assert waits == [(60.0, 60.0, 2)]


def test_without_a_path_or_with_a_folder_gone_nothing_is_written_and_nothing_fails(tmp_path):
    progress = RunProgress(None, FakeClock())
    progress.writing()
    gone = RunProgress(str(tmp_path / "missing" / "progress.json"), FakeClock())
    gone.finish()
    assert not (tmp_path / "missing").exists()
    assert gone.snapshot()["phase"] == "done"


def test_the_engine_reports_each_machine_and_ends_with_done(tmp_path):
    path = str(tmp_path / "progress.json")
    api = fleet(5)
    progress = RunProgress(path, api.clock, timer=Timer())
    engine = StopAndQuarantineEngine(DefenderClient(api), api.clock, max_workers=2, progress=progress)

    engine.run(QuarantineRequest.from_options({"sha1": SHA1, "comment": "INC-4711", "machine_ids": machine_ids(5)}))

    written = content(path)
    assert (written["phase"], written["done"], written["total"], written["outcomes"]) == ("done", 5, 5, {"created": 5})


def test_the_engine_writes_the_statuses_each_time_the_wait_reads_the_actions(tmp_path):
    path = str(tmp_path / "progress.json")
    api = fleet(2)
    api.lifecycle = ((5, "InProgress"), (15, "Succeeded"))
    progress = RunProgress(path, api.clock, timer=Timer())
    seen = []
    progress.actions_read = lambda: seen.append(progress.snapshot()["action_statuses"])
    engine = StopAndQuarantineEngine(DefenderClient(api), api.clock, max_workers=2, progress=progress)

    engine.run(QuarantineRequest.from_options({"sha1": SHA1, "comment": "INC-4711", "machine_ids": machine_ids(2), "wait": True}))

    # Reads after 10 s, then 15 s more: the actions InProgress, then Succeeded.
    assert seen == [{"InProgress": 2}, {"Succeeded": 2}]
    assert content(path)["phase"] == "done"


def test_while_waiting_only_final_actions_are_done_and_offline_machines_are_named(tmp_path):
    path = str(tmp_path / "progress.json")
    progress = RunProgress(path, FakeClock(), timer=Timer())
    online = SimpleNamespace(outcome="created", action={"status": "Succeeded"}, machine={"healthStatus": "Active"},
                             machine_name="ws-01", machine_id="m1")
    offline = SimpleNamespace(outcome="created", action={"status": "Pending"}, machine={"healthStatus": "Inactive"},
                              machine_name="laptop-07", machine_id="m2")
    unknown = SimpleNamespace(outcome="existing", action={"status": "InProgress"}, machine=None, machine_name=None, machine_id="m3")
    progress.track([online, offline, unknown])
    progress.writing()
    assert (content(path)["done"], content(path)["offline"]) == (3, None)

    progress.waiting_for_actions(900)

    assert (content(path)["done"], content(path)["total"], content(path)["outcomes"]) == (1, 3, {"created": 1})
    assert content(path)["offline"] == ["laptop-07"]

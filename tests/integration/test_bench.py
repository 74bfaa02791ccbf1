"""The benchmark's harness (tests/bench) on small fleets: its counts must add up and its report must say what it saw.

Nothing here asserts a duration: performance targets are measured by `make bench` (docs/performance.md), where
a slow machine shows up as a number instead of a flaky test.
"""

import pytest

from tests.bench.harness import LIST_MACHINES, TAG_WRITE, Fleet, Measurement, rate_limit_floor
from tests.bench.report import BEGIN, END, MB, Targets, splice
from tests.bench.scenarios import (BASELINE, BULK, COMPARISON_MACHINES, FIRST_RUN, FIRST_RUN_MACHINES, INVENTORY, INVENTORY_CACHED,
                                   PER_HOST, RERUN, TAG, TAG_RERUN, TAGGING_MACHINES, inventory, scenario_name)
from tests.support.quarantine import LIST_ACTIONS, SHA1, WRITE


def test_rate_limit_floor_follows_both_windows():
    assert rate_limit_floor(100) == 0.0
    assert rate_limit_floor(101) == 60.0
    assert rate_limit_floor(1000, latency_seconds=0.5) == 540.5
    # Call 1,501 must wait for the first one to leave the hour window, however quiet the last minute was.
    assert rate_limit_floor(1501) == 3600.0
    assert rate_limit_floor(3000) == 4440.0


def test_bulk_first_run_and_rerun(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 20) as fleet:
        first = fleet.measure("smoke", FIRST_RUN, "bulk.yml")
        rerun = fleet.measure("smoke", RERUN, "bulk.yml")

    assert first.writes == 20 and first.token_requests == 1 and first.throttled == 0
    assert first.summary["created"] == 20 and first.actions_per_machine == {"1": 20}
    # Besides the writes and the action list: the machines given by id, read once (support and health) in one filtered call.
    assert first.api_calls == first.writes + first.list_reads + first.calls.get("machines.list", 0)
    assert first.calls.get("machines.list", 0) == 1
    assert rerun.writes == 0 and rerun.summary["existing"] == 20 and rerun.actions_per_machine == {"1": 20}
    # More than an empty interpreter needs, less than anything plausible for 20 machines.
    assert 20 * MB < first.peak_rss_bytes < 1000 * MB
    # In real time the duration is the wall time, and the API phase lies within it.
    assert first.duration_seconds == pytest.approx(first.wall_seconds, abs=0.002)
    assert 0 < first.api_span_seconds <= first.wall_seconds


def test_per_host_play_quarantines_each_machine_once(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 2) as fleet:
        per_host = fleet.measure("smoke", PER_HOST, "per_host.yml", inventory=fleet.inventory(), forks=2)

    assert per_host.writes == 2 and per_host.summary["created"] == 2 and per_host.actions_per_machine == {"1": 2}
    assert 1 <= per_host.token_requests <= 2 and per_host.peak_rss_bytes > 0


def test_baseline_looks_up_every_machine_and_posts_where_no_action_is_in_flight(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 3) as fleet:
        fleet.simulator.add_machine_action(fleet.machine_ids[0], SHA1, status="Pending")
        baseline = fleet.measure("smoke", BASELINE, "baseline_uri.yml", module=False)

    assert baseline.calls == {"token": 1, LIST_ACTIONS: 3, WRITE: 2}
    assert baseline.actions_per_machine == {"1": 3}
    assert baseline.summary == {} and baseline.peak_rss_bytes is None


def test_inventory_scenario_lists_once_then_reads_its_cache(tmp_path):
    listed, cached = inventory(str(tmp_path / "fleet"), machines=5)

    assert (listed.run, cached.run) == (INVENTORY, INVENTORY_CACHED)
    # Five machines fit in one page; the play checked that each became a host.
    assert listed.calls["machines.list"] == 1 and listed.api_calls == 1 and listed.token_requests == 1
    assert cached.api_calls == 0 and cached.token_requests == 0 and cached.calls == {}
    assert listed.actions_per_machine == {} and listed.peak_rss_bytes is None


def measurement(machines, run, duration, calls, throttled=0, peak_rss_bytes=None, actions_per_machine=None, summary=None):
    return Measurement(
        scenario=scenario_name(machines), run=run, machines=machines, clock_speed=1.0, latency_ms=150.0,
        wall_seconds=duration, simulated_seconds=duration, api_span_seconds=duration, duration_seconds=duration,
        calls=calls, api_calls=sum(count for route, count in calls.items() if route != "token"), throttled=throttled,
        token_requests=calls.get("token", 0), peak_rss_bytes=peak_rss_bytes, summary=summary or {},
        actions_per_machine=actions_per_machine or {"1": machines}, load_average=0.0)


def verdict(verdicts, target_start):
    matches = [verdict for verdict in verdicts if verdict.target.startswith(target_start)]
    assert len(matches) == 1, [verdict.target for verdict in verdicts]
    return matches[0]


def test_targets_name_each_miss_with_its_number_and_leave_the_unmeasured_open():
    n = FIRST_RUN_MACHINES
    first = measurement(n, FIRST_RUN, 700.0, {WRITE: n + 3, LIST_ACTIONS: 1, "token": 1}, throttled=3)
    bulk = measurement(COMPARISON_MACHINES, BULK, 10.0, {WRITE: 100, LIST_ACTIONS: 1, "token": 1})
    baseline = measurement(COMPARISON_MACHINES, BASELINE, 120.0, {WRITE: 100, LIST_ACTIONS: 100, "token": 1})

    verdicts = Targets([first, bulk, baseline]).verdicts()

    speedup = verdict(verdicts, "Bulk, 100 machines: at least 10 times faster")
    assert speedup.met is True and speedup.measured.startswith("12.0x faster")
    floor = verdict(verdicts, "First run, 1,000 machines: within")
    assert floor.met is False and "1.30x the floor of 540 s" in floor.measured
    assert verdict(verdicts, "First run, 1,000 machines: no 429").met is False
    calls = verdict(verdicts, "First run, 1,000 machines: at most N writes")
    assert calls.met is False and calls.measured == "writes 1003, reads 1, token requests 1"
    assert verdict(verdicts, "Peak memory").met is None


def test_splice_rewrites_only_the_generated_section():
    document = "# Title\n\nBefore.\n\n%s\nold numbers\n%s\n\nAfter.\n" % (BEGIN, END)

    assert splice(document, "new numbers") == "# Title\n\nBefore.\n\n%s\nnew numbers\n%s\n\nAfter.\n" % (BEGIN, END)
    with pytest.raises(ValueError, match="markers"):
        splice("# Title\n", "new numbers")


def test_the_tagging_target_counts_writes_and_listings_of_both_runs():
    n = TAGGING_MACHINES
    first = measurement(n, TAG, 14.0, {TAG_WRITE: 2, LIST_MACHINES: 1, "token": 1}, summary={"added": n})
    rerun = measurement(n, TAG_RERUN, 14.0, {LIST_MACHINES: 1})
    rewriting = measurement(n, TAG_RERUN, 14.0, {TAG_WRITE: 1, LIST_MACHINES: 2})

    met = verdict(Targets([first, rerun]).verdicts(), "Tagging, 1,000 machines")
    missed = verdict(Targets([first, rewriting]).verdicts(), "Tagging, 1,000 machines")

    assert met.met is True and met.measured == "first run: writes 2, listings 1, 14.0 s; rerun: writes 0, listings 1"
    assert missed.met is False and missed.measured.endswith("rerun: writes 1, listings 2")
    assert verdict(Targets([first]).verdicts(), "Tagging, 1,000 machines").met is None

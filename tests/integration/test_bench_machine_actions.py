"""The benchmark's machine-action scenarios (isolation, its rerun, isolate + scan + quarantine at once): their targets,
the recording of a partial run next to the earlier ones, and the response play once on a small fleet.

Nothing here asserts a duration: `make bench` measures them (docs/performance.md).
"""

from dataclasses import replace

from tests.bench.harness import ISOLATE_WRITE, LIST_MACHINES, SCAN_WRITE, Fleet, Measurement
from tests.bench.report import Targets, merged, read_json, write_json
from tests.bench.scenarios import (FIRST_RUN, ISOLATE, ISOLATE_RERUN, ISOLATE_TYPE, ISOLATION_MACHINES, ISOLATION_RERUN_MACHINES,
                                   RERUN, RESPONSE, RESPONSE_MACHINES, RESPONSE_ROLES, RESPONSE_SHARED, RESPONSE_TASKS, SCAN_TYPE,
                                   SHARED_BUDGET_MACHINES, TAG, scenario_name)
from tests.simulator.defender import QUARANTINE
from tests.support.quarantine import LIST_ACTIONS, WRITE


def measurement(machines, run, duration, calls, throttled=0, actions_per_machine=None, write_spans=None, bench_scenario=None, measured=None):
    return Measurement(
        scenario=scenario_name(machines), run=run, machines=machines, clock_speed=10.0, latency_ms=150.0,
        wall_seconds=duration, simulated_seconds=duration, api_span_seconds=duration, duration_seconds=duration,
        calls=calls, api_calls=sum(count for route, count in calls.items() if route != "token"), throttled=throttled,
        token_requests=calls.get("token", 0), peak_rss_bytes=None, summary={}, actions_per_machine=actions_per_machine or {"1": machines},
        load_average=0.5, write_spans=write_spans or {}, bench_scenario=bench_scenario, measured=measured)


def verdict(measurements, target_start):
    [found] = [verdict for verdict in Targets(measurements).verdicts() if verdict.target.startswith(target_start)]
    return found


def test_isolation_meets_its_floor_only_within_5_percent_without_a_429_and_with_one_action_each():
    n = ISOLATION_MACHINES
    close = measurement(n, ISOLATE, 560.0, {ISOLATE_WRITE: n, LIST_ACTIONS: 1, "token": 1})
    slow = measurement(n, ISOLATE, 575.0, {ISOLATE_WRITE: n, LIST_ACTIONS: 1, "token": 1})
    throttled = measurement(n, ISOLATE, 545.0, {ISOLATE_WRITE: n + 2, LIST_ACTIONS: 1, "token": 1}, throttled=2)
    duplicated = measurement(n, ISOLATE, 545.0, {ISOLATE_WRITE: n, LIST_ACTIONS: 1}, actions_per_machine={"1": n - 1, "2+": 1})

    met = verdict([close], "Isolation, 1,000 machines")
    assert met.met is True and met.measured.startswith("560 s (9.3 min): 1.04x the floor of 540 s")
    assert "writes 1000, 429s 0, actions per machine 1: 1000" in met.measured
    assert [verdict([run], "Isolation, 1,000 machines").met for run in (slow, throttled, duplicated)] == [False, False, False]
    assert verdict([], "Isolation, 1,000 machines").met is None


def test_an_isolation_rerun_counts_machine_listings_with_action_listings():
    small = measurement(ISOLATION_MACHINES, ISOLATE_RERUN, 3.0, {LIST_ACTIONS: 1, LIST_MACHINES: 1})
    large = measurement(ISOLATION_RERUN_MACHINES, ISOLATE_RERUN, 9.0, {LIST_ACTIONS: 2, LIST_MACHINES: 1, "token": 1})
    paged = replace(large, calls={LIST_ACTIONS: 2, LIST_MACHINES: 2, "token": 1})
    writing = replace(large, calls={LIST_ACTIONS: 1, ISOLATE_WRITE: 1})

    met = verdict([small, large], "Isolation rerun")
    assert met.met is True
    assert met.measured == ("1,000: writes 0, action listings 1, machine listings 1, 3.0 s; "
                            "10,000: writes 0, action listings 2, machine listings 1, 9.0 s")
    # Two pages of each listing are four list reads: more than three, whichever listing pages.
    assert verdict([small, paged], "Isolation rerun").met is False
    assert verdict([small, writing], "Isolation rerun").met is False
    assert verdict([large], "Isolation rerun").met is None


def test_three_apis_side_by_side_meet_one_apis_floor_and_one_after_another_miss_it():
    n = RESPONSE_MACHINES
    calls = {ISOLATE_WRITE: n, SCAN_WRITE: n, WRITE: n, LIST_ACTIONS: 3, "token": 1}
    per_type = {"1": 3 * n}
    together = measurement(n, RESPONSE, 600.0, calls, actions_per_machine=per_type, write_spans={
        ISOLATE_WRITE: [1.0, 560.0], SCAN_WRITE: [2.0, 561.0], WRITE: [3.0, 562.0]})
    in_turn = replace(together, write_spans={ISOLATE_WRITE: [1.0, 560.0], SCAN_WRITE: [561.0, 1120.0], WRITE: [1121.0, 1680.0]})
    missing = replace(together, write_spans={ISOLATE_WRITE: [1.0, 560.0], WRITE: [3.0, 562.0]})

    met = verdict([together], "Isolate, scan and quarantine at once")
    assert met.met is True
    assert met.measured.startswith("the three APIs' writes took 561 s (9.3 min) together, 1.04x the floor")
    assert "isolate 1.0 s to 560 s (9.3 min), runAntiVirusScan 2.0 s to 561 s (9.3 min)" in met.measured
    assert "writes 1000 + 1000 + 1000; 429s 0; actions per machine and type 1: 3000" in met.measured
    assert verdict([in_turn], "Isolate, scan and quarantine at once").met is False
    unwritten = verdict([missing], "Isolate, scan and quarantine at once")
    assert unwritten.met is False and unwritten.measured == "writes 1000 + 1000 + 1000: an API was not written"


def test_one_budget_for_every_api_asks_only_that_each_machine_gets_each_action_once():
    n = SHARED_BUDGET_MACHINES
    done = measurement(n, RESPONSE_SHARED, 600.0, {ISOLATE_WRITE: n + 40, SCAN_WRITE: n + 40, WRITE: n + 40}, throttled=120,
                       actions_per_machine={"1": 3 * n})
    done = replace(done, summary={"created": 3 * n})
    lost = replace(done, actions_per_machine={"0": 1, "1": 3 * n - 1}, summary={"created": 3 * n - 1, "failed": 1})

    met = verdict([done], "The same, 300 machines, if the API kept one budget")
    assert met.met is True
    assert met.measured == ("actions per machine and type 1: 900, outcomes created 900; 600 s (10.0 min), 1.25x the floor of "
                            "480 s (8.0 min) for 900 writes on one budget; 429s 120")
    assert verdict([lost], "The same, 300 machines").met is False


def test_a_recorded_partial_run_replaces_its_scenarios_runs_and_keeps_the_others_in_order(tmp_path):
    old_first = measurement(1000, FIRST_RUN, 550.0, {WRITE: 1000}, bench_scenario="first-run", measured="2026-11-27T00:23:21Z")
    old_tag = measurement(1000, TAG, 3.0, {}, bench_scenario="tagging", measured="2026-11-27T00:23:21Z")
    isolation = measurement(1000, ISOLATE, 560.0, {ISOLATE_WRITE: 1000}, bench_scenario="isolation", measured="2026-12-08T02:00:00Z")
    new_tag = replace(old_tag, wall_seconds=2.0, measured="2026-12-08T02:05:00Z")
    path = str(tmp_path / "performance.json")
    # An entry written before runs had a time takes the report's.
    write_json(path, {"generated": "2026-11-27T00:23:21Z", "measurements": [
        dict(old_tag.as_dict(), measured=None), old_first.as_dict(), {**old_first.as_dict(), "run": RERUN, "retired_field": 1}]})

    previous = read_json(path)

    assert [entry.measured for entry in previous] == ["2026-11-27T00:23:21Z"] * 3
    recorded = merged(previous, [isolation, new_tag])
    assert [(entry.bench_scenario, entry.run, entry.measured) for entry in recorded] == [
        ("first-run", FIRST_RUN, "2026-11-27T00:23:21Z"), ("first-run", RERUN, "2026-11-27T00:23:21Z"),
        ("tagging", TAG, "2026-12-08T02:05:00Z"), ("isolation", ISOLATE, "2026-12-08T02:00:00Z")]
    assert read_json(str(tmp_path / "absent.json")) == []


def test_seeded_isolations_count_once_per_machine_and_type(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 3, action_types=(ISOLATE_TYPE, SCAN_TYPE)) as fleet:
        fleet.add_existing_actions(action_type=ISOLATE_TYPE)
        fleet.simulator.add_machine_action(fleet.machine_ids[0], action_type=SCAN_TYPE, status="Succeeded")
        counted = fleet.actions_per_machine()

    # Three machines, two types: one isolation each, one machine scanned, two not.
    assert counted == {"0": 2, "1": 4}


def test_the_response_play_runs_the_three_modules_side_by_side_once_each(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 4, action_types=(ISOLATE_TYPE, SCAN_TYPE, QUARANTINE)) as fleet:
        fleet.grant(*RESPONSE_ROLES)
        run = fleet.measure("smoke", RESPONSE, "response.yml", module=False, task=RESPONSE_TASKS)
        requests = fleet.simulator.request_log

    # Each API got one write per machine and nothing was refused; the three summaries add up.
    assert {route: run.calls.get(route) for route in (ISOLATE_WRITE, SCAN_WRITE, WRITE)} == {ISOLATE_WRITE: 4, SCAN_WRITE: 4, WRITE: 4}
    assert run.throttled == 0 and run.token_requests == 1
    assert run.actions_per_machine == {"1": 12} and run.summary["created"] == 12
    assert sorted(run.write_spans) == sorted((ISOLATE_WRITE, SCAN_WRITE, WRITE))
    assert all(0 <= start <= end <= run.api_span_seconds for start, end in run.write_spans.values())
    # Each module read the existing actions of its own types before writing.
    listings = [entry["query"] for entry in requests if entry["route"] == LIST_ACTIONS]
    assert any("Isolate" in text for text in listings) and any("RunAntiVirusScan" in text for text in listings)
    assert any("StopAndQuarantineFile" in text for text in listings)

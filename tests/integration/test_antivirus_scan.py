"""antivirus_scan: once through ansible-playbook (check mode, a run, a rerun), and its variants in process against
the HTTPS simulator: outcomes and the simulator's request log."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.entities import parse_timestamp
from tests.support.quarantine import FAST
from tests.support.scans import (
    SCANNER,
    outcomes,
    register_scanner,
    scan_in_process,
    scan_writes,
    scans_of,
    seed_scan,
)


def test_antivirus_scan_through_ansible_playbook(simulator, ansible):
    register_scanner(simulator)
    fresh = [simulator.add_machine("ws-%d.contoso.local" % number) for number in range(3)]
    running_full = simulator.add_machine("ws-full.contoso.local")
    seed_scan(simulator, running_full, "Full", "InProgress", hours_ago=1)
    scanned_today = simulator.add_machine("ws-today.contoso.local")
    seed_scan(simulator, scanned_today, "Quick", "Succeeded", hours_ago=2)
    old_windows = simulator.add_machine("ws-1703.contoso.local", os_platform="Windows10", version="1703", os_build=15063)
    machines = fresh + [running_full, scanned_today, old_windows]
    ids = [machine["id"] for machine in machines]

    run = ansible.playbook("antivirus_scan.yml", {"machine_ids": ids}, env=SCANNER)

    assert run.rc == 0, run.output
    predicted, scanned, again = run.result("Predict"), run.result("Scan"), run.result("Scan again")
    expected = ["created"] * 3 + ["existing", "existing", "unsupported"]
    assert outcomes(scanned) == expected and scanned["changed"] is True
    # Check mode predicts the real run machine by machine, and the scans that cover the others.
    assert outcomes(predicted) == [outcome.replace("created", "would_create") for outcome in expected]
    assert [entry["covered_by"] for entry in predicted["actions"]] == [entry["covered_by"] for entry in scanned["actions"]]
    assert [entry["scan_type"] for entry in scanned["actions"]] == ["Quick"] * 6
    assert [(entry["covered_by"] or {}).get("scan_type") for entry in scanned["actions"]] == [None] * 3 + ["Full", "Quick", None]
    assert scanned["actions"][5]["unsupported"]["code"] == "ClientVersionNotSupported"
    assert scanned["summary"] == {"created": 3, "existing": 2, "would_create": 0, "unsupported": 1, "queued": 0, "failed": 0}
    # The rerun finds the scans it made.
    assert outcomes(again) == ["existing"] * 5 + ["unsupported"] and again["changed"] is False
    assert [entry["covered_by"]["action_id"] for entry in again["actions"][:3]] == [entry["action_id"] for entry in scanned["actions"][:3]]
    # On the wire: one Quick scan for each machine nothing covered, and nothing else.
    assert sorted(scan_writes(simulator)) == sorted((machine["id"], "Quick", 201) for machine in fresh)
    assert {entry["body"]["Comment"] for entry in simulator.log_for(route="machines.runAntiVirusScan")} == {"INC-4711: scan"}
    # Each task read the machines once and their scans once, and sent nothing else.
    api_calls = [entry["route"] for entry in simulator.request_log if entry["route"] not in ("token", "openid-configuration")]
    assert sorted(api_calls) == ["machineactions.list"] * 3 + ["machines.list"] * 3 + ["machines.runAntiVirusScan"] * 3
    [existing_read] = simulator.log_for(route="machineactions.list")[:1]
    assert "type eq 'RunAntiVirusScan'" in existing_read["query"] and "creationDateTimeUtc ge" in existing_read["query"]
    assert old_windows["id"] not in scans_of(simulator)


@pytest.mark.parametrize("duplicate_response", ["return_existing", "already_in_progress"])
def test_both_duplicate_answers_are_existing_and_make_no_second_scan(simulator, modules, duplicate_response):
    register_scanner(simulator)
    # The list lags, so the pre-check cannot see the scans an analyst started minutes ago: the API's answer tells.
    simulator.configure(duplicate_response_by_type={"RunAntiVirusScan": duplicate_response}, list_lag_seconds=3600)
    machines = [simulator.add_machine("ws-%d.contoso.local" % number) for number in range(2)]
    seeded = [seed_scan(simulator, machine, scan_type, "Pending", hours_ago=0.2) for machine, scan_type in zip(machines, ("Quick", "Full"))]

    run, result = scan_in_process(modules, machine_ids=[machine["id"] for machine in machines])

    assert not run.failed, result
    assert outcomes(result) == ["existing", "existing"] and result["changed"] is False
    assert sorted((machine_id, scan_type) for machine_id, scan_type, _status in scan_writes(simulator)) == sorted(
        (machine["id"], "Quick") for machine in machines)
    assert scans_of(simulator) == {machine["id"]: [(action["scope"], "Pending")] for machine, action in zip(machines, seeded)}
    if duplicate_response == "return_existing":
        assert [entry["covered_by"]["action_id"] for entry in result["actions"]] == [action["id"] for action in seeded]
        assert [entry["covered_by"]["scan_type"] for entry in result["actions"]] == ["Quick", "Full"]


@pytest.mark.parametrize("scan_type, within, earlier, outcome", [
    ("Quick", None, "Quick", "existing"),
    ("Quick", None, "Full", "existing"),
    ("Full", None, "Full", "existing"),
    ("Full", None, "Quick", "created"),
    ("Quick", "1h", "Quick", "created"),
    ("Quick", "0", "Full", "created"),
])
def test_a_covering_scan_that_succeeded_within_the_window_is_existing(simulator, modules, scan_type, within, earlier, outcome):
    register_scanner(simulator)
    machine = simulator.add_machine("ws-1.contoso.local")
    done = seed_scan(simulator, machine, earlier, "Succeeded", hours_ago=2)
    options = {} if within is None else {"succeeded_within": within}

    run, result = scan_in_process(modules, machine_ids=[machine["id"]], scan_type=scan_type, **options)

    assert not run.failed, result
    [entry] = result["actions"]
    assert (entry["outcome"], entry["scan_type"], result["changed"]) == (outcome, scan_type, outcome == "created")
    if outcome == "existing":
        assert entry["covered_by"] == {"action_id": done["id"], "scan_type": earlier, "status": "Succeeded",
                                       "requested": done["creationDateTimeUtc"]}
        assert scan_writes(simulator) == []
    else:
        assert entry["covered_by"] is None and scan_writes(simulator) == [(machine["id"], scan_type, 201)]


@pytest.mark.parametrize("ignores_scope", [True, False])
def test_a_full_scan_is_never_sent_across_a_quick_one_under_either_duplicate_rule(simulator, modules, ignores_scope):
    register_scanner(simulator)
    simulator.configure(duplicate_ignores_scope=ignores_scope)
    quick_running, full_running, fresh = (simulator.add_machine("ws-%s.contoso.local" % name) for name in ("quick", "full", "fresh"))
    quick = seed_scan(simulator, quick_running, "Quick", "InProgress", hours_ago=0.5)
    seed_scan(simulator, full_running, "Full", "Pending", hours_ago=0.5)
    targets = [quick_running["id"], full_running["id"], fresh["id"]]

    predicted, predicted_result = scan_in_process(modules, check=True, scan_type="Full", machine_ids=targets)
    run, result = scan_in_process(modules, scan_type="Full", machine_ids=targets)
    rerun, quick_result = scan_in_process(modules, machine_ids=targets[:2])

    assert outcomes(result) == ["failed", "existing", "created"] and result["changed"] is True
    assert outcomes(predicted_result) == ["failed", "existing", "would_create"]
    error = result["actions"][0]["error"]
    assert error["code"] == "ScanInProgress" and quick["id"] in error["message"] and "set wait: true" in error["message"]
    assert predicted_result["actions"][0]["error"] == error
    assert run.failed and "ScanInProgress" in run.result["msg"] and predicted.failed
    # A Quick scan asked meanwhile is covered by either scan in flight.
    assert outcomes(quick_result) == ["existing", "existing"] and not rerun.failed
    assert [entry["covered_by"]["scan_type"] for entry in quick_result["actions"]] == ["Quick", "Full"]
    assert scan_writes(simulator) == [(fresh["id"], "Full", 201)]


@pytest.mark.parametrize("ignores_scope", [True, False])
def test_with_wait_a_full_scan_waits_for_the_quick_one_then_runs_to_its_end(simulator, modules, ignores_scope):
    register_scanner(simulator)
    simulator.configure(duplicate_ignores_scope=ignores_scope, clock_speed=FAST)
    machine = simulator.add_machine("ws-1.contoso.local")
    quick = seed_scan(simulator, machine, "Quick", "Pending", outcome="Succeeded")

    run, result = scan_in_process(modules, scan_type="Full", machine_ids=[machine["id"]], wait=True, env={"MDE_TIME_SCALE": FAST})

    assert not run.failed, result
    [entry] = result["actions"]
    assert (entry["outcome"], entry["status"], entry["scan_type"]) == ("created", "Succeeded", "Full")
    assert entry["action_id"] != quick["id"]
    assert scans_of(simulator) == {machine["id"]: [("Quick", "Succeeded"), ("Full", "Succeeded")]}
    assert scan_writes(simulator) == [(machine["id"], "Full", 201)]
    # Sent only once the Quick scan had ended.
    full = simulator.get_action(entry["action_id"])
    assert parse_timestamp(full["creationDateTimeUtc"]) >= parse_timestamp(simulator.get_action(quick["id"])["lastUpdateDateTimeUtc"])


def test_a_missing_machine_scan_is_named_stops_the_writes_and_check_mode_predicts_it(simulator, modules):
    register_scanner(simulator, roles=("Machine.Read.All",))
    machines = [simulator.add_machine("ws-%d.contoso.local" % number) for number in range(3)]
    ids = [machine["id"] for machine in machines]

    predicted, predicted_result = scan_in_process(modules, check=True, machine_ids=ids)
    run, result = scan_in_process(modules, machine_ids=ids)

    for entry in predicted_result["actions"] + result["actions"]:
        assert entry["outcome"] == "failed" and entry["error"]["missing_permission"] == "Machine.Scan"
    assert "Machine.Scan" in run.result["msg"] and "Machine.Scan" in predicted.result["msg"]
    assert result["changed"] is False
    assert [status for _machine, _type, status in scan_writes(simulator)] == [403]
    assert scans_of(simulator) == {}


def test_scans_go_only_where_defender_runs_them(simulator, modules):
    register_scanner(simulator)
    machines = [
        simulator.add_machine("ws-1709.contoso.local", os_platform="Windows10", version="1709", os_build=16299),
        simulator.add_machine("ws-1703.contoso.local", os_platform="Windows10", version="1703", os_build=15063),
        simulator.add_machine("ws-7.contoso.local", os_platform="Windows7", version=None, os_build=7601),
        simulator.add_machine("mac-1.contoso.local", os_platform="macOS", version="14.5"),
    ]
    ids = [machine["id"] for machine in machines]

    predicted, predicted_result = scan_in_process(modules, check=True, machine_ids=ids)
    run, result = scan_in_process(modules, machine_ids=ids)

    assert not run.failed, result
    assert outcomes(result) == ["created", "unsupported", "unsupported", "unsupported"]
    assert [entry["unsupported"]["code"] for entry in result["actions"][1:]] == [
        "ClientVersionNotSupported", "OsPlatformNotSupported", "OsPlatformNotSupported"]
    # The entity settles the old Windows before anything is sent; macOS is not on the API page, so the API decides.
    assert outcomes(predicted_result) == ["would_create", "unsupported", "unsupported", "would_create"]
    assert sorted(scan_writes(simulator)) == sorted([(ids[0], "Quick", 201), (ids[3], "Quick", 400)])
    assert any("Windows 10 version 1709 or later" in warning for warning in run.warnings), run.warnings


def test_wait_follows_each_scan_to_succeeded_or_failed(simulator, modules):
    register_scanner(simulator)
    simulator.configure(clock_speed=FAST)
    good = simulator.add_machine("ws-good.contoso.local")
    bad = simulator.add_machine("ws-bad.contoso.local", action_outcomes={"RunAntiVirusScan": "Failed"})

    run, result = scan_in_process(modules, machine_ids=[good["id"], bad["id"]], wait=True, env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    assert [(entry["outcome"], entry["status"]) for entry in result["actions"]] == [("created", "Succeeded"), ("failed", "Failed")]
    assert result["actions"][1]["error"]["code"] == "ActionFailed" and "ws-bad.contoso.local" in run.result["msg"]
    assert [status for _machine, _type, status in scan_writes(simulator)] == [201, 201]


@pytest.mark.parametrize("ignores_scope, duplicate_response", [
    (True, "return_existing"), (True, "already_in_progress"), (False, "return_existing"), (False, "already_in_progress")])
def test_a_full_scan_sent_past_a_quick_one_the_lagging_list_hid(simulator, modules, ignores_scope, duplicate_response):
    register_scanner(simulator)
    simulator.configure(duplicate_ignores_scope=ignores_scope, list_lag_seconds=3600,
                        duplicate_response_by_type={"RunAntiVirusScan": duplicate_response})
    machine = simulator.add_machine("ws-1.contoso.local")
    quick = seed_scan(simulator, machine, "Quick", "InProgress", hours_ago=0.1)

    run, result = scan_in_process(modules, scan_type="Full", machine_ids=[machine["id"]])

    [entry] = result["actions"]
    assert scan_writes(simulator)[0][:2] == (machine["id"], "Full") and len(scan_writes(simulator)) == 1
    if not ignores_scope:
        # Defender takes the Full scan beside the Quick one.
        assert entry["outcome"] == "created" and [scan_type for scan_type, _status in scans_of(simulator)[machine["id"]]] == ["Quick", "Full"]
        return
    assert scans_of(simulator)[machine["id"]] == [("Quick", "InProgress")]
    if duplicate_response == "return_existing":
        # The Quick scan it was answered with does not carry out a Full one: not reported as done.
        assert entry["outcome"] == "failed" and entry["error"]["code"] == "ScanInProgress" and quick["id"] in entry["error"]["message"]
        assert run.failed and entry["covered_by"] is None
    else:
        # A 400 names no action and the list cannot show it yet: the run says so rather than guess which scan it is.
        assert entry["outcome"] == "existing" and entry["covered_by"] is None
        assert any("does not show yet" in warning for warning in run.warnings), run.warnings


def test_bad_input_and_too_many_machines_are_refused_before_any_request(simulator, modules):
    register_scanner(simulator)
    machine_id = simulator.add_machine("ws-1.contoso.local")["id"]
    too_many = ["%040x" % number for number in range(1001)]

    refusals = [scan_in_process(modules, machine_ids=too_many)[0],
                scan_in_process(modules, machine_ids=[machine_id], succeeded_within="a day")[0],
                scan_in_process(modules, machine_ids=[machine_id], scan_type="quick")[0]]

    assert all(run.failed for run in refusals)
    assert "more than max_machines (1000): nothing was sent" in refusals[0].result["msg"] and "set max_machines: 1001" in refusals[0].result["msg"]
    assert "succeeded_within must be a duration such as 30m, 24h, 7d" in refusals[1].result["msg"]
    assert "scan_type" in refusals[2].result["msg"] and "Quick, Full" in refusals[2].result["msg"]
    assert simulator.request_log == []

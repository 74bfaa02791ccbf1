"""stop_and_quarantine_file against the simulator: outcomes and what went over the wire.

Through ansible-playbook: a first run, a failing task, a loop of tasks sharing one token, and the output's secrets.
The other behaviours run the module in this process (tests/support/in_process.py), with the options a task passes."""

from datetime import timedelta

import pytest

from tests.simulator.config import AppRegistration
from tests.support.quarantine import FAST, LIST_ACTIONS, OTHER_SHA1, SHA1, WRITE, ids, outcomes, quarantine, quarantine_in_process, seed, writes


def test_first_run_creates_one_action_per_machine_by_id_and_name(simulator, ansible):
    machines = seed(simulator, 4)
    run, result = quarantine(ansible, machine_ids=ids(machines[:2]), machine_names=[m["computerDnsName"] for m in machines[2:]])

    assert run.rc == 0, run.output
    assert result["changed"] is True
    assert outcomes(result) == {machine["id"]: "created" for machine in machines}
    assert result["summary"]["created"] == 4 and result["summary"]["failed"] == 0
    assert [entry["machine_name"] for entry in result["actions"]] == [m["computerDnsName"] for m in machines]
    for entry in result["actions"]:
        assert entry["status"] == "Pending" and entry["error"] is None
        assert entry["action"]["id"] == entry["action_id"]
        assert entry["action"]["relatedFileInfo"]["fileIdentifier"].lower() == SHA1
    # Exactly one write per machine, with the documented case-sensitive body.
    sent = writes(simulator)
    assert sorted(entry["path"].split("/")[3] for entry in sent) == sorted(ids(machines))
    assert all(entry["body"] == {"Comment": "integration test", "Sha1": SHA1} for entry in sent)
    assert all(entry["status"] == 201 for entry in sent)
    assert simulator.counters.get(LIST_ACTIONS, 0) <= 3
    assert simulator.counters.get("token", 0) == 1


def test_rerun_changes_nothing_and_writes_nothing(simulator, modules):
    machines = seed(simulator, 5)
    first_run, first = quarantine_in_process(modules, machine_ids=ids(machines))
    assert not first_run.failed and first["summary"]["created"] == 5
    simulator.reset()

    run, result = quarantine_in_process(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert result["changed"] is False
    assert set(outcomes(result).values()) == {"existing"}
    assert [entry["action_id"] for entry in result["actions"]] == [entry["action_id"] for entry in first["actions"]]
    assert writes(simulator) == []
    assert simulator.counters.get(LIST_ACTIONS, 0) <= 3


def test_check_mode_predicts_truly_and_never_writes(simulator, modules):
    machines = seed(simulator, 3)
    simulator.add_machine_action(machines[0]["id"], SHA1, status="InProgress")

    run, predicted = quarantine_in_process(modules, check=True, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert predicted["changed"] is True
    assert outcomes(predicted) == {machines[0]["id"]: "existing", machines[1]["id"]: "would_create", machines[2]["id"]: "would_create"}
    assert {entry["method"] for entry in simulator.request_log if entry["route"] != "token"} == {"GET"}
    assert writes(simulator) == []

    actual = quarantine_in_process(modules, machine_ids=ids(machines))[1]
    assert {machine: outcome.replace("would_create", "created") for machine, outcome in outcomes(predicted).items()} == outcomes(actual)


@pytest.mark.parametrize("duplicate_response", ["active_request_exists", "already_in_progress", "return_existing", "mixed"])
def test_duplicate_answers_are_existing_not_changes(simulator, modules, duplicate_response):
    # The list lags behind, so the pre-check cannot see the in-flight actions and the API's duplicate answer is
    # what the module must recognise.
    machines = seed(simulator, 4)
    # Created by another analyst minutes ago, and not listed yet.
    simulator.configure(duplicate_response=duplicate_response, list_lag_seconds=3600)
    earlier = simulator.clock.now() - timedelta(minutes=10)
    for machine in machines:
        simulator.add_machine_action(machine["id"], SHA1, status="Pending", created=earlier)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert result["changed"] is False
    assert set(outcomes(result).values()) == {"existing"}
    assert len(writes(simulator)) == 4
    existing_ids = {action["id"] for action in simulator.actions()}
    assert len(existing_ids) == 4, "no new action may be created"
    # A 400 names no action, and the lagging list cannot show it yet; a 201 carries it.
    reported = {entry["action_id"] for entry in result["actions"]} - {None}
    assert reported <= existing_ids
    if duplicate_response == "return_existing":
        assert reported == existing_ids


def test_other_files_and_old_successes_do_not_count(simulator, modules):
    machines = seed(simulator, 3)
    simulator.add_machine_action(machines[0]["id"], OTHER_SHA1, status="Pending")
    simulator.add_machine_action(machines[1]["id"], SHA1.upper(), status="Succeeded", created=simulator.clock.now().replace(year=2020))
    simulator.add_machine_action(machines[2]["id"], SHA1, status="Succeeded")

    run, result = quarantine_in_process(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert outcomes(result) == {machines[0]["id"]: "created", machines[1]["id"]: "created", machines[2]["id"]: "existing"}
    assert len(writes(simulator)) == 2


def test_succeeded_within_zero_and_force_resubmit(simulator, modules):
    machines = seed(simulator, 2)
    simulator.add_machine_action(machines[0]["id"], SHA1, status="Succeeded")
    simulator.add_machine_action(machines[1]["id"], SHA1, status="Pending")

    never = quarantine_in_process(modules, machine_ids=ids(machines), succeeded_within="0")[1]
    assert outcomes(never) == {machines[0]["id"]: "created", machines[1]["id"]: "existing"}

    simulator.configure(duplicate_response="create_new")
    forced = quarantine_in_process(modules, machine_ids=ids(machines[1:]), force=True)[1]
    assert outcomes(forced) == {machines[1]["id"]: "created"}
    assert len(writes(simulator)) == 2


def test_each_refusal_is_reported_per_machine(simulator, modules):
    good = seed(simulator, 1)[0]
    mac = simulator.add_machine(name="mac-01.contoso.local", os_platform="macOS", observed_files=[SHA1])
    clean = simulator.add_machine(name="ws-clean.contoso.local")
    missing = "0" * 40

    run, result = quarantine_in_process(modules, machine_ids=[good["id"], mac["id"], clean["id"], missing], allow_partial=True)

    assert not run.failed, run.result
    by_id = {entry["machine_id"]: entry for entry in result["actions"]}
    assert by_id[good["id"]]["outcome"] == "created"
    # The Mac cannot run the action: its entity says so, and no write is sent to it.
    assert by_id[mac["id"]]["outcome"] == "unsupported" and by_id[mac["id"]]["error"] is None
    assert by_id[mac["id"]]["unsupported"]["code"] == "OsPlatformNotSupported"
    assert mac["id"] not in {entry["params"]["machine_id"] for entry in writes(simulator)}
    assert by_id[clean["id"]]["outcome"] == "not_present" and by_id[clean["id"]]["error"] is None
    assert by_id[missing]["outcome"] == "failed" and by_id[missing]["error"]["http_status"] == 404
    assert result["summary"] == {"created": 1, "existing": 0, "would_create": 0, "cancelled": 0, "would_cancel": 0, "not_present": 1,
                                 "quarantined": 0, "unsupported": 1, "queued": 0, "failed": 1}


def test_failures_fail_the_task_but_return_every_result(simulator, ansible):
    machines = seed(simulator, 2)
    # A device ID Defender does not know: its write is refused with 404 ResourceNotFound.
    ghost = "0" * 40

    run, result = quarantine(ansible, machine_ids=ids(machines) + [ghost])

    assert run.rc != 0
    assert "1 of 3 machines failed" in result["msg"] and "ResourceNotFound" in result["msg"]
    assert len(result["actions"]) == 3 and result["summary"]["created"] == 2


def test_microsoft_signed_file_is_refused(simulator, modules):
    machine = simulator.add_machine(name="ws-01.contoso.local", observed_files=[OTHER_SHA1])
    simulator.add_file(OTHER_SHA1, microsoft_signed=True, observed_on=[machine["id"]])

    run = modules.run("stop_and_quarantine_file", sha1=OTHER_SHA1, comment="integration test", machine_ids=[machine["id"]], allow_partial=True)

    entry = run.result["actions"][0]
    assert entry["outcome"] == "failed" and entry["error"]["code"] == "DisallowedOperation"


def test_missing_permission_names_the_role(simulator, modules):
    machines = seed(simulator, 1)
    simulator.register_app(AppRegistration(client_id="11111111-2222-4333-8444-555555555555", secret="read-only-app-secret",
                                           roles=("Machine.Read.All",)))

    read_only_app = {"AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555", "AZURE_CLIENT_SECRET": "read-only-app-secret"}
    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env=read_only_app)

    assert run.failed
    entry = result["actions"][0]
    assert entry["outcome"] == "failed" and entry["error"]["code"] == "Forbidden"
    assert "Machine.StopAndQuarantine" in entry["error"]["message"]


def test_invalid_input_is_refused_before_any_request(simulator, modules):
    machines = seed(simulator, 1)
    sha256 = "a" * 64

    run = modules.run("stop_and_quarantine_file", sha1=sha256, comment="integration test", machine_ids=ids(machines))

    assert run.failed and "SHA-256" in run.result["msg"]
    assert simulator.request_log == []


def test_names_with_several_entries_pick_the_latest_onboarded(simulator, modules):
    old = simulator.add_machine(name="ws-reimaged.contoso.local", last_seen=simulator.clock.now() - timedelta(days=30), observed_files=[SHA1])
    new = simulator.add_machine(name="ws-reimaged.contoso.local", observed_files=[SHA1])

    run, result = quarantine_in_process(modules, machine_names=["WS-REIMAGED.contoso.local"])

    assert not run.failed, run.result
    assert [entry["machine_id"] for entry in result["actions"]] == [new["id"]]
    assert any(old["id"] in warning for warning in run.warnings), run.warnings
    assert [entry["path"].split("/")[3] for entry in writes(simulator)] == [new["id"]]


def test_observed_machines_and_explicit_targets_are_merged(simulator, modules):
    machines = seed(simulator, 3)

    run, result = quarantine_in_process(modules, observed=True, machine_ids=ids(machines[:1]))

    assert not run.failed, run.result
    assert sorted(outcomes(result)) == sorted(ids(machines))
    assert len(writes(simulator)) == 3
    assert simulator.counters.get("files.machines", 0) == 1


def test_wait_follows_the_lifecycle_to_success_or_timeout(simulator, modules):
    online = seed(simulator, 2)
    offline = simulator.add_machine(name="ws-offline.contoso.local", observed_files=[SHA1], quarantine_outcome="Pending")
    simulator.configure(clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=ids(online) + [offline["id"]], wait=True, wait_timeout=600, allow_partial=True,
                                        env={"MDE_TIME_SCALE": FAST})

    assert not run.failed, run.result
    by_id = {entry["machine_id"]: entry for entry in result["actions"]}
    assert [by_id[m["id"]]["status"] for m in online] == ["Succeeded", "Succeeded"]
    assert by_id[offline["id"]]["outcome"] == "failed" and by_id[offline["id"]]["error"]["code"] == "WaitTimeout"
    # Polling reads the whole set at once, not one GET per action per round.
    assert simulator.counters.get("machineactions.get", 0) <= simulator.counters.get(LIST_ACTIONS, 0)


def test_wait_reports_actions_that_fail_on_the_machine(simulator, modules):
    machine = seed(simulator, 1, quarantine_outcome="Failed")[0]
    simulator.configure(clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=[machine["id"]], wait=True, env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    entry = result["actions"][0]
    assert entry["outcome"] == "failed" and entry["status"] == "Failed" and entry["error"]["code"] == "ActionFailed"


def test_cancel_in_flight_actions_and_confirm(simulator, modules):
    machines = seed(simulator, 3)
    pending = [simulator.add_machine_action(machine["id"], SHA1, status="Pending") for machine in machines[:2]]

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), state="cancelled")

    assert not run.failed, run.result
    assert outcomes(result) == {machines[0]["id"]: "cancelled", machines[1]["id"]: "cancelled", machines[2]["id"]: "not_present"}
    assert sorted(entry["path"].split("/")[3] for entry in simulator.log_for(route="machineactions.cancel")) == sorted(a["id"] for a in pending)
    assert {simulator.get_action(action["id"])["status"] for action in pending} == {"Cancelled"}

    again = quarantine_in_process(modules, machine_ids=ids(machines), state="cancelled")[1]
    assert again["changed"] is False and set(outcomes(again).values()) == {"not_present"}


def test_cancel_that_the_api_ignores_is_not_reported_as_done(simulator, modules):
    machine = seed(simulator, 1)[0]
    simulator.add_machine_action(machine["id"], SHA1, status="Pending")
    simulator.configure(cancel_effect="ignored", clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=[machine["id"]], state="cancelled", env={"MDE_TIME_SCALE": FAST})

    assert run.failed
    assert result["actions"][0]["outcome"] == "failed" and result["actions"][0]["error"]["code"] == "CancelNotConfirmed"


@pytest.mark.parametrize("kind", ["status_after", "drop_after", "timeout_after"])
def test_lost_answers_never_duplicate(simulator, modules, kind):
    # Every third write reaches the service and creates the action, then its answer is lost.
    machines = seed(simulator, 6)
    simulator.faults.add(WRITE, kind, every=3, status=504, delay=3)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), timeout=2)

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"created"}
    per_machine = {}
    for action in simulator.actions():
        per_machine[action["machineId"]] = per_machine.get(action["machineId"], 0) + 1
    assert per_machine == {machine["id"]: 1 for machine in machines}


def test_transient_server_errors_on_reads_are_retried(simulator, modules):
    machines = seed(simulator, 2)
    simulator.faults.add(LIST_ACTIONS, "status", every=1, times=2, status=503)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert result["summary"]["created"] == 2
    assert simulator.counters.get(LIST_ACTIONS + " 503") == 2


def test_rate_limit_answers_are_honoured(simulator, modules):
    machines = seed(simulator, 12)
    simulator.configure(rate_limit_per_minute=5, clock_speed=FAST)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": FAST})

    assert not run.failed, run.result
    assert result["summary"]["created"] == 12
    assert len({action["machineId"] for action in simulator.actions()}) == 12 == len(simulator.actions())


def test_a_loop_of_tasks_fetches_one_token(simulator, ansible):
    # Each task of the loop is a process of its own: only the token cache can spare the later ones a login. Four
    # tasks show that as well as twenty did, at a fifth of the cost.
    machines = seed(simulator, 4)

    run = ansible.playbook("quarantine_loop.yml", extra_vars={"sha1": SHA1, "machine_ids": ids(machines)})

    assert run.rc == 0, run.output
    assert len(run.result("Quarantine one machine")["results"]) == len(machines)
    assert simulator.counters.get("token") == 1
    assert len(writes(simulator)) == len(machines)


def test_secrets_stay_out_of_the_output(simulator, ansible):
    machines = seed(simulator, 1)

    run, result = quarantine(ansible, machine_ids=ids(machines))
    verbose = ansible.playbook("quarantine.yml", extra_vars={"sha1": SHA1, "machine_ids": ids(machines)}, verbosity=4)

    secret = simulator.connection["client_secret"]
    assert run.rc == 0 and verbose.rc == 0
    for text in (run.output, verbose.output, repr(run.results), repr(verbose.results)):
        assert secret not in text
    assert verbose.result("Quarantine")["invocation"]["module_args"]["client_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

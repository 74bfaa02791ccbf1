"""Token trouble: a token revoked mid-run, the token service unreachable, a wrong client secret.

The wrong secret runs through ansible-playbook at -vvvv, whose output must not show it; the other cases are about
the module's logins and run it in this process (tests/support/in_process.py)."""

import secrets
import socket

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.token_cache import UNUSABLE_FOLDER_ADVICE
from tests.support.quarantine import SHA1, WRITE, ids, outcomes, quarantine, quarantine_in_process, seed, writes
from tests.support.messages import TOKEN_CACHE_FOLDER
from tests.support.reliability import (
    CANARY_PREFIX, arrival, describe_actions, has_traceback, leaks, one_action_each, outcome_counts, quarantines_per_machine)
from tests.support.tags import BULK, converge, tag_client, tag_writes, tags_of


# Simulated seconds per real second, for the simulator and (MDE_TIME_SCALE) the module's clock.
SPEED = 60


def closed_port():
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_token_revoked_mid_run_is_replaced_once(simulator, modules, wire, measured):
    """The tenant revokes every token at the 8th of 20 writes: the writes refused with 401 (the parallel ones
    too) are sent again with one new token, and every machine gets exactly one action."""
    machines = seed(simulator, 20)
    simulator.faults.add(WRITE, "revoke_token", start=8, times=1)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines))

    refused = [entry for entry in writes(simulator) if entry["status"] == 401]
    measured("%d writes refused with 401, %d tokens issued in all; %s; %d writes in all; %s" % (
        len(refused), simulator.counters.get("token", 0), outcome_counts(result), len(writes(simulator)),
        describe_actions(simulator, ids(machines))))
    assert refused, "the revocation did not hit the run"
    assert simulator.counters.get("token") == 2, "expected the first token and exactly one replacement"
    assert len(set(wire.issued_tokens())) == 2
    assert not run.failed, run.result
    assert outcomes(result) == {machine: "created" for machine in ids(machines)}
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    # Every refused write was sent once more, and that one was accepted.
    assert len(writes(simulator)) == len(machines) + len(refused)


def test_token_service_down_names_the_login_host(simulator, modules, measured):
    """The login service does not answer (nothing listens on its port): the task fails at once with a message
    naming the login host, without a traceback, and no API call is made."""
    machines = seed(simulator, 2)
    login_host = "https://127.0.0.1:%d" % closed_port()

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"AZURE_AUTHORITY_HOST": login_host})

    measured(result.get("msg"))
    assert run.failed
    assert login_host in result["msg"] and "refused" in result["msg"], result["msg"]
    assert not has_traceback(result), result
    assert simulator.request_log == []


def test_wrong_secret_shows_the_aadsts_code_and_never_the_secret(simulator, ansible, measured):
    """A wrong client secret: the task fails with Entra's AADSTS code, and the secret appears nowhere in the
    output at -vvvv nor in the registered result; no API call is made."""
    machines = seed(simulator, 2)
    wrong = CANARY_PREFIX + secrets.token_urlsafe(24)

    run = ansible.playbook("quarantine.yml", extra_vars={"sha1": SHA1, "machine_ids": ids(machines)},
                           env={"AZURE_CLIENT_SECRET": wrong}, verbosity=4)
    result = run.result("Quarantine")

    measured("%s; secret found in: %s" % (result.get("msg"), leaks([run.output, repr(run.results)], wrong) or "nothing"))
    assert run.rc != 0
    assert "AADSTS7000215" in result["msg"], result["msg"]
    assert leaks([run.output, repr(run.results)], wrong) == []
    assert {entry["route"] for entry in simulator.request_log} == {"openid-configuration", "token"}


@pytest.mark.parametrize("kind, status, retry_after", [
    pytest.param("throttle", 429, "30", id="429-retry-after-30"),
    pytest.param("status", 503, "20", id="503-retry-after-20"),
])
def test_throttled_login_is_waited_out(simulator, modules, wire, measured, kind, status, retry_after):
    """The token service answers the first two token requests with 429 (or 503) and a Retry-After: the module
    waits each one out within the same budget as API calls, asks again after it and completes the run."""
    machines = seed(simulator, 1)
    simulator.configure(clock_speed=SPEED)
    simulator.faults.add("token", kind, status=status, retry_after=retry_after, times=2)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": SPEED})

    asked = [arrival(entry) for entry in simulator.log_for(route="token")]
    gaps = [later - earlier for earlier, later in zip(asked, asked[1:])]
    measured("%d token requests (%s), %s apart (simulated s); %s" % (
        len(asked), ", ".join(str(entry["status"]) for entry in simulator.log_for(route="token")),
        " and ".join("%.0f" % gap for gap in gaps), result.get("msg") or outcome_counts(result)))

    assert not run.failed, run.result
    assert [entry["status"] for entry in simulator.log_for(route="token")] == [status, status, 200]
    assert min(gaps) >= float(retry_after), "the login was asked again before its Retry-After"
    assert outcomes(result) == {machines[0]["id"]: "created"}


def test_a_throttled_login_is_never_replayed_to_the_next_run(simulator, modules, measured):
    """Run 1's login is refused with 429 and a Retry-After of an hour (beyond the wait budget): it fails at once
    with the login service's answer. Run 2, with the same token cache, asks the token service again (msal's
    persisted HTTP cache kept no refusal) and completes."""
    machines = seed(simulator, 1)
    simulator.faults.add("token", "throttle", retry_after="3600", times=1)

    first, first_result = quarantine_in_process(modules, machine_ids=ids(machines))
    asked_first = simulator.counters.get("token", 0)
    second, second_result = quarantine_in_process(modules, machine_ids=ids(machines))
    measured("run 1: %s; run 2: %s, %d token request(s)" % (
        first_result.get("msg"), second_result.get("msg") or outcome_counts(second_result),
        simulator.counters.get("token", 0) - asked_first))

    assert first.failed and "login service" in first_result["msg"], first.result
    assert asked_first == 1, "the hour-long Retry-After was not taken as a refusal"
    assert simulator.counters.get("token", 0) == 2, "run 2 did not ask the token service"
    assert not second.failed, second.result
    assert outcomes(second_result) == {machines[0]["id"]: "created"}


@pytest.mark.parametrize("unusable", ["xdg-cache-home-under-a-file", "xdg-cache-home-read-only", "home-is-a-file"])
def test_an_unusable_token_cache_folder_is_a_warning(simulator, modules, tmp_path, measured, unusable):
    """The token cache folder cannot be created or written (XDG_CACHE_HOME under a file or on a read-only file
    system, HOME a file and no XDG_CACHE_HOME): the run warns once, naming the folder and what to set, and
    completes without the cache."""
    machines = seed(simulator, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    env = {
        "xdg-cache-home-under-a-file": {"XDG_CACHE_HOME": str(blocker / "cache")},
        # /proc refuses new folders even to root, as a read-only mount would.
        "xdg-cache-home-read-only": {"XDG_CACHE_HOME": "/proc/mde-response-cache"},
        # Ansible keeps its own temporary files under HOME unless told otherwise.
        "home-is-a-file": {"XDG_CACHE_HOME": None, "HOME": str(blocker)},
    }[unusable]

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env=env)

    warnings = [warning for warning in run.warnings if TOKEN_CACHE_FOLDER in warning]
    measured("%s; %s" % (result.get("msg") or outcome_counts(result), "; ".join(warnings) or "no warning"))
    assert not run.failed, run.result
    assert outcomes(result) == {machines[0]["id"]: "created"}
    assert len(warnings) == 1 and warnings[0].endswith(UNUSABLE_FOLDER_ADVICE), run.warnings
    # Only what a user can set is named: there is no token_cache_dir option.
    assert "token_cache_dir" not in warnings[0]


def test_the_token_cache_folder_warning_reaches_the_play_output(simulator, ansible, tmp_path):
    """Through ansible-playbook, the one warning about an unusable token cache folder is in the play's output and
    names only what a user can set."""
    machines = seed(simulator, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")

    run, result = quarantine(ansible, machine_ids=ids(machines), env={"XDG_CACHE_HOME": str(blocker / "cache")})

    # ansible-core shows warnings in its output rather than in the results its callbacks get.
    warnings = [line for line in run.output.splitlines() if line.startswith("[WARNING]") and TOKEN_CACHE_FOLDER in line]
    assert run.rc == 0, run.output
    assert outcomes(result) == {machines[0]["id"]: "created"}
    assert len(warnings) == 1 and "XDG_CACHE_HOME" in warnings[0] and "token_cache: false" in warnings[0], run.output
    assert "token_cache_dir" not in run.output


def test_secret_rotated_mid_run_keeps_every_result(simulator, ansible, measured):
    """The app's secret is rotated at the 3rd of 20 writes, so no token can be had any more: the task still returns
    every machine's result. The writes answered 201 are `created` and `changed` is true; the writes that met the
    rotation fail with the login's refusal; no write is sent after them, and the machines never written are reported
    unsent with the reason and what to do."""
    machines = seed(simulator, 20)
    simulator.faults.add(WRITE, "rotate_secret", start=3, times=1)

    run, result = quarantine(ansible, machine_ids=ids(machines))

    sent = writes(simulator)
    accepted = {entry["params"]["machine_id"] for entry in sent if entry["status"] == 201}
    refused = [entry for entry in sent if entry["status"] == 401]
    first_refusal = min(entry["seq"] for entry in refused)
    by_machine = {entry["machine_id"]: entry for entry in result.get("actions", [])}
    unsent = [entry for entry in by_machine.values() if entry["machine_id"] not in {item["params"]["machine_id"] for item in sent}]
    measured("%d writes (%d created, %d refused with 401) of 20 machines; %s; changed %s; unsent: %s" % (
        len(sent), len(accepted), len(refused), outcome_counts(result), result.get("changed"),
        unsent[0]["error"]["message"] if unsent else "none"))
    assert run.rc != 0
    assert result["changed"] is True
    assert result["summary"]["created"] == len(accepted) >= 2
    assert result["summary"]["failed"] == 20 - len(accepted)
    assert {machine for machine, entry in by_machine.items() if entry["outcome"] == "created"} == accepted
    # The writes sent after the rotation were already on their way (one per worker at most); none came later.
    assert len([entry for entry in sent if entry["seq"] > first_refusal]) < 8
    assert unsent, "every machine was written although no token could be had"
    for entry in by_machine.values():
        if entry["outcome"] == "failed":
            assert entry["error"]["code"] == "AuthenticationFailed", entry
            assert entry["error"]["message"].startswith("no action was created: no access token could be had"), entry
            assert "AADSTS7000215" in entry["error"]["message"] and "fix the credentials, then rerun the task" in entry["error"]["message"]
    assert "%d of 20 machines failed" % (20 - len(accepted)) in result["msg"], result["msg"]
    assert not has_traceback(result, run.output), run.output
    # Every accepted write made exactly one action, and no machine has more.
    assert quarantines_per_machine(simulator) == {machine: 1 for machine in accepted}


def test_a_failed_login_midway_through_a_tag_run_keeps_what_was_written(simulator, measured):
    """machine_tags, in process: the tenant revokes the token before the second of two bulk tag calls and the login
    then fails: the first call's tags stay reported as added, the second call's machines are unsent with the login's
    error, and nothing else is sent."""
    client = tag_client(simulator)
    ids = [machine["id"] for machine in simulator.seed_fleet(2)]
    simulator.faults.add(BULK, "revoke_token", start=2, times=1)
    simulator.faults.add("token", "status", status=401, start=2)

    result = converge(client, tags=["a", "b"], machine_ids=ids)

    measured("per machine %s; %s; bulk calls %s" % (
        [entry["tags"] for entry in result.machines], result.machines[0]["error"]["code"],
        [(action, tag, status) for action, tag, _ids, status in tag_writes(simulator)]))
    assert [entry["tags"] for entry in result.machines] == [{"a": "added", "b": "unsent"}] * 2
    assert [entry["tags_after"] for entry in result.machines] == [["a"], ["a"]]
    assert result.machines[0]["error"]["code"] == "AuthenticationFailed" and result.changed is True
    assert "could not be added on 2 of 2 machines (0 failed, 2 unsent)" in result.failure
    assert [(action, tag, status) for action, tag, _ids, status in tag_writes(simulator)] == [("Add", "a", 200), ("Add", "b", 401)]
    assert tags_of(simulator) == {machine_id: ["a"] for machine_id in ids}

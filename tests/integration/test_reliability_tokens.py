"""Token trouble: a token revoked mid-run, the token service unreachable, a wrong client secret."""

import secrets
import socket

from tests.support.quarantine import SHA1, WRITE, ids, outcomes, quarantine, seed, writes
from tests.support.reliability import CANARY_PREFIX, describe_actions, has_traceback, leaks, one_action_each, outcome_counts


def closed_port():
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_token_revoked_mid_run_is_replaced_once(simulator, ansible, wire, measured):
    """The tenant revokes every token at the 8th of 20 writes: the writes refused with 401 (the parallel ones
    too) are sent again with one new token, and every machine gets exactly one action."""
    machines = seed(simulator, 20)
    simulator.faults.add(WRITE, "revoke_token", start=8, times=1)

    run, result = quarantine(ansible, machine_ids=ids(machines))

    refused = [entry for entry in writes(simulator) if entry["status"] == 401]
    measured("%d writes refused with 401, %d tokens issued in all; %s; %d writes in all; %s" % (
        len(refused), simulator.counters.get("token", 0), outcome_counts(result), len(writes(simulator)),
        describe_actions(simulator, ids(machines))))
    assert refused, "the revocation did not hit the run"
    assert simulator.counters.get("token") == 2, "expected the first token and exactly one replacement"
    assert len(set(wire.issued_tokens())) == 2
    assert run.rc == 0, run.output
    assert outcomes(result) == {machine: "created" for machine in ids(machines)}
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    # Every refused write was sent once more, and that one was accepted.
    assert len(writes(simulator)) == len(machines) + len(refused)


def test_token_service_down_names_the_login_host(simulator, ansible, measured):
    """The login service does not answer (nothing listens on its port): the task fails at once with a message
    naming the login host, without a traceback, and no API call is made."""
    machines = seed(simulator, 2)
    login_host = "https://127.0.0.1:%d" % closed_port()

    run, result = quarantine(ansible, machine_ids=ids(machines), env={"AZURE_AUTHORITY_HOST": login_host})

    measured(result.get("msg"))
    assert run.rc != 0
    assert login_host in result["msg"] and "refused" in result["msg"], result["msg"]
    assert not has_traceback(result, run.output), run.output
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

"""Secrets: the client secret and the tokens stay out of every output; the token cache is private; TLS is kept."""

import json
import os
import pathlib
import secrets
import stat
import subprocess
import sys
import uuid

import pytest

from tests.simulator.config import AppRegistration
from tests.support.connect_proxy import ConnectProxy
from tests.support.quarantine import SHA1, WRITE, ids, outcomes, quarantine, seed, writes
from tests.support.reliability import CANARY_PREFIX, URL_REFUSALS, leaks, refused_cleanly


def private_modes(folder):
    """The permission bits of the folder and of each file in it."""
    return {name: stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) for name in ["."] + sorted(os.listdir(folder))}


def test_canary_secret_and_issued_tokens_appear_nowhere(simulator, ansible, wire, measured):
    """With a recognisable client secret, a token revoked mid-run (so two are issued) and a machine that fails, at
    -vvvv: neither the secret nor any issued token (nor part of one) is in ansible-playbook's output, the
    registered result, its warnings or its error texts; the token cache folder, created 0755 beforehand, is
    tightened to 0700 and its files are 0600."""
    canary = CANARY_PREFIX + secrets.token_urlsafe(24)
    app = simulator.register_app(AppRegistration(client_id=str(uuid.uuid4()), secret=canary))
    machines = seed(simulator, 3)
    # A device ID Defender does not know, for a refusal with an error text of its own.
    ghost = "0" * 40
    simulator.faults.add(WRITE, "revoke_token", start=2, times=1)
    # Left readable by others beforehand, as a loose umask or a careless hand would leave it.
    cache = os.path.join(ansible.cache_home, "mde.response")
    os.makedirs(cache)
    os.chmod(cache, 0o755)

    run = ansible.playbook("quarantine.yml", verbosity=4, env={"AZURE_CLIENT_ID": app.client_id, "AZURE_CLIENT_SECRET": canary},
                           extra_vars={"sha1": SHA1, "machine_ids": ids(machines) + [ghost], "allow_partial": True})
    result = run.result("Quarantine")

    tokens = wire.issued_tokens()
    # A token shown in part is a leak too: its claims and its signature each identify it.
    pieces = [piece for token in tokens for piece in token.split(".")[1:]]
    texts = [run.output, json.dumps(run.results)]
    modes = private_modes(cache)
    found = leaks(texts, canary, *tokens, *pieces)
    file_modes = " ".join(sorted({"%o" % mode for name, mode in modes.items() if name != "."}))
    measured("%d tokens issued; %d KB of output and results searched for the secret, the tokens and their parts: %s; "
             "cache folder %o, its files %s" % (len(tokens), sum(map(len, texts)) // 1024, found or "none found", modes["."], file_modes))
    assert run.rc == 0, run.output
    assert len(tokens) == 2 and outcomes(result)[ghost] == "failed"
    assert result["actions"][-1]["error"]["code"] == "ResourceNotFound"
    assert found == []
    assert modes.pop(".") == 0o700
    assert modes and set(modes.values()) == {0o600}
    # The cache holds the token, which is why it is private; the secret it never holds.
    assert leaks([pathlib.Path(cache, name).read_text(encoding="utf-8") for name in modes], canary) == []


@pytest.mark.parametrize("case", sorted(URL_REFUSALS))
def test_plain_http_is_refused_before_any_request(refusals, measured, case):
    """A plain-http API or login URL (which would send the secret and the token in clear) is refused before any
    request."""
    result = refusals.results[case]
    measured(result.get("msg"))
    problem = refused_cleanly(result, URL_REFUSALS[case][1])
    assert problem is None, problem
    assert refusals.request_log == []


def test_validate_certs_false_works_only_when_set_and_warns(simulator, ansible, measured):
    """Without the simulator's CA the TLS certificate is refused (a message pointing at ca_path, nothing sent);
    with validate_certs false the run works and warns that certificates are not verified."""
    machines = seed(simulator, 2)

    verified, verified_result = quarantine(ansible, machine_ids=ids(machines), env={"MDE_CA_PATH": None})
    sent_when_verified = simulator.request_log
    unverified, unverified_result = quarantine(ansible, machine_ids=ids(machines),
                                               env={"MDE_CA_PATH": None, "MDE_VALIDATE_CERTS": "false"})

    # ansible-core shows warnings in its output rather than in the results its callbacks get.
    warnings = [line for line in unverified.output.splitlines() if line.startswith("[WARNING]")]
    measured("default: %s; validate_certs false: %s, %s" % (
        verified_result.get("msg"), ", ".join(sorted(set(outcomes(unverified_result).values()))), warnings))
    assert verified.rc != 0
    assert "certificate" in verified_result["msg"] and "ca_path" in verified_result["msg"], verified_result["msg"]
    assert sent_when_verified == []
    assert not any("validate_certs" in line for line in verified.output.splitlines() if line.startswith("[WARNING]"))
    assert unverified.rc == 0, unverified.output
    assert set(outcomes(unverified_result).values()) == {"created"} and len(writes(simulator)) == 2
    assert any("validate_certs is false" in warning for warning in warnings), unverified.output


def test_proxy_password_appears_nowhere_and_host_and_port_stay_visible(simulator, ansible, measured):
    """A proxy_url with a recognisable password, at -vvvv: the proxy gets the password, yet neither the output,
    the registered result (invocation.module_args included), its warnings nor its error texts hold it; the result
    still shows the proxy's user, host and port. A proxy that cannot be reached fails with a message that blames
    the proxy, without its password."""
    canary = CANARY_PREFIX + secrets.token_urlsafe(24)
    machines = seed(simulator, 2)
    # A device ID Defender does not know: a failed machine among the results searched.
    ghost = "0" * 40
    with ConnectProxy() as proxy:
        # The option's value comes from a template: ansible-playbook -vvvv prints its command line's extra vars.
        run = ansible.playbook("quarantine.yml", verbosity=4, env={"MDE_VALIDATE_CERTS": "false", "MDE_CA_PATH": None,
                                                                   "PROXY_FOR_THE_TEST": proxy.url("soc", canary)},
                               extra_vars={"sha1": SHA1, "machine_ids": ids(machines) + [ghost], "allow_partial": True,
                                           "proxy_url": "{{ lookup('ansible.builtin.env', 'PROXY_FOR_THE_TEST') }}"})
        used = proxy.passwords()
    with ConnectProxy() as closed:
        unreachable = closed.url("soc", canary)
    # The module retries a proxy that refuses connections for a minute and a half: the accelerated clock shortens that.
    down = ansible.playbook("quarantine.yml", verbosity=4, env={"MDE_PROXY_URL": unreachable, "MDE_TIME_SCALE": 60},
                            extra_vars={"sha1": SHA1, "machine_ids": ids(machines)})
    result, failure = run.result("Quarantine"), down.result("Quarantine")

    texts = [run.output, json.dumps(run.results), down.output, json.dumps(down.results)]
    found = leaks(texts, canary)
    shown = result["invocation"]["module_args"]["proxy_url"]
    measured("the proxy got the password on %d of %d connections; %d KB of -vvvv output and results searched "
             "(a warning, a failed machine and an unreachable proxy among them): %s; module_args.proxy_url shown as %s; "
             "unreachable proxy: %s" % (used.count(canary), len(used), sum(map(len, texts)) // 1024,
                                        found or "password found nowhere", shown, failure.get("msg")))
    assert run.rc == 0, run.output
    assert used and set(used) == {canary}
    assert outcomes(result)[ghost] == "failed"
    assert any("validate_certs is false" in line for line in run.output.splitlines() if line.startswith("[WARNING]"))
    assert found == []
    assert shown == "http://soc:********@127.0.0.1:%d" % proxy.port
    assert down.rc != 0 and "the proxy failed" in failure["msg"], failure


def test_inventory_plugin_keeps_the_secret_and_the_token_out_of_its_output_and_cache(simulator, ansible, wire, measured, tmp_path):
    """ansible-inventory -vvvv with mde.response.machines, the client secret from a lookup in the inventory file and
    Ansible's inventory cache on: neither the secret nor the issued token (nor part of it) is in the output, the
    listing or the cache files."""
    canary = CANARY_PREFIX + secrets.token_urlsafe(24)
    app = simulator.register_app(AppRegistration(client_id=str(uuid.uuid4()), secret=canary))
    seed(simulator, 3)
    cache = tmp_path / "inventory-cache"
    source = tmp_path / "defender.mde.yml"
    source.write_text(json.dumps({"plugin": "mde.response.machines", "client_id": app.client_id,
                                  "client_secret": "{{ lookup('ansible.builtin.env', 'INVENTORY_SECRET') }}", "cache": True,
                                  "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache)}), encoding="utf-8")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(source), "--list", "-vvvv"]

    completed = subprocess.run(command, env=ansible.environment(AZURE_CLIENT_SECRET=None, INVENTORY_SECRET=canary), cwd=ansible.workdir,
                               capture_output=True, text=True, timeout=300, check=False)

    tokens = wire.issued_tokens()
    pieces = [piece for token in tokens for piece in token.split(".")[1:]]
    texts = [completed.stdout, completed.stderr] + [path.read_text(encoding="utf-8") for path in sorted(cache.iterdir())]
    found = leaks(texts, canary, *tokens, *pieces)
    measured("%d token issued; %d KB of output, listing and cache searched for the secret, the token and its parts: %s"
             % (len(tokens), sum(map(len, texts)) // 1024, found or "none found"))
    assert completed.returncode == 0, completed.stderr
    # At -vvvv the listing follows Ansible's own lines.
    listing = json.loads(completed.stdout[completed.stdout.index("\n{") + 1:])
    assert len(tokens) == 1 and len(listing["_meta"]["hostvars"]) == 3
    assert found == []

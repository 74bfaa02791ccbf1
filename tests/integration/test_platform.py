"""Where platform teams run the modules: the machine's trust store, REQUESTS_CA_BUNDLE, NO_PROXY, SOCKS, and the
names azure.azcollection and AWX's Azure credential use, against the simulator. The module runs in this process with
the environment a task would have (tests/support/in_process.py); module_defaults, an Ansible feature, through
ansible-playbook."""

import pytest
import requests

from tests.support.connect_proxy import ConnectProxy
from tests.support.quarantine import SHA1, ids, outcomes, quarantine_in_process, seed, writes


def os_style_bundle(path, *extra):
    """A trust store file as update-ca-certificates writes it: the usual public CAs, then these."""
    path.write_text("".join(open(bundle, encoding="ascii").read() for bundle in (requests.certs.where(),) + extra),
                    encoding="ascii")
    return str(path)


@pytest.mark.parametrize("trust", ["machine store", "REQUESTS_CA_BUNDLE"])
def test_without_ca_path_the_machines_trust_and_requests_ca_bundle_are_honoured(simulator, modules, tmp_path, trust):
    """The simulator's CA is in no bundle but a test trust store (SSL_CERT_FILE stands for the OS's default file),
    or only in REQUESTS_CA_BUNDLE; ca_path is unset."""
    machines = seed(simulator, 2)
    if trust == "machine store":
        env = {"MDE_CA_PATH": None, "SSL_CERT_FILE": os_style_bundle(tmp_path / "ca-certificates.crt", simulator.ca_path)}
    else:
        env = {"MDE_CA_PATH": None, "REQUESTS_CA_BUNDLE": simulator.ca_path}

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env=env)

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"created"}
    assert len(writes(simulator)) == 2 and simulator.log_for(route="token")


def test_ca_path_wins_over_the_machines_trust(simulator, modules, tmp_path):
    """A ca_path without the simulator's CA fails verification although REQUESTS_CA_BUNDLE has it."""
    machines = seed(simulator, 1)
    other = tmp_path / "public-only.pem"
    os_style_bundle(other)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines),
                                        env={"MDE_CA_PATH": str(other), "REQUESTS_CA_BUNDLE": simulator.ca_path})

    assert run.failed
    assert "certificate could not be verified" in result["msg"], result["msg"]
    assert simulator.request_log == []


def test_no_proxy_sends_the_hosts_it_names_around_the_proxy(simulator, modules):
    """HTTPS_PROXY is a recording CONNECT proxy. The API is addressed as localhost, which NO_PROXY names, the
    login service as 127.0.0.1, which it does not: only the login service's calls go through the proxy."""
    machines = seed(simulator, 2)
    port = simulator.base_url.rsplit(":", 1)[1]
    with ConnectProxy() as proxy:
        run, result = quarantine_in_process(modules, machine_ids=ids(machines),
                                            env={"HTTPS_PROXY": proxy.url(), "NO_PROXY": "example.invalid, localhost",
                                                 "MDE_API_URL": "https://localhost:%s" % port})
        bypassed = proxy.targets()
        run_all, _result = quarantine_in_process(modules, machine_ids=ids(machines), token_cache=False,
                                                 env={"HTTPS_PROXY": proxy.url(), "MDE_API_URL": "https://localhost:%s" % port})
        everything = proxy.targets()[len(bypassed):]

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"created"}
    assert bypassed and set(bypassed) == {"127.0.0.1:%s" % port}
    assert not run_all.failed, run_all.result
    assert set(everything) == {"127.0.0.1:%s" % port, "localhost:%s" % port}


@pytest.mark.parametrize("variable", ["MDE_PROXY_URL", "HTTPS_PROXY"])
def test_a_socks_proxy_is_refused_before_any_request(simulator, modules, variable):
    machines = seed(simulator, 1)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines),
                                        env={variable: "socks5h://soc:never-shown@127.0.0.1:1080"})

    assert run.failed
    assert "is a SOCKS proxy (socks5h://127.0.0.1:1080), which the collection does not support" in result["msg"]
    assert "never-shown" not in repr(run)
    assert simulator.request_log == []


def test_azure_collection_names_work_in_module_defaults(simulator, ansible, tmp_path):
    """module_defaults as copied from azure.azcollection (tenant, secret, cloud_environment) for the group."""
    machines = seed(simulator, 1)
    connection = simulator.connection
    playbook = tmp_path / "azure_names.yml"
    playbook.write_text("""
- name: Quarantine with azure.azcollection's option names
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/mde.response.defender:
      tenant: %s
      client_id: %s
      secret: "{{ azure_secret }}"
      cloud_environment: AzureCloud
  tasks:
    - name: Quarantine
      mde.response.stop_and_quarantine_file:
        sha1: %s
        machine_ids: [%s]
        comment: azure names
""" % (connection["tenant_id"], connection["client_id"], SHA1, machines[0]["id"]), encoding="utf-8")

    run = ansible.playbook(str(playbook), extra_vars={"azure_secret": connection["client_secret"]},
                           env={"AZURE_TENANT_ID": None, "AZURE_CLIENT_ID": None, "AZURE_CLIENT_SECRET": None})

    assert run.rc == 0, run.output
    assert outcomes(run.result("Quarantine")) == {machines[0]["id"]: "created"}
    assert {entry["body"]["client_id"] for entry in simulator.log_for(route="token")} == {connection["client_id"]}


@pytest.mark.parametrize("cloud_environment, expected", [
    ("AzureCloud", None),
    ("AzureUSGovernment", "Set cloud (one of commercial, gcc, gcc_high, dod; environment variable MDE_CLOUD)"),
])
def test_the_azure_credentials_cloud_environment(simulator, modules, cloud_environment, expected):
    """AWX's Azure credential sets AZURE_CLOUD_ENVIRONMENT: AzureCloud is commercial; AzureUSGovernment cannot
    say gcc_high from dod and is refused before any request, saying so."""
    machines = seed(simulator, 1)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"AZURE_CLOUD_ENVIRONMENT": cloud_environment})

    if expected is None:
        assert not run.failed, run.result
        assert outcomes(result) == {machines[0]["id"]: "created"}
    else:
        assert run.failed
        assert expected in result["msg"] and "gcc_high" in result["msg"] and "dod" in result["msg"]
        assert simulator.request_log == []

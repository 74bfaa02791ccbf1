"""`python -m tests.simulator` as a separate process: it starts, writes its state files, serves msal and the API,
and stops on SIGTERM, leaving the state dir behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msal
import pytest
import requests

from tests.simulator.server import CONNECTION_ENVIRONMENT

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_SECONDS = 15


def wait_for_file(path, process):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not path.is_file():
        if process.poll() is not None:
            pytest.fail("the simulator exited with %s: %s" % (process.returncode, process.stderr.read()))
        if time.monotonic() > deadline:
            pytest.fail("the simulator did not write %s within %d s" % (path.name, START_TIMEOUT_SECONDS))
        time.sleep(0.05)


@pytest.fixture
def simulator_process(tmp_path):
    state_dir = tmp_path / "state"
    process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped by the test itself
        [sys.executable, "-m", "tests.simulator", "--port", "0", "--state-dir", str(state_dir),
         "--clock-speed", "10", "--demo-fleet"],
        cwd=REPOSITORY_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # connection.json is written last, so once it is there every state file is complete.
        wait_for_file(state_dir / "connection.json", process)
        yield process, state_dir
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_the_process_serves_msal_and_the_api_and_stops_on_sigterm(simulator_process):
    process, state_dir = simulator_process
    connection = json.loads((state_dir / "connection.json").read_text())
    details = json.loads((state_dir / "simulator.json").read_text())
    assert details["pid"] == process.pid and details["clock_speed"] == 10
    announcement = process.stdout.readline()
    assert connection["api_url"] in announcement and details["admin_url"] in announcement

    with requests.Session() as session:
        session.verify = connection["ca_path"]
        session.trust_env = False
        application = msal.ConfidentialClientApplication(
            connection["client_id"], client_credential=connection["client_secret"],
            authority="%s/%s" % (connection["authority_host"], connection["tenant_id"]),
            instance_discovery=False, azure_region=False, http_client=session)
        result = application.acquire_token_for_client(["https://api.securitycenter.microsoft.com/.default"])
        assert "access_token" in result, result
        machines = session.get(connection["api_url"] + "/api/machines",
                               headers={"Authorization": "Bearer " + result["access_token"]})
    assert machines.status_code == 200
    assert "ws-0042.contoso.local" in {machine["computerDnsName"] for machine in machines.json()["value"]}

    with requests.Session() as admin:
        admin.trust_env = False
        assert admin.get(details["admin_url"] + "/counters").json()["machines.list 200"] == 1

    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert sorted(path.name for path in state_dir.iterdir()) == [
        "ca.pem", "client-cert-encrypted.pem", "client-cert.pem", "connection.env", "connection.json", "simulator.json"]


def test_a_shell_that_sources_connection_env_has_the_connection_in_the_collections_variables(simulator_process):
    state_dir = simulator_process[1]
    connection = json.loads((state_dir / "connection.json").read_text())
    names = list(CONNECTION_ENVIRONMENT.values())

    shell = subprocess.run(["sh", "-c", '. "$1" && env -0', "sh", str(state_dir / "connection.env")],
                           env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True)

    environment = dict(line.split("=", 1) for line in shell.stdout.split("\0") if line)
    assert {name: environment[name] for name in names} == {
        variable: connection[option] for option, variable in CONNECTION_ENVIRONMENT.items()}
    assert (state_dir / "connection.env").stat().st_mode & 0o777 == 0o600

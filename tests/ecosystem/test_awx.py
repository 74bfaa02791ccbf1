"""AWX / Automation Controller: jobs of mde.response.quarantine run through ansible-runner (the engine under AWX)
with nothing but what a credential injects and what the survey asks, against the simulator.

AWX hands a job to ansible-runner as a private data directory: the project's playbook, the inventory, the
credential's environment variables (env/envvars) and the survey answers (env/extravars). These tests build that
directory the way AWX does, with the project playbook and the survey of docs/awx*, and check the simulator's
request log, so they hold whatever the playbook prints.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.mde.response.plugins.module_utils.mde_module import CONNECTION_ARGUMENT_SPEC
from tests.ecosystem.tools import REPO, environment, tool
from tests.support.connect_proxy import ConnectProxy
from tests.simulator.config import CERT_CLIENT_ID, CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID
from tests.support.quarantine import FAST, SHA1, ids, seed, writes
from tests.support.role_tasks import TABLE_TASK

# Every environment variable a module reads a connection option from, and the option's argument spec.
OPTION_OF_VARIABLE = {name: spec for spec in CONNECTION_ARGUMENT_SPEC.values() for name in spec.get("fallback", (None, ()))[1]}
CREDENTIAL_TYPE = os.path.join(REPO, "docs", "awx", "credential_type.yml")
SURVEY = os.path.join(REPO, "docs", "awx", "survey.json")


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def project_playbook():
    """The playbook docs/awx.md tells users to put in their project (the YAML block headed "# quarantine.yml")."""
    blocks = re.findall(r"^```yaml\n(# quarantine\.yml\n.*?)^```", read(os.path.join(REPO, "docs", "awx.md")),
                        flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/awx.md should show the project playbook once"
    return blocks[0]


def survey_answers(**answers):
    """The extra variables of a job launched with the survey: these answers, and every other question's default."""
    questions = json.loads(read(SURVEY))["spec"]
    extra_vars = {question["variable"]: question.get("default", "") for question in questions}
    assert set(answers) <= set(extra_vars), "the survey has no question for %s" % (set(answers) - set(extra_vars))
    extra_vars.update(answers)
    assert all(extra_vars[question["variable"]] != "" for question in questions if question["required"])
    return extra_vars


def private_data_dir(directory, credential_env, extra_vars, python):
    """What AWX hands ansible-runner for a job: the project playbook, an inventory whose localhost runs the modules
    with `python`, the credential's environment variables (env/envvars) and the survey answers (env/extravars)."""
    (directory / "project").mkdir(parents=True)
    (directory / "project" / "quarantine.yml").write_text(project_playbook(), encoding="utf-8")
    (directory / "inventory").mkdir()
    (directory / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % python, encoding="utf-8")
    (directory / "env").mkdir(exist_ok=True)
    (directory / "env" / "envvars").write_text(yaml.safe_dump(credential_env), encoding="utf-8")
    (directory / "env" / "extravars").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")


def job_status(directory):
    """The status ansible-runner gave the job ("successful", "failed", ...), or "none" when it never got that far."""
    status = directory / "artifacts" / "job" / "status"
    return status.read_text(encoding="utf-8") if status.exists() else "none"


def run_job(directory, credential_env, extra_vars):
    """Run the project playbook as an AWX job does: ansible-runner over a private data dir. Returns the job status."""
    private_data_dir(directory, credential_env, extra_vars, sys.executable)
    # The process environment stands for the execution environment: the collection installed, a token cache of
    # its own, and none of the connection variables of whoever runs the tests.
    process = environment(ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collection-tree"),
                          XDG_CACHE_HOME=str(directory / "cache"), ANSIBLE_NOCOLOR="1")
    for name in OPTION_OF_VARIABLE:
        process.pop(name, None)
    completed = subprocess.run([tool("ansible-runner"), "run", str(directory), "--playbook", "quarantine.yml",
                                "--ident", "job"], env=process, capture_output=True, text=True, timeout=300, check=False)
    return job_status(directory), completed.stdout + completed.stderr


def job_events(directory):
    """Everything the job reported, as AWX stores and shows it (its events, with their stdout and results)."""
    events = directory / "artifacts" / "job" / "job_events"
    return "".join(path.read_text(encoding="utf-8") for path in sorted(events.iterdir()))


def quarantine_vars(machines):
    # A survey text area gives one machine ID a line.
    return survey_answers(sha1=SHA1, comment="INC-4711: AWX job", machine_ids="\n".join(ids(machines)))


def endpoints(simulator):
    """Where the simulator is: what MDE_API_URL, AZURE_AUTHORITY_HOST and MDE_CA_PATH point a real job elsewhere."""
    connection = simulator.connection
    return {"MDE_API_URL": connection["api_url"], "AZURE_AUTHORITY_HOST": connection["authority_host"],
            "MDE_CA_PATH": connection["ca_path"]}


def stock_azure_credential(connection):
    """Exactly what the built-in "Microsoft Azure Resource Manager" credential injects for a service principal."""
    return {"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000", "AZURE_CLIENT_ID": connection["client_id"],
            "AZURE_SECRET": connection["client_secret"], "AZURE_TENANT": connection["tenant_id"]}


def assert_quarantined_once_each(simulator, machines, appid):
    sent = writes(simulator)
    assert sorted(entry["path"].split("/")[3] for entry in sent) == sorted(ids(machines))
    assert {(entry["status"], entry["appid"]) for entry in sent} == {(201, appid)}


@pytest.mark.smoke
def test_stock_azure_credential_quarantines_and_a_relaunch_changes_nothing(simulator, tmp_path):
    machines = seed(simulator, 3)
    connection = simulator.connection
    azure_credential = stock_azure_credential(connection)

    status, output = run_job(tmp_path / "launch", dict(azure_credential, **endpoints(simulator)), quarantine_vars(machines))

    assert status == "successful", output
    assert_quarantined_once_each(simulator, machines, CLIENT_ID)
    token_requests = simulator.log_for(route="token")
    assert token_requests and all(entry["body"]["client_id"] == CLIENT_ID and "client_secret" in entry["body"]
                                  for entry in token_requests)
    assert connection["client_secret"] not in output + job_events(tmp_path / "launch")

    simulator.reset()
    status, output = run_job(tmp_path / "relaunch", dict(azure_credential, **endpoints(simulator)), quarantine_vars(machines))

    assert status == "successful", output
    assert writes(simulator) == []


def credential_type():
    return yaml.safe_load(read(CREDENTIAL_TYPE))


def inject(definition, inputs, directory):
    """The environment AWX gives a job for a credential of a custom type (AWX's documented injector rules).

    Only inputs with a value reach the templates (others are undefined, so they render empty), a file is written
    for every file template, and every env template is rendered, empty or not.
    """
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {name: value for name, value in inputs.items() if value}
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for label, template in definition["injectors"].get("file", {}).items():
        path = directory / label.split(".", 1)[1]
        path.write_text(sandbox.from_string(template).render(**namespace), encoding="utf-8")
        path.chmod(0o600)
        files[label.split(".", 1)[1]] = str(path)
    # Templates name the file of "template.<name>" as tower.filename.<name>.
    namespace["tower"] = SimpleNamespace(filename=SimpleNamespace(**files))
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in definition["injectors"]["env"].items()}


def test_credential_type_injects_only_what_the_modules_read(tmp_path):
    definition = credential_type()
    fields = {field["id"]: field for field in definition["inputs"]["fields"]}
    injected = inject(definition, {}, tmp_path / "empty")

    assert set(injected) <= set(OPTION_OF_VARIABLE)
    templates = " ".join(list(definition["injectors"]["env"].values()) + list(definition["injectors"]["file"].values()))
    assert [name for name in fields if name not in templates] == []
    assert set(definition["inputs"]["required"]) <= set(fields)
    assert all(field["default"] in field["choices"] for field in fields.values() if "choices" in field)
    # An empty credential injects values every module accepts: valid choices, and blanks that count as unset.
    for name, value in injected.items():
        option = OPTION_OF_VARIABLE[name]
        assert value in option["choices"] if "choices" in option else value == "", name
    # The proxy URL may hold the proxy's password.
    secret_fields = {"client_secret", "client_certificate", "client_certificate_password", "proxy_url"}
    assert {name for name, field in fields.items() if field.get("secret")} == secret_fields


@pytest.mark.parametrize("method", [pytest.param("certificate", marks=pytest.mark.smoke), "managed_identity"])
def test_custom_credential_type_quarantines_with_certificate_or_managed_identity(simulator, tmp_path, method, monkeypatch):
    machines = seed(simulator, 2)
    details = simulator.details
    inputs = {"cloud": "commercial", "api_url": simulator.connection["api_url"], "ca_bundle": read(simulator.ca_path),
              "authority_host": simulator.connection["authority_host"]}
    if method == "certificate":
        inputs.update(auth_method="certificate", tenant_id=simulator.connection["tenant_id"], client_id=CERT_CLIENT_ID,
                      client_certificate=read(details["client_certificate_encrypted_path"]),
                      client_certificate_password=details["client_certificate_password"])
        appid = CERT_CLIENT_ID
    else:
        # On an Azure VM the instance metadata service answers; here the simulator stands in for it.
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", simulator.base_url)
        inputs.update(auth_method="managed_identity", client_id=MANAGED_IDENTITY_CLIENT_ID)
        appid = MANAGED_IDENTITY_CLIENT_ID

    injected = inject(credential_type(), inputs, tmp_path / "job" / "env")
    status, output = run_job(tmp_path / "job", injected, quarantine_vars(machines))

    assert status == "successful", output
    assert_quarantined_once_each(simulator, machines, appid)
    events = job_events(tmp_path / "job")
    assert "PRIVATE KEY" not in events
    assert details["client_certificate_password"] not in events


def test_a_proxy_password_in_the_credential_stays_out_of_the_job_events(simulator, tmp_path):
    """A credential that injects MDE_PROXY_URL with a password: the job goes through the proxy with it, and the
    password is in none of the job's events (stdout, results, module_args), which AWX stores and shows."""
    machines = seed(simulator, 2)
    connection = simulator.connection
    canary = "canary-proxy-" + secrets.token_urlsafe(16)
    azure_credential = {"AZURE_CLIENT_ID": connection["client_id"], "AZURE_SECRET": connection["client_secret"],
                        "AZURE_TENANT": connection["tenant_id"]}
    with ConnectProxy() as proxy:
        status, output = run_job(tmp_path / "job", dict(azure_credential, MDE_PROXY_URL=proxy.url("soc", canary),
                                                        **endpoints(simulator)), quarantine_vars(machines))
    events = job_events(tmp_path / "job")

    assert status == "successful", output
    assert proxy.passwords() and set(proxy.passwords()) == {canary}
    assert_quarantined_once_each(simulator, machines, CLIENT_ID)
    assert canary not in output + events
    assert "soc:********@127.0.0.1:%d" % proxy.port in events


def test_survey_state_cancelled_cancels_the_quarantines_in_flight(simulator, tmp_path):
    machines = seed(simulator, 2)
    pending = [simulator.add_machine_action(machine["id"], SHA1, status="Pending") for machine in machines]
    connection = simulator.connection
    credential = {"AZURE_CLIENT_ID": connection["client_id"], "AZURE_SECRET": connection["client_secret"],
                  "AZURE_TENANT": connection["tenant_id"]}

    status, output = run_job(tmp_path / "cancel", dict(credential, **endpoints(simulator)),
                             survey_answers(sha1=SHA1, comment="INC-4711: false positive", state="cancelled", machine_ids="\n".join(ids(machines))))

    assert status == "successful", output
    assert writes(simulator) == []
    cancels = simulator.log_for(method="POST", route="machineactions.cancel")
    assert sorted(entry["path"].split("/")[3] for entry in cancels) == sorted(action["id"] for action in pending)
    assert "Cancel the quarantines still in flight of 1 file(s)" in job_events(tmp_path / "cancel")


def test_the_job_output_and_its_artifacts_hold_the_result_per_machine(simulator, tmp_path):
    machines = seed(simulator, 2)
    # A device ID Defender does not know: its write is refused with 404 ResourceNotFound.
    ghost = "0" * 40
    connection = simulator.connection
    credential = {"AZURE_CLIENT_ID": connection["client_id"], "AZURE_SECRET": connection["client_secret"],
                  "AZURE_TENANT": connection["tenant_id"]}

    status, output = run_job(tmp_path / "job", dict(credential, **endpoints(simulator)),
                             survey_answers(sha1=SHA1, comment="INC-4711: AWX job", machine_ids="\n".join(ids(machines) + [ghost]),
                                            allow_partial="yes"))

    assert status == "successful", output
    events = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((tmp_path / "job" / "artifacts" / "job" / "job_events").iterdir())]
    [stats] = [event for event in events if event["event"] == "playbook_on_stats"]
    results = stats["event_data"]["artifact_data"]["quarantine_file_results"]
    assert [(row["machine_id"], row["outcome"]) for row in results] == [(ghost, "failed")] + [(machine["id"], "created") for machine in machines]
    assert results[0]["error"]["code"]
    table = next(event["event_data"]["res"]["msg"] for event in events
                 if event["event"] == "runner_on_ok" and event["event_data"]["task"] == TABLE_TASK)
    assert table[1].split()[:2] == ["failed", ghost]


def test_an_action_queued_for_an_offline_machine_is_its_own_outcome_in_the_artifacts(simulator, tmp_path):
    online = seed(simulator, 1)[0]
    offline = simulator.add_machine("laptop-07.contoso.local", observed_files=[SHA1], health_status="Inactive",
                                    quarantine_outcome="Pending", last_seen=simulator.clock.now() - timedelta(days=3))
    simulator.configure(clock_speed=FAST)
    connection = simulator.connection
    credential = {"AZURE_CLIENT_ID": connection["client_id"], "AZURE_SECRET": connection["client_secret"],
                  "AZURE_TENANT": connection["tenant_id"],
                  # The modules' clock runs as fast as the simulator's (a testing hook), so the wait takes a second.
                  "MDE_TIME_SCALE": str(FAST)}

    status, output = run_job(tmp_path / "job", dict(credential, **endpoints(simulator)),
                             survey_answers(sha1=SHA1, comment="INC-4711: AWX job", machine_ids="\n".join(ids([online, offline])),
                                            wait="yes", wait_timeout=120))

    assert status == "successful", output
    events = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((tmp_path / "job" / "artifacts" / "job" / "job_events").iterdir())]
    [stats] = [event for event in events if event["event"] == "playbook_on_stats"]
    artifacts = stats["event_data"]["artifact_data"]
    assert (artifacts["quarantine_file_summary"]["queued"], artifacts["quarantine_file_summary"]["failed"]) == (1, 0)
    assert artifacts["quarantine_file_failures"] == []
    [queued] = [row for row in artifacts["quarantine_file_results"] if row["outcome"] == "queued"]
    assert (queued["machine_id"], queued["status"]) == (offline["id"], "Pending")
    assert (queued["queued"]["health_status"], queued["queued"]["last_seen"]) == ("Inactive", offline["lastSeen"])
    assert "queued: %s on laptop-07.contoso.local" % SHA1 in job_events(tmp_path / "job")
    assert sorted(entry["path"].split("/")[3] for entry in writes(simulator)) == sorted([online["id"], offline["id"]])

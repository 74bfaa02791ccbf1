"""Every playbook in docs/examples, run as its header says against the simulator."""

import json
import os

from tests.support.ansible_runner import REPO
from tests.support.machine_actions import FACT_TASK as ACTION_FACT_TASK, RESPONDER, action_writes, register_responder
from tests.support.quarantine import FAST, SHA1, ids, seed
from tests.support.reports import report_files, written
from tests.support.role_tasks import MODULE_TASK

EXAMPLES = os.path.join(REPO, "docs", "examples")
CREDENTIAL_VARIABLES = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


def example(name):
    return os.path.join(EXAMPLES, name)


def test_quarantine_by_name_and_id(simulator, ansible, tmp_path):
    machines = seed(simulator, 4)
    result_file = tmp_path / "result.json"

    run = ansible.playbook(example("quarantine_by_name_and_id.yml"), extra_vars={
        "mde_connection_file": os.path.join(simulator.state_dir, "connection.json"), "sha1": SHA1, "result_file": str(result_file),
        "machine_names": [machine["computerDnsName"] for machine in machines[:2]], "machine_ids": ids(machines[2:])})

    assert run.rc == 0, run.output
    assert written(simulator) == sorted((machine["id"], SHA1) for machine in machines)
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert {entry["outcome"] for entry in result["actions"]} == {"created"}


def test_quarantine_on_the_machines_of_an_inventory_group_with_one_call(simulator, ansible, tmp_path):
    machines = seed(simulator, 4)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[finance_workstations]\n%s\n\n[others]\n%s\n" % (
        "\n".join(machine["computerDnsName"] for machine in machines[:3]), machines[3]["computerDnsName"]), encoding="utf-8")

    run = ansible.playbook(example("quarantine_inventory_group.yml"), extra_vars={"sha1": SHA1}, inventory=str(inventory))

    assert run.rc == 0, run.output
    [call] = run.results_of(MODULE_TASK)
    assert len(call["results"]) == 1
    assert written(simulator) == sorted((machine["id"], SHA1) for machine in machines[:3])
    # The group's names are resolved together, not one look-up per host: once by the plan, once by the run.
    assert simulator.counters.get("machines.list") == 2


def test_quarantine_everywhere_observed_wait_and_report(simulator, ansible, tmp_path):
    machines = seed(simulator, 3)
    simulator.configure(clock_speed=FAST)

    run = ansible.playbook(example("quarantine_observed_and_report.yml"), extra_vars={"sha1": SHA1, "report_dir": str(tmp_path)},
                           env={"MDE_TIME_SCALE": FAST})

    assert run.rc == 0, run.output
    assert written(simulator) == sorted((machine["id"], SHA1) for machine in machines)
    report, table = report_files(tmp_path)
    assert report["waited"] is True and report["summary"]["created"] == 3
    assert sorted((row["machine"], row["outcome"], row["status"]) for row in table) == [
        (machine["computerDnsName"], "created", "Succeeded") for machine in machines]


def test_cancel_pending_quarantines_of_a_file(simulator, ansible):
    machines = seed(simulator, 3)
    pending = [simulator.add_machine_action(machine["id"], SHA1, status=status) for machine, status in zip(machines, ("Pending", "InProgress"))]
    done = simulator.add_machine_action(machines[2]["id"], SHA1, status="Succeeded")
    extra_vars = {"sha1": SHA1, "comment": "INC-4711: false positive"}

    run = ansible.playbook(example("cancel_pending_quarantine.yml"), extra_vars=extra_vars)

    assert run.rc == 0, run.output
    assert sorted(entry["path"].split("/")[3] for entry in simulator.log_for(route="machineactions.cancel")) == sorted(a["id"] for a in pending)
    assert {action["id"]: action["status"] for action in simulator.actions()} == {
        pending[0]["id"]: "Cancelled", pending[1]["id"]: "Cancelled", done["id"]: "Succeeded"}
    assert run.result("Show how many were cancelled")["msg"]["cancelled"] == 2
    simulator.reset()

    again = ansible.playbook(example("cancel_pending_quarantine.yml"), extra_vars=extra_vars)

    assert again.rc == 0, again.output
    assert again.result("Show how many were cancelled")["msg"] == "No quarantine of the file was in flight."
    assert simulator.log_for(method="POST", route="machineactions.cancel") == []


def test_credentials_set_once_with_module_defaults(simulator, ansible):
    active = simulator.add_machine("fin-01.contoso.local", tags=("finance",), observed_files=[SHA1])
    simulator.add_machine("fin-02.contoso.local", tags=("finance",), health_status="Inactive", observed_files=[SHA1])
    simulator.add_machine("hr-01.contoso.local", tags=("hr",), observed_files=[SHA1])
    connection = simulator.connection

    run = ansible.playbook(example("credentials_once.yml"), env={name: None for name in CREDENTIAL_VARIABLES}, extra_vars={
        "sha1": SHA1, "tag": "finance", "mde_tenant_id": connection["tenant_id"], "mde_client_id": connection["client_id"],
        "mde_client_secret": connection["client_secret"]})

    assert run.rc == 0, run.output
    assert written(simulator) == [(active["id"], SHA1)]
    assert [entry["appid"] for entry in simulator.log_for(route="token")] == [connection["client_id"]]


def test_a_whole_containment_isolates_collects_scans_and_releases_in_that_order(simulator, ansible, tmp_path):
    register_responder(simulator)
    simulator.configure(clock_speed=FAST)
    machine = simulator.add_machine("ws-0042.contoso.local")
    controller = simulator.add_machine("dc-01.contoso.local")
    names = [machine["computerDnsName"], controller["computerDnsName"]]

    # Without report_dir (its files are the role's, tested there): each step's report is the role's fact.
    run = ansible.playbook(example("contain_machine.yml"), env=dict(RESPONDER, MDE_TIME_SCALE=FAST), extra_vars={
        "machine_names": ",".join(names), "comment": "INC-4711: ransomware", "package_dir": str(tmp_path / "packages")})

    assert run.rc == 0, run.output
    writes = action_writes(simulator)
    steps = [action_type for action_type, _machine_id, _status in writes]
    assert steps == sorted(steps, key=["Isolate", "CollectInvestigationPackage", "RunAntiVirusScan", "Unisolate"].index)
    # Never isolated, the domain controller still has its package collected and its scan: neither cuts it off.
    assert {(action_type, machine_id) for action_type, machine_id, _status in writes} == {
        ("Isolate", machine["id"]), ("CollectInvestigationPackage", machine["id"]), ("CollectInvestigationPackage", controller["id"]),
        ("RunAntiVirusScan", machine["id"]), ("RunAntiVirusScan", controller["id"]), ("Unisolate", machine["id"])}
    assert len(writes) == 6
    assert {entry["body"]["ScanType"] for entry in simulator.log_for(route="machines.runAntiVirusScan")} == {"Full"}
    isolated, collected, scanned, released = [result["ansible_facts"]["machine_action_report"] for result in run.results_of(ACTION_FACT_TASK)]
    assert [report["action"] for report in (isolated, collected, scanned, released)] == ["isolate", "collect", "scan", "release"]
    assert isolated["summary"] == {"created": 1, "protected": 1} and scanned["summary"] == {"created": 2}
    packages = [row["package"] for row in collected["machines"]]
    assert sorted(os.path.dirname(package["path"]) for package in packages) == [str(tmp_path / "packages")] * 2
    assert all(os.path.getsize(package["path"]) == package["size"] for package in packages)
    assert {row["machine_name"]: (row["state_before"], row["state_after"]) for row in released["machines"]} == {
        names[0]: ("isolated", "released"), names[1]: ("released", "released")}

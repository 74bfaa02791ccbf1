"""antivirus_scan in the tests: an app that may scan, the machines and earlier scans the tests start from, and the
simulator's log of scan requests."""

from __future__ import annotations

from datetime import timedelta

from tests.simulator.config import AppRegistration

# The environment a run needs to log in as the scanning app.
SCANNER = {"AZURE_CLIENT_ID": "0a1b2c3d-0000-4000-8000-0000000000a5", "AZURE_CLIENT_SECRET": "scanner-app-secret"}
SCAN_ROLES = ("Machine.Read.All", "Machine.Scan")
SCAN = "RunAntiVirusScan"
WRITE = "machines.runAntiVirusScan"


def register_scanner(simulator, roles=SCAN_ROLES):
    simulator.register_app(AppRegistration(SCANNER["AZURE_CLIENT_ID"], secret=SCANNER["AZURE_CLIENT_SECRET"], roles=roles))


def scan_in_process(modules, check=False, env=None, **options):
    """The module's run in this process as the scanning app: (run, result)."""
    options.setdefault("comment", "INC-4711: scan")
    run = modules.run("antivirus_scan", check=check, env=dict(SCANNER, **(env or {})), **options)
    return run, run.result


def seed_scan(simulator, machine, scan_type, status, hours_ago=0.0, **options):
    """An earlier scan on ``machine``, requested ``hours_ago`` hours ago by an analyst."""
    created = simulator.clock.now() - timedelta(hours=hours_ago)
    return simulator.add_machine_action(machine["id"], action_type=SCAN, scope=scan_type, status=status, created=created, **options)


def scan_writes(simulator):
    """(machine id, ScanType sent, status) of every scan request, in order."""
    return [(entry["params"]["machine_id"], (entry["body"] or {}).get("ScanType"), entry["status"]) for entry in simulator.log_for(route=WRITE)]


def scans_of(simulator):
    """Every scan the simulator holds: {machine id: [(ScanType, status), ...]} in the order they were requested."""
    held = {}
    for action in simulator.actions():
        if action["type"] == SCAN:
            held.setdefault(action["machineId"], []).append((action["scope"], action["status"]))
    return held


def outcomes(result):
    return [entry["outcome"] for entry in result["actions"]]

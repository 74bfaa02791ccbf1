"""investigation_package in the tests: an app that may collect packages, its client built as the modules build theirs,
and the simulator's log of collections, package links and downloads."""

from __future__ import annotations

import hashlib

from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from tests.simulator.config import AppRegistration
from tests.simulator.machine_actions import package_bytes

# The environment a playbook run needs to log in as the collecting app.
COLLECTOR = {"AZURE_CLIENT_ID": "0a1b2c3d-0000-4000-8000-0000000000c7", "AZURE_CLIENT_SECRET": "collector-app-secret"}
COLLECT_ROLES = ("Machine.Read.All", "Machine.CollectForensics")
COLLECT = "machines.collectInvestigationPackage"
LINK = "machineactions.getPackageUri"
DOWNLOAD = "packages.download"
# Simulated seconds per real second: a collection takes minutes, and the link route allows 2 calls a minute.
FAST = 120


def register_collector(simulator, roles=COLLECT_ROLES):
    simulator.register_app(AppRegistration(COLLECTOR["AZURE_CLIENT_ID"], secret=COLLECTOR["AZURE_CLIENT_SECRET"], roles=roles))


def collector_client(simulator, roles=COLLECT_ROLES, clock=None):
    """A DefenderClient of the collecting app with ``roles``, over HTTPS to the simulator."""
    register_collector(simulator, roles)
    options = dict(simulator.connection, client_id=COLLECTOR["AZURE_CLIENT_ID"], client_secret=COLLECTOR["AZURE_CLIENT_SECRET"],
                   token_cache=False, timeout=10)
    return build_client(ConnectionSettings.from_options(options, environ={}), clock or SystemClock(FAST))


def package_sha256(simulator, action_id):
    """The SHA-256 of the package the simulator serves for a collection."""
    return hashlib.sha256(package_bytes(action_id, simulator.config.investigation_package_bytes)).hexdigest()


def calls(simulator, route):
    return simulator.log_for(route=route)


def collect_in_process(modules, dest, check=False, roles=COLLECT_ROLES, **options):
    """investigation_package run in this process as the collecting app, on the fast clock: the ModuleRun."""
    register_collector(modules.simulator, roles)
    options.setdefault("comment", "INC-4711: forensics")
    return modules.run("investigation_package", check=check, env=dict(COLLECTOR, MDE_TIME_SCALE=FAST), dest=str(dest), **options)


def outcomes(result):
    return [(entry["outcome"], entry["download"]) for entry in result["actions"]]

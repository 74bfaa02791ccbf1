"""The machine_action role, its playbooks and the isolate_on_alert rulebook in the tests: an app that may take every
machine action, the simulator's log of machine-action writes, and the role's report files read back."""

from __future__ import annotations

import glob
import json
import os

from tests.simulator.config import AppRegistration
from tests.support.reports import markdown_table

# The environment a playbook run needs to log in as the responding app.
RESPONDER = {"AZURE_CLIENT_ID": "3c4d5e6f-0000-4000-8000-0000000000b7", "AZURE_CLIENT_SECRET": "responder-app-secret"}
RESPONDER_ROLES = ("Machine.Read.All", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.CollectForensics")
# The write routes of the machine actions, by the Defender action type each creates.
ACTION_ROUTES = {"Isolate": "machines.isolate", "Unisolate": "machines.unisolate", "RestrictCodeExecution": "machines.restrictCodeExecution",
                 "UnrestrictCodeExecution": "machines.unrestrictCodeExecution", "RunAntiVirusScan": "machines.runAntiVirusScan",
                 "CollectInvestigationPackage": "machines.collectInvestigationPackage"}
TYPE_OF_ROUTE = {route.lower(): action_type for action_type, route in ACTION_ROUTES.items()}
# The role's task names the tests read results or output of, each named once.
INTRO_TASK = "Show what the run is about to do"
PLAN_TASK = "Show how many machines need an action, which are protected, and the expected end"
TABLE_TASK = "Show the result per machine"
SUMMARY_TASK = "Show the summary"
FACT_TASK = "Put the results together"


def register_responder(simulator, roles=RESPONDER_ROLES):
    simulator.register_app(AppRegistration(RESPONDER["AZURE_CLIENT_ID"], secret=RESPONDER["AZURE_CLIENT_SECRET"], roles=roles))


def action_writes(simulator):
    """(action type, machine id, status) of every machine-action POST the simulator received, in order."""
    return [(TYPE_OF_ROUTE[entry["route"].lower()], entry["path"].split("/")[3], entry["status"])
            for entry in simulator.request_log if entry["method"] == "POST" and entry["route"].lower() in TYPE_OF_ROUTE]


def action_reports(folder, action):
    """Every (JSON report, Markdown rows) the role wrote to ``folder`` for ``action``, oldest first."""
    reports = []
    for json_path in sorted(glob.glob(os.path.join(folder, "%s-*.json" % action))):
        with open(json_path, encoding="utf-8") as handle:
            report = json.load(handle)
        with open(json_path[:-len(".json")] + ".md", encoding="utf-8") as handle:
            reports.append((report, markdown_table(handle.read())))
    return reports

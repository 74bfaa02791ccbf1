"""machine_isolation and app_restriction in the tests: an app that may contain machines, running the modules in
process as it, seeding a machine's containment history, and the simulator's log of the actions sent."""

from __future__ import annotations

from datetime import timedelta

from tests.simulator.config import AppRegistration

# The environment a run needs to log in as the containing app.
CONTAINER = {"AZURE_CLIENT_ID": "0a1b2c3d-0000-4000-8000-0000000000c1", "AZURE_CLIENT_SECRET": "container-app-secret"}
CONTAIN_ROLES = ("Machine.Read.All", "Machine.Isolate", "Machine.RestrictExecution")
# The routes of the four writes, by the action type each creates.
ROUTES = {"Isolate": "machines.isolate", "Unisolate": "machines.unisolate", "RestrictCodeExecution": "machines.restrictCodeExecution",
          "UnrestrictCodeExecution": "machines.unrestrictCodeExecution"}


def register_container(simulator, roles=CONTAIN_ROLES):
    simulator.register_app(AppRegistration(CONTAINER["AZURE_CLIENT_ID"], secret=CONTAINER["AZURE_CLIENT_SECRET"], roles=roles))


def contain(modules, module="machine_isolation", check=False, roles=CONTAIN_ROLES, env=None, **options):
    """The module's in-process run as the containing app with ``roles``: its ModuleRun."""
    register_container(modules.simulator, roles)
    options.setdefault("comment", "INC-4711")
    return modules.run(module, check=check, env=dict(CONTAINER, **(env or {})), **options)


def history(simulator, machine, *actions, **options):
    """Seed ``actions`` on ``machine``, each (type, status, minutes ago by the simulator's clock[, scope]), with
    ``options`` of add_machine_action; returns the seeded entities."""
    now = simulator.clock.now()
    return [simulator.add_machine_action(machine["id"], action_type=entry[0], status=entry[1], created=now - timedelta(minutes=entry[2]),
                                         scope=entry[3] if len(entry) > 3 else None, **options) for entry in actions]


def sent(simulator, *action_types):
    """(action type, machine id, body, status) of every write of these types (all four by default), in order."""
    entries = []
    for entry in simulator.request_log:
        for action_type in action_types or tuple(ROUTES):
            if entry["route"].lower() == ROUTES[action_type].lower():
                entries.append((action_type, entry["params"]["machine_id"], entry["body"], entry["status"]))
    return entries


def outcomes(result):
    return [entry["outcome"] for entry in result["actions"]]


def states(result, *keys):
    """Each machine's (state_before, state_after) or the ``keys`` asked, in target order."""
    keys = keys or ("state_before", "state_after")
    return [tuple(entry[key] for key in keys) for entry in result["actions"]]

"""The benchmark's scenarios; each runs on fresh simulators in its own folder and returns its Measurements.

Clock speeds: comparisons with the uri baseline and runs that never wait for a rate-limit window run in real
time (speed 1), because every uri task and every module start costs real CPU time that an accelerated clock
would magnify, unfairly to whichever run starts more processes. Only runs that must live through minutes or
hours of rate limits are accelerated.
"""

import os

from tests.bench.harness import Fleet
from tests.simulator.defender import QUARANTINE

COMPARISON_MACHINES = 100
FORKS = 10
FIRST_RUN_MACHINES = 1000
HOURLY_LIMIT_MACHINES = 3000
RERUN_ONLY_MACHINES = 10000
DEFAULT_CLOCK_SPEED = 30.0
# The clock speed of the runs measured against the tightest floor (isolation's 1.05x, and the three APIs side by side):
# an accelerated clock magnifies the local work between calls as much as it speeds up the windows, which at 30x
# adds several percent to a run of 1,000 writes; at 10x a third of that, for a minute of real time.
CLOSE_TO_FLOOR_CLOCK_SPEED = 10.0
CONTAINMENT_FLEETS = (1000, 10000)
CONTAINMENT_OBSERVED = 50
TAGGING_MACHINES = 1000
INVENTORY_MACHINES = 10000
ISOLATION_MACHINES = 1000
ISOLATION_RERUN_MACHINES = 10000
RESPONSE_MACHINES = 1000
# With one budget for every endpoint (unconfirmed: docs/api-fidelity.md, "Throttling") the three APIs' 3,000 writes
# would cross the hourly limit; 300 machines (900 writes) show the variant within a minute of real time.
SHARED_BUDGET_MACHINES = 300
ISOLATE_TYPE = "Isolate"
SCAN_TYPE = "RunAntiVirusScan"
# The application permissions the machine actions' runs need besides the default app's Machine.Read.All and
# Machine.StopAndQuarantine.
ISOLATION_ROLES = ("Machine.Isolate",)
RESPONSE_ROLES = ("Machine.Isolate", "Machine.Scan")

BULK = "bulk (one task)"
PER_HOST = "per host (forks %d)" % FORKS
BASELINE = "uri baseline"
FIRST_RUN = "first run"
RERUN = "rerun"
CONTAIN = "contain (file seen on %d)" % CONTAINMENT_OBSERVED
TAG = "tag (one tag)"
TAG_RERUN = "tag rerun"
INVENTORY = "inventory"
INVENTORY_CACHED = "inventory, cached"
ISOLATE = "isolate"
ISOLATE_RERUN = "isolate rerun"
RESPONSE = "isolate, scan and quarantine at once"
RESPONSE_SHARED = "the same, one budget for every API"
# The tasks of response.yml whose results carry the three modules' summaries.
RESPONSE_TASKS = ("Isolated", "Scanned", "Quarantined")


def scenario_name(machines):
    return "{:,} machines".format(machines)


def comparison(workdir, machines=COMPARISON_MACHINES):
    """Scenario 1: the module in one task, the module once per host, and the uri playbook, each on a new fleet."""
    scenario = scenario_name(machines)
    with Fleet(os.path.join(workdir, "bulk"), machines) as fleet:
        bulk = fleet.measure(scenario, BULK, "bulk.yml")
    with Fleet(os.path.join(workdir, "per-host"), machines) as fleet:
        per_host = fleet.measure(scenario, PER_HOST, "per_host.yml", inventory=fleet.inventory(), forks=FORKS)
    with Fleet(os.path.join(workdir, "baseline"), machines) as fleet:
        baseline = fleet.measure(scenario, BASELINE, "baseline_uri.yml", module=False)
    return [bulk, per_host, baseline]


def first_run(workdir, machines, clock_speed=DEFAULT_CLOCK_SPEED, rerun=True):
    """Scenario 2: one task on a fleet without actions, then (``rerun``) the same task again."""
    scenario = scenario_name(machines)
    with Fleet(workdir, machines, clock_speed=clock_speed) as fleet:
        measurements = [fleet.measure(scenario, FIRST_RUN, "bulk.yml")]
        if rerun:
            # A rerun waits for no window, so it runs in real time, where its local work is not magnified.
            fleet.set_clock_speed(1.0)
            measurements.append(fleet.measure(scenario, RERUN, "bulk.yml"))
    return measurements


def rerun_only(workdir, machines=RERUN_ONLY_MACHINES):
    """Scenario 3: every machine already has an action for the file; the cost of finding that out."""
    with Fleet(workdir, machines) as fleet:
        fleet.add_existing_actions()
        return [fleet.measure(scenario_name(machines), RERUN, "bulk.yml")]


def containment(workdir):
    """Scenario 4: the contain playbook on fleets where the file was seen on 50 machines; 50 writes wait for no window."""
    measurements = []
    for machines in CONTAINMENT_FLEETS:
        with Fleet(os.path.join(workdir, str(machines)), machines, observed=CONTAINMENT_OBSERVED) as fleet:
            measurements.append(fleet.measure(scenario_name(machines), CONTAIN, "contain.yml"))
    return measurements


def tagging(workdir, machines=TAGGING_MACHINES):
    """Scenario 5: one tag on every machine of a fleet without it, then the same task again."""
    # Tags are not machine actions: no action type to count per machine.
    with Fleet(workdir, machines, action_types=()) as fleet:
        fleet.grant("Machine.ReadWrite.All")
        return [fleet.measure(scenario_name(machines), run, "tags.yml", task="Tag") for run in (TAG, TAG_RERUN)]


def inventory(workdir, machines=INVENTORY_MACHINES):
    """Scenario 6: the fleet as an inventory through mde.response.machines, then again from its cache."""
    scenario = scenario_name(machines)
    with Fleet(workdir, machines, action_types=()) as fleet:
        source = fleet.inventory_source()
        return [fleet.measure(scenario, run, "inventory.yml", inventory=source, module=False) for run in (INVENTORY, INVENTORY_CACHED)]


def isolation(workdir, machines=ISOLATION_MACHINES, clock_speed=CLOSE_TO_FLOOR_CLOCK_SPEED):
    """Scenario 7: machine_isolation on a fleet with no isolation history, then the same task again."""
    scenario = scenario_name(machines)
    with Fleet(workdir, machines, clock_speed=clock_speed, action_types=(ISOLATE_TYPE,)) as fleet:
        fleet.grant(*ISOLATION_ROLES)
        measurements = [fleet.measure(scenario, ISOLATE, "isolate.yml", task="Isolate")]
        # As for the quarantine's rerun: no window to wait for, so real time, where local work is not magnified.
        fleet.set_clock_speed(1.0)
        measurements.append(fleet.measure(scenario, ISOLATE_RERUN, "isolate.yml", task="Isolate"))
    return measurements


def isolation_rerun(workdir, machines=ISOLATION_RERUN_MACHINES):
    """Scenario 8: every machine was isolated an hour ago (a Succeeded Isolate); the cost of finding that out."""
    with Fleet(workdir, machines, action_types=(ISOLATE_TYPE,)) as fleet:
        fleet.grant(*ISOLATION_ROLES)
        fleet.add_existing_actions(action_type=ISOLATE_TYPE)
        return [fleet.measure(scenario_name(machines), ISOLATE_RERUN, "isolate.yml", task="Isolate")]


def response(workdir, machines=RESPONSE_MACHINES, clock_speed=CLOSE_TO_FLOOR_CLOCK_SPEED):
    """Scenario 9: one play isolates, scans and quarantines the file on every machine, the three tasks side by side;
    then the same on a smaller fleet of a simulator that keeps one budget for every API, the unconfirmed variant.

    The modules run as background jobs (async), so each API's limits are the only thing that paces it. Module memory
    is not measured: a background job's process is detached from the interpreter that would record it.
    """
    measurements = []
    for run, size, switches in ((RESPONSE, machines, {}), (RESPONSE_SHARED, SHARED_BUDGET_MACHINES, {"rate_limit_scope": "shared"})):
        with Fleet(os.path.join(workdir, str(size)), size, clock_speed=clock_speed, action_types=(ISOLATE_TYPE, SCAN_TYPE, QUARANTINE),
                   **switches) as fleet:
            fleet.grant(*RESPONSE_ROLES)
            measurements.append(fleet.measure(scenario_name(size), run, "response.yml", module=False, task=RESPONSE_TASKS))
    return measurements


def all_scenarios(clock_speed=DEFAULT_CLOCK_SPEED):
    """(name, function of the work folder) for every scenario, in the order `make bench` runs them."""
    return [
        ("comparison", comparison),
        ("first-run", lambda workdir: first_run(workdir, FIRST_RUN_MACHINES, clock_speed)),
        ("hourly-limit", lambda workdir: first_run(workdir, HOURLY_LIMIT_MACHINES, clock_speed, rerun=False)),
        ("rerun-only", rerun_only),
        ("containment", containment),
        ("tagging", tagging),
        ("inventory", inventory),
        ("isolation", lambda workdir: isolation(workdir, clock_speed=min(clock_speed, CLOSE_TO_FLOOR_CLOCK_SPEED))),
        ("isolation-rerun", isolation_rerun),
        ("response", lambda workdir: response(workdir, clock_speed=min(clock_speed, CLOSE_TO_FLOOR_CLOCK_SPEED))),
    ]

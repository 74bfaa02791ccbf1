"""What one playbook run costs against the simulator: time, API calls per route, 429s, tokens and module memory.

A Fleet is a simulator seeded with machines on which Defender saw one file, and the integration tests' Ansible
runner pointed at it, so that the benchmark runs the module exactly as the integration tests do. Every number
comes from the simulator's own request log and counters, or from the operating system; none from the client.

Time: the simulator's clock runs ``clock_speed`` times faster than real time and the module's clock is sped up
by the same factor (MDE_TIME_SCALE), so rate-limit windows and latency pass quickly. Local work (Ansible and
Python starting, building results) is not sped up, so the simulated clock magnifies it ``clock_speed`` times;
``duration_seconds`` therefore counts the API phase in simulated time and the rest in real time.
"""

import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta

from tests.simulator import Simulator
from tests.simulator.config import CLIENT_ID, SimulatorConfig
from tests.simulator.defender import QUARANTINE
from tests.simulator.machine_actions import KINDS
from tests.support.ansible_runner import AnsibleRunner
from tests.support.quarantine import LIST_ACTIONS, SHA1, WRITE

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOKS = os.path.join(HERE, "playbooks")
PEAK_RSS_PYTHON = os.path.join(HERE, "peak_rss_python.py")
TOKEN = "token"
COMMENT = "INC-4711: benchmark"
# The documented limits of every Defender API, per application.
PER_MINUTE = 100
PER_HOUR = 1500
DEFAULT_LATENCY_MS = 150.0
# Real seconds a run may take beyond what its clock speed and rate limits make unavoidable.
RUN_TIMEOUT_MARGIN = 900
INDICATOR_WRITE = "indicators.submit"
TAG_WRITE = "machines.AddOrRemoveTagForMultipleMachines"
ISOLATE_WRITE = KINDS["Isolate"].route
SCAN_WRITE = KINDS["RunAntiVirusScan"].route
# Every route that changes a machine: each machine action's own endpoint, and the bulk tag call.
WRITE_ROUTES = (WRITE, TAG_WRITE) + tuple(kind.route for kind in KINDS.values())
LIST_MACHINES = "machines.list"
# Routes whose last answer marks a stage of a run (the indicator in place, the last action created).
MILESTONE_ROUTES = (INDICATOR_WRITE, WRITE)


def utc_now_text():
    """Now, in UTC, as the report writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class BenchError(Exception):
    """A run that failed or measured something impossible: the benchmark stops rather than report it."""


def rate_limit_floor(calls, latency_seconds=0.0, per_minute=PER_MINUTE, per_hour=PER_HOUR):
    """Simulated seconds the fastest possible client needs for ``calls`` calls on one API.

    Each call is sent the moment both sliding windows admit it, and the run ends when the last one is answered:
    the first 100 go at once, so 1,000 calls need 540 s, not 600.
    """
    admitted = []
    for index in range(calls):
        earliest = 0.0
        for window, limit in ((60.0, per_minute), (3600.0, per_hour)):
            if index >= limit:
                earliest = max(earliest, admitted[index - limit] + window)
        admitted.append(earliest)
    return (admitted[-1] + latency_seconds) if admitted else 0.0


@dataclass
class Measurement:
    scenario: str
    run: str
    machines: int
    clock_speed: float
    latency_ms: float
    wall_seconds: float
    # The simulated clock over the whole run, local work magnified clock_speed times.
    simulated_seconds: float
    # Simulated seconds from the first request to the answer of the last one.
    api_span_seconds: float
    # The API span plus the real time outside it: what the run would take against the real service.
    duration_seconds: float
    calls: dict
    # Calls to the Defender API, leaving out the token service's.
    api_calls: int
    throttled: int
    token_requests: int
    peak_rss_bytes: object
    summary: dict
    # For each target machine and each action type of the run (for a quarantine: of the file), how many end up
    # with 0, 1 or more such actions: anything but all 1 is a lost or duplicated action.
    actions_per_machine: dict
    load_average: float
    # Seconds from the start of the run to the answer of the last call of each route in MILESTONE_ROUTES it made.
    milestones: dict = None
    # For each write route: [first request, last answer] in simulated seconds from the run's first API request.
    write_spans: dict = None
    # When the run started (UTC), and the `make bench` scenario it belongs to (what a partial run replaces).
    measured: str = None
    bench_scenario: str = None

    @property
    def writes(self):
        return sum(self.calls.get(route, 0) for route in WRITE_ROUTES)

    @property
    def list_reads(self):
        """Listings of machine actions (GET /api/machineactions), every page counted."""
        return self.calls.get(LIST_ACTIONS, 0)

    @property
    def machine_listings(self):
        """Listings of machines (GET /api/machines), every page counted: a name look-up or a read of the targets."""
        return self.calls.get(LIST_MACHINES, 0)

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, entry, measured):
        """A Measurement read back from performance.json; ``measured`` for an entry written before runs had a time."""
        known = {item.name for item in fields(cls)}
        measurement = cls(**{name: value for name, value in entry.items() if name in known})
        return measurement if measurement.measured else replace(measurement, measured=measured)


class Fleet:
    """A running simulator with ``size`` Windows 11 machines, the first ``observed`` of which (all by default) saw the
    file; ``action_types``: the machine actions its runs make, whose count per machine each Measurement checks. A
    context manager."""

    def __init__(self, workdir, size, clock_speed=1.0, latency_ms=DEFAULT_LATENCY_MS, observed=None, action_types=(QUARANTINE,),
                 **switches):
        os.makedirs(workdir)
        self.workdir = workdir
        self.action_types = action_types
        # Further simulator switches (tests/simulator/config.py), for a variant of the API that is unconfirmed.
        self.simulator = Simulator(SimulatorConfig(clock_speed=clock_speed, latency_ms=latency_ms, **switches),
                                   state_dir=os.path.join(workdir, "simulator"))
        self.simulator.start()
        machines = self.simulator.seed_fleet(size)
        self.machines = [(machine["id"], machine["computerDnsName"]) for machine in machines]
        self.simulator.add_file(SHA1, observed_on=self.machine_ids[:size if observed is None else observed])
        self.token_routes = frozenset(name for _method, _path, name, _handler in self.simulator.tokens.routes())
        self.runner = AnsibleRunner(self.simulator, workdir)
        self.machine_ids_file = self._write_json("machine-ids.json", self.machine_ids)
        self._measured = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.simulator.stop()

    @property
    def machine_ids(self):
        return [machine_id for machine_id, _name in self.machines]

    @property
    def clock_speed(self):
        return self.simulator.config.clock_speed

    def set_clock_speed(self, clock_speed):
        self.simulator.configure(clock_speed=clock_speed)

    def grant(self, *roles):
        """Give the default app (the one connection.json names) further application permissions."""
        app = self.simulator.tokens.app(CLIENT_ID)
        self.simulator.register_app(replace(app, roles=tuple(app.roles) + roles))

    def add_existing_actions(self, status="Succeeded", age=timedelta(hours=1), action_type=QUARANTINE):
        """Give every machine an action of ``action_type`` (for a quarantine: of the file), as a first run some time
        ago would have left it; an isolation is Full, what the API assumes without IsolationType."""
        created = self.simulator.clock.now() - age
        sha1 = SHA1 if action_type == QUARANTINE else None
        for machine_id in self.machine_ids:
            self.simulator.add_machine_action(machine_id, sha1, status=status, created=created, action_type=action_type)

    def inventory(self):
        """Group ``endpoints``: one host per machine, named as Defender names it, with its id as ``machine_id``.

        The controller is listed too: the implicit localhost would ignore the interpreter set for the run.
        """
        endpoints = {name: {"machine_id": machine_id} for machine_id, name in self.machines}
        return self._write_json("inventory.json", {"all": {
            "hosts": {"localhost": {"ansible_connection": "local"}},
            "children": {"endpoints": {"hosts": endpoints}},
        }})

    def inventory_source(self):
        """An mde.response.machines inventory file for the fleet, cached in this folder (connection from the environment)."""
        path = os.path.join(self.workdir, "fleet.mde.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"plugin": "mde.response.machines", "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                       "cache_connection": os.path.join(self.workdir, "inventory-cache")}, handle)
        return path

    def measure(self, scenario, run, playbook, inventory="localhost,", forks=None, module=True, task="Quarantine"):
        """Run a playbook of tests/bench/playbooks once and measure it; ``module``: record the module's memory;
        ``task``: the name (or a tuple of the names) of the tasks whose summaries are added up."""
        self._measured += 1
        rss_file = os.path.join(self.workdir, "peak-rss-%d.txt" % self._measured)
        # The stand-in interpreter's shebang finds python on PATH: this one's, so that it has every dependency.
        env = {"MDE_TIME_SCALE": self.clock_speed, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
        if module:
            env.update(ANSIBLE_PYTHON_INTERPRETER=PEAK_RSS_PYTHON, MDE_BENCH_PYTHON=sys.executable, MDE_BENCH_RSS_FILE=rss_file)
        extra_vars = {
            "sha1": SHA1,
            "comment": COMMENT,
            "machine_ids_file": self.machine_ids_file,
            "machine_count": len(self.machines),
            "mde_connection_file": os.path.join(self.simulator.state_dir, "connection.json"),
        }
        timeout = rate_limit_floor(len(self.machines)) / self.clock_speed + RUN_TIMEOUT_MARGIN
        counters_before = self.simulator.counters
        log_before = len(self.simulator.request_log)
        load_average = os.getloadavg()[0]
        measured = utc_now_text()
        wall_start, simulated_start = time.monotonic(), self.simulator.clock.time()
        playbook_run = self.runner.playbook(os.path.join(PLAYBOOKS, playbook), extra_vars=extra_vars, env=env,
                                            inventory=inventory, forks=forks, timeout=timeout)
        wall = time.monotonic() - wall_start
        simulated = self.simulator.clock.time() - simulated_start
        if playbook_run.rc != 0:
            raise BenchError("%s / %s: ansible-playbook failed (rc %d)\n%s" % (scenario, run, playbook_run.rc, playbook_run.output[-5000:]))
        requests = self.simulator.request_log[log_before:]
        self._write_json_lines("requests-%d.jsonl" % self._measured, requests)
        counters = Counter(self.simulator.counters)
        counters.subtract(counters_before)
        api_span = self._api_span(requests)
        calls = {name: count for name, count in sorted(counters.items()) if " " not in name and count}
        return Measurement(
            scenario=scenario,
            run=run,
            machines=len(self.machines),
            clock_speed=self.clock_speed,
            latency_ms=self.simulator.config.latency_ms,
            wall_seconds=round(wall, 3),
            simulated_seconds=round(simulated, 3),
            api_span_seconds=round(api_span, 3),
            duration_seconds=round(api_span + wall - api_span / self.clock_speed, 3),
            calls=calls,
            api_calls=sum(count for name, count in calls.items() if name not in self.token_routes),
            throttled=sum(count for name, count in counters.items() if name.endswith(" 429")),
            token_requests=counters[TOKEN],
            peak_rss_bytes=_peak_rss_bytes(rss_file) if module else None,
            summary=_summed(result["summary"] for name in ((task,) if isinstance(task, str) else task)
                            for result in playbook_run.results_of(name) if "summary" in result),
            actions_per_machine=self.actions_per_machine(),
            load_average=round(load_average, 2),
            milestones=self._milestones(requests, simulated_start),
            write_spans=self._write_spans(requests),
            measured=measured,
        )

    def _api_span(self, requests):
        if not requests:
            return 0.0
        arrivals = [datetime.fromisoformat(entry["time"]) for entry in requests]
        # The log has arrival times; the last answer came one latency later.
        return (max(arrivals) - min(arrivals)).total_seconds() + self.simulator.config.latency_ms / 1000.0

    def _milestones(self, requests, simulated_start):
        latency = self.simulator.config.latency_ms / 1000.0
        return {route: round(max(datetime.fromisoformat(entry["time"]).timestamp() for entry in requests if entry["route"] == route)
                             + latency - simulated_start, 3)
                for route in MILESTONE_ROUTES if any(entry["route"] == route for entry in requests)}

    def _write_spans(self, requests):
        if not requests:
            return {}
        start = min(datetime.fromisoformat(entry["time"]) for entry in requests)
        latency = self.simulator.config.latency_ms / 1000.0
        spans = {}
        for entry in requests:
            if entry["route"] in WRITE_ROUTES:
                offset = (datetime.fromisoformat(entry["time"]) - start).total_seconds()
                first, last = spans.get(entry["route"], (offset, offset))
                spans[entry["route"]] = (min(first, offset), max(last, offset))
        return {route: [round(first, 3), round(last + latency, 3)] for route, (first, last) in sorted(spans.items())}

    def actions_per_machine(self):
        """For each target machine and action type of the fleet: how many have 0, 1 or more such actions now."""
        per_machine = Counter(dict.fromkeys(((machine_id, kind) for machine_id in self.machine_ids for kind in self.action_types), 0))
        for action in self.simulator.actions():
            file_identifier = (action.get("relatedFileInfo") or {}).get("fileIdentifier") or ""
            key = (action.get("machineId"), action.get("type"))
            if key in per_machine and (action["type"] != QUARANTINE or file_identifier.lower() == SHA1):
                per_machine[key] += 1
        histogram = Counter(min(count, 2) for count in per_machine.values())
        return {label: histogram[count] for count, label in ((0, "0"), (1, "1"), (2, "2+")) if histogram[count]}

    def _write_json_lines(self, name, entries):
        """Keep what the simulator saw, so that a surprising number can be traced to the requests behind it."""
        with open(os.path.join(self.workdir, name), "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(entry) + "\n" for entry in entries)

    def _write_json(self, name, data):
        path = os.path.join(self.workdir, name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        return path


def _summed(summaries):
    total = Counter()
    for summary in summaries:
        total.update(summary)
    return dict(total)


def _peak_rss_bytes(path):
    """The largest peak of the module processes of one run (ru_maxrss is in KiB on Linux)."""
    try:
        with open(path, encoding="utf-8") as handle:
            peaks = [int(line) for line in handle if line.strip()]
    except FileNotFoundError:
        peaks = []
    if not peaks:
        raise BenchError("no module process recorded its memory in %s" % path)
    return max(peaks) * 1024

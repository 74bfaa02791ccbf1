"""What the reliability suites (tests/integration/test_reliability_*.py) share; their fixtures are in
tests/integration/conftest.py.

The simulator's request log says what arrived, when (in simulated time) and with which status; the wire tap adds
what the log leaves out on purpose (answer headers and bodies: Retry-After values, issued tokens), so that the
suites can check timing against Retry-After and search every output for the tokens that were really issued.
"""

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus

from tests.simulator import Simulator
from tests.support.ansible_runner import PLAYBOOKS
from tests.support.in_process import ModuleRunner
from tests.support.quarantine import SHA1

# Entra-like shape, so that a leak would look like a real one; the random tail makes it unique to one test.
CANARY_PREFIX = "canary-SECRET-"


@dataclass
class Answer:
    method: str
    path: str
    query: str                     # as the request log spells it
    parameters: dict               # the query as the server parsed it ("$filter", ...)
    route: str
    status: object                 # None when the connection was dropped instead
    headers: dict
    body: object


class WireTap:
    """Records every answer the simulator gives, in the order its handling finished."""

    def __init__(self, simulator):
        self.answers = []
        self._lock = threading.Lock()
        handle = simulator.handle

        def tapped(request):
            outcome = handle(request)
            response = outcome.response
            # The query is spelled as in the request log, so that entries of both can be matched.
            answer = Answer(request.method, request.path, unquote_plus(request.raw_query), dict(request.query), request.route,
                            None if response is None else response.status,
                            {} if response is None else dict(response.headers),
                            None if response is None else response.body)
            with self._lock:
                self.answers.append(answer)
            return outcome

        # The HTTPS handler looks `handle` up on the instance for every request, so this takes effect at once.
        simulator.handle = tapped

    def issued_tokens(self):
        return [answer.body["access_token"] for answer in list(self.answers)
                if isinstance(answer.body, dict) and "access_token" in answer.body]

    def retry_afters(self):
        """Retry-After values of the 429 answers, per call (method, path, query), in the order they were given."""
        per_call = collections.defaultdict(collections.deque)
        for answer in list(self.answers):
            if answer.status == 429:
                per_call[(answer.method, answer.path, answer.query)].append(float(answer.headers["Retry-After"]))
        return per_call


def arrival(entry):
    """A request log entry's arrival, in simulated seconds since the epoch."""
    return datetime.fromisoformat(entry["time"]).timestamp()


def retry_margins(simulator, wire):
    """For every call that followed a 429 of the same call: how long after that 429's Retry-After had passed it
    arrived, in simulated seconds (negative: too early). A call is told by method, path and query, which the
    module never sends twice at once, so the next entry with the same triple is the retry."""
    retry_afters = wire.retry_afters()
    due = {}
    margins = []
    for entry in sorted(simulator.request_log, key=lambda entry: entry["seq"]):
        call = (entry["method"], entry["path"], entry["query"])
        if call in due:
            margins.append(arrival(entry) - due.pop(call))
        if entry["status"] == 429:
            due[call] = arrival(entry) + retry_afters[call].popleft()
    return margins


def quarantines_per_machine(simulator, sha1=SHA1):
    """How many StopAndQuarantineFile actions for the file each machine has, whatever their status."""
    return collections.Counter(action["machineId"] for action in simulator.actions()
                               if action["type"] == "StopAndQuarantineFile"
                               and (action["relatedFileInfo"] or {}).get("fileIdentifier", "").lower() == sha1)


def outcome_counts(result):
    """The outcomes a result's summary counts, without the zeros: "created 18, existing 2"."""
    return ", ".join("%s %d" % item for item in sorted(result.get("summary", {}).items()) if item[1]) or "none"


def one_action_each(simulator, machine_ids):
    """Whether each of the machines, and no other, has exactly one action for the file."""
    return quarantines_per_machine(simulator) == {machine: 1 for machine in machine_ids}


def describe_actions(simulator, machine_ids):
    """How many of the machines have exactly one action for the file, for the measured column."""
    per_machine = quarantines_per_machine(simulator)
    counts = [per_machine.get(machine, 0) for machine in machine_ids]
    if set(counts) == {1}:
        return "one action on each of the %d machines" % len(counts)
    return "one action on %d of %d machines, none on %d, several on %d" % (
        counts.count(1), len(counts), counts.count(0), sum(count > 1 for count in counts))


def start_playbook(ansible, playbook, extra_vars, env=None):
    """ansible-playbook in a process group of its own, so that a test can kill it with its workers and module.

    The harness's `ansible.playbook` waits for the end, and its process shares the test's process group.
    """
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(PLAYBOOKS, playbook),
               "-i", "localhost,", "-e", json.dumps(extra_vars)]
    return subprocess.Popen(command, env=ansible.environment(**(env or {})), cwd=ansible.workdir, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_group(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=60)


def leaks(texts, *secrets):
    """The secrets that occur in any of the texts (empty when nothing leaked)."""
    return sorted({secret for secret in secrets for text in texts if secret and secret in text})


# A device id for cases about other options: refused input never gets as far as looking it up.
SOME_MACHINE_ID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"

# case: (the options it sets, a fragment the failure message must contain)
INPUT_REFUSALS = {
    "machine id with a path": ({"machine_ids": ["../machineactions/" + SOME_MACHINE_ID]}, "machine_ids[0] must be a Defender device id"),
    "machine id with OData": ({"machine_ids": ["%s' or id ne '" % SOME_MACHINE_ID]}, "machine_ids[0] must be a Defender device id"),
    "SHA-256 for sha1": ({"sha1": "a" * 64}, "SHA-256"),
    "MD5 for sha1": ({"sha1": "b" * 32}, "MD5"),
    "sha1 not hex": ({"sha1": "g" * 40}, "sha1 must be the SHA-1"),
    "empty comment": ({"comment": ""}, "comment is required"),
    "comment of 1001 characters": ({"comment": "x" * 1001}, "at most 1000"),
    "control character in comment": ({"comment": "INC-1\x07\x1b[2J"}, "control character U+0007"),
    "escape sequence in name": ({"machine_names": ["ws-01.contoso.local\x1b[31m"]}, "control character U+001B"),
    "NUL in name": ({"machine_names": ["ws-01\x00.contoso.local"]}, "control character U+0000"),
    "name of 256 characters": ({"machine_names": ["n" * 256]}, "longer than 255"),
    "10,001 names": ({"name_count": 10001}, "at most 10000"),
    "tenant id with a path": ({"tenant_id": "contoso.com/../../common"}, "tenant_id must be a tenant GUID or domain name"),
}
URL_REFUSALS = {
    "plain-http api_url": ({"api_url": "http://127.0.0.1:1"}, "api_url must be an https URL"),
    "plain-http authority_host": ({"authority_host": "http://127.0.0.1:1"}, "authority_host must be an https URL"),
}


@dataclass
class Refusals:
    results: dict                  # case -> the module's result for it
    request_log: list              # everything the simulator saw during all of them


def case_options(case, machine_id=SOME_MACHINE_ID):
    """The module's options for a case (INPUT_REFUSALS' options): what it sets, valid values for the rest.

    ``name_count`` stands for that many device names, ws-00001.contoso.local and on."""
    options = dict(case)
    count = options.pop("name_count", None)
    if count is not None:
        options["machine_names"] = ["ws-%05d.contoso.local" % number for number in range(1, count + 1)]
    options.setdefault("sha1", SHA1)
    options.setdefault("comment", "reliability case")
    if "machine_names" not in options:
        options.setdefault("machine_ids", [machine_id])
    return options


def run_refusals(base):
    """Every refusal case, each a run of the module in this process, against a simulator of its own."""
    with Simulator(state_dir=str(base / "simulator")) as simulator:
        modules = ModuleRunner(simulator, str(base / "cache"))
        results = {case: modules.run("stop_and_quarantine_file", **case_options(options)).result
                   for case, (options, _fragment) in {**INPUT_REFUSALS, **URL_REFUSALS}.items()}
        log = simulator.request_log
    return {"results": results, "request_log": log}


def refused_cleanly(result, fragment):
    """Why the result is not a clean refusal with the fragment in its message; None when it is one."""
    if not result.get("failed"):
        return "not refused: %s" % result.get("msg")
    if fragment not in result.get("msg", ""):
        return "refused with another message: %s" % result.get("msg")
    if has_traceback(result):
        return "refused with a traceback"
    return None


def has_traceback(result, output=""):
    """Whether a module result (or the output around it) shows a Python traceback; ansible-core 2.19 puts an
    `exception` placeholder without one into the results of failed loop items."""
    return any("Traceback" in str(text) for text in (output, result.get("exception", ""), result.get("module_stderr", "")))

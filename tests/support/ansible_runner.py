"""Real ansible-playbook runs against a simulator, as the integration tests and the benchmark make them.

Each runner has its own token-cache folder and a results file per run, so runs of different tests are
independent and can run in parallel. Connection settings reach the modules through the same environment variables
AWX's Azure credential sets (plus MDE_*), which also proves the env fallbacks.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTEGRATION = os.path.join(REPO, "tests", "integration")
PLAYBOOKS = os.path.join(INTEGRATION, "playbooks")


# How a playbook of the collection is named on ansible-playbook's command line.
COLLECTION_PLAYBOOK = "mde.response."


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list

    def result(self, task):
        """The recorded result of the (last) run of the task with this name."""
        matches = [entry["result"] for entry in self.results if entry["task"] == task]
        assert matches, "task %r did not run; tasks seen: %s\n%s" % (task, sorted({e["task"] for e in self.results}), self.output)
        return matches[-1]

    def results_of(self, task):
        return [entry["result"] for entry in self.results if entry["task"] == task]

    @property
    def output(self):
        return self.stdout + self.stderr


class AnsibleRunner:
    """Runs ansible-playbook in a subprocess configured for one simulator."""

    def __init__(self, simulator, workdir):
        self.simulator = simulator
        self.workdir = workdir
        self.cache_home = os.path.join(workdir, "cache")
        self.runs = 0

    def environment(self, **overrides):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collection-tree"),
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(INTEGRATION, "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "result_recorder",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "XDG_CACHE_HOME": self.cache_home,
        })
        env.update(self.simulator.connection_environment)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def playbook(self, playbook, extra_vars=None, check=False, verbosity=0, env=None, inventory="localhost,", forks=None, timeout=600):
        """Run a playbook (a file name in tests/integration/playbooks, a path, or a collection playbook by its name
        such as mde.response.isolate_on_alert) and collect its results."""
        self.runs += 1
        results_path = os.path.join(self.workdir, "results-%d.jsonl" % self.runs)
        path = playbook if os.path.isabs(playbook) or playbook.startswith(COLLECTION_PLAYBOOK) else os.path.join(PLAYBOOKS, playbook)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path, "-i", inventory]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if forks:
            command += ["--forks", str(forks)]
        environment = self.environment(**(env or {}))
        environment["MDE_TEST_RESULTS"] = results_path
        completed = subprocess.run(command, env=environment, cwd=self.workdir, capture_output=True, text=True, timeout=timeout, check=False)
        results = []
        if os.path.exists(results_path):
            with open(results_path, encoding="utf-8") as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, results)

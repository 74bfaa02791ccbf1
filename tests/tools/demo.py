"""`make demo`: the collection's main job against the built-in simulator, twice.

Starts the simulator with a few demo machines, quarantines a sample hash on them (by name and by ID) with the
collection's playbook mde.response.quarantine, given the answers an AWX survey would give, prints what the play
shows (its plan, the expected end, the progress lines and the table per machine) line by line as it shows it, then the
Markdown report the run wrote, runs the same playbook again to show that nothing changes, and stops the simulator.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

SAMPLE_SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
PLAYBOOK = "mde.response.quarantine"
# The tasks of the play whose output the demo shows.
SHOWN_TASKS = ("Show what the run is about to do", "Show how many machines need an action and the expected end",
               "Print the progress of the runs until every file is done", "Show the result per machine")
# The simulator answers as slowly as the real API tends to, the play waits for the actions to finish, and it prints
# its progress every 5 seconds instead of every 30, so that a run on a few machines shows a few progress lines.
# The machines finish their actions within 7 seconds, before the module's first read of them 10 seconds after the
# writes: the demo shows the wait without a second read 15 seconds later.
LATENCY_MS = 400
PROGRESS_INTERVAL = 5
PENDING_SECONDS = 2
IN_PROGRESS_SECONDS = 5
OUTPUT = os.path.join(REPO, "build", "demo")


def seed(sim):
    machines = [sim.add_machine(name="ws-%02d.contoso.local" % number, observed_files=[SAMPLE_SHA1]) for number in range(1, 5)]
    sim.add_file(SAMPLE_SHA1, observed_on=[machine["id"] for machine in machines])
    return machines


def shown_lines(stream):
    """The lines of the play output that belong to SHOWN_TASKS, yielded as ansible-playbook prints them (a blank line
    before each task), so that the progress lines appear while the play waits, not after it."""
    shown = False
    for line in stream:
        line = line.rstrip("\n")
        if line.startswith(("TASK [", "PLAY RECAP", "PLAY [")):
            shown = line.startswith("TASK [") and any(task in line for task in SHOWN_TASKS)
            if shown:
                yield ""
        if shown and line.strip():
            yield line


def run_playbook(sim, machines, run):
    """Run the playbook, printing what the play shows as it goes; return the Markdown report it wrote."""
    report_dir = os.path.join(OUTPUT, "run-%d" % run)
    shutil.rmtree(report_dir, ignore_errors=True)
    extra_vars = {
        "mde_connection": sim.connection,
        "sha1": SAMPLE_SHA1,
        "comment": "Demo: quarantine of a sample hash",
        # As a survey text area sends them: one name a line.
        "machine_names": "\n".join(machine["computerDnsName"] for machine in machines[:2]),
        "machine_ids": [machine["id"] for machine in machines[2:]],
        "report_dir": report_dir,
        "wait": True,
        # A variable of the role the playbook runs, set for the demo alone.
        "quarantine_file_progress_interval": PROGRESS_INTERVAL,
    }
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collection-tree"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_STDOUT_CALLBACK="default", PYTHONUNBUFFERED="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", XDG_CACHE_HOME=os.path.join(OUTPUT, "cache"))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), PLAYBOOK, "-i", "localhost,", "-e", json.dumps(extra_vars)]
    output = []

    def recorded(stream):
        for line in stream:
            output.append(line)
            yield line

    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as play:
        for line in shown_lines(recorded(play.stdout)):
            print(line, flush=True)
    if play.returncode != 0:
        sys.stderr.write("".join(output))
        raise SystemExit("the demo playbook failed (exit %d)" % play.returncode)
    [report] = glob.glob(os.path.join(report_dir, "quarantine-*.md"))
    with open(report, encoding="utf-8") as handle:
        return handle.read()


def main():
    os.makedirs(OUTPUT, exist_ok=True)
    with Simulator(state_dir=os.path.join(OUTPUT, "simulator")) as sim:
        machines = seed(sim)
        sim.configure(latency_ms=LATENCY_MS, pending_seconds=PENDING_SECONDS, in_progress_seconds=IN_PROGRESS_SECONDS)
        print("Simulator running at %s with %d machines; sample SHA-1 %s\n" % (sim.base_url, len(machines), SAMPLE_SHA1), flush=True)
        for run, title in ((1, "First run: quarantine"), (2, "Second run: the same playbook again")):
            print("=== %s" % title, flush=True)
            report = run_playbook(sim, machines, run)
            writes = sim.counters.get("machines.StopAndQuarantineFile", 0)
            print("\n" + report)
            print("StopAndQuarantineFile calls received by the simulator so far: %d\n" % writes, flush=True)
    print("Simulator stopped. Reports are in %s" % os.path.relpath(OUTPUT, REPO), flush=True)


if __name__ == "__main__":
    main()

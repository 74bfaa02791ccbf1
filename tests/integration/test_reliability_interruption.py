"""Interruption: the run is killed while it writes, and run again."""

import os
import re
import signal
import stat
import subprocess
import time

from tests.support.quarantine import SHA1, WRITE, ids, outcomes, quarantine, seed
from tests.support.reliability import describe_actions, kill_group, one_action_each, start_playbook

MACHINES = 40
# Simulated (here: real) seconds each write is held before the service handles it, so that the run is still
# writing when it is killed.
WRITE_LATENCY = 0.5
KILL_AFTER_WRITES = 10


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_killed_mid_run_then_rerun_completes_without_duplicates(simulator, ansible, measured):
    """ansible-playbook, its worker and the module are killed (SIGTERM to the process group) once 10 of 40 writes
    have landed; nothing is written after that, and a second run finds what the first one did, writes only the
    rest (reusing the cached token) and leaves exactly one action per machine."""
    machines = seed(simulator, MACHINES)
    simulator.faults.add(WRITE, "latency", delay=WRITE_LATENCY)

    first = start_playbook(ansible, "quarantine.yml", {"sha1": SHA1, "machine_ids": ids(machines)})
    wait_for(lambda: simulator.counters.get(WRITE + " 201", 0) >= KILL_AFTER_WRITES, timeout=120)
    kill_group(first)
    # Writes the simulator was already holding still land; after that, nothing may arrive from a killed module.
    time.sleep(4 * WRITE_LATENCY)
    landed = len(simulator.actions())
    time.sleep(4 * WRITE_LATENCY)
    after_kill = len(simulator.actions())

    rerun, result = quarantine(ansible, machine_ids=ids(machines))

    summary = result["summary"]
    measured("killed with %d of %d actions created (return code %s); rerun: existing %d, created %d, failed %d; "
             "%s; token requests in all: %d" % (
                 landed, MACHINES, first.returncode, summary["existing"], summary["created"], summary["failed"],
                 describe_actions(simulator, ids(machines)), simulator.counters.get("token", 0)))
    assert KILL_AFTER_WRITES <= landed < MACHINES, "the kill did not come mid-run"
    assert after_kill == landed, "writes went on after the kill"
    assert rerun.rc == 0, rerun.output
    assert summary["existing"] == landed and summary["created"] == MACHINES - landed
    assert set(outcomes(result)) == set(ids(machines))
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert simulator.counters.get("token") == 1, "the killed run's cached token was not reused"


# Ctrl-C at the first progress line of the role on a fleet of a few hundred: each write held long enough that the
# interrupt comes while most machines are still to be written.
FLEET = 300
# Simulated seconds, at twenty a real second on both sides: the first 100 writes take a second or two, then the
# run waits for Defender's per-minute limit (three real seconds) and goes on.
HELD_WRITE = 2.0
SPEED = 20
# The background run looks at its lease before each write; a write already on its way when the play stops still lands.
STOP_WITHIN = 3.0
# Seconds without a write that show the run has stopped, shorter than a lease: a run that only stopped when its
# lease lapsed was not told to stop, and shows as writing late.
QUIET = 5.0


def first_progress_line(process, pattern):
    """Read ansible-playbook's output until a line matches; returns the output so far."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise AssertionError("no progress line:\n" + "".join(seen))


def posts(simulator):
    """The writes that reached the simulator, in the order they came."""
    return [entry for entry in simulator.log_for(route=WRITE) if entry["method"] == "POST"]


def test_ctrl_c_at_the_first_progress_line_stops_the_background_run_and_says_how_to_finish(simulator, ansible, tmp_path, measured):
    """SIGINT to ansible-playbook's process group (Ctrl-C) while the role follows its background run: no write arrives
    later than a few seconds after it, the output says what was sent and what to run next, nothing is left readable
    by others, and the printed command finishes the rest with one action per machine."""
    machines = seed(simulator, FLEET)
    simulator.faults.add(WRITE, "latency", delay=HELD_WRITE)
    simulator.configure(clock_speed=SPEED)
    async_dir = tmp_path / "async"
    env = {"ANSIBLE_ASYNC_DIR": str(async_dir), "TMPDIR": str(tmp_path), "MDE_TIME_SCALE": SPEED}
    variables = {"quarantine_file_sha1s": SHA1, "quarantine_file_comment": "INC-4711", "quarantine_file_machine_ids": ids(machines),
                 "quarantine_file_progress_interval": 1}

    first = start_playbook(ansible, "role_quarantine_file.yml", variables, env=env)
    # The first line with a machine written: the run has read the 300 machines and is sending its writes.
    first_progress_line(first, r"^%s: [1-9]\d*/%d machines done" % (SHA1, FLEET))
    os.killpg(first.pid, signal.SIGINT)
    at_interrupt = len(posts(simulator))
    after, _errors = first.communicate(timeout=60)
    time.sleep(STOP_WITHIN)
    settled = len(posts(simulator))
    # A run that was not told to stop would go on writing (until its lease lapsed, 10 s after the last renewal).
    time.sleep(QUIET)
    sent = posts(simulator)
    late = sent[settled:]
    landed = len(simulator.actions())
    # What the stopped run leaves: the job file ansible's async wrapper writes when the module ends, in a private folder.
    leftovers = [path for path in tmp_path.rglob("*") if path.is_file() and (path.parent == async_dir or path.parent.name.endswith("-quarantine-progress"))]
    private = all(stat.S_IMODE(path.parent.stat().st_mode) == 0o700 for path in leftovers) and stat.S_IMODE(async_dir.stat().st_mode) == 0o700
    progress_files = list(tmp_path.glob("*-quarantine-progress/*"))
    [finish] = re.findall(r"run the same command again: (.+)$", after, re.MULTILINE) or [None]

    rerun = subprocess.run(finish, shell=True, env=ansible.environment(**env), cwd=ansible.workdir, capture_output=True, text=True,
                           timeout=600, check=False) if finish else None
    measured("Ctrl-C at the first progress line of %d machines: %d writes before it, %d in all, %d arrived later than %g s after "
             "ansible-playbook ended; "
             "rerun with the printed command: rc %s, %s" % (
                 FLEET, at_interrupt, len(sent), len(late), STOP_WITHIN,
                 rerun.returncode if rerun else None, describe_actions(simulator, ids(machines))))
    assert not late, "%d writes arrived more than %g s after the interrupt" % (len(late), STOP_WITHIN)
    assert 0 < landed < FLEET, "the interrupt did not come mid-run"
    assert re.search(r"^%s: \d+/%d machines done when the play stopped \(created \d+\); stopped, the others unsent$" % (SHA1, FLEET),
                     after, re.MULTILINE), after
    assert "To undo what was sent instead" in after
    assert finish, after
    assert private, "readable by others: %s" % leftovers
    assert not progress_files, "the stopped run left %s" % progress_files
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
    assert len(posts(simulator)) == len(sent) + FLEET - landed

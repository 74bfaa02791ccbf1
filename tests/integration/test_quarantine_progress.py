"""Progress lines during a long run of the quarantine_file role: through ansible-playbook, and through ansible-runner
as the live events an AWX job shows, against the simulator with its clock and the module's accelerated."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

from ansible_collections.mde.response.plugins.module_utils._client.pacing import PER_HOUR, shared_pacing_path
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from tests.support.ansible_runner import PLAYBOOKS
from tests.support.quarantine import SHA1, WRITE, ids, seed
from tests.support.reports import written
from tests.support.role_tasks import FACT_TASK, FOLLOW_TASK, TABLE_TASK

PLAYBOOK = "role_quarantine_file.yml"
# 250 machines take three of Defender's minutes at 100 writes a minute; at 20 simulated seconds per real second
# each minute's wait for the limit is three real seconds, and a line comes every second or two.
MACHINES = 250
SPEED = 20
PROGRESS = re.compile(r"^%s: (\d+)/(\d+) machines done \((.*?)\); expected end \d\d:\d\d UTC" % SHA1, re.MULTILINE)
DONE = re.compile(r"^%s: (\d+)/%d machines done" % (SHA1, MACHINES), re.MULTILINE)
HOURLY_WAIT = re.compile(r"^%s: .*; waiting for Defender's hourly limit \(1,500 calls an hour\) until \d\d:\d\d UTC$" % SHA1,
                         re.MULTILINE)


def role_variables(machines):
    return {"quarantine_file_sha1s": SHA1, "quarantine_file_comment": "INC-4711: progress",
            "quarantine_file_machine_ids": ids(machines), "quarantine_file_progress_interval": 1}


def follow_task_output(output):
    """What the play printed while the role followed its runs: from that task's header to the next task's."""
    start = output.index("TASK [mde.response.quarantine_file : %s]" % FOLLOW_TASK)
    return output[start:output.index("TASK [", start + 1)]


def assert_one_write_each(simulator, machines):
    assert written(simulator) == sorted((machine_id, SHA1) for machine_id in ids(machines)), "a machine was written twice or not at all"
    assert {entry["status"] for entry in simulator.log_for(route=WRITE)} == {201}


def test_a_long_run_prints_progress_lines_with_growing_counts_before_the_table(simulator, ansible):
    machines = seed(simulator, MACHINES)
    simulator.configure(clock_speed=SPEED)

    run = ansible.playbook(PLAYBOOK, extra_vars=role_variables(machines), env={"MDE_TIME_SCALE": SPEED})

    assert run.rc == 0, run.output
    lines = PROGRESS.findall(follow_task_output(run.stdout))
    done = [int(count) for count, _total, _outcomes in lines]
    assert {int(total) for _done, total, _outcomes in lines} == {MACHINES}, lines
    assert len(set(done)) >= 2 and done == sorted(done), "no growing progress while the run went on: %s" % lines
    assert all(re.fullmatch(r"created \d+", outcomes) for _done, _total, outcomes in lines), lines
    # The lines come while the role follows its runs, before the table of its results.
    assert run.stdout.index(lines[0][0] + "/%d machines done" % MACHINES) < run.stdout.index("TASK [mde.response.quarantine_file : %s]" % TABLE_TASK)
    assert run.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]["summary"]["created"] == MACHINES
    assert_one_write_each(simulator, machines)


def fill_the_hour(simulator, ansible, scale, hold):
    """Make the pacing file of this test's runs hold an hour's worth of writes, the oldest leaving the hour in `hold`
    simulated seconds: as if another run of the same application had just written to 1,500 machines."""
    connection = simulator.connection
    settings = ConnectionSettings.from_options(dict(connection), environ={"XDG_CACHE_HOME": ansible.cache_home})
    os.makedirs(settings.token_cache_dir, mode=0o700, exist_ok=True)
    path = shared_pacing_path(settings, settings.token_cache_dir)
    moment = time.monotonic() * scale - 3600 + hold
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({WRITE: [moment] * PER_HOUR}, handle)


def test_a_run_that_waits_for_the_hourly_limit_says_until_when(simulator, ansible):
    machines = seed(simulator, 5)
    # 100 simulated seconds per real second: the hour's last 1,500 seconds pass in 15 real seconds, of which
    # ansible-playbook's start and the role's tasks before the write take about 4 when idle.
    speed = 100
    simulator.configure(clock_speed=speed)
    fill_the_hour(simulator, ansible, speed, hold=1500)

    run = ansible.playbook(PLAYBOOK, extra_vars=role_variables(machines), env={"MDE_TIME_SCALE": speed})

    assert run.rc == 0, run.output
    followed = follow_task_output(run.stdout)
    assert HOURLY_WAIT.search(followed), followed
    assert re.search(r"^%s: 0/5 machines done; expected end \d\d:\d\d UTC; waiting for Defender's hourly" % SHA1, followed, re.MULTILINE), followed
    assert simulator.counters.get(WRITE + " 429", 0) == 0
    assert_one_write_each(simulator, machines)


def test_awx_shows_the_progress_lines_as_events_before_the_table(simulator, ansible, tmp_path):
    """ansible-runner (the engine of an AWX job) turns each progress line into an event as it is printed, so the job
    output shows it while the task runs, before the event of the per-machine table."""
    machines = seed(simulator, MACHINES)
    simulator.configure(clock_speed=SPEED)
    job = tmp_path / "job"
    (job / "project").mkdir(parents=True)
    shutil.copy(os.path.join(PLAYBOOKS, PLAYBOOK), job / "project" / PLAYBOOK)
    (job / "env").mkdir()
    (job / "env" / "extravars").write_text(json.dumps(role_variables(machines)), encoding="utf-8")
    (job / "inventory").mkdir()
    (job / "inventory" / "hosts").write_text("localhost ansible_connection=local\n", encoding="utf-8")
    environment = ansible.environment(MDE_TIME_SCALE=SPEED)
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")

    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", str(job), "--playbook", PLAYBOOK,
                                "--ident", "run"], env=environment, capture_output=True, text=True, timeout=600, check=False)

    events = [json.loads(path.read_text(encoding="utf-8")) for path in (job / "artifacts" / "run" / "job_events").iterdir()]
    events.sort(key=lambda event: event["counter"])
    assert (job / "artifacts" / "run" / "status").read_text(encoding="utf-8") == "successful", completed.stdout + completed.stderr
    progress = [int(DONE.search(event["stdout"]).group(1)) for event in events
                if event["event"] == "verbose" and DONE.search(event.get("stdout", ""))]
    follow_start = [event["counter"] for event in events
                    if event["event"] == "playbook_on_task_start" and event["event_data"].get("task") == FOLLOW_TASK]
    follow_end = [event["counter"] for event in events
                  if event["event"] == "runner_on_ok" and event["event_data"].get("task") == FOLLOW_TASK]
    table = [event["counter"] for event in events if event["event"] == "runner_on_ok" and event["event_data"].get("task") == TABLE_TASK]
    assert len(set(progress)) >= 2 and progress == sorted(progress), [event.get("stdout") for event in events]
    assert follow_start and follow_end and table
    lines = [event["counter"] for event in events if event["event"] == "verbose" and DONE.search(event.get("stdout", ""))]
    assert all(follow_start[0] < counter < follow_end[0] < table[0] for counter in lines)
    assert_one_write_each(simulator, machines)


def test_a_playbook_of_its_own_follows_a_background_run_and_shows_its_warnings(simulator, ansible):
    """The module with async, poll: 0, a progress_path and a lease_path, followed by mde.response.quarantine_progress
    as the role README shows: progress lines with the run's label, the module's result in `results`, its warnings in
    the play, and the job's files removed once read."""
    machines = seed(simulator, MACHINES)
    simulator.configure(clock_speed=SPEED)

    run = ansible.playbook("quarantine_progress.yml", extra_vars={"sha1": SHA1, "machine_ids": ids(machines)}, env={"MDE_TIME_SCALE": SPEED})

    assert run.rc == 0, run.output
    assert re.search(r"^INC-4711 dropper: \d+/%d machines done \(created \d+\); expected end \d\d:\d\d UTC" % MACHINES, run.stdout, re.MULTILINE), run.stdout
    [result] = run.result("Print its progress until it has finished")["results"]
    assert result["finished"] is True and result["summary"]["created"] == MACHINES
    # Only the background run warns of the testing hook: the warning came through the action.
    assert "MDE_TIME_SCALE=%d is set" % SPEED in run.output
    # Read, so removed: the progress file, the lease and the job's status file.
    assert run.result("List what the follow left in the folder")["files"] == []
    assert not os.path.exists(result["results_file"])
    assert_one_write_each(simulator, machines)


def test_waiting_for_an_offline_machine_says_so_from_the_plan_on_and_counts_only_final_actions(simulator, ansible):
    """An Inactive laptop among the targets, with a wait: the plan names it and puts the expected end after the wait,
    the progress lines name it while the online machines' actions are already final, and it ends queued."""
    online = seed(simulator, 2)
    laptop = simulator.add_machine("laptop-07.contoso.local", health_status="Inactive", quarantine_outcome="Pending", observed_files=[SHA1])
    speed = 120
    simulator.configure(clock_speed=speed)

    run = ansible.playbook(PLAYBOOK, extra_vars=dict(role_variables(online + [laptop]), quarantine_file_wait=True,
                                                     quarantine_file_wait_timeout=300), env={"MDE_TIME_SCALE": speed})

    assert run.rc == 0, run.output
    plan = run.result("Show how many machines need an action and the expected end")["msg"]
    assert plan[2] == ("1 machine(s) are offline (laptop-07.contoso.local): their actions stay Pending until the machines connect,"
                       " which may be days.")
    assert re.fullmatch(r"The run waits for them until its wait of 300 s ends: expected end \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Set "
                        r"quarantine_file_wait=false not to wait; Defender keeps the actions and runs them when the machines connect\.",
                        plan[3]), plan
    waiting = [line for line in follow_task_output(run.stdout).splitlines() if "waiting for the actions to finish" in line]
    assert waiting, run.stdout
    assert all("1 machine(s) offline (laptop-07.contoso.local): their actions stay Pending" in line for line in waiting), waiting
    # The laptop's action is never final: it is never counted as done while the run waits.
    assert not [line for line in waiting if line.startswith("%s: 3/3" % SHA1)], waiting
    report = run.result("Put the results together")["ansible_facts"]["quarantine_file_report"]
    assert (report["summary"]["created"], report["summary"]["queued"]) == (2, 1)
    assert_one_write_each(simulator, online + [laptop])

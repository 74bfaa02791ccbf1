"""What mde.response.quarantine_progress prints per running job, the jobs it follows, and a job it gave up on."""

from __future__ import annotations

import shutil

import pytest

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_progress import (
    JobError,
    jobs_to_follow,
    progress_line,
    rerun_commands,
    stop_notice,
    stopped_lines,
    unfinished_result,
)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
WRITING = {"phase": "writing", "done": 120, "total": 250, "outcomes": {"failed": 5, "created": 100, "existing": 15},
           "expected_end": "2026-11-28T03:14:00Z", "limit_wait": None, "actions_deadline": None, "updated": "2026-11-28T03:12:00Z"}


def test_a_writing_run_shows_done_total_outcomes_and_expected_end():
    assert progress_line("file", WRITING) == "file: 120/250 machines done (created 100, existing 15, failed 5); expected end 03:14 UTC"


@pytest.mark.parametrize("window, limit, words", [
    ("hour", 1500, "Defender's hourly limit (1,500 calls an hour)"),
    ("minute", 100, "Defender's per-minute limit (100 calls a minute)"),
])
def test_a_wait_for_a_limit_says_which_and_until_when(window, limit, words):
    waiting = dict(WRITING, expected_end="2026-11-28T04:20:00Z", limit_wait={"window": window, "limit": limit, "until": "2026-11-28T03:40:00Z"})
    assert progress_line("file", waiting) == (
        "file: 120/250 machines done (created 100, existing 15, failed 5); expected end 04:20 UTC; waiting for %s until 03:40 UTC" % words)


def test_the_other_phases_and_a_run_without_a_file_yet():
    assert progress_line("file", None) == "file: started, no progress yet"
    assert progress_line("file", {"phase": "planning"}) == "file: reading the target machines and their existing actions"
    assert progress_line("file", dict(WRITING, phase="waiting_for_actions", done=250, outcomes={"created": 250},
                                      actions_deadline="2026-11-28T03:30:00Z")) == (
        "file: 250/250 machines done (created 250); waiting for the actions to finish, at the latest until 03:30 UTC")
    assert progress_line("file", dict(WRITING, phase="waiting_for_actions", done=3, total=3, outcomes={"created": 3},
                                      actions_deadline="2026-11-28T03:30:00Z", action_statuses={"Pending": 2, "InProgress": 1})) == (
        "file: 3/3 machines done (created 3); actions: 1 InProgress, 2 Pending; waiting for the actions to finish, at the latest"
        " until 03:30 UTC")
    assert progress_line("file", dict(WRITING, phase="done", done=0, total=0, outcomes={})) == "file: 0/0 machines done; finishing"


def test_registered_results_and_plain_jobs_are_followed_with_their_progress_files():
    registered = {"ansible_job_id": "j1.42", "item": SHA1, "started": 1, "finished": 0}
    synchronous = {"item": SHA1, "actions": [], "summary": {}}
    jobs = jobs_to_follow([registered, {"jid": "j2.43", "label": "other", "progress_path": "/p/other.json"}, synchronous], "/run")
    assert [(job["jid"], job["label"], job["progress_path"]) for job in jobs] == [
        ("j1.42", SHA1, "/run/%s.json" % SHA1), ("j2.43", "other", "/p/other.json"), (None, SHA1, "/run/%s.json" % SHA1)]
    assert jobs[0]["item"] == registered
    assert [job["lease_path"] for job in jobs] == ["/run/%s.lease" % SHA1, "/p/other.lease", "/run/%s.lease" % SHA1]
    assert jobs_to_follow([{"jid": "j3"}])[0] == {"jid": "j3", "label": "j3", "progress_path": None, "lease_path": None, "item": {"jid": "j3"}}
    assert jobs_to_follow([{"jid": "j4", "progress_path": "/p/x.json", "lease_path": "/l/x"}])[0]["lease_path"] == "/l/x"


@pytest.mark.parametrize("jobs, message", [(["j1"], "jobs[1] is not a dict"), ([{"jid": None}], "jobs[1] has an empty jid")])
def test_a_job_that_cannot_be_followed_is_named(jobs, message):
    with pytest.raises(JobError, match=message.replace("[", r"\[").replace("]", r"\]")):
        jobs_to_follow(jobs)


def test_a_job_still_running_at_the_timeout_fails_and_says_it_goes_on():
    result = unfinished_result({"ansible_job_id": "j1.42", "finished": False, "item": {"item": SHA1}}, 600)
    assert result["failed"] is True and result["finished"] is False and result["item"] == {"item": SHA1}
    assert result["msg"].startswith("job j1.42 was still running after 600 s") and "run the same task again" in result["msg"]
    assert "goes on in the background" in result["msg"]
    stopped = unfinished_result({"ansible_job_id": "j1.42", "finished": False}, 600, stopped=True)
    assert "its lease was removed, so it sends no further write" in stopped["msg"] and "finishes the rest" in stopped["msg"]


def test_the_lines_when_the_play_stops_say_what_was_sent_and_the_command_that_finishes():
    running = [("file", dict(WRITING, done=110, total=300, outcomes={"created": 110}), True),
               ("other", {"phase": "planning"}, True), ("old", None, False)]
    argv = [shutil.which("ansible-playbook") or "/opt/bin/ansible-playbook", "mde.response.quarantine", "-e", "sha1=%s" % SHA1,
            "-e", 'comment="INC 1"']
    lines = stopped_lines("the play was interrupted (SIGINT)", running, argv)
    assert lines[0].startswith("the play was interrupted (SIGINT): 3 run(s) had not finished.")
    assert lines[1:4] == ["file: 110/300 machines done when the play stopped (created 110); stopped, the others unsent",
                          "other: no machine written yet; stopped, the others unsent",
                          "old: no machine written yet; started without lease_path, it goes on in the background"]
    program = "ansible-playbook" if shutil.which("ansible-playbook") else "/opt/bin/ansible-playbook"
    assert lines[4].endswith("run the same command again: %s mde.response.quarantine -e sha1=%s -e 'comment=\"INC 1\"'" % (program, SHA1))
    assert lines[5].endswith("-e 'comment=\"INC 1\"' -e state=cancelled")


@pytest.mark.parametrize("argument", ["client_secret=s3cr3t", '{"mde_connection": {"tenant_id": "t"}}', "MDE_ACCESS_TOKEN=x"])
def test_a_command_line_with_a_secret_is_never_printed(argument):
    assert rerun_commands(["/usr/bin/ansible-playbook", "play.yml", "-e", argument]) == (None, None)
    lines = stopped_lines("gone", [("file", None, True)], ["/usr/bin/ansible-playbook", "play.yml", "-e", argument])
    assert not any(argument in line for line in lines)
    assert "not printed: it holds a secret" in lines[-3]
    assert lines[-2] == "To undo what was sent instead: run the play again with state cancelled (the module's state: cancelled)"


def test_following_begins_with_how_to_stop():
    assert stop_notice(2).startswith("following 2 background run(s): Ctrl-C (or cancelling the AWX job) stops their writes")


def test_a_wait_line_names_the_offline_machines_and_what_not_waiting_means():
    line = progress_line("INC-1", {"phase": "waiting_for_actions", "done": 1, "total": 2, "outcomes": {"created": 1},
                                   "actions_deadline": "2026-11-28T04:13:10Z", "action_statuses": {"Pending": 1, "Succeeded": 1},
                                   "offline": ["laptop-07.contoso.local"]})
    assert line == ("INC-1: 1/2 machines done (created 1); actions: 1 Pending, 1 Succeeded; waiting for the actions to finish, at the"
                    " latest until 04:13 UTC; 1 machine(s) offline (laptop-07.contoso.local): their actions stay Pending until the"
                    " machines connect, so the wait lasts until then or its end; not waiting (wait: false) leaves them queued in"
                    " Defender")

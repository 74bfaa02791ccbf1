# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What mde.response.quarantine_progress prints and returns, in plain Python: the jobs it follows, one line per
unfinished job from the progress file its module run keeps (plugins/module_utils/_quarantine/run_progress.py), and the results
of jobs it stopped following."""

from __future__ import annotations

import os
import posixpath
import shlex
import shutil
from collections.abc import Mapping
from datetime import datetime

from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import (
    DONE,
    PLANNING,
    TIME_FORMAT,
    WAITING_FOR_ACTIONS,
    WRITING,
)

LEASE_SUFFIX = ".lease"
# Connection options whose values are secrets, and the words of other secrets: a command line naming one is not printed.
SECRET_WORDS = ("secret", "password", "token", "proxy_url", "mde_connection", "credential")
WINDOW_WORDS = {"minute": "per-minute limit (%s calls a minute)", "hour": "hourly limit (%s calls an hour)"}


class JobError(ValueError):
    """A job the action cannot follow, named by its place in the list."""


def jobs_to_follow(jobs, progress_dir=None):
    """The jobs as dicts with ``jid`` (None for a run that was not started in the background), ``label``,
    ``progress_path`` (or None), ``lease_path`` (the run's lease, run_lease.py, or None) and ``item`` (the job as
    given).

    Each job is a dict with ``jid`` and optional ``label`` and ``progress_path``, or the registered result of a task
    started with ``async`` and ``poll: 0`` (``ansible_job_id``; its loop ``item`` is the label). A job without
    ``progress_path`` has ``<progress_dir>/<label>.json`` when ``progress_dir`` is given; one without ``lease_path``
    has the progress file's name with the extension ``.lease``.
    """
    followed = []
    for number, job in enumerate(jobs, start=1):
        if not isinstance(job, Mapping):
            raise JobError("jobs[%d] is not a dict: give each job as {jid, label, progress_path} or the registered "
                           "result of a task with async and poll: 0" % number)
        jid = job.get("jid", job.get("ansible_job_id"))
        if jid is None and "jid" in job:
            raise JobError("jobs[%d] has an empty jid: give the ansible_job_id of the task started with async and poll: 0" % number)
        label = str(job.get("label", job.get("item", jid)))
        progress_path = job.get("progress_path") or (posixpath.join(progress_dir, label + ".json") if progress_dir else None)
        lease_path = job.get("lease_path") or (posixpath.splitext(progress_path)[0] + LEASE_SUFFIX if progress_path else None)
        followed.append({"jid": None if jid is None else str(jid), "label": label, "progress_path": progress_path,
                         "lease_path": lease_path, "item": dict(job)})
    return followed


def progress_line(label, progress):
    """One line about a job still running, from its progress file's content (None before the file exists)."""
    if not progress:
        return "%s: started, no progress yet" % label
    phase = progress.get("phase")
    if phase == PLANNING:
        return "%s: reading the target machines and their existing actions" % label
    line = "%s: %d/%d machines done%s" % (label, progress.get("done", 0), progress.get("total", 0), _outcomes(progress.get("outcomes")))
    if phase == WRITING and progress.get("expected_end"):
        line += "; expected end %s UTC" % _clock_time(progress["expected_end"])
    limit_wait = progress.get("limit_wait")
    if phase == WRITING and limit_wait:
        words = WINDOW_WORDS.get(limit_wait.get("window"), "limit (%s calls)")
        line += "; waiting for Defender's %s until %s UTC" % (words % "{:,}".format(limit_wait.get("limit", 0)), _clock_time(limit_wait.get("until")))
    if phase == WAITING_FOR_ACTIONS and progress.get("action_statuses"):
        line += "; actions: %s" % ", ".join("%d %s" % (count, status) for status, count in sorted(progress["action_statuses"].items()))
    if phase == WAITING_FOR_ACTIONS:
        line += "; waiting for the actions to finish, at the latest until %s UTC" % _clock_time(progress.get("actions_deadline"))
    if phase == WAITING_FOR_ACTIONS and progress.get("offline"):
        offline = progress["offline"]
        line += ("; %d machine(s) offline (%s): their actions stay Pending until the machines connect, so the wait lasts until"
                 " then or its end; not waiting (wait: false) leaves them queued in Defender" % (len(offline), ", ".join(offline)))
    if phase == DONE:
        line += "; finishing"
    return line


def unfinished_result(status, timeout, stopped=False):
    """The result of a job still running when the action stopped following it; ``stopped`` when its lease was
    removed then, so that it sends no further write."""
    result = dict(status)
    if stopped:
        what = ("its lease was removed, so it sends no further write: the machines done so far stay done, and running "
                "the same task again (with a higher timeout) finishes the rest, showing them as existing")
    else:
        what = ("it goes on in the background: raise timeout, or run the same task again later (it is idempotent: "
                "machines already done show as existing)")
    result.update(failed=True, msg="job %s was still running after %d s, when mde.response.quarantine_progress stopped "
                                   "following it; %s" % (status.get("ansible_job_id"), timeout, what))
    return result


def _outcomes(outcomes):
    if not outcomes:
        return ""
    return " (%s)" % ", ".join("%s %d" % (outcome, count) for outcome, count in sorted(outcomes.items()))


def _clock_time(moment):
    try:
        return datetime.strptime(moment, TIME_FORMAT).strftime("%H:%M")
    except (TypeError, ValueError):
        return "an unknown time"


def stop_notice(count: int) -> str:
    """The line printed when the follow begins: how to stop, before anyone needs to."""
    return ("following %d background run(s): Ctrl-C (or cancelling the AWX job) stops their writes within a few seconds; "
            "the same command again then finishes them" % count)


def stopped_lines(why: str, running: list, argv: list) -> list:
    """What the play prints when it stops following runs that are still going: for each, what it had sent, then
    what to run next. ``running`` holds (label, progress file content or None, whether its lease was revoked);
    ``argv`` is ansible-playbook's."""
    lines = ["%s: %d run(s) had not finished. A run with a lease (lease_path) sends no further write within a few "
             "seconds (writes already on their way still land) and leaves its other machines unsent:" % (why, len(running))]
    for label, progress, stopped in running:
        if progress and progress.get("phase") != "planning":
            done = "%d/%d machines done when the play stopped%s" % (
                progress.get("done", 0), progress.get("total", 0), _outcomes(progress.get("outcomes")))
        else:
            done = "no machine written yet"
        lines.append("%s: %s; %s" % (label, done, "stopped, the others unsent" if stopped else
                                     "started without lease_path, it goes on in the background"))
    finish, undo = rerun_commands(argv)
    lines.append("To finish (machines already done show as existing, none is written twice), run the same command again: %s"
                 % (finish or "the same ansible-playbook command (not printed: it holds a secret)"))
    lines.append("To undo what was sent instead: %s" % (
        undo or "run the play again with state cancelled (the module's state: cancelled)"))
    lines.append("In AWX: relaunch the job, or launch it with state cancelled.")
    return lines


def rerun_commands(argv: list) -> tuple:
    """(the command line that ran the play, the one that cancels what it sent) to print, each None when unknown:
    a command line with a secret in it is never printed, and only the collection's quarantine playbook is known to
    take ``-e state=cancelled``."""
    if not argv or any(word in argument.lower() for argument in argv for word in SECRET_WORDS):
        return None, None
    program = os.path.basename(argv[0])
    words = [program if shutil.which(program) == argv[0] else argv[0]] + list(argv[1:])
    finish = shlex.join(words)
    undo = shlex.join(words + ["-e", "state=cancelled"]) if "mde.response.quarantine" in argv else None
    return finish, undo

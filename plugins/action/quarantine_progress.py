# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mde.response.quarantine_progress: follow background runs of stop_and_quarantine_file, printing their progress.

An action plugin rather than a module, because only code on the controller can print while the task runs: a
line through Display reaches ansible-playbook's output at once, and ansible-runner (so AWX) as a live event.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import sys
import threading
import time
from typing import Callable, Optional

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mde.response.plugins.modules.quarantine_progress import DOCUMENTATION
from ansible_collections.mde.response.plugins.plugin_utils.argument_spec import documented_argument_spec
from ansible_collections.mde.response.plugins.plugin_utils.quarantine_progress import (
    JobError,
    jobs_to_follow,
    progress_line,
    stop_notice,
    stopped_lines,
    unfinished_result,
)
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import RENEW_SECONDS

display = Display()

# The options as plugins/modules/quarantine_progress.py documents them, defaults included.
ARGUMENT_SPEC = documented_argument_spec(DOCUMENTATION)
# A line at least once a minute is the promise; the interval must keep it.
LONGEST_REPORT_INTERVAL = 59
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The first looks come quickly, so that a run of a few machines is not kept waiting for poll_interval; each look runs
# a module, so the pause then doubles up to poll_interval.
FIRST_POLL_DELAY = 0.5


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        problems = _interval_problems(args)
        try:
            jobs = jobs_to_follow(args["jobs"], args["progress_dir"])
        except JobError as error:
            problems.append(str(error))
        if problems:
            result.update(failed=True, msg=" ".join(problems))
            return result
        leases = _Leases(self._low_level_execute_command, [job["lease_path"] for job in jobs if job["jid"] is not None])
        try:
            with _StopSignals() as signals, _ControllerOutput() as controller_output:
                try:
                    results = self._follow(jobs, args, task_vars, leases)
                except PlayStopped as stop:
                    self._stop_runs(jobs, leases, stop, controller_output)
                    self._remove_tmp_path(self._connection._shell.tmpdir)
                    # The worker ends as Ansible ends it on a signal; with the controller gone, nobody would read a result.
                    signals.redeliver(stop.signum or signal.SIGTERM)
                    result.update(failed=True, msg=stop.why)
                    return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        warnings: list[str] = []
        for job_result in results:
            warnings.extend(warning for warning in job_result.get("warnings") or [] if warning not in warnings)
        result.update(results=results, changed=any(job_result.get("changed") for job_result in results))
        if warnings:
            result["warnings"] = warnings
        return result

    def _follow(self, jobs, args, task_vars, leases):
        """Poll every job until all have finished or the timeout has passed; print a line per running job in between."""
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        # Ansible's async wrapper writes each job's result readable by all (umask 022): the folder keeps them private.
        self._low_level_execute_command("chmod 0700 -- %s 2>/dev/null || true" % shlex.quote(async_dir))
        # A run that was not started in the background has its result already.
        finished = {number: job["item"] for number, job in enumerate(jobs) if job["jid"] is None}
        if len(finished) < len(jobs):
            display.display(stop_notice(len(jobs) - len(finished)))
        started = last_report = time.monotonic()
        delay = FIRST_POLL_DELAY
        while True:
            statuses = {}
            for number, job in enumerate(jobs):
                if number in finished:
                    continue
                leases.renew_if_due()
                status = self._status(job["jid"], async_dir, task_vars)
                status["item"] = job["item"]
                if status["finished"]:
                    finished[number] = status
                    # Read: the job's files have served their purpose (its result is in the one returned).
                    leases.forget(job["lease_path"])
                    self._remove_files(status.get("results_file"), job["progress_path"], job["lease_path"])
                else:
                    statuses[number] = status
            now = time.monotonic()
            if not statuses:
                break
            if now - started >= args["timeout"]:
                # Nobody follows them any more: a run with a lease is told to stop rather than left to lapse unseen.
                revoked = leases.revoke()
                finished.update((number, unfinished_result(status, args["timeout"], jobs[number]["lease_path"] in revoked))
                                for number, status in statuses.items())
                break
            if now - last_report >= args["report_interval"]:
                last_report = now
                for number in statuses:
                    display.display(progress_line(jobs[number]["label"], self._progress(jobs[number]["progress_path"], task_vars)))
            leases.sleep(max(0.0, min(delay, args["poll_interval"], last_report + args["report_interval"] - now,
                                      started + args["timeout"] - now)))
            delay *= 2
        return [finished[number] for number in range(len(jobs))]

    def _stop_runs(self, jobs: list, leases: _Leases, stop: PlayStopped, controller_output: _ControllerOutput) -> None:
        """The play is going: revoke the leases of the runs still going, so that they stop writing, then say what they
        had sent and what to run next."""
        unfinished = leases.unfinished()
        revoked = leases.revoke()
        running = [(job["label"], self._progress_now(job["progress_path"]), job["lease_path"] in revoked)
                   for job in jobs if job["jid"] is not None and job["lease_path"] in unfinished]
        if running:
            controller_output.write("\n".join(stopped_lines(stop.why, running, sys.argv)))

    def _progress_now(self, path: Optional[str]) -> Optional[dict]:
        """A job's progress file, read with one shell command: the play is going, there is no time to run a module."""
        if not path:
            return None
        read = self._low_level_execute_command("cat -- %s" % shlex.quote(path))
        try:
            return json.loads(read.get("stdout") or "null")
        except ValueError:
            return None

    def _remove_files(self, *paths: Optional[str]) -> None:
        present = [path for path in paths if path]
        if present:
            self._low_level_execute_command("rm -f -- %s" % " ".join(shlex.quote(path) for path in present))

    def _status(self, jid, async_dir, task_vars):
        """What ansible.builtin.async_status returns for the job."""
        status = {"ansible_job_id": jid, "started": True, "finished": False,
                  "results_file": self._connection._shell.join_path(async_dir, jid)}
        status.update(self._execute_module(module_name="ansible.builtin.async_status", task_vars=task_vars,
                                           module_args={"jid": jid, "mode": "status", "_async_dir": async_dir}))
        for flag in ("started", "finished"):
            status[flag] = bool(status[flag])
        return status

    def _progress(self, path, task_vars):
        """The content of a job's progress file, read where the job runs; None when there is none yet."""
        if not path:
            return None
        read = self._execute_module(module_name="ansible.builtin.slurp", module_args={"src": path}, task_vars=task_vars)
        if read.get("failed"):
            return None
        try:
            return json.loads(base64.b64decode(read["content"]))
        except (KeyError, TypeError, ValueError):
            return None


def _interval_problems(args):
    problems = []
    if not 1 <= args["report_interval"] <= LONGEST_REPORT_INTERVAL:
        problems.append("report_interval must be between 1 and %d seconds (a line at least once a minute), not %d."
                        % (LONGEST_REPORT_INTERVAL, args["report_interval"]))
    for name in ("poll_interval", "timeout"):
        if args[name] < 1:
            problems.append("%s must be at least 1 second, not %d." % (name, args[name]))
    return problems


class PlayStopped(Exception):
    """The play that runs this task is going: interrupted, its job cancelled, or its controller process gone."""

    def __init__(self, why: str, signum: Optional[int] = None) -> None:
        super().__init__(why)
        self.why = why
        self.signum = signum


class _Leases:
    """The leases of the runs being followed (run_lease.py): renewed every RENEW_SECONDS, revoked when the play goes.

    Also watches the controller process: ansible-runner cancels a job by killing ansible-playbook's process group,
    which this worker (in a session of its own) is not part of; it then has another parent."""

    def __init__(self, execute: Callable[[str], dict], paths: list) -> None:
        self._execute = execute
        self._paths = [path for path in paths if path]
        self._parent = os.getppid()
        # The first renewal comes at once: it ends the grace the runs were started with.
        self._renewed = float("-inf")

    def forget(self, path: Optional[str]) -> None:
        if path in self._paths:
            self._paths.remove(path)

    def renew_if_due(self) -> None:
        if os.getppid() != self._parent:
            raise PlayStopped("the controller process of this play is gone (its job was cancelled, or it was killed)")
        if self._paths and time.monotonic() - self._renewed >= RENEW_SECONDS:
            # -c: a run that has ended (and removed its lease) must not find it again.
            self._execute("touch -c -- %s" % " ".join(shlex.quote(path) for path in self._paths))
            self._renewed = time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep, renewing the leases when due."""
        end = time.monotonic() + seconds
        while True:
            self.renew_if_due()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, RENEW_SECONDS / 2))

    def unfinished(self) -> list:
        """The lease paths of the runs not finished yet (whether they were started with a lease or not)."""
        return list(self._paths)

    def revoke(self) -> list:
        """Remove the leases; returns the paths of those that existed: runs started without one go on."""
        paths, self._paths = self._paths, []
        if not paths:
            return []
        removed = self._execute('for lease in %s; do rm -- "$lease" 2>/dev/null && echo "$lease"; done'
                                % " ".join(shlex.quote(path) for path in paths))
        return [line for line in removed.get("stdout", "").splitlines() if line in paths]


class _ControllerOutput:
    """Where the lines said when the play stops go: ansible-playbook's own output, opened when the follow begins.

    When the play stops, ansible-playbook no longer prints what its workers display (it is exiting, or was killed by
    ansible-runner), so the worker writes to that output itself (Linux: /proc/<parent>/fd/1, appended to). Without
    it, the lines go through Display, which may or may not reach the output in time."""

    def __init__(self) -> None:
        self._descriptor: Optional[int] = None

    def __enter__(self) -> _ControllerOutput:
        try:
            self._descriptor = os.open("/proc/%d/fd/1" % os.getppid(), os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
        except OSError:
            self._descriptor = None
        return self

    def __exit__(self, *_exception: object) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def write(self, text: str) -> None:
        if self._descriptor is None:
            display.display(text)
            return
        try:
            os.write(self._descriptor, ("\n" + text + "\n").encode("utf-8", "replace"))
        except OSError:
            display.display(text)


class _StopSignals:
    """While following: SIGINT and SIGTERM (Ctrl-C, a cancelled job) raise PlayStopped, so that the runs are told to
    stop before the worker ends; from then on both are ignored until redeliver() or the end of the block, so that the
    telling is not cut short by the controller's next signal. Signals can only be handled in the main thread:
    elsewhere nothing changes."""

    def __init__(self) -> None:
        self._previous: dict = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._stop)
        return self

    def __exit__(self, *_exception: object) -> None:
        self._restore()

    def redeliver(self, signum: int) -> None:
        """Give the signal that stopped the follow to the handler it replaced (Ansible's ends the worker)."""
        self._restore()
        os.kill(os.getpid(), signum)

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    @staticmethod
    def _stop(signum: int, _frame: object) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise PlayStopped("the play was interrupted (%s)" % signal.Signals(signum).name, signum)

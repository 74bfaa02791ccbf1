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
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mde.response.plugins.modules.quarantine_progress import DOCUMENTATION
from ansible_collections.mde.response.plugins.plugin_utils.argument_spec import documented_argument_spec
from ansible_collections.mde.response.plugins.plugin_utils.quarantine_progress import (
    JobError,
    jobs_to_follow,
    progress_line,
    unfinished_result,
)

display = Display()

# The options as plugins/modules/quarantine_progress.py documents them, defaults included.
ARGUMENT_SPEC = documented_argument_spec(DOCUMENTATION)
# A line at least once a minute is the promise; the interval must keep it.
LONGEST_REPORT_INTERVAL = 59
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
        try:
            results = self._follow(jobs, args, task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        warnings = []
        for job_result in results:
            warnings.extend(warning for warning in job_result.get("warnings") or [] if warning not in warnings)
        result.update(results=results, changed=any(job_result.get("changed") for job_result in results))
        if warnings:
            result["warnings"] = warnings
        return result

    def _follow(self, jobs, args, task_vars):
        """Poll every job until all have finished or the timeout has passed; print a line per running job in between."""
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        # A run that was not started in the background has its result already.
        finished = {number: job["item"] for number, job in enumerate(jobs) if job["jid"] is None}
        started = last_report = time.monotonic()
        delay = FIRST_POLL_DELAY
        while True:
            statuses = {}
            for number, job in enumerate(jobs):
                if number in finished:
                    continue
                status = self._status(job["jid"], async_dir, task_vars)
                status["item"] = job["item"]
                if status["finished"]:
                    finished[number] = status
                else:
                    statuses[number] = status
            now = time.monotonic()
            if not statuses:
                break
            if now - started >= args["timeout"]:
                finished.update((number, unfinished_result(status, args["timeout"])) for number, status in statuses.items())
                break
            if now - last_report >= args["report_interval"]:
                last_report = now
                for number in statuses:
                    display.display(progress_line(jobs[number]["label"], self._progress(jobs[number]["progress_path"], task_vars)))
            time.sleep(max(0.0, min(delay, args["poll_interval"], last_report + args["report_interval"] - now, started + args["timeout"] - now)))
            delay *= 2
        return [finished[number] for number in range(len(jobs))]

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

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: quarantine_progress
short_description: Follow background runs of stop_and_quarantine_file and print their progress at least once a minute
version_added: 0.1.0
description:
  - Waits for runs of M(mde.response.stop_and_quarantine_file) started with C(async) and C(poll=0), as
    C(ansible.builtin.async_status) in an C(until) loop would, and meanwhile prints one line per unfinished run every
    O(report_interval) seconds, with the run's label and then for example C(120/250 machines done), the outcomes so far
    (C(created 100, existing 15, failed 5)) and C(expected end 03:14 UTC), and while the run waits for the API's
    hourly limit of 1,500 calls, C(waiting for Defender's hourly limit) with the time it waits until; while a run
    with O(mde.response.stop_and_quarantine_file#module:wait=true) waits for its actions, their statuses as last
    read (for example C(1 InProgress, 2 Pending)), when the wait gives up at the latest, and the machines Defender
    reports offline, whose actions stay Pending until they connect; a machine counts as done only once its action is
    final.
  - The lines come from the file each run keeps with O(mde.response.stop_and_quarantine_file#module:progress_path),
    read where the run runs (so a delegated task works as well). A run without one is shown as started, with no
    progress.
  - The lines appear in the output of C(ansible-playbook) as they are printed, and in ansible-runner (so in an AWX
    job's output) as events, long before the task ends.
  - Returns RV(results) in the shape an C(ansible.builtin.async_status) loop over the jobs registers, so that the
    P(mde.response.quarantine_results#filter) filter reads them; the warnings of the runs are passed on.
  - A run that was not started in the background (no job ID) is returned as it was given.
  - Renews every 2 seconds the lease of each run still going (its
    O(mde.response.stop_and_quarantine_file#module:lease_path)), so that the run writes only while the play follows
    it. When the play is interrupted (Ctrl-C, SIGINT or SIGTERM, which is also how AWX cancels a job in ansible-runner
    when it does not kill its container) or ansible-playbook's process is gone, it removes the leases at once,
    prints for each run the machines done so far and the command that finishes the rest (and the one that undoes
    it), and fails; each run then sends no further write. A command line that holds a secret is not printed.
  - Makes the async folder private (mode 0700), since Ansible writes each job's result there readable by all. Once a
    job has finished and its result is read, its status file, its progress file and its lease are removed.
  - This is an action plugin that runs on the controller and uses the connection to read each job's status.
author:
  - mde.response maintainers (@mde-response)
options:
  jobs:
    description:
      - The runs to follow. Each is either the registered result of a task started with C(async) and C(poll=0)
        (for a loop, its C(results); the loop item is the label), or a dict with C(jid) (the job ID,
        C(ansible_job_id) of that result), C(label) (how the lines name the run; default the job ID) and
        C(progress_path) (the file given to the run's O(mde.response.stop_and_quarantine_file#module:progress_path))
        and C(lease_path) (the run's O(mde.response.stop_and_quarantine_file#module:lease_path); default the progress
        file's name with the extension C(.lease)).
    type: list
    elements: raw
    required: true
  progress_dir:
    description:
      - For a job without C(progress_path) (such as a registered result), the folder of its progress file, named
        after its label, C(<progress_dir>/<label>.json). With a loop over files, give each run
        C(progress_path="<folder>/{{ item }}.json") and this the folder.
    type: str
  report_interval:
    description:
      - Seconds between two lines for the same run; from 1 to 59, so that a line comes at least once a minute.
    type: int
    default: 30
  poll_interval:
    description:
      - Seconds between two looks at whether the runs have finished, once the run has lasted a few seconds (the
        first looks come sooner, from half a second, doubling up to this).
    type: int
    default: 5
  timeout:
    description:
      - Seconds after which the runs still going are returned as failed. A run with a lease is then told to stop (its
        lease is removed, so it sends no further write); one without goes on in the background. Submitting to
        thousands of machines at the API's limits takes hours.
    type: int
    default: 18000
attributes:
  check_mode:
    description: Reads only; the runs it follows do whatever they were started to do.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  action:
    description: Runs on the controller; reads the jobs' status and progress files through the connection.
    support: full
seealso:
  - module: mde.response.stop_and_quarantine_file
  - module: ansible.builtin.async_status
  - plugin: mde.response.quarantine_results
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Make a private folder for the progress files
  ansible.builtin.tempfile:
    state: directory
    suffix: -quarantine-progress
  register: progress_folder

- name: Start one background run per file, each keeping its progress in a file
  mde.response.stop_and_quarantine_file:
    sha1: "{{ item }}"
    comment: "INC-4711: ransomware dropper"
    observed: true
    allow_partial: true
    progress_path: "{{ progress_folder.path }}/{{ item }}.json"
    lease_path: "{{ progress_folder.path }}/{{ item }}.lease"
  loop:
    - 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    - a0c659857ccbe457fdaf5fe21d54efdcbf6f6508
  async: 14400
  poll: 0
  register: runs

- name: Print their progress every 30 seconds until they have finished
  mde.response.quarantine_progress:
    jobs: "{{ runs.results }}"
    progress_dir: "{{ progress_folder.path }}"
  register: followed

- name: Show the outcomes of both files added up
  ansible.builtin.debug:
    msg: "{{ (followed.results | mde.response.quarantine_results).summary }}"

- name: Remove the progress files
  ansible.builtin.file:
    path: "{{ progress_folder.path }}"
    state: absent
"""

RETURN = r"""
results:
  description:
    - One entry per job, in the order of O(jobs), as C(ansible.builtin.async_status) returns it once the job has
      finished (C(ansible_job_id), C(finished), C(started), C(results_file), removed once read, and the module's own
      return values such as C(summary), C(actions), C(failed), C(msg)), with C(item) set to the job as given.
    - A job still running at O(timeout) has C(finished=false), C(failed=true) and a C(msg) saying so.
  returned: always
  type: list
  elements: dict
  sample:
    - ansible_job_id: "j123456789.4242"
      finished: true
      started: true
      changed: true
      summary: {"created": 240, "existing": 5, "failed": 5}
      item: {"ansible_job_id": "j123456789.4242", "item": "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"}
"""

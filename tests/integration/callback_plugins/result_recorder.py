# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: append every task result to the JSON Lines file named by MDE_TEST_RESULTS.

Integration tests read it to assert on the registered results of ansible-playbook runs, exactly as Ansible
reports them (no_log censoring included), without parsing human-readable output.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: result_recorder
type: aggregate
short_description: Record task results as JSON Lines for the integration tests
description:
  - Appends one JSON object per task result to the file named by the E(MDE_TEST_RESULTS) environment variable.
options: {}
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_recorder"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("MDE_TEST_RESULTS")
        if not path:
            return
        entry = {
            "task": result.task_name,
            "host": result.host.get_name(),
            "status": status,
            "result": self._dump_results_as_dict(result),
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def _dump_results_as_dict(self, result):
        return json.loads(self._dump_results(result._result, indent=None))  # pylint: disable=protected-access

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each filter plugin offers its filter under the name its file and documentation give it."""

import pytest

from ansible_collections.mde.response.plugins.filter import (
    outcome_counts, quarantine_machine_table, quarantine_plan_lines, quarantine_results, quarantine_summary_lines)
from ansible_collections.mde.response.plugins.plugin_utils import quarantine_plan, quarantine_report


@pytest.mark.parametrize("plugin, function", [
    (outcome_counts, quarantine_report.outcome_counts),
    (quarantine_results, quarantine_report.quarantine_results),
    (quarantine_summary_lines, quarantine_report.summary_lines),
    (quarantine_machine_table, quarantine_report.machine_table),
    (quarantine_plan_lines, quarantine_plan.plan_lines),
])
def test_the_filter_is_named_after_its_file(plugin, function):
    name = plugin.__name__.rsplit(".", 1)[-1]
    assert plugin.FilterModule().filters() == {name: function}

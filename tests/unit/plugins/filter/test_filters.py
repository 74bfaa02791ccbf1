# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every filter plugin, found by its file, offers one filter under the name its file and documentation give it, and
that filter is a function of plugin_utils (the rule lives there, tested without Ansible)."""

import glob
import importlib
import os

import pytest
import yaml

FILTERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 3, os.pardir, "plugins", "filter")
NAMES = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(FILTERS, "*.py")) if not path.endswith("__init__.py"))


def test_the_filters_are_found():
    assert "quarantine_failure" in NAMES and "contain_report" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_filter_is_named_after_its_file_and_lives_in_plugin_utils(name):
    plugin = importlib.import_module("ansible_collections.mde.response.plugins.filter.%s" % name)
    [(offered, function)] = plugin.FilterModule().filters().items()
    assert offered == name == yaml.safe_load(plugin.DOCUMENTATION)["name"]
    assert function.__module__.startswith("ansible_collections.mde.response.plugins.plugin_utils.")

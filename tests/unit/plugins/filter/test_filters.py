# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each filter plugin offers its filter under the name its file and documentation give it, and only that one.

Every file of plugins/filter is found by glob, so that a new filter is covered without being listed here.
"""

import importlib
import pathlib

import pytest
import yaml

FILTERS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"
PACKAGE = "ansible_collections.mde.response.plugins."
# Filter files are thin: the rule a filter applies lives in plugin code that roles, tests and tools can import.
LOGIC_PACKAGES = (PACKAGE + "plugin_utils", PACKAGE + "module_utils")
NAMES = sorted(path.stem for path in FILTERS.glob("*.py") if path.stem != "__init__")


def test_the_filters_are_found():
    assert len(NAMES) >= 7, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_filter_is_named_after_its_file(name):
    plugin = importlib.import_module(PACKAGE + "filter." + name)
    documented = yaml.safe_load(plugin.DOCUMENTATION)

    filters = plugin.FilterModule().filters()

    assert documented["name"] == name
    assert list(filters) == [name]
    assert callable(filters[name]) and filters[name].__module__.startswith(LOGIC_PACKAGES), filters[name].__module__

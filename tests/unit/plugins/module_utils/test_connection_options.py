# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options are defined once, in connection_options.py. The copies that cannot import Python are
checked here against it: the doc fragment, the role's argument spec and the role's pass-through list (the module
argument spec derived from it is checked in test_mde_module.py)."""

import os
import re

import pytest
import yaml

from ansible_collections.mde.response.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS
from ansible_collections.mde.response.plugins.module_utils._client.settings import CLOUDS
from tests.simulator.server import CONNECTION_ENVIRONMENT

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, "roles")
ROLE = os.path.join(ROLES, "quarantine_file")
NAMES = [option.name for option in CONNECTION_OPTIONS]
MODULE = "mde.response.stop_and_quarantine_file"


def load_yaml(*path):
    with open(os.path.join(ROLE, *path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


DOC_OPTIONS = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
# Every role takes the connection options as one dict, whose secrets its argument spec must mark no_log.
ROLE_CONNECTIONS = {"quarantine_file": "quarantine_file_connection", "contain": "contain_connection",
                    "file_indicators": "file_indicators_connection"}


def role_options(role):
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"][ROLE_CONNECTIONS[role]]
    return spec["options"]


def test_option_names_are_unique():
    assert len(set(NAMES)) == len(NAMES)


def test_the_clouds_settings_knows_are_the_cloud_choices():
    # The clouds' URLs live in settings.py; their names must be the option's choices, in the same order.
    cloud = next(option for option in CONNECTION_OPTIONS if option.name == "cloud")
    assert tuple(CLOUDS) == cloud.choices


def described(entry, description):
    """What a copy says of an option that the table also says, beside the option's description sentence in it."""
    return {"type": entry["type"], "choices": entry.get("choices", []), "aliases": entry.get("aliases", []),
            "description": description}


def in_the_table(option):
    return {"type": option.type, "choices": list(option.choices), "aliases": list(option.aliases),
            "description": option.description}


def test_the_doc_fragment_documents_every_option_and_no_other():
    assert list(DOC_OPTIONS) == NAMES


@pytest.mark.parametrize("option", CONNECTION_OPTIONS, ids=NAMES)
def test_the_doc_fragment_agrees_with_the_table(option):
    documented = DOC_OPTIONS[option.name]
    assert described(documented, documented["description"][0]) == in_the_table(option)
    assert documented.get("default") == option.default
    # The environment variables, in the order Ansible tries them, are named in one "Falls back to" line; what
    # follows a semicolon there is about other variables (HTTPS_PROXY for proxy_url).
    fallbacks = [line for line in documented["description"] if line.startswith("Falls back to")]
    if option.env:
        assert len(fallbacks) == 1, documented["description"]
        assert re.findall(r"E\((\w+)\)", fallbacks[0].split(";")[0]) == list(option.env)
    else:
        assert fallbacks == []


@pytest.mark.parametrize("role", ROLE_CONNECTIONS)
def test_each_roles_argument_spec_has_every_option_and_no_other(role):
    assert list(role_options(role)) == NAMES


@pytest.mark.parametrize("role", ROLE_CONNECTIONS)
@pytest.mark.parametrize("option", CONNECTION_OPTIONS, ids=NAMES)
def test_each_roles_argument_spec_agrees_with_the_table(role, option):
    spec = role_options(role)[option.name]
    # A role's argument spec cannot declare aliases (ansible-lint's schema refuses them, and validation would not
    # rename them anyway): the aliases are for module_defaults copied from azure.azcollection.
    assert described(spec, spec["description"]) == dict(in_the_table(option), aliases=[])
    assert spec.get("no_log", False) is option.no_log
    # A default here would hide the module's own default, module_defaults and the environment variables.
    assert "default" not in spec


def module_tasks(tasks):
    for task in tasks:
        for section in ("block", "rescue", "always"):
            yield from module_tasks(task.get(section, []))
        if MODULE in task:
            yield task


def test_the_role_hands_every_connection_option_to_the_module():
    tasks = list(module_tasks(load_yaml("tasks", "main.yml")))
    assert tasks, "no %s task in the role" % MODULE
    for task in tasks:
        passed = {name: value for name, value in task[MODULE].items() if "quarantine_file_connection" in str(value)}
        assert passed == {name: "{{ quarantine_file_connection.%s | default(omit) }}" % name for name in NAMES}


def test_the_simulators_connection_env_sets_the_variables_each_option_falls_back_to_first():
    options = {option.name: option for option in CONNECTION_OPTIONS}
    for option, variable in CONNECTION_ENVIRONMENT.items():
        assert options[option].env[0] == variable

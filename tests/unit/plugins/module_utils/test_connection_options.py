# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options are defined once, in connection_options.py. The copies that cannot import Python (the doc
fragment, each role's argument spec) are generated from it by tests/tools/sync.py (`make sync`; `make sync-check`
in `make test` finds them stale): checked here is that what it writes says what the table says, and that the roles
hand the connection over without hiding the play's (the module argument spec is checked in test_mde_module.py)."""

import os
import re

import pytest
import yaml

from ansible_collections.mde.response.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS
from ansible_collections.mde.response.plugins.module_utils._client.settings import CLOUDS
from tests.simulator.server import CONNECTION_ENVIRONMENT
from tests.tools.sync import replace_section, scalar

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, "roles")
NAMES = [option.name for option in CONNECTION_OPTIONS]


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


with open(os.path.join(ROLES, os.pardir, "meta", "runtime.yml"), encoding="utf-8") as _runtime:
    ACTION_GROUPS = yaml.safe_load(_runtime)["action_groups"]
GROUP = {"mde.response." + name for name in ACTION_GROUPS["defender"]}


def test_the_roles_group_holds_the_same_modules_as_the_users_group():
    assert ACTION_GROUPS["role_connection"] == ACTION_GROUPS["defender"]


def role_tasks(role):
    with open(os.path.join(ROLES, role, "tasks", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def every_task(tasks):
    for task in tasks:
        yield task
        for section in ("block", "rescue", "always"):
            yield from every_task(task.get(section, []))


@pytest.mark.parametrize("role", ROLE_CONNECTIONS)
def test_each_role_hands_its_connection_over_as_the_group_that_adds_to_the_plays(role):
    # group/mde.response.defender here would replace the play's module_defaults for it (ansible-core merges
    # module_defaults by key); a connection option in a task's arguments would hide the play's value even when omitted.
    [outer] = role_tasks(role)
    assert outer["module_defaults"] == {"group/mde.response.role_connection": "{{ %s }}" % ROLE_CONNECTIONS[role]}
    for task in every_task(role_tasks(role)):
        for module, arguments in task.items():
            if module in GROUP:
                assert set(arguments).isdisjoint(NAMES), (role, task["name"])


def test_the_simulators_connection_env_sets_the_variables_each_option_falls_back_to_first():
    options = {option.name: option for option in CONNECTION_OPTIONS}
    for option, variable in CONNECTION_ENVIRONMENT.items():
        assert options[option].env[0] == variable


@pytest.mark.parametrize("text", ["plain words, (parentheses) and V(https://host:443)", "a colon: then more", "# a comment",
                                  "ends with a hash #tag", "'quoted'", "[a, list]"])
def test_the_generator_writes_each_text_as_a_scalar_yaml_reads_back_unchanged(text):
    assert yaml.safe_load("key: %s" % scalar(text)) == {"key": text}


def test_the_generator_replaces_only_the_section_up_to_the_next_line_indented_as_little():
    text = "top:\n  a:\n    old: 1\n\n    more: 2\n  b: 3\nnext: 4\n"
    assert replace_section(text, "  a:", "  a: new\n") == "top:\n  a: new\n  b: 3\nnext: 4\n"
    assert replace_section(text, "next: 4", "") == "top:\n  a:\n    old: 1\n\n    more: 2\n  b: 3\n"

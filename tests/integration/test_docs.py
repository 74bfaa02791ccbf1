"""ansible-doc renders the info modules and the role, and the role's spec, defaults, tasks and README agree.

ansible-doc renders every plugin of a type in one run (each costs a second or two to start), for this file and
test_docs_indicators.py alike."""

import functools
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.support.ansible_runner import REPO

ROLE = os.path.join(REPO, "roles", "quarantine_file")
# Facts and statistics the role sets for its caller: outputs, not inputs.
ROLE_OUTPUTS = {"quarantine_file_report", "quarantine_file_report_paths", "quarantine_file_summary", "quarantine_file_failures",
                "quarantine_file_results", "quarantine_file_unknown_files"}


def ansible_doc(*arguments):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), *arguments]
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collection-tree"), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "WARNING" not in completed.stderr and "ERROR" not in completed.stderr, completed.stderr
    return completed.stdout


# Where each type's plugins are; the roles are folders, the others Python files.
PLUGIN_FOLDERS = {"module": ("plugins", "modules"), "filter": ("plugins", "filter"), "inventory": ("plugins", "inventory"), "role": ("roles",)}
# ansible-doc's header of each plugin's text: "> MODULE mde.response.x (path)", "> ROLE: *mde.response.x* (path)".
HEADER = re.compile(r"^> [A-Z]+:? \*?(mde\.response\.\w+)\*? \(", re.MULTILINE)


def plugin_names(plugin_type):
    folder = os.path.join(REPO, *PLUGIN_FOLDERS[plugin_type])
    return sorted("mde.response." + (name if plugin_type == "role" else name[:-3]) for name in os.listdir(folder)
                  if plugin_type == "role" or (name.endswith(".py") and name != "__init__.py"))


@functools.lru_cache(maxsize=None)
def rendered(plugin_type):
    """ansible-doc's text of every plugin of the type, {name: text}: one ansible-doc run for all of them."""
    text = ansible_doc("-t", plugin_type, *plugin_names(plugin_type))
    starts = [(match.start(), match.group(1)) for match in HEADER.finditer(text)] + [(len(text), None)]
    return {name: text[start:end] for (start, name), (end, _next) in zip(starts, starts[1:])}


@functools.lru_cache(maxsize=None)
def documented(plugin_type):
    """ansible-doc's JSON of every plugin of the type, {name: documentation}, from one ansible-doc run."""
    return json.loads(ansible_doc("-t", plugin_type, "--json", *plugin_names(plugin_type)))


def read(*path):
    with open(os.path.join(*path), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("plugin_type, name, expected", [
    ("module", "mde.response.machine_info",
     ["observed_sha1", "last_seen_after", "NoSensorDataImpairedCommunication", "Machine.Read.All", "group/mde.response.defender", "machines"]),
    ("module", "mde.response.machine_action_info",
     ["action_ids", "created_after", "StopAndQuarantineFile", "TimeOut", "Machine.Read.All", "machine_actions"]),
    ("module", "mde.response.machine_tags",
     ["max_machines", "AddOrRemoveTagForMultipleMachines", "would_remove", "unsent", "Machine.ReadWrite.All", "tags_before"]),
    ("module", "mde.response.antivirus_scan",
     ["scan_type", "succeeded_within", "covered_by", "ScanInProgress", "Machine.Scan", "comment", "progress_path"]),
    ("inventory", "mde.response.machines",
     ["hostnames", "duplicates", "live_within", "keyed_groups", "cache_plugin", "client_secret", "Machine.Read.All", "mde_last_ip_address"]),
    ("role", "mde.response.quarantine_file",
     ["quarantine_file_sha1s", "quarantine_file_target_play_hosts", "quarantine_file_connection", "Machine.StopAndQuarantine"]),
])
def test_ansible_doc_renders(plugin_type, name, expected):
    text = rendered(plugin_type)[name]
    for word in expected:
        assert word in text, "%s is not in the documentation of %s" % (word, name)


# The modules that call the API; a module file that only documents an action plugin of the controller has no connection.
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules"))
                 if name.endswith(".py") and not os.path.exists(os.path.join(REPO, "plugins", "action", name)))


@pytest.mark.parametrize("module", MODULES)
def test_every_module_documents_what_it_returns_on_failure_and_the_azure_names(module):
    """The top-level `error` of a failure (DefenderModule.failing_on_errors) is in RETURN, and the connection
    options' azure.azcollection aliases and cloud_environment are documented, as ansible-doc shows them."""
    name = "mde.response." + module
    doc = documented("module")[name]
    error = doc["return"]["error"]
    assert set(error["contains"]) == {"code", "message", "http_status", "missing_permission"}
    assert error["returned"].startswith("on failure")
    options = doc["doc"]["options"]
    assert options["tenant_id"]["aliases"] == ["tenant"] and options["client_secret"]["aliases"] == ["secret"]
    assert "AZURE_CLOUD_ENVIRONMENT" in " ".join(options["cloud_environment"]["description"])


def test_the_role_spec_defaults_tasks_and_readme_agree():
    options = documented("role")["mde.response.quarantine_file"]["entry_points"]["main"]["options"]
    defaults = yaml.safe_load(read(ROLE, "defaults", "main.yml"))
    readme = read(ROLE, "README.md")
    used = set(re.findall(r"(?<![\w])quarantine_file_\w+", read(ROLE, "tasks", "main.yml"))) - ROLE_OUTPUTS

    assert used == set(options), "variables the tasks use and the spec declares differ"
    for name, spec in options.items():
        assert "type" in spec, name
        if spec.get("required"):
            assert name not in defaults, "%s is required, it must not have a default" % name
        else:
            assert defaults[name] == spec.get("default"), "defaults/main.yml and the spec disagree on %s" % name
        assert "`%s`" % name in readme, "README.md does not document %s" % name
    assert set(defaults) <= set(options)
    for name in options["quarantine_file_connection"]["options"]:
        assert "`%s`" % name in readme, "README.md does not name the connection option %s" % name

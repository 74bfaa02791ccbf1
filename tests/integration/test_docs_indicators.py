"""ansible-doc renders the indicator modules, the contain and file_indicators roles and the report filters; role specs and defaults agree."""

import re

import pytest
import yaml

from tests.support.ansible_runner import REPO
from tests.integration.test_docs import documented, read, rendered


@pytest.mark.parametrize("plugin_type, name, expected", [
    ("module", "mde.response.file_indicator", ["file_hash", "BlockAndRemediate", "expiration", "device_groups", "Ti.ReadWrite.All",
                                               "group/mde.response.defender", "outcome"]),
    ("module", "mde.response.file_indicators", ["indicators", "exclusive", "refused", "Ti.ReadWrite.All", "import"]),
    ("role", "mde.response.contain", ["contain_sha1s", "contain_state", "contain_expiration", "Ti.ReadWrite.All", "Machine.StopAndQuarantine"]),
    ("role", "mde.response.file_indicators", ["file_indicators_file", "file_indicators_exclusive", "Ti.ReadWrite.All"]),
    ("filter", "mde.response.contain_report", ["quarantine_results", "failures"]),
    ("filter", "mde.response.contain_summary", ["lines"]),
])
def test_ansible_doc_renders(plugin_type, name, expected):
    text = rendered(plugin_type)[name]
    for word in expected:
        assert word in text, "%s is not in the documentation of %s" % (word, name)


@pytest.mark.parametrize("role, outputs", [
    ("contain", {"contain_report", "contain_summary", "contain_failures", "contain_failure"}),
    ("file_indicators", {"file_indicators_result", "file_indicators_summary"}),
])
def test_the_role_spec_defaults_and_tasks_agree(role, outputs):
    options = documented("role")["mde.response." + role]["entry_points"]["main"]["options"]
    defaults = yaml.safe_load(read(REPO, "roles", role, "defaults", "main.yml"))
    used = set(re.findall(r"(?<![\w])%s_\w+" % role, read(REPO, "roles", role, "tasks", "main.yml"))) - outputs

    assert used == set(options), "variables the tasks use and the spec declares differ"
    for name, spec in options.items():
        if spec.get("required"):
            assert name not in defaults, "%s is required, it must not have a default" % name
        else:
            assert defaults[name] == spec.get("default"), "defaults/main.yml and the spec disagree on %s" % name
    assert set(defaults) <= set(options)

"""The changelog: CHANGELOG.rst is generated, and the next release's notes would name everything the collection has.

The fragments themselves are linted by ansible-test's changelog sanity test (make sanity).
"""

import glob
import os

import yaml

from tests.ecosystem.tools import REPO, copy_sources, environment, run, tool


def changelog_yaml(root):
    with open(os.path.join(root, "changelogs", "changelog.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def paths(pattern):
    return glob.glob(os.path.join(REPO, pattern))


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def test_changelog_rst_is_what_antsibull_changelog_generates(tmp_path):
    copy = copy_sources(tmp_path / "collection")
    run([tool("antsibull-changelog"), "generate"], cwd=copy, env=environment(ANSIBLE_COLLECTIONS_PATH=None))

    with open(os.path.join(copy, "CHANGELOG.rst"), encoding="utf-8") as generated, \
            open(os.path.join(REPO, "CHANGELOG.rst"), encoding="utf-8") as committed:
        assert committed.read() == generated.read(), "CHANGELOG.rst was edited by hand: run `make changelog`"


def test_release_notes_name_every_module_role_and_playbook(tmp_path):
    # What `make changelog` would record now: modules by their version_added, roles and playbooks by fragments.
    copy = copy_sources(tmp_path / "collection")
    run([tool("antsibull-changelog"), "release", "--reload-plugins"], cwd=copy,
        env=environment(ANSIBLE_COLLECTIONS_PATH=None))

    announced = set()
    for release in changelog_yaml(copy)["releases"].values():
        announced |= {("module", entry["name"]) for entry in release.get("modules", [])}
        for kind, entries in list(release.get("objects", {}).items()) + list(release.get("plugins", {}).items()):
            announced |= {(kind, entry["name"]) for entry in entries}
    present = {("module", stem(path)) for path in paths("plugins/modules/*.py")}
    present |= {("inventory", stem(path)) for path in paths("plugins/inventory/*.py")}
    present |= {("role", os.path.basename(os.path.dirname(path))) for path in paths("roles/*/tasks")}
    present |= {("playbook", stem(path)) for path in paths("playbooks/*.yml")}
    missing = sorted(present - announced)
    assert missing == [], ("no release announces %s: give modules and plugins a version_added, and add a changelog fragment with an "
                           "'add object.role' or 'add object.playbook' section for roles and playbooks" % missing)

"""The artifact that goes to Galaxy or Automation Hub: what is in it, and whether Galaxy's importer accepts it."""

import fnmatch
import json
import os
import re
import tarfile

import yaml

from tests.ecosystem.tools import NEWEST_BIN, REPO, environment, galaxy, run, source_files, tool

# Working files of the developer tools, which must never ship; a virtualenv or build output that slipped in
# would also make the artifact tens of megabytes instead of a few hundred kilobytes.
NEVER_SHIPPED = [
    ".git/*", ".venv/*", ".venv-*/*", ".collection-tree/*", ".ansible/*", ".pytest_cache/*", ".ci/*", "build/*",
    "demo-output/*", "tests/output/*", "tests/integration/inventory", "changelogs/.plugin-cache.yaml",
    "*/__pycache__/*", "__pycache__/*", "*.pyc", "*.tar.gz",
    "Makefile", "pytest.ini", "mypy.ini", ".mypy_cache/*", "conftest.py", "requirements-dev.txt", ".ansible-lint", ".gitignore",
]
MAX_SIZE = 2 * 1024 * 1024


def members(path):
    with tarfile.open(path) as archive:
        return sorted(member.name for member in archive.getmembers() if member.isfile())


def test_artifact_holds_the_collection_and_nothing_else(artifact):
    files = members(artifact)

    stray = [name for name in files if any(fnmatch.fnmatch(name, pattern) for pattern in NEVER_SHIPPED)]
    assert stray == [], "the artifact holds files that do not belong in it; extend build_ignore in galaxy.yml"
    assert os.path.getsize(artifact) < MAX_SIZE
    required = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
                "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt"}
    assert required - set(files) == set()
    # Every module, module_util, doc fragment, role file, playbook and rendered doc page in the sources ships.
    shipped_trees = re.compile(r"^(plugins|roles|playbooks|docs/plugins)/")
    assert [path for path in source_files() if shipped_trees.match(path) and path not in files] == []
    assert any(name.startswith("plugins/modules/") for name in files)

    with tarfile.open(artifact) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (
        galaxy()["namespace"], galaxy()["name"], galaxy()["version"])


def test_galaxy_importer_accepts_the_artifact(artifact, tmp_path):
    # galaxy-importer (what galaxy.ansible.com runs on every upload) lives in .venv-newest, see the Makefile. Its
    # ansible-lint step runs offline by default; its ansible-test step needs a container runtime and is off by
    # default, which is fine: make test runs ansible-test sanity on both ansible-core versions itself.
    importer = tool("python", NEWEST_BIN)
    assert os.path.exists(importer), "run `make venv-newest` first: galaxy-importer is installed there"
    output = run([importer, "-m", "galaxy_importer.main", "--print-result", artifact], cwd=str(tmp_path),
                 env=environment(NEWEST_BIN, HOME=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=None), timeout=600)

    log = output[:output.index("\n{")]
    result = json.loads(output[output.index("\n{"):])
    assert "Importer processing completed successfully" in log, log
    complaints = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert complaints == [], "\n".join(complaints)
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        assert result["requires_ansible"] == yaml.safe_load(handle)["requires_ansible"]
    found = {(entry["content_type"], entry["name"]) for entry in result["contents"]}
    modules = {name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules")) if name.endswith(".py")}
    assert {("module", name) for name in modules} <= found

"""Execution environments: the example definition gives ansible-builder a build context, and ansible-builder finds
the collection's own requirements (meta/execution-environment.yml) once the collection is installed.

Building the image itself needs podman or docker, which the test machines do not have; everything up to it runs here.
"""

import os
import re
import shutil

import yaml

from tests.ecosystem.tools import REPO, environment, run, tool

EXAMPLE = os.path.join(REPO, "docs", "execution-environment")


def test_builder_creates_a_build_context_from_the_example(artifact, tmp_path):
    """As docs/awx.md says: the collection built into the example's folder, then ansible-builder run there."""
    example = tmp_path / "execution-environment"
    shutil.copytree(EXAMPLE, example)
    shutil.copy(artifact, str(example))
    context = tmp_path / "context"
    run([tool("ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(context),
         "--output-filename", "Containerfile"], cwd=str(example), env=environment())

    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    with open(os.path.join(EXAMPLE, "execution-environment.yml"), encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    assert 'EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert definition["dependencies"]["ansible_core"]["package_pip"] in containerfile
    # The image installs the collections of requirements.yml, then adds what each of them declares it needs.
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile
    # The collection comes from the built file (it is not on Galaxy), copied where requirements.yml names it.
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert requirements["collections"] == [{"name": "collections/" + os.path.basename(artifact), "type": "file"}]
    assert (context / "_build" / "collections" / os.path.basename(artifact)).is_file()


def test_builder_introspect_lists_the_collection_requirements(artifact, tmp_path):
    collections = tmp_path / "collections"
    run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), artifact],
        env=environment(ANSIBLE_COLLECTIONS_PATH=None))
    installed = collections / "ansible_collections" / "mde" / "response"
    assert (installed / "meta" / "execution-environment.yml").is_file()

    output = run([tool("ansible-builder"), "introspect", "--sanitize", str(collections)], env=environment())

    found = yaml.safe_load(output)
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        wanted = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    python = [entry.split("#")[0].strip() for entry in found["python"]]
    assert sorted(python) == sorted(wanted)
    assert {"msal", "requests"} <= {re.split(r"[<>=!~ ]", entry)[0] for entry in python}
    assert all("from collection mde.response" in entry for entry in found["python"] + found["system"])
    assert any(entry.startswith("ca-certificates") for entry in found["system"])

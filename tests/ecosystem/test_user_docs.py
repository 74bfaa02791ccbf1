"""The user documentation keeps up with the code: permissions, connection options, and links that lead somewhere."""

import ast
import glob
import os
import re

import pytest
import yaml

from ansible_collections.mde.response.plugins.module_utils.mde_module import CONNECTION_ARGUMENT_SPEC
from tests.ecosystem.tools import REPO

# Defender for Endpoint permissions are dotted names: Machine.StopAndQuarantine, Machine.Read.All, File.Read.All.
PERMISSION = re.compile(r"C\(([A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)+)\)")
USER_DOCS = ["README.md", "docs/awx.md", "docs/eda.md"]


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return handle.read()


def module_documentation(path):
    tree = ast.parse(read(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [target.id for target in node.targets] == ["DOCUMENTATION"]:
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no DOCUMENTATION" % path)


def documented_content():
    """A test parameter (FQCN, documentation) for every module and for every role's main entry point."""
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))):
        name = "mde.response." + os.path.basename(path)[:-3]
        documentation = module_documentation(os.path.relpath(path, REPO))
        # quarantine_progress follows jobs on the controller and never calls the API: only modules that take the
        # connection options need a permission.
        if "mde.response.connection" in documentation.get("extends_documentation_fragment", []):
            yield pytest.param(name, documentation, id=name)
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml"))):
        name = "mde.response." + path.split(os.sep)[-3]
        with open(path, encoding="utf-8") as handle:
            yield pytest.param(name, yaml.safe_load(handle)["argument_specs"]["main"], id=name)


def required_permissions(documentation):
    """The permissions named on the documentation's "Required API permissions" lines."""
    lines = [line for line in documentation.get("description", []) + documentation.get("notes", [])
             if line.startswith("Required API permissions")]
    return set(PERMISSION.findall(" ".join(lines)))


@pytest.mark.parametrize("name, documentation", list(documented_content()))
def test_every_module_and_role_lists_its_permissions_and_the_readme_has_them(name, documentation):
    permissions = required_permissions(documentation)
    readme = read("README.md")

    assert permissions, "%s: add a description line 'Required API permissions (application): C(...)'" % name
    assert [permission for permission in permissions if "`%s`" % permission not in readme] == []
    assert "`%s`" % name in readme, "the README's permission table does not name %s" % name


def test_the_readme_documents_every_connection_option_and_environment_variable():
    readme = read("README.md")
    names = set(CONNECTION_ARGUMENT_SPEC)
    names |= {variable for spec in CONNECTION_ARGUMENT_SPEC.values() for variable in spec.get("fallback", (None, ()))[1]}
    names |= set(CONNECTION_ARGUMENT_SPEC["cloud"]["choices"]) | set(CONNECTION_ARGUMENT_SPEC["auth_method"]["choices"])

    # Named in code spans, alone or as in `token_cache: false` and `MDE_TOKEN_CACHE=false`.
    prose = re.sub(r"^```.*?^```", "", readme, flags=re.MULTILINE | re.DOTALL)
    words = {word for span in re.findall(r"`([^`]+)`", prose) for word in re.split(r"[\s:=]+", span)}
    assert sorted(names - words) == []


def heading_anchors(markdown):
    """GitHub's anchors for the headings of a Markdown text."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("document", USER_DOCS)
def test_every_link_of_the_user_docs_leads_somewhere(document):
    text = read(document)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, anchor = (target.split("#", 1) + [""])[:2]
        resolved = os.path.normpath(os.path.join(os.path.dirname(document), path)) if path else document
        if not os.path.exists(os.path.join(REPO, resolved)):
            broken.append(target)
        elif anchor and anchor not in heading_anchors(read(resolved)):
            broken.append(target)
    assert broken == []

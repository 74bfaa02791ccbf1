"""The user documentation keeps up with the code: permissions, connection options, and links that lead somewhere.

The README is what Galaxy shows, where a relative link leads nowhere: its links are absolute. The guides under
docs/docsite/rst/ hold what the README used to (permissions, authentication, network, clouds)."""

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
GUIDES = sorted(os.path.relpath(path, REPO) for path in glob.glob(os.path.join(REPO, "docs", "docsite", "rst", "*.rst")))
USER_DOCS = ["README.md", "docs/awx.md", "docs/eda.md"] + GUIDES
REPOSITORY = "https://github.com/mde-response/mde.response"
README_MAX_LINES = 150
# A code span in RST (``name``) or Markdown (`name`).
CODE_SPAN = re.compile(r"``(.+?)``|(?<!`)`([^`]+)`(?!`)")


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


def code_spans(text):
    return {next(group for group in match.groups() if group) for match in CODE_SPAN.finditer(text)}


@pytest.mark.parametrize("name, documentation", list(documented_content()))
def test_every_module_and_role_lists_its_permissions_and_the_permissions_guide_has_them(name, documentation):
    permissions = required_permissions(documentation)
    guide = code_spans(read("docs/docsite/rst/permissions.rst"))

    assert permissions, "%s: add a description line 'Required API permissions (application): C(...)'" % name
    assert sorted(permissions - guide) == []
    assert name in guide, "the permissions guide's table does not name %s" % name


def test_the_guides_document_every_connection_option_and_environment_variable():
    names = set(CONNECTION_ARGUMENT_SPEC)
    names |= {variable for spec in CONNECTION_ARGUMENT_SPEC.values() for variable in spec.get("fallback", (None, ()))[1]}
    names |= set(CONNECTION_ARGUMENT_SPEC["cloud"]["choices"]) | set(CONNECTION_ARGUMENT_SPEC["auth_method"]["choices"])

    # Named in code spans, alone or as in ``token_cache: false`` and ``MDE_TOKEN_CACHE=false``.
    spans = set().union(*(code_spans(read(guide)) for guide in GUIDES))
    words = {word for span in spans for word in re.split(r"[\s:=]+", span)}
    assert sorted(names - words) == []


def test_the_readme_is_short_and_every_guide_is_listed_for_antsibull_docs():
    readme = read("README.md")
    index = yaml.safe_load(read("docs/docsite/extra-docs.yml"))
    listed = {entry["ref"] for section in index["sections"] for entry in section["toctree"]}

    assert len(readme.splitlines()) <= README_MAX_LINES
    assert listed == {os.path.basename(guide)[:-4] for guide in GUIDES}
    for guide in GUIDES:
        assert "%s/blob/main/%s" % (REPOSITORY, guide) in readme, "the README does not link %s" % guide


def heading_anchors(markdown):
    """GitHub's anchors for the headings of a Markdown text."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def link_targets(document):
    """The targets of a document's links: Markdown's [text](target) and RST's `text <target>`_."""
    pattern = r"`[^`<]*<([^>\s]+)>`_" if document.endswith(".rst") else r"\]\(([^)\s]+)\)"
    return re.findall(pattern, read(document))


def in_repository(document, target):
    """The file of the repository a link leads to (and its anchor), or None for a link that leads elsewhere."""
    for prefix in (REPOSITORY + "/blob/main/", REPOSITORY + "/tree/main/"):
        if target.startswith(prefix):
            return (target[len(prefix):].split("#", 1) + [""])[:2]
    if re.match(r"[a-z]+:", target):
        return None
    path, anchor = (target.split("#", 1) + [""])[:2]
    return (os.path.normpath(os.path.join(os.path.dirname(document), path)) if path else document), anchor


@pytest.mark.parametrize("document", USER_DOCS)
def test_every_link_of_the_user_docs_leads_somewhere(document):
    broken = []
    for target in link_targets(document):
        found = in_repository(document, target)
        if found is None:
            continue
        resolved, anchor = found
        if not os.path.exists(os.path.join(REPO, resolved)):
            broken.append(target)
        elif anchor and anchor not in heading_anchors(read(resolved)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("document", ["README.md"] + GUIDES)
def test_the_readme_and_the_guides_link_absolutely(document):
    """Galaxy and the rendered docs show these files away from the repository, where a relative link resolves to
    nothing."""
    assert [target for target in link_targets(document) if not re.match(r"https?://", target)] == []

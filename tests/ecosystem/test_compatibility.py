"""The ansible-core versions the collection claims are the ones its tests run on: meta/runtime.yml's
requires_ansible, the README's table of ansible-core lines (Requirements), the Makefile's legs (MAIN_CORE, MATRIX_CORES, NEWEST_CORE)
and the pins of their virtualenvs, and the example execution environment's ansible-core all name the same lines,
and no document asks for an older ansible-core than the claim.
"""

import glob
import os
import re

import yaml

from tests.ecosystem.tools import REPO


def read(*path):
    with open(os.path.join(REPO, *path), encoding="utf-8") as handle:
        return handle.read()


def line_of(version):
    """The release line (major, minor) of a version such as 2.19.14 or 2.19."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def makefile_cores(name):
    """[(line, Python version)] of a Makefile variable of ansible-core legs (<version>:<Python> words)."""
    value = re.search(r"^%s := (.*)$" % name, read("Makefile"), flags=re.MULTILINE).group(1)
    return [(line_of(core), python) for core, python in (leg.split(":") for leg in value.split())]


def makefile_legs():
    """{line: Python version} of every ansible-core leg the Makefile runs."""
    return dict(makefile_cores("MAIN_CORE") + makefile_cores("MATRIX_CORES") + makefile_cores("NEWEST_CORE"))


def readme_table():
    """{line: Python version} of the table in the README's Requirements."""
    section = read("README.md").split("\n## Requirements\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+\.\d+) \| (\d+\.\d+) \|", section, flags=re.MULTILINE)
    assert rows, "README's Requirements section has no table of ansible-core lines and Pythons"
    return {line_of(core): python for core, python in rows}


def pinned_core(*path):
    return line_of(re.search(r"^ansible-core==(\S+)$", read(*path), flags=re.MULTILINE).group(1))


def test_every_claimed_line_is_tested_and_listed_in_the_readme():
    legs = makefile_legs()
    oldest, newest = min(legs), max(legs)
    claim = yaml.safe_load(read("meta", "runtime.yml"))["requires_ansible"]

    assert claim == ">=%d.%d.0" % oldest, "requires_ansible should start at the oldest tested line"
    assert sorted(legs) == [(oldest[0], minor) for minor in range(oldest[1], newest[1] + 1)], "a line in between is untested"
    assert readme_table() == legs


def test_virtualenvs_and_example_execution_environment_hold_the_declared_lines():
    legs = makefile_legs()
    main, newest = (makefile_cores(name)[0][0] for name in ("MAIN_CORE", "NEWEST_CORE"))

    assert pinned_core("requirements-dev.txt") == main
    assert pinned_core("tests", "ecosystem", "requirements-newest.txt") == newest
    # The virtualenvs `make ecosystem` depends on were made with the Python their line is tested on.
    for venv, line in ((".venv", main), (".venv-newest", newest)):
        assert os.path.isfile(os.path.join(REPO, venv, "pyvenv.cfg")), "no %s: make venv venv-newest makes them" % venv
        version = re.search(r"^version(?:_info)? = (\S+)$", read(venv, "pyvenv.cfg"), flags=re.MULTILINE).group(1)
        assert "%d.%d" % line_of(version) == legs[line], venv

    example = yaml.safe_load(read("docs", "execution-environment", "execution-environment.yml"))
    spec = example["dependencies"]["ansible_core"]["package_pip"]
    assert spec == "ansible-core>=%d.%d,<%d.%d" % (min(legs) + (newest[0], newest[1] + 1))


def test_docs_ask_for_no_older_ansible_core_than_the_claim():
    oldest = min(makefile_legs())
    docs = ["README.md"] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")) + glob.glob(os.path.join(REPO, "docs", "docsite", "rst", "*.rst")))
    asked = {(os.path.basename(path), version) for path in docs
             for version in re.findall(r"ansible-core>=(\d+\.\d+)", read(path))}

    assert {(name, version) for name, version in asked if line_of(version) != oldest} == set()

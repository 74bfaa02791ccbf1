"""The files ansible-test and antsibull-changelog expect in a collection's repository are there, and every shipped
Python file names its license (SPDX identifier).

`ansible-test units --venv` installs tests/unit/requirements.txt, and only that file, into the virtualenv the unit
tests run in; antsibull-changelog reads changelogs/fragments/, which git keeps only while it holds a file.
"""

import os
import re

from tests.ecosystem.tools import REPO, source_files


def requirements(*path):
    """{name: requirement line} of a pip requirements file (comments and -r includes left out)."""
    with open(os.path.join(REPO, *path), encoding="utf-8") as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return {re.split(r"[<>=!~ \[]", line)[0].lower(): line for line in lines if line and not line.startswith("-")}


def test_unit_requirements_hold_the_runtime_requirements_with_the_development_pins():
    unit = requirements("tests", "unit", "requirements.txt")
    development = requirements("requirements-dev.txt")

    assert set(requirements("requirements.txt")) <= set(unit)
    assert {name: development.get(name) for name in unit} == unit


def test_changelog_fragments_folder_is_kept_in_git():
    assert "changelogs/fragments/.keep" in source_files()


def test_every_shipped_python_file_names_its_license_by_spdx_identifier():
    shipped = [path for path in source_files() if path.endswith(".py") and path.startswith(("plugins/", "extensions/"))]
    unlabelled = []
    for path in shipped:
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            text = handle.read(1000)
        # A package's empty __init__.py holds nothing to license (test_layering.py keeps them empty).
        if text and "# SPDX-License-Identifier: GPL-3.0-or-later\n" not in text:
            unlabelled.append(path)
    assert shipped and unlabelled == []

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: indicator_list
short_description: Read a list of file indicators from a YAML file, checking every entry
version_added: 0.2.0
description:
  - Reads a YAML file holding a list of indicators, each a dict with the keys of the C(indicators) option of
    M(mde.response.file_indicators), and returns the list.
  - Fails, naming the file, when it cannot be found or read, is empty, is not valid YAML or does not hold a list; and,
    naming the file, the entry's position and its hash, when an entry is not a valid indicator. Nothing is sent to any
    API.
  - The file is looked up like any C(ansible.builtin.file) lookup (the C(files/) folder of the role or playbook, then
    their folder); an absolute path is taken as it is.
author:
  - mde.response maintainers (@mde-response)
options:
  _terms:
    description: The path of the YAML file; an empty string reads no file (the result is then O(inline) alone).
    type: list
    elements: str
    required: true
  inline:
    description:
      - Entries given inline, placed before the file's. Taken here rather than joined to the lookup's value in a template,
        so that a refusal reaches the user as it is.
    type: list
    elements: raw
    default: []
"""

EXAMPLES = r"""
- name: Converge the tenant to the blocked hashes kept in git
  mde.response.file_indicators:
    list_name: blocked-files
    indicators: "{{ lookup('mde.response.indicator_list', 'blocked-files.yml') }}"

- name: The same, with two more entries given inline
  mde.response.file_indicators:
    list_name: blocked-files
    indicators: "{{ lookup('mde.response.indicator_list', 'blocked-files.yml', inline=incident_hashes) }}"
"""

RETURN = r"""
_raw:
  description: The entries of O(inline), then those of the file, as written.
  type: list
  elements: dict
"""

import os

import yaml

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.mde.response.plugins.module_utils._client.clock import clock_from_environment
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._indicators.sync import entries_from_file


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("mde.response.indicator_list reads one file, got %d: %r" % (len(terms), terms))
        entries = list(self.get_option("inline") or [])
        if terms[0]:
            entries += read(terms[0], self.find_file_in_search_path(variables, "files", terms[0], ignore_missing=True))
        # The list is the lookup's one value: lookup() hands it over whole.
        return [entries]


def read(name, path):
    """The checked entries of the YAML file ``path`` (None when not found), named ``name`` in every message."""
    if not path or not os.path.isfile(path):
        raise AnsibleLookupError("The indicator list file %s was not found (a relative path is looked up in the files/ folder of the role "
                                 "and of the playbook, then in their folders): give the path of a YAML file holding a list of "
                                 "indicators" % name)
    try:
        with open(path, encoding="utf-8") as stream:
            content = yaml.safe_load(stream)
    except (OSError, UnicodeDecodeError) as error:
        raise AnsibleLookupError("The indicator list file %s cannot be read (%s): make it a readable UTF-8 text file" % (path, error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        raise AnsibleLookupError("The indicator list file %s is not valid YAML%s (%s): fix it there" % (
            path, where, getattr(error, "problem", None) or error)) from None
    try:
        clock, _warning = clock_from_environment(os.environ)
        return entries_from_file(content, path, clock.now())
    except InputError as error:
        raise AnsibleLookupError(str(error)) from None

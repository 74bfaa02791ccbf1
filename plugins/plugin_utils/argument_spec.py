# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An action plugin's argument spec, read from the documentation of its module file, so that the options are
written once: what ansible-doc shows is what the plugin accepts."""

from __future__ import annotations

import yaml

# The keys of a documented option that are also keys of an argument spec entry.
SPEC_KEYS = ("type", "elements", "required", "default", "choices", "aliases", "no_log")


def documented_argument_spec(documentation: str) -> dict:
    """The argument spec of the options in a DOCUMENTATION string (suboptions included)."""
    return _spec(yaml.safe_load(documentation).get("options") or {})


def _spec(options: dict) -> dict:
    spec = {}
    for name, documented in options.items():
        entry = {key: documented[key] for key in SPEC_KEYS if key in documented}
        if "suboptions" in documented:
            entry["options"] = _spec(documented["suboptions"])
        spec[name] = entry
    return spec

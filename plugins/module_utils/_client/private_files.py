# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files only their owner may read, replaced in one step: the token cache and the alert source's state."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any


def replace_json(path: str, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` (mode 0600) through a temporary file in the same folder, so that a
    process killed halfway leaves the old file, never half of a new one."""
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(payload, stream)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise

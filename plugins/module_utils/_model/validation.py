# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The validators of user input: each turns an option's value into a clean one or raises InputError.

Every message names the option (``machine_ids[2]`` for a list element) and says what a good value looks like.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from ansible_collections.mde.response.plugins.module_utils._model.entities import parse_timestamp
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

MAX_TEXT_LENGTH = 255

_HEX40 = re.compile(r"[0-9a-f]{40}", re.IGNORECASE)
_OTHER_HASHES = ((re.compile(r"[0-9a-f]{64}", re.IGNORECASE), "SHA-256"), (re.compile(r"[0-9a-f]{32}", re.IGNORECASE), "MD5"))
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The one duration grammar: a whole number and an optional unit (seconds when there is none).
_DURATION = re.compile(r"(\d+)\s*([smhd]?)", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_FORMS = "a duration such as 30m, 24h, 7d or a number of seconds"


def given(options, option):
    return options.get(option) is not None


def control_character(text, allowed=frozenset()):
    """The first control character of ``text`` not in ``allowed``, or None."""
    return next((char for char in text if unicodedata.category(char) == "Cc" and char not in allowed), None)


def _duration_seconds(text):
    match = _DURATION.fullmatch(text.strip())
    return int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()] if match else None


def parse_duration(value, option):
    """Seconds from ``30m``, ``24h``, ``7d``, ``90s``, or plain seconds (int or digits); ``0`` is allowed."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InputError("%s must not be negative" % option)
        return value
    seconds = _duration_seconds(value) if isinstance(value, str) else None
    if seconds is None:
        raise InputError("%s must be %s, got %r" % (option, DURATION_FORMS, value))
    return seconds


def whole_seconds(value, option, default):
    """A number of seconds without a unit (int or digits), or ``default`` when unset."""
    if value is None:
        return default
    if isinstance(value, str) and not value.strip().isdigit():
        raise InputError("%s must be a whole number of seconds, got %r" % (option, value))
    return parse_duration(value, option)


def moment(value, option, now):
    """The datetime an option means: an ISO 8601 date or date and time, or an age (a duration) before ``now``."""
    if isinstance(value, str):
        age = _duration_seconds(value)
        if age is not None:
            return now - timedelta(seconds=age)
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    raise InputError("%s must be a date or date and time (2024-05-01, 2024-05-01T13:30:00Z) or an age such as 30m, 24h or 7d, got %r"
                     % (option, value))


def flag(options, option, default):
    value = options.get(option)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError("%s must be true or false, got %r" % (option, value))
    return value


def choice(value, option, allowed):
    if value not in allowed:
        raise InputError("%s must be one of %s, got %r" % (option, ", ".join(allowed), value))
    return value


def text(value, option):
    """One line of text (a name, a tag): stripped, not empty, at most MAX_TEXT_LENGTH characters."""
    if not isinstance(value, str):
        raise InputError("%s must be a non-empty string, got %r" % (option, value))
    stripped = value.strip()
    if not stripped:
        raise InputError("%s is empty: %s must be a non-empty string" % (option, option))
    if len(stripped) > MAX_TEXT_LENGTH:
        raise InputError("%s is longer than %d characters" % (option, MAX_TEXT_LENGTH))
    bad = control_character(stripped)
    if bad is not None:
        raise InputError("%s contains the control character U+%04X" % (option, ord(bad)))
    return stripped


def _hex40(value, option, what):
    if value is None:
        raise InputError("%s is required: %s (40 hex characters)" % (option, what))
    if not isinstance(value, str):
        raise InputError("%s must be a string holding %s (40 hex characters), got %r" % (option, what, value))
    stripped = value.strip()
    if _HEX40.fullmatch(stripped):
        return stripped.lower()
    raise InputError("%s must be %s (40 hex characters), got %r" % (option, what, value))


def sha1(value, option="sha1"):
    """A file's SHA-1, lower-cased; a SHA-256 or MD5 given instead is named as such."""
    if isinstance(value, str):
        for pattern, kind in _OTHER_HASHES:
            if pattern.fullmatch(value.strip()):
                raise InputError("%s must be the SHA-1 of a file: that is a %s, %s needs the SHA-1 (40 hex characters). "
                                 "To block the file by its %s, use mde.response.file_indicator or mde.response.file_indicators, "
                                 "which take a SHA-1, SHA-256 or MD5" % (option, kind, option, kind))
    return _hex40(value, option, "the SHA-1 of a file")


def machine_id(value, option="machine_id"):
    """A Defender device id, lower-cased."""
    return _hex40(value, option, "a Defender device id")


def machine_action_id(value, option="action_id"):
    """A machine action id (a GUID), lower-cased."""
    if not isinstance(value, str) or not _GUID.fullmatch(value.strip()):
        raise InputError("%s must be a machine action id (a GUID such as 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e), got %r" % (option, value))
    return value.strip().lower()


def each(options, option, parse):
    """The option's list, each element parsed with ``parse(value, "option[i]")``, without repeats (ignoring case)."""
    values = options.get(option)
    if values is None:
        return ()
    if not isinstance(values, (list, tuple)):
        raise InputError("%s must be a list" % option)
    parsed = []
    seen = set()
    for position, value in enumerate(values):
        item = parse(value, "%s[%d]" % (option, position))
        if item.lower() not in seen:
            seen.add(item.lower())
            parsed.append(item)
    return tuple(parsed)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The validators of user input: the one duration grammar, moments, hashes, ids and text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._model.validation import (
    each,
    machine_action_id,
    moment,
    parse_duration,
    sha1,
    text,
    whole_seconds,
)

NOW = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    ("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), (" 2H ", 7200), ("5 m", 300), ("0", 0),
    (3600, 3600), (0, 0),
])
def test_each_duration_form(value, seconds):
    assert parse_duration(value, "option") == seconds


@pytest.mark.parametrize("value", ["-1", "1w", "1.5h", "", "h", "m5", -5, True, False, 1.5, None])
def test_bad_durations_name_the_option_and_the_forms(value):
    with pytest.raises(InputError, match="option must"):
        parse_duration(value, "option")


@pytest.mark.parametrize("value, expected", [
    ("90", NOW - timedelta(seconds=90)), ("30m", NOW - timedelta(minutes=30)), ("7d", NOW - timedelta(days=7)),
    ("2025-02-01", datetime(2025, 2, 1, tzinfo=timezone.utc)),
    ("2025-02-01T08:30:00.1234567Z", datetime(2025, 2, 1, 8, 30, 0, 123456, tzinfo=timezone.utc)),
])
def test_a_moment_is_an_age_in_the_duration_grammar_or_a_timestamp(value, expected):
    assert moment(value, "created_after", NOW) == expected


def test_whole_seconds_refuse_units():
    assert whole_seconds(None, "wait_timeout", 900) == 900
    assert whole_seconds(" 60 ", "wait_timeout", 900) == 60
    with pytest.raises(InputError, match="wait_timeout must be a whole number of seconds"):
        whole_seconds("15m", "wait_timeout", 900)


@pytest.mark.parametrize("value, message", [
    ("a" * 64, "sha1 must be the SHA-1 of a file: that is a SHA-256"),
    ("a" * 64, "To block the file by its SHA-256, use mde.response.file_indicator or mde.response.file_indicators"),
    ("b" * 32, "sha1 must be the SHA-1 of a file: that is a MD5"),
    ("g" * 40, "sha1 must be the SHA-1 of a file (40 hex characters), got 'ggg"),
    (None, "sha1 is required"),
    (40, "sha1 must be a string"),
])
def test_sha1_says_what_is_wrong(value, message):
    with pytest.raises(InputError) as raised:
        sha1(value)
    assert message in str(raised.value)


def test_action_ids_are_guids_and_lower_cased():
    assert machine_action_id(" 44CFFC15-0E3D-4CBF-96AA-BF76F9B27F5E ") == "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e"
    with pytest.raises(InputError, match="action_id must be a machine action id"):
        machine_action_id("1234")


def test_text_is_one_clean_line():
    assert text("  ws-1 ", "name") == "ws-1"
    for value, message in (("  ", "name is empty"), ("a" * 256, "longer than 255"), ("a\tb", r"U\+0009"), (7, "non-empty string")):
        with pytest.raises(InputError, match=message):
            text(value, "name")


def test_each_parses_elements_by_position_and_drops_repeats_ignoring_case():
    assert each({"names": ["A", "a", "b"]}, "names", text) == ("A", "b")
    assert each({}, "names", text) == ()
    with pytest.raises(InputError, match=r"names\[1\] is empty"):
        each({"names": ["a", ""]}, "names", text)

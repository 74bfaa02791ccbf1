# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading API entities: timestamps in every accepted form, garbage as None, ids, statuses and order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    action_last_update,
    commands_completed,
    failed_for_absent_file,
    is_quarantine_of,
    newest_first,
    parse_timestamp,
    unique_by_id,
)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


@pytest.mark.parametrize("text, expected", [
    ("2025-03-01T10:00:00.1234567Z", datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)),
    ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
    ("2025-03-01T10:00:00.5+02:00", datetime(2025, 3, 1, 8, 0, 0, 500000, tzinfo=timezone.utc)),
    ("2025-03-01t10:00:00z", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
    ("2025-03-01T10:00:00", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
    (" 2025-03-01 ", datetime(2025, 3, 1, tzinfo=timezone.utc)),
])
def test_every_accepted_form_parses(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("garbage", [
    "2025-13-01T00:00:00Z", "2025-02-30", "2025-03-01T25:00:00Z", "2025-03-01T10:61:00Z", "2025-03-01T10:00:00+99:00",
    "2025-03-01T10:00:00+24:00", "0000-01-01", "yesterday", "", "   ", "2025-03-01T10:00:00ZZ", None, 20250301, 1.5,
    b"2025-03-01", ["2025-03-01"], {"at": "2025-03-01"},
])
def test_garbage_is_none_never_an_exception(garbage):
    assert parse_timestamp(garbage) is None


def test_last_update_reads_both_spellings_of_the_field():
    assert action_last_update({"lastUpdateDateTimeUtc": "a"}) == "a"
    assert action_last_update({"lastUpdateTimeUtc": "b"}) == "b"
    assert action_last_update({}) is None
    assert action_last_update(None) is None


def test_newest_first_is_stable_and_puts_undated_actions_last():
    undated = {"id": "u"}
    old = {"id": "o", "creationDateTimeUtc": "2025-03-01T10:00:00Z"}
    new = {"id": "n", "creationDateTimeUtc": "2025-03-01T11:00:00.0000001Z"}
    tie = {"id": "t", "creationDateTimeUtc": "2025-03-01T10:00:00.0000000Z"}
    assert [action["id"] for action in newest_first([undated, old, new, tie])] == ["n", "o", "t", "u"]


def test_quarantine_of_a_file_ignores_the_hash_case_and_odd_entities():
    action = {"type": "StopAndQuarantineFile", "relatedFileInfo": {"fileIdentifier": SHA1.upper()}}
    assert is_quarantine_of(action, SHA1)
    assert not is_quarantine_of(dict(action, type="Isolate"), SHA1)
    assert not is_quarantine_of({"type": "StopAndQuarantineFile", "relatedFileInfo": None}, SHA1)
    assert not is_quarantine_of("not an entity", SHA1)


def test_unique_by_id_ignores_case_and_keeps_the_first():
    first, again, other = {"id": "AB", "n": 1}, {"id": "ab", "n": 2}, {"id": "cd"}
    assert unique_by_id([first, again, other]) == [first, other]


def test_a_timestamp_and_its_offset_twin_are_the_same_moment():
    assert parse_timestamp("2025-03-01T10:00:00-0130") == parse_timestamp("2025-03-01T11:30:00Z")
    assert parse_timestamp("2025-03-01T10:00:00-0130").utcoffset() == timedelta(hours=-1, minutes=-30)


@pytest.mark.parametrize("action, expected", [
    ({"status": "Failed", "errorHResult": -2147024894}, True),
    ({"status": "Failed", "errorHResult": 0x80070002}, True),
    ({"status": "Failed", "errorHResult": -2147467259, "troubleshootInfo": "Sha1 %s was not found in machine abc" % SHA1}, True),
    ({"status": "Failed", "error": "Sha1 %s was not found in machine abc" % SHA1}, True),
    ({"status": "Failed", "errorHResult": -2147467259, "troubleshootInfo": None}, False),        # nothing says why
    ({"status": "Failed", "troubleshootInfo": "Machine abc was not found"}, False),
    ({"status": "TimeOut", "errorHResult": -2147024894}, False),
    ("garbage", False),
])
def test_a_failed_action_may_say_the_file_was_absent(action, expected):
    assert failed_for_absent_file(action) is expected


@pytest.mark.parametrize("commands, expected", [
    ([{"index": 0, "commandStatus": "Completed"}], True),
    ([{"index": 0, "commandStatus": "Failed"}], False),
    ([], False),
    (None, False),
    ("garbage", False),
])
def test_commands_completed(commands, expected):
    assert commands_completed({"status": "Cancelled", "commands": commands}) is expected

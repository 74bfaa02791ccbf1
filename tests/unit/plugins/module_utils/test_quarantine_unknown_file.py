# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A hash Defender has no record of: asked once when it matters, warned about apart from not_present, never fatal."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import unknown_file_warning
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, TransportError
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    SHA1,
    api_error,
    fleet,
    machine_id,
    machine_ids,
    run_engine,
)

NO_FILE_READ = api_error(403, "Forbidden", "The application does not have any of the required application permissions (File.Read.All) "
                         "to access the resource.", "GET", "files.get")


def absent_everywhere(api, count):
    """Every machine answers that the file is not on it, as it does for a hash no machine has."""
    for number in range(count):
        api.post_script[machine_id(number)] = [api_error(404, "ResourceNotFound", "Sha1 %s was not found in machine %s" % (SHA1, machine_id(number)))]


def test_an_unknown_file_absent_everywhere_is_asked_about_once_and_warned_about():
    api = fleet(3)
    api.unknown_files.add(SHA1)
    absent_everywhere(api, 3)
    result = run_engine(api, machine_ids=machine_ids(3))
    assert result.summary["not_present"] == 3 and result.changed is False
    assert result.file_known is False
    assert [call["path"] for call in api.calls("files.get")] == ["/api/files/%s" % SHA1]
    assert result.warnings == [unknown_file_warning(SHA1)]
    assert "no record of file %s" % SHA1 in result.warnings[0] and "nothing could be quarantined" in result.warnings[0]


def test_a_known_file_absent_from_the_targets_is_not_present_without_a_warning():
    api = fleet(2)
    absent_everywhere(api, 2)
    result = run_engine(api, machine_ids=machine_ids(2))
    assert result.summary["not_present"] == 2
    assert (result.file_known, result.warnings) == (True, [])
    assert len(api.calls("files.get")) == 1


def test_a_run_without_not_present_does_not_ask():
    api = fleet(2)
    api.unknown_files.add(SHA1)
    result = run_engine(api, machine_ids=machine_ids(2))
    assert result.summary["created"] == 2
    assert (result.file_known, result.warnings, api.calls("files.get")) == (None, [], [])


def test_check_mode_always_asks_and_says_nothing_would_be_quarantined():
    api = fleet(2)
    api.unknown_files.add(SHA1)
    result = run_engine(api, check_mode=True, machine_ids=machine_ids(2))
    assert result.summary["would_create"] == 2 and api.writes() == []
    assert result.file_known is False
    assert result.warnings == [unknown_file_warning(SHA1, check_mode=True)]
    assert "nothing would be quarantined" in result.warnings[0]


def test_cancelling_never_asks():
    api = fleet(2)
    api.unknown_files.add(SHA1)
    result = run_engine(api, state="cancelled", machine_ids=machine_ids(2))
    assert result.summary["not_present"] == 2
    assert (result.file_known, result.warnings, api.calls("files.get")) == (None, [], [])


@pytest.mark.parametrize("failure", [NO_FILE_READ, TransportError("GET files.get: no answer from the API"),
                                     api_error(500, "InternalServerError", "", "GET", "files.get")])
def test_a_refused_or_failed_look_up_leaves_file_known_null_and_the_run_as_it_was(failure):
    api = fleet(2)
    api.unknown_files.add(SHA1)
    absent_everywhere(api, 2)
    api.read_script["files.get"] = [failure]
    result = run_engine(api, machine_ids=machine_ids(2))
    assert result.summary["not_present"] == 2 and result.summary["failed"] == 0
    assert (result.file_known, result.warnings) == (None, [])


@pytest.mark.parametrize("status, known", [(404, False), (403, None), (400, None)])
def test_find_file_reads_only_a_404_as_no_record(status, known):
    api = fleet(0)
    api.read_script["files.get"] = [api_error(status, "ResourceNotFound" if status == 404 else "Forbidden", "", "GET", "files.get")]
    client = DefenderClient(api)
    if known is None:
        with pytest.raises(ApiError):
            client.find_file(SHA1.upper())
    else:
        assert client.find_file(SHA1.upper()) is None
    assert client.find_file(SHA1.upper()) == {"sha1": SHA1}
    assert [call["path"] for call in api.calls("files.get")] == ["/api/files/%s" % SHA1.upper()] * 2

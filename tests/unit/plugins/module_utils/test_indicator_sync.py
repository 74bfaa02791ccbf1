# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Indicators as code: one listing, batch imports within the API's limits, exclusive removal of this collection's own."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._indicators.sync import requests_from_list, sync_file_indicators
from ansible_collections.mde.response.tests.unit.plugins.module_utils.simulated_indicators import (
    NOW,
    OTHER_SHA1,
    SHA1,
    SHA256,
    SimulatedTransport,
)


@pytest.fixture(name="transport")
def fixture_transport():
    return SimulatedTransport()


def sync(transport, entries, **options):
    return sync_file_indicators(DefenderClient(transport), requests_from_list(entries, NOW), **options)


def routes(transport):
    return [call[1] for call in transport.calls]


@pytest.mark.parametrize("entries, message", [
    ("87662bc3d60e4200ceaf7aae249d1c343f4b83c9", "indicators must be a list"),
    ([SHA1], "indicators\\[0\\] must be a dict with at least file_hash"),
    ([{"file_hash": SHA1}, {"file_hash": "xyz"}], "indicators\\[1\\]: file_hash must be the SHA-1"),
    ([{"file_hash": SHA1, "sevrity": "High"}], "indicators\\[0\\] has unknown keys sevrity"),
    ([{"file_hash": SHA1}, {"file_hash": SHA1.upper()}], "indicators\\[1\\]: file .* is listed already as indicators\\[0\\]"),
    ([{"file_hash": SHA1, "expiration": "2001-01-01"}], "indicators\\[0\\]: expiration 2001-01-01 is not in the future"),
])
def test_bad_lists_are_refused_before_any_request(entries, message):
    with pytest.raises(InputError, match=message):
        requests_from_list(entries, NOW)


def test_converge_creates_updates_and_leaves_what_matches(transport):
    transport.service.add_indicator(OTHER_SHA1, action="Alert", title="old")
    transport.service.add_indicator(SHA256, indicator_type="FileSha256", title="kept")
    entries = [{"file_hash": SHA1, "severity": "High"}, {"file_hash": OTHER_SHA1, "title": "new"}, {"file_hash": SHA256, "title": "kept"}]

    result = sync(transport, entries)

    assert result.changed and result.created == [SHA1] and result.unchanged == 1 and result.refused == []
    assert result.updated == [{"file_hash": OTHER_SHA1, "before": {"action": "Alert", "title": "old"},
                               "after": {"action": "BlockAndRemediate", "title": "new"}}]
    assert routes(transport) == ["indicators.list", "indicators.import"]
    assert {item["indicatorValue"]: (item["action"], item["title"]) for item in transport.service.indicators()} == {
        SHA1: ("BlockAndRemediate", "File %s" % SHA1), OTHER_SHA1: ("BlockAndRemediate", "new"), SHA256: ("BlockAndRemediate", "kept")}
    again = sync(transport, entries)
    assert (again.changed, again.unchanged, routes(transport)[-1]) == (False, 3, "indicators.list")


def test_exclusive_removes_only_this_collections_indicators_no_longer_listed(transport):
    sync(transport, [{"file_hash": SHA1}, {"file_hash": OTHER_SHA1}])
    foreign = transport.service.add_indicator(SHA256, indicator_type="FileSha256", created_by="analyst@contoso.com")
    keep_list = [{"file_hash": SHA1}]

    assert sync(transport, keep_list).deleted == []             # not exclusive: nothing removed
    predicted = sync(transport, keep_list, exclusive=True, check_mode=True)
    assert [item["file_hash"] for item in predicted.deleted] == [OTHER_SHA1]
    assert predicted.diff()["before"] == {OTHER_SHA1: "indicator %s (File %s)" % (predicted.deleted[0]["id"], OTHER_SHA1)}
    assert len(transport.service.indicators()) == 3

    result = sync(transport, keep_list, exclusive=True)

    assert result.changed and [item["file_hash"] for item in result.deleted] == [OTHER_SHA1]
    assert sorted(item["indicatorValue"] for item in transport.service.indicators()) == sorted([SHA1, foreign["indicatorValue"]])


def test_check_mode_writes_nothing(transport):
    predicted = sync(transport, [{"file_hash": SHA1}], check_mode=True)
    assert predicted.changed and predicted.created == [SHA1] and transport.writes() == []


def test_six_hundred_entries_take_two_imports(transport):
    entries = [{"file_hash": "%040x" % number, "title": "entry %d" % number} for number in range(600)]

    result = sync(transport, entries)

    assert len(result.created) == 600
    assert [len(call[2]["Indicators"]) for call in transport.writes()] == [500, 100]
    assert len(transport.service.indicators()) == 600
    assert sync(transport, entries).unchanged == 600


def test_refused_entries_are_reported(transport):
    transport.config.indicator_limit = 1
    result = sync(transport, [{"file_hash": SHA1}, {"file_hash": OTHER_SHA1}])
    assert [item["file_hash"] for item in result.refused] == [OTHER_SHA1]
    assert "limit of 1 active indicators" in result.refused[0]["reason"]

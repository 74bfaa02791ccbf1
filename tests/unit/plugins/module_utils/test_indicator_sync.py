# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Indicators as code: one listing, batch imports within the API's limits, a list that owns only what it created,
deletions within bounds, and writes that stop part way reported as they are."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, AuthenticationError, AmbiguousWriteError, InputError
from ansible_collections.mde.response.plugins.module_utils._indicators.sync import ListPolicy, requests_from_list, summary_lines, sync_file_indicators
from ansible_collections.mde.response.tests.unit.plugins.module_utils.simulated_indicators import (
    APP_ID,
    NOW,
    OTHER_SHA1,
    SHA1,
    SHA256,
    SimulatedTransport,
)


@pytest.fixture(name="transport")
def fixture_transport():
    return SimulatedTransport()


def sync(transport, entries, now=NOW, **options):
    policy = ListPolicy.from_options(dict({"list_name": "blocked-files"}, **options))
    check_mode = policy_free(options, "check_mode")
    return sync_file_indicators(DefenderClient(transport), requests_from_list(entries, now), policy, check_mode=check_mode)


def policy_free(options, name):
    return bool(options.pop(name, False))


def routes(transport):
    return [call[1] for call in transport.calls]


def hashes(number, start=0):
    return [{"file_hash": "%040x" % value} for value in range(start, start + number)]


def failing(transport, route, error, after=0):
    """Make the transport raise ``error`` for every call of ``route`` after the first ``after`` of them."""
    original, seen = transport.request, []

    def request(method, path, **kwargs):
        if kwargs.get("route") == route:
            seen.append(path)
            if len(seen) > after:
                transport.calls.append((method, route, kwargs.get("body")))
                raise error
        return original(method, path, **kwargs)

    transport.request = request


@pytest.mark.parametrize("entries, message", [
    ("87662bc3d60e4200ceaf7aae249d1c343f4b83c9", "indicators must be a list of indicators"),
    ([SHA1], "indicators\\[0\\] must be a dict with at least file_hash \\(written `- file_hash: <hash>` in YAML\\), got '%s'" % SHA1),
    ([{"file_hash": SHA1}, {"file_hash": "xyz"}], "indicators\\[1\\] \\(file_hash xyz\\): file_hash must be the SHA-1"),
    ([{"file_hash": SHA1, "sevrity": "High"}], "indicators\\[0\\] \\(file_hash %s\\) has the unknown key\\(s\\) sevrity" % SHA1),
    ([{"file_hash": OTHER_SHA1}, {"file_hash": SHA1, "action": "Quarantine"}],
     "indicators\\[1\\] \\(file_hash %s\\): action must be one of BlockAndRemediate, .*got 'Quarantine'" % SHA1),
    ([{"file_hash": SHA1, "generate_alert": "maybe"}], "indicators\\[0\\] \\(file_hash %s\\): generate_alert must be true or false" % SHA1),
    ([{"file_hash": SHA1, "device_groups": "Servers"}], "indicators\\[0\\] .*: device_groups must be a list of device group names"),
    ([{"title": "no hash"}], "indicators\\[0\\]: file_hash must be the SHA-1"),
    ([{"file_hash": SHA1}, {"file_hash": SHA1.upper()}],
     "indicators\\[1\\] \\(file_hash %s\\): the file is listed already as indicators\\[0\\]" % SHA1.upper()),
    ([{"file_hash": SHA1, "expiration": "2001-01-01"}], "indicators\\[0\\] .*: expiration 2001-01-01 is not in the future"),
])
def test_bad_lists_are_refused_naming_the_entry_and_its_hash(entries, message):
    with pytest.raises(InputError, match=message):
        requests_from_list(entries, NOW)


def test_a_list_file_names_its_entries_as_the_caller_says():
    with pytest.raises(InputError, match="entry 0 of blocked.yml \\(file_hash abc\\): file_hash must be"):
        requests_from_list([{"file_hash": "abc"}], NOW, entry_format="entry %d of blocked.yml")


@pytest.mark.parametrize("options, message", [
    ({"list_name": None}, "list_name must name the list"),
    ({"list_name": "blocked files"}, "list_name must name the list, 1 to 64 letters"),
    ({"max_deletions": -1}, "max_deletions must be a whole number, 0 or more"),
    ({"max_deletion_percent": "10"}, "max_deletion_percent must be a whole number"),
])
def test_bad_policies_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        ListPolicy.from_options(dict({"list_name": "blocked-files"}, **options))


def test_converge_creates_updates_and_leaves_what_matches(transport):
    sync(transport, [{"file_hash": OTHER_SHA1, "action": "Alert", "title": "old"}, {"file_hash": SHA256, "title": "kept"}])
    entries = [{"file_hash": SHA1, "severity": "High"}, {"file_hash": OTHER_SHA1, "title": "new"}, {"file_hash": SHA256, "title": "kept"}]

    result = sync(transport, entries)

    assert result.changed and result.created == [SHA1] and result.unchanged == 1 and result.refused == [] and result.not_owned == []
    assert result.updated == [{"file_hash": OTHER_SHA1, "before": {"action": "Alert", "title": "old"},
                               "after": {"action": "BlockAndRemediate", "title": "new"}}]
    assert routes(transport)[-2:] == ["indicators.list", "indicators.import"]
    assert {item["indicatorValue"]: (item["action"], item["title"], item["application"]) for item in transport.service.indicators()} == {
        SHA1: ("BlockAndRemediate", "File %s" % SHA1, "mde.response:blocked-files"),
        OTHER_SHA1: ("BlockAndRemediate", "new", "mde.response:blocked-files"),
        SHA256: ("BlockAndRemediate", "kept", "mde.response:blocked-files")}
    again = sync(transport, entries)
    assert (again.changed, again.unchanged, routes(transport)[-1]) == (False, 3, "indicators.list")


def test_exclusive_deletes_only_what_this_list_created(transport):
    sync(transport, hashes(3))
    sync(transport, hashes(1, start=10), list_name="other-list")
    by_contain = transport.service.add_indicator("%040x" % 20, created_by=APP_ID, source_type="AadApp", application="mde.response")
    by_analyst = transport.service.add_indicator(SHA256, indicator_type="FileSha256", created_by="analyst@contoso.com")
    keep = hashes(1)

    assert sync(transport, keep).deleted == []                  # not exclusive: nothing removed
    predicted = sync(transport, keep, exclusive=True, check_mode=True, max_deletion_percent=70)
    assert [item["file_hash"] for item in predicted.deleted] == ["%040x" % 1, "%040x" % 2]
    assert predicted.diff()["before"] == {item["file_hash"]: "indicator %s (File %s)" % (item["id"], item["file_hash"]) for item in predicted.deleted}
    assert len(transport.service.indicators()) == 6

    result = sync(transport, keep, exclusive=True, max_deletion_percent=70)

    assert result.changed and [item["file_hash"] for item in result.deleted] == ["%040x" % 1, "%040x" % 2]
    assert sorted(item["indicatorValue"] for item in transport.service.indicators()) == sorted(
        ["%040x" % 0, "%040x" % 10, by_contain["indicatorValue"], by_analyst["indicatorValue"]])
    # The previous release's stamp (and contain's, and file_indicator's) is reported, with how to adopt, never deleted.
    assert [(item["id"], item["application"]) for item in result.legacy] == [(by_contain["id"], "mde.response")]
    assert any("carry the application mde.response" in warning and "state: absent" in warning for warning in result.warnings)


@pytest.mark.parametrize("update_application", ["ignored", "applied"])
def test_an_indicator_someone_else_made_for_a_listed_file_is_left_and_reported_unless_taken_over(transport, update_application):
    # Whether or not the API applies an update's application, a take-over sends the one the indicator has.
    transport.config.indicator_update_application = update_application
    audit = transport.service.add_indicator(SHA1, action="Audit", generateAlert=True, title="analyst watch", created_by="analyst@contoso.com",
                                            application="soar-playbook")
    entries = [{"file_hash": SHA1, "title": "INC-1: dropper"}]

    left = sync(transport, entries, exclusive=True)

    assert (left.changed, left.updated, transport.writes()) == (False, [], [])
    assert left.not_owned == [{"id": audit["id"], "file_hash": SHA1, "application": "soar-playbook", "created_by": "analyst@contoso.com", "action": "Audit",
                               "title": "analyst watch", "differs": {"action": "BlockAndRemediate", "title": "INC-1: dropper"}}]
    assert "take_over (file_indicators_take_over in the role)" in left.warnings[0] and SHA1 in left.warnings[0]

    taken = sync(transport, entries, take_over=True)

    assert taken.changed and taken.taken_over == [SHA1] and taken.updated[0]["after"] == {"action": "BlockAndRemediate", "title": "INC-1: dropper"}
    [stored] = transport.service.indicators()
    assert (stored["id"], stored["action"], stored["application"]) == (audit["id"], "BlockAndRemediate", "soar-playbook")
    # Taken over, it is still not the list's: exclusive does not delete it once it leaves the list.
    assert sync(transport, hashes(1), exclusive=True).deleted == [] and len(transport.service.indicators()) == 2


@pytest.mark.parametrize("owned, kept, options, refused", [
    (30, 0, {}, "exclusive would delete 30 of the 30 indicators the list blocked-files created \\(100%\\)"),
    (30, 9, {"max_deletion_percent": 100}, "more than max_deletions: 20 or max_deletion_percent: 100 allow"),
    (4, 1, {}, "delete 3 of the 4 .* \\(75%\\)"),
    (4, 2, {}, None),
    (30, 0, {"max_deletions": 30, "max_deletion_percent": 100}, None),
])
def test_deletions_beyond_the_bounds_are_refused_before_any_write(transport, owned, kept, options, refused):
    sync(transport, hashes(owned))
    writes_before = len(transport.writes())
    entries = hashes(kept) or [{"file_hash": SHA1}]
    if refused is None:
        assert len(sync(transport, entries, exclusive=True, **options).deleted) == owned - kept
        return
    for check_mode in (True, False):
        with pytest.raises(InputError, match=refused) as raised:
            sync(transport, entries, exclusive=True, check_mode=check_mode, **options)
        assert "nothing was sent" in str(raised.value) and "-e file_indicators_max_deletions=%d -e" % (owned - kept) in str(raised.value)
    assert len(transport.writes()) == writes_before and len(transport.service.indicators()) == owned


def test_an_empty_list_with_exclusive_is_refused_before_any_request_unless_allowed(transport):
    sync(transport, hashes(2))
    calls_before = len(transport.calls)
    with pytest.raises(InputError, match="The list blocked-files is empty and exclusive is true.*allow_empty \\(file_indicators_allow_empty"):
        sync(transport, [], exclusive=True)
    assert len(transport.calls) == calls_before
    assert sync(transport, []).changed is False
    assert len(sync(transport, [], exclusive=True, allow_empty=True, max_deletion_percent=100).deleted) == 2


def test_an_update_sends_the_expiry_the_indicator_has_when_it_is_in_line(transport):
    sync(transport, [{"file_hash": SHA1, "expiration": "30d", "severity": "High"}])
    expiry = transport.service.indicators()[0]["expirationTime"]

    result = sync(transport, [{"file_hash": SHA1, "expiration": "30d", "severity": "Medium"}], now=NOW + timedelta(days=10))

    assert result.diff() == {"before": {SHA1: {"severity": "High"}}, "after": {SHA1: {"severity": "Medium"}}}
    assert transport.writes()[-1][2]["Indicators"][0]["expirationTime"] == expiry
    assert transport.service.indicators()[0]["expirationTime"] == expiry


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
    assert [item["file_hash"] for item in result.refused] == [OTHER_SHA1] and result.created == [SHA1]
    assert "limit of 1 active indicators" in result.refused[0]["reason"]
    assert result.failure_message().startswith("List blocked-files: the API refused 1 write(s): %s" % OTHER_SHA1)


def test_a_token_lost_after_the_first_import_keeps_what_was_written_and_sends_nothing_more(transport):
    sync(transport, hashes(3, start=1000))
    failing(transport, "indicators.import", AuthenticationError("The token service refused the client secret: renew it"), after=1)

    result = sync(transport, hashes(600), exclusive=True, max_deletion_percent=100)

    assert result.changed is True and result.created == ["%040x" % number for number in range(500)]
    assert [(item["file_hash"], item["write"]) for item in result.unsent] == (
        [("%040x" % number, "create") for number in range(500, 600)] + [("%040x" % number, "delete") for number in range(1000, 1003)])
    assert result.unsent[0]["reason"] == "The token service refused the client secret: renew it"
    assert result.unsent[-1]["reason"] == "not sent after: The token service refused the client secret: renew it"
    assert result.as_dict()["error"]["code"] == "AuthenticationFailed" and result.deleted == []
    assert routes(transport)[-2:] == ["indicators.import", "indicators.import"] and "indicators.delete" not in routes(transport)
    message = result.failure_message()
    assert "103 write(s) were not sent" in message and "500 write(s) went through" in message and "run again" in message


def test_a_refused_batch_is_reported_and_the_next_writes_still_go(transport):
    sync(transport, hashes(1, start=1000))
    failing(transport, "indicators.import", ApiError("Invalid request body", code="InvalidRequestBody", http_status=400), after=0)

    result = sync(transport, hashes(2), exclusive=True, max_deletion_percent=100)

    assert [item["file_hash"] for item in result.refused] == ["%040x" % 0, "%040x" % 1] and result.unsent == []
    assert [item["file_hash"] for item in result.deleted] == ["%040x" % 1000] and result.changed is True


def test_a_deletion_whose_answer_was_lost_counts_as_a_change(transport):
    sync(transport, hashes(2))
    failing(transport, "indicators.delete", AmbiguousWriteError("DELETE indicators.delete: the connection broke after the request"), after=0)

    result = sync(transport, hashes(1), exclusive=True)

    assert result.changed is True and result.deleted == []
    assert result.unsent == [{"file_hash": "%040x" % 1, "write": "delete", "reason": "DELETE indicators.delete: the connection broke after the request"}]


def test_the_play_output_names_every_deletion_and_at_most_twenty_files_left_alone(transport):
    for number in range(25):
        transport.service.add_indicator("%040x" % number, title="analyst %d" % number)
    sync(transport, hashes(3, start=100))
    result = sync(transport, hashes(25), exclusive=True, check_mode=True, max_deletion_percent=100).as_dict()

    lines = summary_lines(result, check_mode=True)

    assert lines[0] == "CHECK MODE, nothing was changed. List blocked-files: 0 created, 0 updated, 3 deleted, 0 unchanged"
    assert [line for line in lines if line.startswith("would be deleted: ")] == [
        "would be deleted: %040x (indicator %s, File %040x)" % (100 + offset, item["id"], 100 + offset) for offset, item in enumerate(result["deleted"])]
    assert len([line for line in lines if line.startswith("left as it is: ")]) == 21
    assert lines[-1] == "left as it is: 5 more (see not_owned in the result)"
    assert summary_lines({"msg": "refused before converging"}) == []


def test_the_lists_own_indicator_is_managed_when_someone_else_made_another_for_the_file(transport):
    transport.config.indicator_match_case = "sensitive"
    sync(transport, [{"file_hash": SHA1, "severity": "Low"}])
    transport.service.add_indicator(SHA1.upper(), action="Audit", generateAlert=True, title="analyst watch")

    result = sync(transport, [{"file_hash": SHA1, "severity": "High"}])

    assert result.not_owned == [] and result.updated == [{"file_hash": SHA1, "before": {"severity": "Low"}, "after": {"severity": "High"}}]
    assert sorted((item["indicatorValue"], item["action"], item["severity"]) for item in transport.service.indicators()) == [
        (SHA1.upper(), "Audit", "Informational"), (SHA1, "BlockAndRemediate", "High")]

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File indicators: validation, and converging through the real DefenderClient onto the simulator's indicators API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, AuthenticationError, InputError
from ansible_collections.mde.response.plugins.module_utils._indicators.indicators import (
    APPLICATION,
    FileIndicatorRequest,
    converge_file_indicator,
    expiration_time,
    file_hash,
)
from ansible_collections.mde.response.tests.unit.plugins.module_utils.simulated_indicators import MD5, NOW, SHA1, SHA256, SimulatedTransport


@pytest.fixture(name="transport")
def fixture_transport():
    return SimulatedTransport()


def converge(transport, check_mode=False, now=NOW, **options):
    options.setdefault("file_hash", SHA1)
    return converge_file_indicator(DefenderClient(transport), FileIndicatorRequest.from_options(options, now), check_mode=check_mode)


# -------------------------------------------------------------------------------------------------- validation

@pytest.mark.parametrize("value, expected", [
    (SHA1.upper(), (SHA1, "FileSha1")),
    (" %s " % SHA256, (SHA256, "FileSha256")),
    (MD5.upper(), (MD5, "FileMd5")),
])
def test_the_hash_type_follows_the_length_in_any_case(value, expected):
    assert file_hash(value) == expected


@pytest.mark.parametrize("value", ["", SHA1[:-1], SHA1 + "0", "z" * 40, None, 42, "%s-%s" % (MD5[:15], MD5[16:])])
def test_anything_else_is_not_a_file_hash(value):
    with pytest.raises(InputError, match="file_hash must be the SHA-1 .40 hex characters., SHA-256 .64. or MD5 .32. of a file"):
        file_hash(value)


@pytest.mark.parametrize("value, expected", [
    ("30d", (NOW + timedelta(days=30), True)),
    ("12H", (NOW + timedelta(hours=12), True)),
    ("90m", (NOW + timedelta(minutes=90), True)),
    ("3600", (NOW + timedelta(hours=1), True)),
    ("2026-12-31T18:00:00Z", (datetime(2026, 12, 31, 18, tzinfo=timezone.utc), False)),
    ("2026-12-31", (datetime(2026, 12, 31, tzinfo=timezone.utc), False)),
])
def test_expiration_is_a_date_or_a_duration_from_now(value, expected):
    assert expiration_time(value, NOW) == expected


@pytest.mark.parametrize("value, message", [
    ("2020-01-01T00:00:00Z", "expiration 2020-01-01T00:00:00Z is not in the future"),
    ("0", "expiration 0 is not in the future"),
    ("soon", "expiration must be a date and time in ISO 8601 .* or a duration such as 30m, 24h, 7d"),
    ("2w", "expiration must be a date and time in ISO 8601"),
])
def test_bad_expirations_are_refused(value, message):
    with pytest.raises(InputError, match=message):
        expiration_time(value, NOW)


@pytest.mark.parametrize("options, message", [
    ({"action": "Quarantine"}, "action must be one of BlockAndRemediate"),
    ({"severity": "Critical"}, "severity must be one of Informational"),
    ({"action": "Audit"}, "action Audit needs generate_alert: true"),
    ({"title": " "}, "title is empty"),
    ({"title": "x" * 256}, "title is longer than 255 characters"),
    ({"description": "bell\x07"}, "description contains the control character U\\+0007"),
    ({"description": "x" * 1001}, "description must be a non-empty text of at most 1000 characters"),
    ({"device_groups": ["Servers", ""]}, "device_groups must be a list of device group names"),
    ({"state": "gone"}, "state must be present or absent"),
])
def test_bad_options_are_refused_before_any_request(transport, options, message):
    with pytest.raises(InputError, match=message):
        converge(transport, **options)
    assert transport.calls == []


# ---------------------------------------------------------------------------------------------------- present

def test_create_then_nothing_to_do(transport):
    created = converge(transport, title="INC-4711", severity="High", expiration="30d", device_groups=["Servers", "Laptops"])
    assert (created.changed, created.outcome) == (True, "created")
    assert (created.indicator["indicatorValue"], created.indicator["action"], created.indicator["application"]) == (SHA1, "BlockAndRemediate", APPLICATION)
    assert created.indicator["rbacGroupNames"] == ["Laptops", "Servers"]
    assert created.diff["before"] == {} and created.diff["after"]["title"] == "INC-4711"
    assert [call[1] for call in transport.writes()] == ["indicators.submit"]
    rerun = converge(transport, file_hash=SHA1.upper(), title="INC-4711", severity="High", expiration="30d", device_groups=["Servers", "Laptops"])
    assert (rerun.changed, rerun.outcome, rerun.diff, rerun.indicator["id"]) == (False, "unchanged", {"before": {}, "after": {}}, created.indicator["id"])
    assert len(transport.writes()) == 1


def test_defaults_fill_a_new_indicator_and_an_existing_one_keeps_its_own(transport):
    created = converge(transport).indicator
    assert (created["title"], created["description"]) == ("File %s" % SHA1, "Managed by the mde.response Ansible collection.")
    transport.service.reset()
    transport.service.add_indicator(SHA1, action="Alert", title="analyst's title", description="analyst's text", severity="Low",
                                    recommendedActions="call the SOC")
    updated = converge(transport)
    assert updated.diff == {"before": {"action": "Alert"}, "after": {"action": "BlockAndRemediate"}}
    # The update carries what the user left out, so the API keeps it whether or not it resets omitted fields.
    assert (updated.indicator["title"], updated.indicator["severity"], updated.indicator["recommendedActions"]) == (
        "analyst's title", "Low", "call the SOC")


def test_update_names_only_the_differing_fields(transport):
    converge(transport, title="t", severity="Low", generate_alert=False)
    result = converge(transport, title="t", severity="High", generate_alert=True)
    assert (result.changed, result.outcome) == (True, "updated")
    assert result.diff == {"before": {"severity": "Low", "generateAlert": False}, "after": {"severity": "High", "generateAlert": True}}
    assert (result.indicator["severity"], result.indicator["generateAlert"]) == ("High", True)


def test_check_mode_predicts_and_writes_nothing(transport):
    predicted = converge(transport, check_mode=True)
    assert (predicted.changed, predicted.indicator) == (True, None)
    assert transport.writes() == [] and transport.service.indicators() == []
    converge(transport, severity="Low")
    predicted = converge(transport, check_mode=True, severity="High")
    assert predicted.changed and predicted.diff["after"] == {"severity": "High"}
    assert predicted.indicator["severity"] == "Low"
    assert [indicator["severity"] for indicator in transport.service.indicators()] == ["Low"]
    assert not converge(transport, check_mode=True, severity="Low").changed


def test_a_duration_is_met_by_any_expiry_within_it(transport):
    transport.service.add_indicator(SHA1, expirationTime=(NOW + timedelta(days=10)).isoformat())
    assert not converge(transport, expiration="30d").changed
    assert converge(transport, expiration="5d").changed         # expires later than wanted
    transport.service.reset()
    transport.service.add_indicator(SHA1)
    assert converge(transport, expiration="30d").diff["before"] == {"expirationTime": None}


def test_an_update_sends_the_expiry_the_indicator_has_when_it_is_in_line(transport):
    first = converge(transport, expiration="30d", severity="High").indicator
    ten_days_later = NOW + timedelta(days=10)

    result = converge(transport, now=ten_days_later, expiration="30d", severity="Medium")

    assert result.diff == {"before": {"severity": "High"}, "after": {"severity": "Medium"}}
    assert transport.writes()[-1][2]["expirationTime"] == first["expirationTime"] == "2026-04-01T09:00:00.0000000Z"
    assert [(item["severity"], item["expirationTime"]) for item in transport.service.indicators()] == [("Medium", "2026-04-01T09:00:00.0000000Z")]
    # Out of line (it expires later than 5 days from now), the expiry is what changes, and the diff says so.
    moved = converge(transport, now=ten_days_later, expiration="5d", severity="Medium")
    assert moved.diff == {"before": {"expirationTime": "2026-04-01T09:00:00.0000000Z"}, "after": {"expirationTime": "2026-03-17T09:00:00Z"}}
    assert transport.writes()[-1][2]["expirationTime"] == "2026-03-17T09:00:00Z"


@pytest.mark.parametrize("value, expected", [(True, True), ("yes", True), ("False", False), (False, False)])
def test_generate_alert_takes_what_yaml_and_surveys_give(transport, value, expected):
    assert converge(transport, generate_alert=value).indicator["generateAlert"] is expected


def test_generate_alert_that_is_not_a_flag_is_refused(transport):
    with pytest.raises(InputError, match="generate_alert must be true or false, got 'sometimes'"):
        converge(transport, generate_alert="sometimes")
    assert transport.calls == []


def test_an_exact_expiry_compares_to_the_second(transport):
    converge(transport, expiration="2026-12-31T18:00:00Z")
    assert not converge(transport, expiration="2026-12-31T19:00:00+01:00").changed
    assert converge(transport, expiration="2026-12-31T18:00:01Z").changed


def test_an_indicator_typed_in_upper_case_is_found_and_updated(transport):
    seeded = transport.service.add_indicator(SHA1.upper(), action="Alert")
    result = converge(transport)
    assert result.indicator["id"] == seeded["id"] and result.indicator["action"] == "BlockAndRemediate"
    assert len(transport.service.indicators()) == 1


def test_several_indicators_for_one_file_warn_and_the_oldest_is_managed(transport):
    transport.config.indicator_match_case = "sensitive"
    first = transport.service.add_indicator(SHA1.upper(), action="Alert")
    transport.service.add_indicator(SHA1, action="Alert")
    result = converge(transport)
    assert result.indicator["id"] == first["id"]
    assert len(result.warnings) == 1 and "2 indicators exist for file %s" % SHA1 in result.warnings[0]


def test_other_types_with_the_same_text_are_not_this_file(transport):
    transport.service.add_indicator(SHA1, indicator_type="CertificateThumbprint", action="Allowed")
    assert converge(transport).diff["before"] == {}
    assert len(transport.service.indicators()) == 2


# ----------------------------------------------------------------------------------------------------- absent

def test_absent_deletes_every_indicator_for_the_file(transport):
    transport.config.indicator_match_case = "sensitive"
    transport.service.add_indicator(SHA1.upper())
    transport.service.add_indicator(SHA1)
    transport.service.add_indicator(SHA256, indicator_type="FileSha256")
    predicted = converge(transport, check_mode=True, state="absent")
    assert predicted.changed and len(predicted.diff["before"]["indicators"]) == 2 and transport.writes() == []
    result = converge(transport, state="absent")
    assert (result.changed, result.outcome, result.indicator, result.diff["after"]) == (True, "deleted", None, {"indicators": []})
    assert [call[1] for call in transport.writes()] == ["indicators.delete", "indicators.delete"]
    assert [indicator["indicatorValue"] for indicator in transport.service.indicators()] == [SHA256]
    assert converge(transport, state="absent").outcome == "absent"


def test_an_indicator_deleted_meanwhile_is_not_an_error(transport):
    seeded = transport.service.add_indicator(SHA1)
    original = transport.request

    def delete_first(method, path, **kwargs):
        if method == "DELETE":
            transport.service.reset()
        return original(method, path, **kwargs)

    transport.request = delete_first
    assert converge(transport, state="absent").diff["before"]["indicators"][0]["id"] == seeded["id"]


def test_a_token_lost_between_deletions_keeps_what_was_deleted_and_names_the_rest(transport):
    transport.config.indicator_match_case = "sensitive"
    first, second = transport.service.add_indicator(SHA1.upper()), transport.service.add_indicator(SHA1)
    original = transport.request

    def token_gone_after_one_delete(method, path, **kwargs):
        if method == "DELETE" and any(call[0] == "DELETE" for call in transport.calls):
            raise AuthenticationError("The token service refused the client secret (AADSTS7000215): renew it")
        return original(method, path, **kwargs)

    transport.request = token_gone_after_one_delete
    result = converge(transport, state="absent")

    assert (result.changed, result.outcome) == (True, "deleted")
    assert result.unsent == [{"id": second["id"], "reason": "The token service refused the client secret (AADSTS7000215): renew it"}]
    assert result.as_dict()["error"]["code"] == "AuthenticationFailed"
    assert [item["id"] for item in transport.service.indicators()] == [second["id"]] and first["id"] != second["id"]
    message = result.failure_message()
    assert message.startswith("The token service refused the client secret (AADSTS7000215): renew it. 1 deletion(s) went through")
    assert "1 not sent: %s" % second["id"] in message


# ------------------------------------------------------------------------------------------------ permissions

def test_a_403_says_which_permission_to_grant_and_where(transport):
    transport.roles = ("Machine.Read.All",)
    with pytest.raises(ApiError) as raised:
        converge(transport)
    error = raised.value
    assert (error.http_status, error.code, error.route) == (403, "Forbidden", "indicators.list")
    assert "Ti.ReadWrite.All" in error.message and "Ti.ReadWrite" in error.message and "Grant admin consent" in error.message
    assert "(Ti.ReadWrite, Ti.ReadWrite.All)" in error.message       # the API's own words stay


def test_other_errors_pass_unchanged(transport):
    transport.config.indicator_limit = 0
    with pytest.raises(ApiError) as raised:
        converge(transport)
    assert raised.value.http_status == 400 and "Ti.ReadWrite" not in raised.value.message

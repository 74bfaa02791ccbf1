"""Switches for behaviours real clients of the Defender API have seen (docs/api-fidelity.md), without sockets."""

from datetime import timedelta

import pytest

from tests.simulator.defender import FAILED_HRESULT, FILE_NOT_FOUND_HRESULT

from tests.simulator.tests.test_defender import (OTHER_SHA1, SHA1, call, error_of, fixture_clock, fixture_config, fixture_machine,  # noqa: F401  pylint: disable=unused-import
                            fixture_service, list_actions, list_machines, quarantine)


def ids(response):
    assert response.status == 200, response.body
    return [entity["id"] for entity in response.body["value"]]


def cancel(service, action_id):
    return call(service, "POST", "/api/machineactions/%s/cancel" % action_id, body={"Comment": "stop"})


@pytest.fixture(name="three_actions")
def fixture_three_actions(service, clock, machine):
    """Three final actions a minute apart, oldest first, finished in the reverse order of creation."""
    created = [service.add_machine_action(machine["id"], SHA1, status="Succeeded", created=clock.now() - timedelta(minutes=minutes))
               for minutes in (3, 2, 1)]
    return [action["id"] for action in created]


# --------------------------------------------------------------------------------------------------- duplicates

@pytest.mark.parametrize("by_type, expected", [
    ({"StopAndQuarantineFile": "return_existing"}, 201),
    ({"Isolate": "return_existing"}, 400),            # another type's setting leaves this one at duplicate_response
])
def test_duplicate_answer_per_action_type(service, config, machine, by_type, expected):
    config.duplicate_response_by_type = by_type
    first = quarantine(service, machine["id"]).body
    again = quarantine(service, machine["id"])
    assert again.status == expected
    assert (again.body.get("id") or again.body["error"]["code"]) == (first["id"] if expected == 201 else "ActiveRequestAlreadyExists")
    assert len(service.actions()) == 1


def test_a_duplicate_may_return_the_pending_action_with_200(service, config, machine):
    config.update(duplicate_response="return_existing", duplicate_existing_status=200)
    first = quarantine(service, machine["id"]).body
    again = quarantine(service, machine["id"])
    assert (again.status, again.body["id"], again.body["status"]) == (200, first["id"], "Pending")


def test_an_unknown_per_type_variant_is_an_error(service, config, machine):
    config.duplicate_response_by_type = {"StopAndQuarantineFile": "typo"}
    quarantine(service, machine["id"])
    with pytest.raises(ValueError, match="duplicate_response"):
        quarantine(service, machine["id"])


# ------------------------------------------------------------------------------------------------------ listing

@pytest.mark.parametrize("order, expected", [("newest_first", [2, 1, 0]), ("oldest_first", [0, 1, 2])])
def test_default_order(service, config, three_actions, order, expected):
    config.list_order = order
    assert ids(list_actions(service)) == [three_actions[index] for index in expected]


def test_unordered_default_order_is_stable_but_not_by_time(service, config, three_actions):
    config.list_order = "unordered"
    assert ids(list_actions(service)) == sorted(three_actions) == ids(list_actions(service))


@pytest.mark.parametrize("list_order", ["newest_first", "oldest_first", "unordered"])
@pytest.mark.parametrize("orderby", ["creationDateTimeUtc desc", "CreationDateTimeUtc desc", "lastUpdateDateTimeUtc desc",
                                     "lastupdatetimeutc desc"])
def test_orderby_wins_over_the_default_order(service, config, three_actions, list_order, orderby):
    config.update(list_order=list_order, last_update_field="lastUpdateTimeUtc")
    assert ids(list_actions(service, **{"$orderby": orderby})) == list(reversed(three_actions))
    assert ids(list_actions(service, **{"$orderby": "creationDateTimeUtc"})) == three_actions


def test_orderby_errors_have_an_empty_code(service, three_actions):
    assert three_actions
    assert error_of(list_actions(service, **{"$orderby": "relatedFileInfo"}), 400) == (
        "", "The query specified in the URI is not valid. The $orderby expression must evaluate to a single value of primitive type.")
    assert list_actions(service, **{"$orderby": "nothing"}).body["error"]["details"] == []


@pytest.mark.parametrize("next_link, query, expected", [
    ("server_paging", {}, "https://api.test/api/machineactions?$skip=2"),
    ("server_paging", {"$top": "2"}, None),                      # #8489: $top cut it, no link
    ("server_paging", {"$top": "5"}, "https://api.test/api/machineactions?%24top=5&$skip=2"),   # the page size cut it
    ("always", {"$top": "1", "$skip": "1"}, "https://api.test/api/machineactions?%24top=1&$skip=2"),
    ("never", {}, None),
])
def test_next_link_variants(service, config, three_actions, next_link, query, expected):
    assert three_actions
    config.update(next_link=next_link, max_page_size=2)
    response = list_actions(service, **query)
    assert response.body.get("@odata.nextLink") == expected


def test_no_next_link_on_the_last_page(service, config, three_actions):
    config.update(next_link="always", max_page_size=2)
    last = list_actions(service, **{"$skip": "2"})
    assert (ids(last), "@odata.nextLink" in last.body) == (three_actions[:1], False)


@pytest.mark.parametrize("loops, expected_skip", [(True, 10000), (False, 2)])
def test_machines_next_link_loops_or_not(service, config, loops, expected_skip):
    service.seed_fleet(3)
    config.update(max_page_size=2, machines_next_link_loops=loops)
    response = list_machines(service, **{"$filter": "osPlatform eq 'Windows11'"})
    assert len(response.body["value"]) == 2
    assert response.body["@odata.nextLink"] == (
        "https://api.test/api/machines?%%24filter=osPlatform+eq+%%27Windows11%%27&$skip=%d" % expected_skip)


def test_a_server_that_ignores_skip_answers_every_page_from_the_first(service, config, three_actions):
    config.update(next_link="always", max_page_size=2, ignore_skip=True)
    first, second = list_actions(service), list_actions(service, **{"$skip": "2"})
    assert ids(second) == ids(first) and len(ids(first)) == 2
    assert "@odata.nextLink" in first.body and "@odata.nextLink" not in second.body
    assert three_actions


@pytest.mark.parametrize("field, expected", [
    ("lastUpdateDateTimeUtc", ["lastUpdateDateTimeUtc"]), ("lastUpdateTimeUtc", ["lastUpdateTimeUtc"]),
    ("both", ["lastUpdateDateTimeUtc", "lastUpdateTimeUtc"]),
])
def test_last_update_field_in_every_answer(service, config, machine, field, expected):
    config.last_update_field = field
    created = quarantine(service, machine["id"]).body
    answers = [created, call(service, "GET", "/api/machineactions/%s" % created["id"]).body, list_actions(service).body["value"][0],
               cancel(service, created["id"]).body, service.get_action(created["id"])]
    assert [[name for name in answer if name.startswith("lastUpdate")] for answer in answers] == [expected] * len(answers)


# --------------------------------------------------------------------------------------------------------- cancel

@pytest.mark.parametrize("code", ["BadRequest", "InvalidRequest"])
@pytest.mark.parametrize("status", ["Succeeded", "Cancelled"])
def test_cancel_of_a_final_action_answers_the_configured_code(service, config, machine, code, status):
    config.cancel_final_code = code
    seeded = service.add_machine_action(machine["id"], SHA1, status=status)
    assert error_of(cancel(service, seeded["id"]), 400) == (
        code, "Machine action %s can't be cancelled since it is in final state %s." % (seeded["id"], status))


@pytest.mark.parametrize("after_completion, wait, commands", [
    (True, 6, [{"index": 0, "startTime": "2026-03-02T09:00:05.1234560Z", "endTime": "2026-03-02T09:00:06.1234560Z",
                "commandStatus": "Completed", "errors": [],
                "command": {"type": "StopAndQuarantineFile", "params": [{"key": "Sha1", "value": SHA1}]}}]),
    (True, 0, []),          # still Pending: the machine has not done anything yet
    (False, 6, []),
])
def test_a_cancelled_action_may_say_its_command_completed(service, config, clock, machine, after_completion, wait, commands):
    config.cancel_after_completion = after_completion
    action_id = quarantine(service, machine["id"]).body["id"]
    clock.advance(wait)
    answer = cancel(service, action_id).body
    assert (answer["status"], answer["commands"]) == ("Cancelled", commands)
    assert service.get_action(action_id)["commands"] == commands


# ---------------------------------------------------------------------------------------------- absent file

def test_an_absent_file_is_refused_at_once_by_default(service, machine):
    assert error_of(quarantine(service, machine["id"], sha1=OTHER_SHA1), 404) == (
        "ResourceNotFound", "Sha1 %s was not found in machine %s" % (OTHER_SHA1, machine["id"]))
    assert service.actions() == []


@pytest.mark.parametrize("variant, hresult, troubleshoot_info", [
    ("fail_later", FILE_NOT_FOUND_HRESULT, "Sha1 %s was not found in machine %s"),
    ("fail_later_unexplained", FAILED_HRESULT, None),
])
def test_an_absent_file_may_fail_later(service, config, clock, machine, variant, hresult, troubleshoot_info):
    config.file_absent_response = variant
    created = quarantine(service, machine["id"], sha1=OTHER_SHA1)
    assert (created.status, created.body["status"], created.body["errorHResult"], created.body["troubleshootInfo"]) == (201, "Pending", 0, None)
    clock.advance(15)
    final = service.get_action(created.body["id"])
    expected_info = troubleshoot_info % (OTHER_SHA1, machine["id"]) if troubleshoot_info else None
    assert (final["status"], final["errorHResult"], final["troubleshootInfo"]) == ("Failed", hresult, expected_info)


def test_after_success_the_file_is_absent_in_the_same_way(service, config, clock, machine):
    config.update(file_absent_response="fail_later", resubmit_after_success="file_not_found")
    quarantine(service, machine["id"])
    clock.advance(15)
    again = quarantine(service, machine["id"])
    assert again.status == 201
    clock.advance(15)
    assert service.get_action(again.body["id"])["errorHResult"] == FILE_NOT_FOUND_HRESULT


def test_an_offline_machine_never_fails_an_absent_file(service, config, clock):
    config.file_absent_response = "fail_later"
    offline = service.add_machine("offline.contoso.local", quarantine_outcome="Pending")
    action_id = quarantine(service, offline["id"]).body["id"]
    clock.advance(3600)
    assert service.get_action(action_id)["status"] == "Pending"


def test_a_seeded_action_may_follow_the_lifecycle(service, clock, machine):
    action_id = service.add_machine_action(machine["id"], SHA1, status="Pending", outcome="Failed")["id"]
    clock.advance(6)
    assert service.get_action(action_id)["status"] == "InProgress"
    clock.advance(10)
    assert service.get_action(action_id)["status"] == "Failed"
    with pytest.raises(ValueError, match="outcome needs status Pending"):
        service.add_machine_action(machine["id"], SHA1, status="Succeeded", outcome="Failed")


# ------------------------------------------------------------------------------------------------- file look-up

@pytest.mark.parametrize("variant, code", [("resource_not_found", "ResourceNotFound"), ("not_found", "NotFound"), ("no_body", None)])
def test_an_unknown_file_is_404_in_the_configured_body(service, config, machine, variant, code):
    config.unknown_file_response = variant
    answer = call(service, "GET", "/api/files/%s" % OTHER_SHA1.upper())
    assert answer.status == 404
    assert (answer.body["error"]["code"] if answer.body else None) == code
    # A file a machine observed is known, by either hash and in any case.
    known = call(service, "GET", "/api/files/%s" % SHA1.upper())
    assert (known.status, known.body["sha1"]) == (200, SHA1)
    assert call(service, "GET", "/api/files/%s" % known.body["sha256"].upper()).body["sha1"] == SHA1


@pytest.mark.parametrize("scope, known", [("recorded", [SHA1, OTHER_SHA1]), ("retained_observers", [])])
def test_a_file_no_retained_machine_holds_is_known_only_as_the_scope_says(service, config, clock, scope, known):
    config.file_lookup_scope = scope
    service.add_machine("gone.contoso.local", last_seen=clock.now() - timedelta(days=181), observed_files=[SHA1])
    service.add_file(OTHER_SHA1)             # recorded, but on no machine
    answers = {sha1: call(service, "GET", "/api/files/%s" % sha1).status for sha1 in (SHA1, OTHER_SHA1)}
    assert sorted(sha1 for sha1, status in answers.items() if status == 200) == sorted(known)
    assert set(answers.values()) <= {200, 404}
    service.add_machine("here.contoso.local", observed_files=[SHA1])
    assert call(service, "GET", "/api/files/%s" % SHA1).status == 200


def test_an_unknown_file_lookup_variant_is_an_error(service, config):
    config.unknown_file_response = "typo"
    with pytest.raises(ValueError, match="unknown_file_response"):
        call(service, "GET", "/api/files/%s" % SHA1)

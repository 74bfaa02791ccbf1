# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DefenderClient: routes, bodies, OData quoting and paging, over recorded or in-memory transports."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ACTIONS
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._model.odata import odata_string
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, TransportError
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    SHA1,
    FakeClock,
    FakeDefenderApi,
    ODataSyntaxError,
    api_error,
    make_machine,
    odata_filter,
)


class RecordingTransport:
    """Answers requests from a list (an exception in it is raised) and records them."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []
        self.collections = []

    def request(self, method, path, params=None, body=None, route=None, collection=False):
        self.requests.append((method, path, params, body, route))
        self.collections.append(collection)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def fleet(count):
    return FakeDefenderApi(FakeClock(), machines=[make_machine(number) for number in range(count)])


def test_odata_string_doubles_single_quotes():
    assert odata_string("x' or machineId ne 'y") == "'x'' or machineId ne ''y'"
    assert odata_string("plain") == "'plain'"


def test_quoted_injection_attempt_matches_only_the_literal_name():
    hostile = "x' or machineId ne 'y"
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1), make_machine(2, name=hostile)])
    found = DefenderClient(api).list_machines("computerDnsName eq %s" % odata_string(hostile))
    assert [machine["computerDnsName"] for machine in found] == [hostile]


@pytest.mark.parametrize("count, requests", [(25, 3), (20, 3), (9, 1), (0, 1)])
def test_list_machines_pages_until_a_short_page(count, requests):
    api = fleet(count) if count else FakeDefenderApi(FakeClock())
    machines = DefenderClient(api).list_machines(page_size=10)
    assert machines == api.machines
    calls = api.calls("machines.list")
    assert len(calls) == requests
    assert [call["params"]["$skip"] for call in calls] == [page * 10 for page in range(requests)]
    assert {call["params"]["$top"] for call in calls} == {10}
    assert all(call["path"] == "/api/machines" and call["method"] == "GET" for call in calls)


def test_list_machines_sends_the_filter_on_every_page():
    api = fleet(15)
    DefenderClient(api).list_machines("osPlatform eq 'Windows11'", page_size=10)
    assert [call["params"]["$filter"] for call in api.calls("machines.list")] == ["osPlatform eq 'Windows11'"] * 2


def test_a_short_page_ends_the_listing_and_actions_are_paged_oldest_first():
    transport = RecordingTransport({"value": [{"id": "a"}]})
    assert DefenderClient(transport).list_machine_actions("type eq 'StopAndQuarantineFile'") == [{"id": "a"}]
    method, path, params, _body, route = transport.requests[0]
    assert (method, path, route) == ("GET", "/api/machineactions", "machineactions.list")
    assert params == {"$top": 10000, "$skip": 0, "$filter": "type eq 'StopAndQuarantineFile'", "$orderby": "creationDateTimeUtc asc"}
    assert len(transport.requests) == 1


def test_a_next_link_is_never_followed_but_a_short_page_with_one_goes_on_until_an_empty_page():
    # The #8316 link always says $skip=10000; the listing goes on from what arrived instead, and stops when empty.
    looping = "https://api/machines?$skip=10000"
    transport = RecordingTransport({"value": [{"id": "a"}, {"id": "b"}], "@odata.nextLink": looping},
                                   {"value": [{"id": "c"}], "@odata.nextLink": looping}, {"value": [], "@odata.nextLink": looping})
    assert DefenderClient(transport).list_machines(page_size=5) == [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert [params for _method, _path, params, _body, _route in transport.requests] == [
        {"$top": 5, "$skip": 0}, {"$top": 5, "$skip": 2}, {"$top": 5, "$skip": 3}]


def test_no_filter_parameter_without_a_filter():
    transport = RecordingTransport({"value": []})
    DefenderClient(transport).list_machine_actions()
    assert "$filter" not in transport.requests[0][2]


def test_machines_404_means_no_machines():
    transport = RecordingTransport(api_error(404, "ResourceNotFound", "No machines found", "GET"))
    assert DefenderClient(transport).list_machines("computerDnsName eq 'a'") == []


def test_machine_actions_404_is_an_error():
    transport = RecordingTransport(api_error(404, "ResourceNotFound", "nothing", "GET"))
    with pytest.raises(ApiError):
        DefenderClient(transport).list_machine_actions()


def test_other_machine_listing_errors_propagate():
    transport = RecordingTransport(api_error(403, "Forbidden", "Missing application roles", "GET"))
    with pytest.raises(ApiError) as raised:
        DefenderClient(transport).list_machines()
    assert raised.value.http_status == 403


def test_collections_are_asked_for_as_collections():
    # The transport checks the {"value": [...]} shape, where the HTTP status is known for the message.
    transport = RecordingTransport({"value": []}, {"value": []})
    DefenderClient(transport).list_machine_actions()
    DefenderClient(transport).list_file_machines("a" * 40)
    assert transport.collections == [True, True]


@pytest.mark.parametrize("page_size", [0, 10001])
def test_page_size_is_bounded(page_size):
    with pytest.raises(ValueError):
        DefenderClient(RecordingTransport()).list_machines(page_size=page_size)


def test_stop_and_quarantine_file_posts_the_case_sensitive_body():
    created = {"id": "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e", "status": "Pending"}
    transport = RecordingTransport(created)
    spec = ACTIONS["StopAndQuarantineFile"]
    answer = DefenderClient(transport).post_machine_action(spec, "f46b9bb259ed4a7fb9981b73510e3cc7aa81ec1f", spec.body("INC-1", sha1=SHA1))
    assert answer == created
    assert transport.requests == [(
        "POST",
        "/api/machines/f46b9bb259ed4a7fb9981b73510e3cc7aa81ec1f/StopAndQuarantineFile",
        None,
        {"Comment": "INC-1", "Sha1": SHA1},
        "machines.StopAndQuarantineFile",
    )]


def test_cancel_posts_the_comment():
    transport = RecordingTransport({"id": "a1", "status": "Cancelled"})
    DefenderClient(transport).cancel_machine_action("a1", "false positive")
    assert transport.requests == [("POST", "/api/machineactions/a1/cancel", None, {"Comment": "false positive"}, "machineactions.cancel")]


@pytest.mark.parametrize("call, argument, path, route", [
    ("get_machine_action", "a1", "/api/machineactions/a1", "machineactions.get"),
    ("get_machine_action", "a/b?c", "/api/machineactions/a%2Fb%3Fc", "machineactions.get"),
])
def test_single_entity_reads(call, argument, path, route):
    entity = {"id": argument}
    transport = RecordingTransport(entity)
    assert getattr(DefenderClient(transport), call)(argument) == entity
    assert transport.requests == [("GET", path, None, None, route)]


def test_file_machines_returns_the_value_list():
    machines = [make_machine(1), make_machine(2)]
    transport = RecordingTransport({"value": machines})
    assert DefenderClient(transport).list_file_machines(SHA1) == machines
    assert transport.requests == [("GET", "/api/files/%s/machines" % SHA1, None, None, "files.machines")]


# The tests above and the engine's rely on the in-memory API's $filter parser being strict; so check it is.

@pytest.mark.parametrize("text", ["name eq 'x'' or 1", "name eq 'a' or", "(name eq 'a'", "name like 'a'", "name eq a'b'"])
def test_the_fake_refuses_malformed_filters(text):
    with pytest.raises(ODataSyntaxError):
        odata_filter(text)


def test_the_fake_gives_and_precedence_over_or():
    matches = odata_filter("a eq '1' or a eq '2' and b eq '3'")
    assert matches({"a": "1", "b": "0"}) and matches({"a": "2", "b": "3"}) and not matches({"a": "2", "b": "0"})
    assert odata_filter("name eq 'it''s'")({"name": "it's"})
    assert odata_filter("created ge 2025-03-01T12:00:00Z")({"created": "2025-03-01T12:00:00.5000000Z"})
    assert not odata_filter("created ge 2025-03-01T12:00:00Z")({"created": "2025-03-01T11:59:59.9000000Z"})


def test_the_package_link_is_read_on_its_own_route_and_an_answer_without_one_is_a_transport_error():
    transport = RecordingTransport({"value": "https://store.example/p.zip?sig=s"}, {"value": None})
    client = DefenderClient(transport)
    assert client.package_uri("a/1") == "https://store.example/p.zip?sig=s"
    with pytest.raises(TransportError, match='without the package link in "value"') as failed:
        client.package_uri("a1")
    assert "sig" not in str(failed.value)
    assert [request[1:5:3] for request in transport.requests] == [
        ("/api/machineactions/a%2F1/getPackageUri", "machineactions.getPackageUri"),
        ("/api/machineactions/a1/getPackageUri", "machineactions.getPackageUri")]

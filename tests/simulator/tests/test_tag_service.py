"""The simulated machine tags API over HTTPS: both routes, validation, machineTags in the machine listings, the
unconfirmed variants, the permission and the route's own rate limit."""

import pytest

from tests.simulator.config import AppRegistration
from tests.support.simulator_http import client_credentials

TAGGER_ID = "0a1b2c3d-0000-4000-8000-0000000000a1"
TAGGER_SECRET = "tagger-test-secret"
BULK = "/api/machines/AddOrRemoveTagForMultipleMachines"


def bearer(simulator, session, roles):
    simulator.register_app(AppRegistration(TAGGER_ID, secret=TAGGER_SECRET, roles=roles))
    response = client_credentials(simulator, session, client_id=TAGGER_ID, secret=TAGGER_SECRET)
    return {"Authorization": "Bearer " + response.json()["access_token"]}


@pytest.fixture(name="tagger")
def fixture_tagger(simulator, session):
    """POST as an app with Machine.Read.All and Machine.ReadWrite.All: tagger(path, body) -> response."""
    headers = bearer(simulator, session, ("Machine.Read.All", "Machine.ReadWrite.All"))
    return lambda path, body: session.post(simulator.base_url + path, json=body, headers=headers)


@pytest.fixture(name="fleet")
def fixture_fleet(simulator):
    return [simulator.add_machine("ws-%d.contoso.local" % number, tags=("VIP",) if number == 0 else ())["id"] for number in range(3)]


def tags_of(simulator):
    return {machine["id"]: machine["machineTags"] for machine in simulator.machines()}


def test_a_bulk_add_tags_every_machine_once_and_the_listings_show_it(simulator, api, tagger, fleet):
    answer = tagger(BULK, {"Value": "INC-4711", "Action": "Add", "MachineIds": fleet})
    again = tagger(BULK, {"Value": "INC-4711", "Action": "Add", "MachineIds": fleet[:1]})

    assert answer.status_code == 200 and again.status_code == 200
    assert sorted(machine["id"] for machine in answer.json()["value"]) == sorted(fleet)
    assert tags_of(simulator) == {fleet[0]: ["VIP", "INC-4711"], fleet[1]: ["INC-4711"], fleet[2]: ["INC-4711"]}
    listed = api.get(simulator.base_url + "/api/machines", params={"$filter": "machineTags/any(tag: tag eq 'INC-4711')"}).json()["value"]
    assert sorted(machine["id"] for machine in listed) == sorted(fleet)
    assert api.get(simulator.base_url + "/api/machines/" + fleet[1]).json()["machineTags"] == ["INC-4711"]
    assert len(simulator.log_for(route="machines.AddOrRemoveTagForMultipleMachines")) == 2


def test_a_bulk_remove_and_the_single_machine_route(simulator, tagger, fleet):
    removed = tagger(BULK, {"Value": "VIP", "Action": "Remove", "MachineIds": fleet})
    single = tagger("/api/machines/%s/tags" % fleet[2], {"Value": "watch", "Action": "Add"})

    assert removed.status_code == 200
    assert single.status_code == 200 and single.json()["id"] == fleet[2] and single.json()["machineTags"] == ["watch"]
    assert tags_of(simulator) == {fleet[0]: [], fleet[1]: [], fleet[2]: ["watch"]}
    assert tagger("/api/machines/%s/tags" % ("0" * 40), {"Value": "watch", "Action": "Add"}).status_code == 404


@pytest.mark.parametrize("body, status, code", [
    ({"Action": "Add", "MachineIds": ["a"]}, 400, "MissingRequiredParameter"),
    ({"Value": "x", "MachineIds": ["a"]}, 400, "MissingRequiredParameter"),
    ({"value": "x", "Action": "Add", "MachineIds": ["a"]}, 400, "InvalidRequestBody"),
    ({"Value": "x", "Action": "Toggle", "MachineIds": ["a"]}, 400, "InvalidRequestBody"),
    ({"Value": "x", "Action": "Add"}, 400, "MissingRequiredParameter"),
    ({"Value": "x", "Action": "Add", "MachineIds": []}, 400, "InvalidInput"),
    ({"Value": "x", "Action": "Add", "MachineIds": "a"}, 400, "InvalidRequestBody"),
    ({"Value": "x" * 201, "Action": "Add", "MachineIds": ["a"]}, 400, "InvalidInput"),
    ({"Value": "x", "Action": "Add", "MachineIds": ["m%d" % n for n in range(501)]}, 400, "MaximumBatchSizeExceeded"),
])
def test_bad_bodies_are_refused_and_change_nothing(simulator, tagger, fleet, body, status, code):
    answer = tagger(BULK, body)

    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert tags_of(simulator) == {fleet[0]: ["VIP"], fleet[1]: [], fleet[2]: []}


def test_the_longest_tag_is_a_switch(simulator, tagger, fleet):
    simulator.configure(tag_max_length=None)
    assert tagger(BULK, {"Value": "x" * 300, "Action": "Add", "MachineIds": fleet[1:2]}).status_code == 200
    assert tags_of(simulator)[fleet[1]] == ["x" * 300]


@pytest.mark.parametrize("variant, status, tagged", [("refuse", 404, []), ("ignore", 200, ["INC"])])
def test_an_unknown_machine_id_in_a_bulk_call(simulator, tagger, fleet, variant, status, tagged):
    simulator.configure(tag_unknown_machines=variant)
    answer = tagger(BULK, {"Value": "INC", "Action": "Add", "MachineIds": [fleet[1], "f" * 40]})

    assert answer.status_code == status
    if status == 404:
        assert answer.json()["error"] == {"code": "ResourceNotFound", "message": "Machine %s was not found" % ("f" * 40),
                                          "target": answer.json()["error"]["target"]}
    assert tags_of(simulator)[fleet[1]] == tagged


@pytest.mark.parametrize("variant, after_add, after_remove", [
    ("insensitive", ["VIP"], []),
    ("sensitive", ["VIP", "vip"], ["VIP"]),
])
def test_tag_case(simulator, tagger, fleet, variant, after_add, after_remove):
    simulator.configure(tag_case=variant)
    tagger(BULK, {"Value": "vip", "Action": "Add", "MachineIds": fleet[:1]})
    assert tags_of(simulator)[fleet[0]] == after_add
    tagger(BULK, {"Value": "vip", "Action": "Remove", "MachineIds": fleet[:1]})
    assert tags_of(simulator)[fleet[0]] == after_remove


def test_the_bulk_answer_may_be_empty(simulator, tagger, fleet):
    simulator.configure(tag_bulk_response="empty")
    answer = tagger(BULK, {"Value": "INC", "Action": "Add", "MachineIds": fleet})
    assert (answer.status_code, answer.content) == (200, b"")
    assert all("INC" in tags for tags in tags_of(simulator).values())


def test_without_machine_readwrite_all_both_routes_are_forbidden(simulator, session, fleet):
    headers = bearer(simulator, session, ("Machine.Read.All", "Machine.StopAndQuarantine"))
    for path, body in ((BULK, {"Value": "x", "Action": "Add", "MachineIds": fleet}), ("/api/machines/%s/tags" % fleet[0], {"Value": "x", "Action": "Add"})):
        answer = session.post(simulator.base_url + path, json=body, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["error"]["message"] == (
            "The application does not have any of the required application permissions (Machine.ReadWrite.All) to access the resource.")
    assert tags_of(simulator) == {fleet[0]: ["VIP"], fleet[1]: [], fleet[2]: []}


def test_the_bulk_route_has_its_own_rate_limit(simulator, tagger, api, fleet):
    simulator.configure(rate_limit_per_minute=2)
    statuses = [tagger(BULK, {"Value": "x", "Action": "Add", "MachineIds": fleet}).status_code for _call in range(3)]

    assert statuses == [200, 200, 429]
    assert api.get(simulator.base_url + "/api/machines").status_code == 200

"""The machine actions beyond StopAndQuarantineFile (isolate, unisolate, restrict and unrestrict code execution,
antivirus scan, investigation package), called in-process with Request objects on a clock that moves only when told."""

import re
from datetime import timedelta

import pytest

from tests.simulator.defender import READ_ROLES
from tests.simulator.tests.test_defender import (ACTION_FIELDS, error_of, fixture_clock, fixture_config,  # noqa: F401  pylint: disable=unused-import
                                                 fixture_service, values)
from tests.simulator.tests.test_defender import call as call_as

RESPONDER_ROLES = ("Machine.Read.All", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.CollectForensics")
# Each endpoint, its body, the MachineAction type it creates, that type's scope, and the permission it needs.
ENDPOINTS = [
    ("isolate", {"IsolationType": "Selective"}, "Isolate", "Selective", "Machine.Isolate"),
    ("unisolate", {}, "Unisolate", None, "Machine.Isolate"),
    ("restrictCodeExecution", {}, "RestrictCodeExecution", None, "Machine.RestrictExecution"),
    ("unrestrictCodeExecution", {}, "UnrestrictCodeExecution", None, "Machine.RestrictExecution"),
    ("runAntiVirusScan", {"ScanType": "Quick"}, "RunAntiVirusScan", "Quick", "Machine.Scan"),
    ("collectInvestigationPackage", {}, "CollectInvestigationPackage", None, "Machine.CollectForensics"),
]
PAIRS = [("isolate", "unisolate"), ("unisolate", "isolate"), ("restrictCodeExecution", "unrestrictCodeExecution"),
         ("unrestrictCodeExecution", "restrictCodeExecution")]


def call(service, method, path, roles=RESPONDER_ROLES, **options):
    return call_as(service, method, path, roles=roles, **options)


def act(service, machine_id, path, body=None, comment="incident 42", **options):
    return call(service, "POST", "/api/machines/%s/%s" % (machine_id, path), body={"Comment": comment, **(body or {})}, **options)


def actions(service, **query):
    return values(call(service, "GET", "/api/machineactions", query=query))


@pytest.fixture(name="machine")
def fixture_machine(service):
    return service.add_machine("desktop-1.contoso.local")


# --------------------------------------------------------------------------------------------------- lifecycle

@pytest.mark.parametrize("path, body, action_type, scope, _permission", ENDPOINTS)
def test_each_action_is_201_with_its_type_and_scope_and_follows_the_clock(service, clock, machine, path, body, action_type, scope, _permission):
    created = act(service, machine["id"], path, body)
    assert created.status == 201
    entity = created.body
    assert list(entity) == ACTION_FIELDS
    assert (entity["type"], entity["scope"], entity["status"], entity["machineId"]) == (action_type, scope, "Pending", machine["id"])
    assert (entity["requestorComment"], entity["relatedFileInfo"], entity["requestSource"]) == ("incident 42", None, "PublicApi")
    seen = []
    for seconds in (4, 2, 10):       # pending 5 s, then 10 s in progress
        clock.advance(seconds)
        seen.append(call(service, "GET", "/api/machineactions/%s" % entity["id"]).body["status"])
    assert seen == ["Pending", "InProgress", "Succeeded"]
    [listed] = actions(service, **{"$filter": "type eq '%s'" % action_type})
    assert (listed["id"], listed["status"], listed["scope"]) == (entity["id"], "Succeeded", scope)


@pytest.mark.parametrize("outcome", ["Failed", "TimeOut", "Pending"])
def test_a_machine_can_end_one_type_of_action_differently(service, clock, outcome):
    machine = service.add_machine("flaky.contoso.local", action_outcomes={"Isolate": outcome})
    isolation = act(service, machine["id"], "isolate").body
    scan = act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Full"}).body
    clock.advance(60)
    statuses = {entity["type"]: entity["status"] for entity in actions(service)}
    assert statuses == {"Isolate": outcome, "RunAntiVirusScan": "Succeeded"}
    assert {isolation["id"], scan["id"]} == {entity["id"] for entity in actions(service)}
    with pytest.raises(ValueError, match="Isolate must be one of"):
        service.add_machine("wrong.contoso.local", action_outcomes={"Isolate": "Done"})
    with pytest.raises(ValueError, match="unknown action type"):
        service.add_machine("typo.contoso.local", action_outcomes={"Isolation": "Failed"})


# -------------------------------------------------------------------------------------------------------- bodies

@pytest.mark.parametrize("path, body, expected", [
    ("isolate", {"IsolationType": "Full"}, ("MissingRequiredParameter", "Parameter Comment is missing.")),
    ("unisolate", {"comment": "x"}, ("InvalidRequestBody", "Invalid request body. Parameter names are case-sensitive: expected Comment.")),
    ("runAntiVirusScan", {"Comment": "x"}, ("MissingRequiredParameter", "Parameter ScanType is missing.")),
    ("runAntiVirusScan", {"Comment": "x", "ScanType": "quick"},
     ("InvalidRequestBody", "Invalid request body. ScanType must be one of Quick, Full, got 'quick'.")),
    ("isolate", {"Comment": "x", "IsolationType": "Partial"},
     ("InvalidRequestBody", "Invalid request body. IsolationType must be one of Full, Selective, UnManagedDevice, got 'Partial'.")),
    ("collectInvestigationPackage", {"Comment": 42}, ("InvalidRequestBody", "Invalid request body. Parameter Comment must be a string.")),
])
def test_bodies_are_validated_before_anything_is_created(service, machine, path, body, expected):
    response = call(service, "POST", "/api/machines/%s/%s" % (machine["id"], path), body=body)
    assert error_of(response, 400) == expected
    assert service.actions() == []


def test_isolation_without_a_type_is_full(service, machine):
    assert act(service, machine["id"], "isolate").body["scope"] == "Full"


def test_an_unknown_machine_is_not_found(service, machine):
    code, message = error_of(act(service, "9" * 40, "isolate"), 404)
    assert (code, message) == ("ResourceNotFound", "Machine %s was not found" % ("9" * 40))


# ---------------------------------------------------------------------------------------------------- duplicates

@pytest.mark.parametrize("path, body, action_type, _scope, _permission", ENDPOINTS[:-1])
def test_duplicates_answer_400_or_the_pending_action_as_chosen_per_type(service, config, machine, path, body, action_type, _scope, _permission):
    first = act(service, machine["id"], path, body).body
    assert error_of(act(service, machine["id"], path, body), 400) == ("ActiveRequestAlreadyExists", "Action is already in progress")
    config.duplicate_response_by_type = {action_type: "return_existing"}
    again = act(service, machine["id"], path, body)
    assert (again.status, again.body["id"], again.body["status"]) == (201, first["id"], "Pending")
    config.duplicate_response_by_type = {action_type: "already_in_progress"}
    assert error_of(act(service, machine["id"], path, body), 400) == ("BadRequest", "Action is already in progress")
    assert [entity["id"] for entity in service.actions()] == [first["id"]]


def test_a_collection_while_one_runs_is_400_bad_request_by_default(service, config, clock, machine):
    first = act(service, machine["id"], "collectInvestigationPackage").body
    clock.advance(6)            # InProgress: still running
    assert error_of(act(service, machine["id"], "collectInvestigationPackage"), 400) == ("BadRequest", "Action is already in progress")
    # The general switch does not override the documented per-type default; the per-type one does.
    config.duplicate_response = "return_existing"
    assert act(service, machine["id"], "collectInvestigationPackage").status == 400
    config.duplicate_response_by_type = {}
    assert act(service, machine["id"], "collectInvestigationPackage").body["id"] == first["id"]
    clock.advance(10)           # Succeeded: a new collection is a new action
    assert act(service, machine["id"], "collectInvestigationPackage").body["id"] != first["id"]


def test_a_per_type_setting_for_an_unknown_type_is_an_error(service, config, machine):
    config.duplicate_response_by_type = {"Isolation": "return_existing"}
    act(service, machine["id"], "isolate")
    with pytest.raises(ValueError, match="unknown action type"):
        act(service, machine["id"], "isolate")


@pytest.mark.parametrize("ignores_scope, expected", [(True, 400), (False, 201)])
def test_an_action_of_another_scope_is_a_duplicate_only_when_the_switch_says(service, config, machine, ignores_scope, expected):
    config.duplicate_ignores_scope = ignores_scope
    act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Quick"})
    assert act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Full"}).status == expected
    assert act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Quick"}).status == 400


def test_another_type_or_machine_is_no_duplicate(service, machine):
    other = service.add_machine("desktop-2.contoso.local")
    for target, path, body in ((machine, "isolate", None), (other, "isolate", None), (machine, "runAntiVirusScan", {"ScanType": "Full"}),
                               (machine, "collectInvestigationPackage", None)):
        assert act(service, target["id"], path, body).status == 201


# ------------------------------------------------------------------------------------------------ crossed requests

def finished_at(service, action_id):
    entity = service.get_action(action_id)
    assert entity["status"] == "Succeeded", entity
    return entity["lastUpdateDateTimeUtc"]


@pytest.mark.parametrize("first, second", PAIRS)
def test_crossed_requests_complete_out_of_order_by_default(service, clock, machine, first, second):
    earlier = act(service, machine["id"], first).body
    clock.advance(2)
    later = act(service, machine["id"], second)
    assert later.status == 201
    clock.advance(7)                # the later one is picked up at once; the earlier one waits for it
    assert (service.get_action(earlier["id"])["status"], service.get_action(later.body["id"])["status"]) == ("Pending", "InProgress")
    clock.advance(60)
    # #5903: the earlier request finishes last, so its effect (isolated, restricted, ...) is what stays.
    assert finished_at(service, later.body["id"]) < finished_at(service, earlier["id"])


@pytest.mark.parametrize("first, second", PAIRS)
def test_crossed_requests_can_complete_in_order(service, config, clock, machine, first, second):
    config.crossed_request_response = "in_order"
    earlier = act(service, machine["id"], first).body
    clock.advance(7)                # the earlier one is InProgress
    later = act(service, machine["id"], second).body
    clock.advance(7)
    assert (service.get_action(earlier["id"])["status"], service.get_action(later["id"])["status"]) == ("InProgress", "Pending")
    clock.advance(60)
    assert finished_at(service, earlier["id"]) < finished_at(service, later["id"])


def test_an_earlier_action_already_in_progress_finishes_after_a_crossing_one(service, clock, machine):
    earlier = act(service, machine["id"], "isolate").body
    clock.advance(7)
    later = act(service, machine["id"], "unisolate").body
    clock.advance(60)
    assert finished_at(service, later["id"]) < finished_at(service, earlier["id"])


@pytest.mark.parametrize("first, second", PAIRS)
def test_crossed_requests_can_be_refused(service, config, machine, first, second):
    config.crossed_request_response = "refused"
    earlier = act(service, machine["id"], first).body
    assert error_of(act(service, machine["id"], second), 400) == ("ActiveRequestAlreadyExists", "Action is already in progress")
    assert [entity["id"] for entity in service.actions()] == [earlier["id"]]


@pytest.mark.parametrize("first, second", PAIRS)
def test_crossed_requests_can_return_the_opposite_pending_action(service, config, machine, first, second):
    config.update(crossed_request_response="return_pending", duplicate_existing_status=200)
    earlier = act(service, machine["id"], first).body
    answer = act(service, machine["id"], second)
    assert (answer.status, answer.body["id"], answer.body["type"]) == (200, earlier["id"], earlier["type"])
    assert len(service.actions()) == 1


def test_a_final_opposite_action_does_not_cross(service, config, clock, machine):
    config.crossed_request_response = "refused"
    act(service, machine["id"], "isolate")
    clock.advance(16)
    assert act(service, machine["id"], "unisolate").status == 201
    with pytest.raises(ValueError, match="crossed_request_response"):
        config.crossed_request_response = "sideways"
        act(service, machine["id"], "isolate")


# ------------------------------------------------------------------------------------------------- OS support

@pytest.mark.parametrize("platform, version, os_build, path, body, expected", [
    ("Windows11", None, None, "isolate", {"IsolationType": "Selective"}, None),
    ("Windows10", "1703", None, "isolate", {"IsolationType": "Full"}, None),
    ("Windows10", "1703", None, "isolate", {"IsolationType": "Selective"},
     ("ClientVersionNotSupported", "Isolate is supported on client version 1709 and above.")),
    ("Windows10", "1709", None, "isolate", {"IsolationType": "Selective"}, None),
    ("Windows10", "1607", None, "isolate", {"IsolationType": "Full"},
     ("ClientVersionNotSupported", "Isolate is supported on client version 1703 and above.")),
    ("Windows10", "", 16299, "restrictCodeExecution", {}, None),
    ("Windows10", "", 15063, "restrictCodeExecution", {},
     ("ClientVersionNotSupported", "RestrictCodeExecution is supported on client version 1709 and above.")),
    ("Windows10", "1703", None, "runAntiVirusScan", {"ScanType": "Quick"},
     ("ClientVersionNotSupported", "RunAntiVirusScan is supported on client version 1709 and above.")),
    ("Windows10", "1703", None, "collectInvestigationPackage", {}, None),
    ("Linux", None, None, "isolate", {"IsolationType": "Full"}, None),
    ("Linux", None, None, "unisolate", {}, None),
    ("Linux", None, None, "isolate", {"IsolationType": "Selective"}, ("OsPlatformNotSupported", "OS Platform Linux isn't supported for this action.")),
    ("macOS", None, None, "isolate", {}, ("OsPlatformNotSupported", "OS Platform macOS isn't supported for this action.")),
    ("WindowsServer2019", None, None, "runAntiVirusScan", {"ScanType": "Full"},
     ("OsPlatformNotSupported", "OS Platform WindowsServer2019 isn't supported for this action.")),
    ("Linux", None, None, "collectInvestigationPackage", {}, ("OsPlatformNotSupported", "OS Platform Linux isn't supported for this action.")),
])
def test_supported_platforms_per_action(service, platform, version, os_build, path, body, expected):
    machine = service.add_machine("m.contoso.local", os_platform=platform, version=version, os_build=os_build)
    response = act(service, machine["id"], path, body)
    if expected is None:
        assert response.status == 201, response.body
    else:
        assert error_of(response, 400) == expected
        assert service.actions() == []


def test_platforms_the_docs_do_not_list_are_a_switch_away(service, config):
    mac = service.add_machine("mac.contoso.local", os_platform="macOS")
    server = service.add_machine("server.contoso.local", os_platform="WindowsServer2022")
    config.extra_platforms_by_type = {"Isolate": ["macOS"], "RunAntiVirusScan": ["WindowsServer2022"]}
    assert act(service, mac["id"], "isolate").status == 201
    assert act(service, server["id"], "runAntiVirusScan", {"ScanType": "Quick"}).status == 201
    assert act(service, mac["id"], "unisolate").status == 400            # only the types named
    assert act(service, server["id"], "isolate").status == 400


@pytest.mark.parametrize("onboarding, scope_switch, sensor_switch, path, body, expected", [
    ("Onboarded", "not_onboarded_only", "refused", "isolate", {"IsolationType": "UnManagedDevice"}, 400),
    ("Onboarded", "any_machine", "refused", "isolate", {"IsolationType": "UnManagedDevice"}, 201),
    ("CanBeOnboarded", "not_onboarded_only", "refused", "isolate", {"IsolationType": "UnManagedDevice"}, 201),
    ("CanBeOnboarded", "not_onboarded_only", "refused", "unisolate", {}, 201),
    ("CanBeOnboarded", "not_onboarded_only", "refused", "isolate", {"IsolationType": "Full"}, 400),
    ("Unsupported", "not_onboarded_only", "refused", "runAntiVirusScan", {"ScanType": "Quick"}, 400),
    ("CanBeOnboarded", "not_onboarded_only", "pending", "isolate", {"IsolationType": "Full"}, 201),
])
def test_unmanaged_devices(service, config, clock, onboarding, scope_switch, sensor_switch, path, body, expected):
    config.update(unmanaged_isolation_scope=scope_switch, unmanaged_device_actions=sensor_switch)
    machine = service.add_machine("seen.contoso.local", onboarding_status=onboarding, os_platform="Windows11")
    response = act(service, machine["id"], path, body)
    assert response.status == expected, response.body
    if expected == 400:
        code, message = error_of(response, 400)
        assert code == "BadRequest" and machine["id"] in message
        assert ("use Full or Selective" in message) == (onboarding == "Onboarded")
        assert ("onboardingStatus %s" % onboarding in message) == (onboarding != "Onboarded")
    else:
        clock.advance(3600)
        expected_status = "Pending" if sensor_switch == "pending" else "Succeeded"
        assert service.get_action(response.body["id"])["status"] == expected_status


def test_an_unmanaged_device_is_contained_and_released_whatever_its_platform(service, clock):
    device = service.add_machine("printer.contoso.local", os_platform="Unknown", onboarding_status="CanBeOnboarded")
    assert act(service, device["id"], "isolate", {"IsolationType": "UnManagedDevice"}).body["scope"] == "UnManagedDevice"
    clock.advance(60)
    assert act(service, device["id"], "unisolate").status == 201


# ------------------------------------------------------------------------------------------------- permissions

@pytest.mark.parametrize("path, body, _type, _scope, permission", ENDPOINTS)
@pytest.mark.parametrize("wording, expected", [
    ("legacy", "The application does not have any of the required application permissions (%s) to access the resource."),
    ("roles", "Missing application roles. API required roles: %s, application roles: Machine.Read.All."),
])
def test_each_action_names_its_permission_in_either_wording(service, config, machine, path, body, _type, _scope, permission, wording, expected):
    config.forbidden_format = wording
    response = act(service, machine["id"], path, body, roles=("Machine.Read.All",))
    assert error_of(response, 403) == ("Forbidden", expected % permission)
    assert service.actions() == []


@pytest.mark.parametrize("needs_read, expected", [(True, 403), (False, 201)])
def test_the_read_role_the_actions_may_also_need_is_a_switch(service, config, machine, needs_read, expected):
    config.actions_need_read_role = needs_read
    response = act(service, machine["id"], "isolate", roles=("Machine.Isolate",))
    assert response.status == expected
    if expected == 403:
        assert "(%s)" % ", ".join(READ_ROLES) in response.body["error"]["message"]


def test_cancelling_needs_the_permission_of_the_action(service, machine):
    action_id = act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Full"}).body["id"]
    refused = call(service, "POST", "/api/machineactions/%s/cancel" % action_id, body={}, roles=("Machine.Read.All", "Machine.Isolate"))
    assert "(Machine.Scan)" in error_of(refused, 403)[1]
    cancelled = call(service, "POST", "/api/machineactions/%s/cancel" % action_id, body={"Comment": "wrong machine"})
    assert (cancelled.status, cancelled.body["status"], cancelled.body["cancellationComment"]) == (200, "Cancelled", "wrong machine")


# --------------------------------------------------------------------------------------------- seeding, listing

def test_any_type_can_be_seeded_with_its_status_scope_and_time(service, clock, machine):
    created = clock.now() - timedelta(days=3)
    seeded = service.add_machine_action(machine["id"], action_type="Isolate", scope="Selective", status="Succeeded", created=created)
    assert (seeded["type"], seeded["scope"], seeded["status"], seeded["relatedFileInfo"]) == ("Isolate", "Selective", "Succeeded", None)
    assert seeded["creationDateTimeUtc"].startswith(created.strftime("%Y-%m-%dT%H:%M:%S"))
    scan = service.add_machine_action(machine["id"], action_type="RunAntiVirusScan", status="Pending", outcome="Failed")
    assert scan["scope"] == "Quick"
    clock.advance(60)
    assert service.get_action(scan["id"])["status"] == "Failed"
    # A seeded Pending action is in flight like a posted one: the next request is its duplicate.
    service.add_machine_action(machine["id"], action_type="RestrictCodeExecution", status="InProgress")
    assert act(service, machine["id"], "restrictCodeExecution").status == 400
    for wrong, message in (({"action_type": "Isolation"}, "unknown action type"), ({"action_type": "Isolate", "scope": "Quick"}, "scope of Isolate"),
                           ({"action_type": "Unisolate", "scope": "Full"}, "scope of Unisolate")):
        with pytest.raises(ValueError, match=message):
            service.add_machine_action(machine["id"], **wrong)


@pytest.fixture(name="history")
def fixture_history(service, clock, machine):
    """A machine with five actions of four types, a minute apart, and another machine with one."""
    other = service.add_machine("desktop-2.contoso.local")
    seeded = [service.add_machine_action(machine["id"], action_type=action_type, status=status, created=clock.now() - timedelta(minutes=minutes))
              for action_type, status, minutes in (("Isolate", "Succeeded", 5), ("Unisolate", "Failed", 4), ("Isolate", "Succeeded", 3),
                                                   ("RunAntiVirusScan", "Cancelled", 2), ("CollectInvestigationPackage", "Pending", 1))]
    seeded.append(service.add_machine_action(other["id"], action_type="Isolate", status="Pending"))
    return machine, other, [action["id"] for action in seeded]


@pytest.mark.parametrize("odata_filter, expected", [
    ("type eq 'Isolate'", [5, 2, 0]),
    ("type in ('Isolate','Unisolate') and machineId eq '{machine}'", [2, 1, 0]),
    ("machineId eq '{machine}' and status eq 'Pending'", [4]),
    ("machineId eq '{other}'", [5]),
    ("status eq 'Succeeded' or status eq 'Failed'", [2, 1, 0]),
])
def test_listing_filters_on_type_machine_and_status(service, history, odata_filter, expected):
    machine, other, ids = history
    listed = actions(service, **{"$filter": odata_filter.format(machine=machine["id"], other=other["id"])})
    assert [entity["id"] for entity in listed] == [ids[index] for index in expected]


def test_listing_orders_and_pages(service, history):
    machine, _other, ids = history
    query = {"$filter": "machineId eq '%s'" % machine["id"], "$orderby": "creationDateTimeUtc asc"}
    pages = [[entity["id"] for entity in actions(service, **query, **{"$top": "2", "$skip": str(skip)})] for skip in (0, 2, 4)]
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    newest = actions(service, **{"$orderby": "creationDateTimeUtc desc", "$top": "1"})
    assert [entity["id"] for entity in newest] == [ids[5]]


# -------------------------------------------------------------------------------------------- the package link

def package_uri(service, action_id, **options):
    return call(service, "GET", "/api/machineactions/%s/getPackageUri" % action_id, **options)


def test_the_package_link_exists_once_the_collection_succeeded(service, clock, machine):
    collection = act(service, machine["id"], "collectInvestigationPackage").body
    for seconds, status in ((0, "Pending"), (6, "InProgress")):
        clock.advance(seconds)
        code, message = error_of(package_uri(service, collection["id"]), 404)
        assert code == "ResourceNotFound" and message.endswith("the action is %s." % status)
    clock.advance(10)
    answer = package_uri(service, collection["id"], roles=("Machine.Read.All",))
    assert answer.status == 200
    assert answer.body["@odata.context"] == "https://api.test/api/$metadata#Edm.String"
    link = answer.body["value"]
    assert link.startswith("https://api.test/safedownload/%s/WDATP_Investigation_Package.zip?sv=" % collection["id"])
    assert re.search(r"&se=[^&]+&sr=b&sp=r&sig=[^&]+$", link)


@pytest.mark.parametrize("status, code", [(404, "ResourceNotFound"), (400, "BadRequest")])
def test_a_package_link_of_another_action_type(service, config, clock, machine, status, code):
    config.package_uri_other_type_status = status
    scan = act(service, machine["id"], "runAntiVirusScan", {"ScanType": "Quick"}).body
    clock.advance(60)
    assert error_of(package_uri(service, scan["id"]), status) == (code, "Machine action %s is RunAntiVirusScan, not "
                                                                  "CollectInvestigationPackage: it has no package." % scan["id"])


def test_a_package_link_needs_a_read_role_and_a_known_action(service, machine):
    seeded = service.add_machine_action(machine["id"], action_type="CollectInvestigationPackage", status="Succeeded")
    assert error_of(package_uri(service, seeded["id"], roles=("Machine.CollectForensics",)), 403)[0] == "Forbidden"
    assert error_of(package_uri(service, "0" * 8), 404)[0] == "ResourceNotFound"
    assert package_uri(service, seeded["id"]).status == 200

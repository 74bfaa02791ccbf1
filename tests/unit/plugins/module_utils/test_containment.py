"""machine_isolation and app_restriction without the engine: the state read from the history, each decision, the
results' state_before / state_after, support per isolation type, and the options refused before any request."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.kind import BLOCKED, SETTLE, WRITE
from ansible_collections.mde.response.plugins.module_utils._containment.containment import ISOLATION, RESTRICTION, current_state
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import unsupported_code
from ansible_collections.mde.response.plugins.module_utils._actions.engine import CROSSING_CODE
from ansible_collections.mde.response.plugins.module_utils._containment.kind import ContainmentKind
from ansible_collections.mde.response.plugins.module_utils._containment.request import DesiredState
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

_ids = itertools.count(1)
MACHINE = {"id": "a" * 40, "computerDnsName": "ws-1.contoso.local", "osPlatform": "Windows11", "version": None, "osBuild": None,
           "onboardingStatus": "Onboarded"}


def action(action_type, status="Succeeded", created="2026-01-01T10:00:00Z", updated=None, scope=None):
    if scope is None and action_type == "Isolate":
        scope = "Full"
    return {"id": "action-%d" % next(_ids), "type": action_type, "status": status, "machineId": MACHINE["id"], "scope": scope,
            "creationDateTimeUtc": created, "lastUpdateDateTimeUtc": updated or created}


def isolating(state="isolated", isolation_type=None, change=False, wait=False):
    options = {"state": state, "isolation_type": isolation_type, "change_isolation_type": change}
    return DesiredState.from_options(ISOLATION, options).kind("INC-1", wait, 600)


def restricting(state="restricted"):
    return DesiredState.from_options(RESTRICTION, {"state": state}).kind("INC-1", False, 600)


def test_the_succeeded_action_that_completed_last_decides_whatever_order_they_were_created_in():
    # #5903: the Unisolate created later completed first, the earlier Isolate after it: the machine is isolated.
    isolate = action("Isolate", created="2026-01-01T10:00:00Z", updated="2026-01-01T10:30:00Z", scope="Selective")
    release = action("Unisolate", created="2026-01-01T10:05:00Z", updated="2026-01-01T10:10:00Z")
    assert current_state(ISOLATION, [release, isolate]).state == "isolated"
    assert current_state(ISOLATION, [release, isolate]).scope == "Selective"
    assert current_state(ISOLATION, [release, isolate]).action is isolate
    # Without a last update the creation time is the completion.
    older = action("Unisolate", created="2026-01-02T10:00:00Z")
    older.pop("lastUpdateDateTimeUtc")
    assert current_state(ISOLATION, [isolate, older]).state == "released"


@pytest.mark.parametrize("status", ["Failed", "TimeOut", "Cancelled", "Pending", "InProgress"])
def test_only_succeeded_actions_change_the_state(status):
    done = action("Isolate", created="2026-01-01T10:00:00Z")
    later = action("Unisolate", status=status, created="2026-01-02T10:00:00Z")
    assert current_state(ISOLATION, [later, done]).state == "isolated"
    assert current_state(ISOLATION, [later]).state == "released"
    assert current_state(RESTRICTION, [action("RestrictCodeExecution", status=status)]).state == "unrestricted"


def test_no_history_is_released_and_unrestricted_and_an_isolate_without_scope_is_full():
    assert (current_state(ISOLATION, []).state, current_state(RESTRICTION, []).state) == ("released", "unrestricted")
    unscoped = dict(action("Isolate"), scope=None)
    assert current_state(ISOLATION, [unscoped]).scope == "Full"
    assert current_state(RESTRICTION, [action("RestrictCodeExecution")]).state == "restricted"


def test_already_as_asked_is_existing_with_the_action_that_made_it_so_and_the_state_in_the_result():
    isolate = action("Isolate")
    decision = isolating().decide(MACHINE, [isolate])
    assert (decision.step, decision.outcome, decision.action) == (SETTLE, "existing", isolate)
    assert decision.details == {"state_before": "isolated", "isolation_type_before": "Full"}
    released = isolating("released").decide(MACHINE, [])
    assert (released.step, released.outcome, released.action) == (SETTLE, "existing", None)
    assert restricting("unrestricted").decide(MACHINE, []).details == {"state_before": "unrestricted"}


def test_the_other_state_is_a_write_and_the_body_is_the_apis():
    kind = isolating(isolation_type="Selective")
    assert kind.decide(MACHINE, [action("Unisolate")]).step == WRITE
    assert kind.body() == {"Comment": "INC-1", "IsolationType": "Selective"}
    assert isolating("released").body() == {"Comment": "INC-1"}
    assert restricting().body() == {"Comment": "INC-1"} and restricting().spec.endpoint == "restrictCodeExecution"
    assert restricting("unrestricted").decide(MACHINE, [action("RestrictCodeExecution")]).step == WRITE


def test_an_action_of_the_asked_type_in_flight_is_existing():
    pending = action("Isolate", status="Pending", scope="Selective")
    decision = isolating(isolation_type="Selective").decide(MACHINE, [pending, action("Unisolate")])
    assert (decision.step, decision.outcome, decision.action) == (SETTLE, "existing", pending)
    assert decision.details["state_before"] == "released"


@pytest.mark.parametrize("asked, in_flight", [
    (("isolated", "Full"), ("Unisolate", None)),
    (("released", None), ("Isolate", "Selective")),
    (("isolated", "Full"), ("Isolate", "Selective")),
])
def test_an_opposite_action_or_another_isolation_type_in_flight_blocks_and_says_what_to_do(asked, in_flight):
    state, isolation_type = asked
    running = action(in_flight[0], status="InProgress", scope=in_flight[1])
    decision = isolating(state, isolation_type).decide(MACHINE, [running])
    assert (decision.step, decision.action) == (BLOCKED, running)
    error = decision.error
    assert error["code"] == CROSSING_CODE and error["http_status"] is None
    for words in (running["id"], in_flight[0], "InProgress", "nothing was sent", "wait: true", "once it has finished"):
        assert words in error["message"]
    assert isolating(state, isolation_type).describe(running) == "(%s)" % " ".join(part for part in in_flight if part)


def test_a_crossing_action_blocks_even_when_one_that_serves_is_in_flight_too():
    serving, crossing = action("Isolate", status="Pending"), action("Unisolate", status="Pending")
    assert isolating().decide(MACHINE, [crossing, serving]).step == BLOCKED
    assert restricting().decide(MACHINE, [action("UnrestrictCodeExecution", status="Pending")]).step == BLOCKED


def test_another_isolation_type_is_kept_with_a_warning_unless_changing_it_is_asked():
    selective = action("Isolate", scope="Selective")
    kept = isolating(isolation_type="Full").decide(MACHINE, [selective])
    assert (kept.step, kept.outcome, kept.action) == (SETTLE, "existing", selective)
    assert "stays isolated as Selective" in kept.warning and "change_isolation_type: true" in kept.warning
    assert selective["id"] in kept.warning
    changed = isolating(isolation_type="Full", change=True).decide(MACHINE, [selective])
    assert changed.step == WRITE and changed.details == {"state_before": "isolated", "isolation_type_before": "Selective"}
    assert isolating(isolation_type="Selective", change=True).decide(MACHINE, [selective]).step == SETTLE


def entry(kind, decision, outcome, action_entity=None):
    result = {"outcome": outcome, "action": action_entity, **decision.details}
    kind.finish(result)
    return result


def test_state_after_is_the_asked_state_once_the_runs_actions_complete_as_asked():
    kind = isolating(isolation_type="Selective")
    write = kind.decide(MACHINE, [])
    created = action("Isolate", status="Pending", scope="Selective")
    for outcome, made in (("created", created), ("would_create", None), ("queued", created)):
        assert {key: value for key, value in entry(kind, write, outcome, made).items() if "state" in key or "type" in key} == {
            "state_before": "released", "isolation_type_before": None, "state_after": "isolated", "isolation_type_after": "Selective"}
    # With wait, an action that ended Failed (or Cancelled, TimeOut) fails the machine: it stays as it was.
    ended = entry(kind, write, "failed", dict(created, status="Failed"))
    assert (ended["state_after"], ended["isolation_type_after"]) == ("released", None)
    released = isolating("released")
    gone = entry(released, released.decide(MACHINE, [action("Isolate")]), "created", action("Unisolate", status="Pending"))
    assert (gone["state_before"], gone["isolation_type_before"], gone["state_after"], gone["isolation_type_after"]) == (
        "isolated", "Full", "released", None)


def test_a_kept_isolation_type_is_the_type_after_and_an_unread_machine_has_no_state():
    kind = isolating(isolation_type="Full")
    selective = action("Isolate", scope="Selective")
    kept = entry(kind, kind.decide(MACHINE, [selective]), "existing", selective)
    assert (kept["state_after"], kept["isolation_type_after"]) == ("isolated", "Selective")
    for outcome in ("protected", "unsupported", "failed"):
        unread = {"outcome": outcome, "action": None}
        kind.finish(unread)
        assert unread == {"outcome": outcome, "action": None, "state_before": None, "isolation_type_before": None,
                          "state_after": None, "isolation_type_after": None}
    blocked = restricting()
    result = entry(blocked, blocked.decide(MACHINE, [action("UnrestrictCodeExecution", status="Pending")]), "failed")
    assert (result["state_before"], result["state_after"]) == ("unrestricted", "unrestricted") and "isolation_type_after" not in result


def test_made_by_request_is_the_asked_type_and_isolation_type_whatever_the_status():
    kind = isolating(isolation_type="Selective")
    assert kind.made_by_request(action("Isolate", status="Succeeded", scope="Selective"))
    assert not kind.made_by_request(action("Isolate", status="Pending", scope="Full"))
    assert not kind.made_by_request(action("Unisolate", status="Pending"))
    assert isolating().made_by_request(dict(action("Isolate"), scope=None))
    assert isolating("released").made_by_request(action("Unisolate"))
    assert kind.read_types == ("Isolate", "Unisolate") and restricting().read_types == ("RestrictCodeExecution", "UnrestrictCodeExecution")
    assert kind.matches(action("Unisolate")) and not kind.matches(action("RunAntiVirusScan", scope="Quick"))
    assert kind.status_clauses(None) == ["status eq 'Pending'", "status eq 'InProgress'", "status eq 'Succeeded'"]


def machine(**fields):
    return dict(MACHINE, **fields)


@pytest.mark.parametrize("kind, entity, code", [
    (isolating(), machine(osPlatform="Linux"), None),
    (isolating(), machine(osPlatform="Windows10", version="1703"), None),
    (isolating(), machine(osPlatform="Windows10", version="1607"), "ClientVersionNotSupported"),
    (isolating(), machine(osPlatform="iOS"), "OsPlatformNotSupported"),
    (isolating(isolation_type="Selective"), machine(osPlatform="Windows10", version="1709"), None),
    (isolating(isolation_type="Selective"), machine(osPlatform="Windows10", version="1703"), "ClientVersionNotSupported"),
    (isolating(isolation_type="Selective"), machine(osPlatform="Windows10", version=None, osBuild=16299), None),
    (isolating(isolation_type="Selective"), machine(osPlatform="Windows10", version=None, osBuild=15063), "ClientVersionNotSupported"),
    (isolating(isolation_type="Selective"), machine(osPlatform="Linux"), "OsPlatformNotSupported"),
    (isolating(isolation_type="UnManagedDevice"), machine(osPlatform="iOS"), None),
    (restricting(), machine(osPlatform="macOS"), "OsPlatformNotSupported"),
    (restricting(), machine(osPlatform="Windows10", version="1703"), "ClientVersionNotSupported"),
    (restricting(), machine(osPlatform="Windows11"), None),
    (isolating("released"), machine(osPlatform="iOS"), None),
    (restricting("unrestricted"), machine(osPlatform="Windows10", version="1507"), None),
])
def test_support_per_isolation_type(kind, entity, code):
    assert unsupported_code(entity, kind.support) == code


@pytest.mark.parametrize("kind, entity, code", [
    (isolating(), machine(onboardingStatus="CanBeOnboarded", osPlatform="Linux"), "DeviceNotOnboarded"),
    (restricting(), machine(onboardingStatus="Unsupported"), "DeviceNotOnboarded"),
    (isolating(isolation_type="UnManagedDevice"), machine(onboardingStatus="CanBeOnboarded", osPlatform="iOS"), None),
    (isolating(isolation_type="UnManagedDevice"), machine(), "DeviceOnboarded"),
    (isolating("released"), machine(onboardingStatus="CanBeOnboarded"), None),
    (isolating(), None, None),
])
def test_the_onboarding_status_decides_between_unmanaged_device_and_the_other_isolation_types(kind, entity, code):
    decision = kind.decide(entity, [])
    assert (decision.outcome == "unsupported") == (code is not None)
    if code:
        details = decision.details["unsupported"]
        assert details["code"] == code and details["os_platform"] == entity["osPlatform"]
        assert decision.details["state_before"] == kind.containment.released
        assert ("isolation_type Full or Selective" if code == "DeviceOnboarded" else "isolation_type UnManagedDevice") in details["message"]


@pytest.mark.parametrize("containment, options, words", [
    (ISOLATION, {"state": "contained"}, "state must be one of isolated, released"),
    (ISOLATION, {}, "state must be one of"),
    (ISOLATION, {"state": "isolated", "isolation_type": "Partial"}, "isolation_type must be one of Full, Selective, UnManagedDevice"),
    (ISOLATION, {"state": "released", "isolation_type": "Full"}, "isolation_type applies to state isolated only"),
    (ISOLATION, {"state": "released", "change_isolation_type": True}, "change_isolation_type applies to state isolated only"),
    (ISOLATION, {"state": "isolated", "change_isolation_type": "yes"}, "change_isolation_type must be true or false"),
    (RESTRICTION, {"state": "isolated"}, "state must be one of restricted, unrestricted"),
])
def test_bad_options_are_refused_before_any_request(containment, options, words):
    with pytest.raises(InputError, match=words):
        DesiredState.from_options(containment, options)


def test_protection_applies_to_cutting_off_only_and_full_is_the_default_type():
    assert DesiredState.from_options(ISOLATION, {"state": "isolated"}).protects
    assert DesiredState.from_options(ISOLATION, {"state": "isolated"}).isolation_type == "Full"
    assert not DesiredState.from_options(ISOLATION, {"state": "released"}).protects
    assert DesiredState.from_options(RESTRICTION, {"state": "restricted"}).protects
    assert not DesiredState.from_options(RESTRICTION, {"state": "unrestricted"}).protects
    assert isinstance(isolating(), ContainmentKind) and isolating().spec.permission == "Machine.Isolate"
    assert restricting().spec.permission == "Machine.RestrictExecution"


def test_an_answer_carrying_the_opposite_action_is_a_crossing_not_the_asked_state():
    kind = isolating("released")
    pending_isolate = action("Isolate", status="Pending")
    for outcome in ("existing", "created"):
        result = entry(kind, kind.decide(MACHINE, [action("Isolate")]), outcome, pending_isolate)
        assert (result["outcome"], result["error"]["code"]) == ("failed", CROSSING_CODE)
        assert pending_isolate["id"] in result["error"]["message"]
        assert (result["state_before"], result["state_after"]) == ("isolated", "isolated")
    assert (kind.same_request, isolating().same_request) == ("release the machine", "contain the machine")


def test_an_isolate_in_flight_without_a_scope_serves_a_full_isolation():
    unscoped = dict(action("Isolate", status="Pending"), scope=None)
    assert isolating().decide(MACHINE, [unscoped]).outcome == "existing"
    assert isolating(isolation_type="Selective").decide(MACHINE, [unscoped]).step == BLOCKED
    assert restricting().decide(MACHINE, [action("RestrictCodeExecution", status="InProgress")]).outcome == "existing"

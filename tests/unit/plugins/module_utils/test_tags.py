"""machine_tags without the network: its input, the max_machines rule, and the plan of bulk calls."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.blast_radius import check_blast_radius, max_machines
from ansible_collections.mde.response.plugins.module_utils._tags.converge import (ADDED, ALREADY, FAILED, UNSENT, MachineTags, tag_result, plan_writes,
                                                                                  send_writes)
from ansible_collections.mde.response.plugins.module_utils._tags.request import DEFAULT_MAX_MACHINES, TagRequest
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, AuthenticationError, InputError

MACHINE = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"


def request(**options):
    options.setdefault("tags", ["INC-4711"])
    options.setdefault("machine_ids", [MACHINE])
    return TagRequest.from_options(options)


@pytest.mark.parametrize("options, message", [
    ({"tags": []}, "tags is empty: give at least one tag"),
    ({"tags": ["  "]}, "tags[0] is empty"),
    ({"tags": ["x" * 201]}, "tags[0] is 201 characters long; a tag is at most 200"),
    ({"tags": ["bad\x07tag"]}, "tags[0] contains the control character U+0007"),
    ({"tags": [7]}, "tags[0] must be a non-empty string"),
    ({"state": "gone"}, "state must be one of present, absent, got 'gone'"),
    ({"machine_ids": ["nope"]}, "machine_ids[0] must be a Defender device id (40 hex characters)"),
    ({"machine_ids": None}, "no target: give machine_ids, machine_names, or both"),
    ({"max_machines": 0}, "max_machines must be a whole number of machines, at least 1, got 0"),
    ({"machine_ids": ["%040x" % n for n in range(3)], "max_machines": 2},
     "machine_ids and machine_names name 3 machines, more than max_machines (2): nothing was sent. Narrow the targets, "
     "or set max_machines: 3 if every one of them is meant"),
])
def test_bad_input_is_refused_before_any_request(options, message):
    with pytest.raises(InputError) as refused:
        request(**options)
    assert str(refused.value).startswith(message)


def test_defaults_and_repeats():
    parsed = request(tags=["VIP", "vip", " INC "], machine_names=["a.contoso.local"])
    assert (parsed.tags, parsed.state, parsed.max_machines) == (("VIP", "INC"), "present", DEFAULT_MAX_MACHINES)
    assert (parsed.machine_ids, parsed.machine_names) == ((MACHINE,), ("a.contoso.local",))


def test_the_blast_radius_rule():
    assert max_machines(None, 50) == 50 and max_machines(7, 50) == 7
    for bad in (True, "10", -1, 1.5):
        with pytest.raises(InputError):
            max_machines(bad, 50)
    check_blast_radius(50, 50, "the task targets")
    with pytest.raises(InputError, match="^the task targets 51 machines, more than max_machines"):
        check_blast_radius(51, 50, "the task targets")


def machines(count, tags=()):
    return [MachineTags("%040x" % number, None, list(tags)) for number in range(count)]


def test_1001_machines_and_two_tags_take_three_calls_per_tag_direction_of_500():
    fleet = machines(1001)
    writes = plan_writes(fleet, request(tags=["a", "b"]), [].append)
    assert [(write.action, write.spelling, len(write.targets)) for write in writes] == [
        ("Add", "a", 500), ("Add", "a", 500), ("Add", "a", 1), ("Add", "b", 500), ("Add", "b", 500), ("Add", "b", 1)]


def test_a_tag_in_another_case_counts_as_present_and_absent_removes_each_spelling():
    warnings = []
    fleet = machines(1, tags=("vip", "VIP", "other"))
    assert plan_writes(fleet, request(tags=["Vip"]), warnings.append) == []
    assert fleet[0].tag_outcomes == {"Vip": ALREADY}
    assert warnings == ["machine %s has the tag 'vip', which differs from 'Vip' only in case: counted as present, not written "
                        "(ask for 'vip' to match it exactly)" % fleet[0].machine_id]
    removal = plan_writes(machines(1, tags=("vip", "VIP", "other")), request(tags=["Vip"], state="absent"), [].append)
    assert [(write.action, write.spelling) for write in removal] == [("Remove", "vip"), ("Remove", "VIP")]


def test_a_403_stops_the_writes_and_a_failed_login_leaves_the_rest_unsent():
    fleet = machines(3)
    writes = plan_writes(fleet, request(tags=["a", "b", "c"]), [].append)
    refusal = ApiError("The application does not have any of the required application permissions (Machine.ReadWrite.All) to access "
                       "the resource.", code="Forbidden", http_status=403)
    calls = []

    def send(write):
        calls.append(write.spelling)
        if write.spelling == "b":
            raise refusal

    assert send_writes(writes, send, check_mode=False) == 2
    assert calls == ["a", "b"]
    assert fleet[0].tag_outcomes == {"a": ADDED, "b": FAILED, "c": UNSENT} and fleet[0].outcome == FAILED
    assert fleet[0].error["missing_permission"] == "Machine.ReadWrite.All" and "grant admin consent" in fleet[0].error["message"]
    assert fleet[0].after() == ["a"]

    fleet = machines(2)
    writes = plan_writes(fleet, request(tags=["a", "b"]), [].append)

    def login_fails(write):
        if write.spelling == "b":
            raise AuthenticationError("login.example: AADSTS7000215 invalid client secret")

    assert send_writes(writes, login_fails, check_mode=False) == 1
    assert [entry.tag_outcomes for entry in fleet] == [{"a": ADDED, "b": UNSENT}] * 2
    assert fleet[1].outcome == UNSENT and fleet[1].error["code"] == "AuthenticationFailed"


def test_the_diff_shows_machines_by_name_and_by_id_where_names_repeat():
    fleet = [MachineTags("%040x" % number, name, []) for number, name in enumerate(("a.contoso.local", "b.contoso.local", "b.contoso.local"))]
    send_writes(plan_writes(fleet, request(), [].append), lambda write: None, check_mode=False)

    result = tag_result(fleet, request(), 1, [])

    assert result.diff == {"before": {"a.contoso.local": [], fleet[1].machine_id: [], fleet[2].machine_id: []},
                           "after": {"a.contoso.local": ["INC-4711"], fleet[1].machine_id: ["INC-4711"], fleet[2].machine_id: ["INC-4711"]}}


def test_a_machine_gone_since_the_read_fails_alone_and_the_call_is_sent_again_without_it():
    fleet = machines(3)
    writes = plan_writes(fleet, request(), [].append)
    sent = []

    def send(write):
        ids = [machine.machine_id for machine, _tag in write.targets]
        sent.append(ids)
        if fleet[1].machine_id in ids:
            raise ApiError("Machine %s was not found" % fleet[1].machine_id.upper(), code="ResourceNotFound", http_status=404)

    assert send_writes(writes, send, check_mode=False) == 2
    assert sent == [[entry.machine_id for entry in fleet], [fleet[0].machine_id, fleet[2].machine_id]]
    assert [entry.outcome for entry in fleet] == [ADDED, FAILED, ADDED]
    assert fleet[1].error["code"] == "ResourceNotFound" and fleet[1].after() == []

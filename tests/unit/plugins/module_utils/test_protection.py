"""The protection list (protect): which machines it covers, and the input it refuses before any request."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.request import ActionRequest, action_argument_spec
from ansible_collections.mde.response.plugins.module_utils._model.protection import PROTECT_OPTION, Protection
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

MACHINE_ID = "a" * 40
DC = {"id": MACHINE_ID, "computerDnsName": "DC-01.contoso.local", "machineTags": ["Tier0"], "rbacGroupName": "Servers"}


@pytest.mark.parametrize("option, reason", [
    ({"tags": ["tier0"]}, "it has the protected tag Tier0"),
    ({"device_groups": ["SERVERS"]}, "it is in the protected device group Servers"),
    ({"name_patterns": ["dc-*"]}, "its name DC-01.contoso.local matches the protected pattern dc-*"),
])
def test_a_machine_is_protected_by_tag_group_or_name_ignoring_case(option, reason):
    assert Protection.from_option(option).reason(DC) == reason


def test_a_machine_nothing_names_is_not_protected():
    protection = Protection.from_option({"tags": ["Tier1"], "device_groups": ["Desktops"], "name_patterns": ["web-*"]})
    assert protection.active
    assert protection.reason(DC) is None
    assert not Protection.from_option(None).active


@pytest.mark.parametrize("value, message", [
    ({"tag": ["x"]}, r"protect has unknown key\(s\) tag; it takes tags, device_groups, name_patterns"),
    (["x"], "protect must be a dictionary"),
    ({"tags": [""]}, r"protect\.tags\[0\] is empty"),
])
def test_bad_protection_lists_are_refused(value, message):
    with pytest.raises(InputError, match=message):
        Protection.from_option(value)


def test_the_argument_spec_takes_protect_only_where_it_protects():
    assert action_argument_spec(25, protects=True)["protect"] is PROTECT_OPTION
    assert "protect" not in action_argument_spec(25, protects=False)
    assert action_argument_spec(25, protects=False)["max_machines"]["default"] == 25


def test_a_request_naming_more_machines_than_max_machines_is_refused_before_any_request():
    options = {"comment": "INC-1", "machine_ids": ["%040x" % number for number in range(3)], "max_machines": 2}
    with pytest.raises(InputError, match="the task names 3 machines, more than max_machines \\(2\\)"):
        ActionRequest.from_options(options, default_max_machines=25, protects=True)


def test_a_request_carries_its_targets_and_protection():
    request = ActionRequest.from_options({"comment": " INC-1 ", "machine_names": ["pc-1", "PC-1"], "protect": {"tags": ["Tier0"]}},
                                         default_max_machines=25, protects=True)
    assert request.comment == "INC-1"
    assert request.targets.machine_names == ("pc-1",)
    assert request.targets.protection.tags == ("tier0",)
    assert request.targets.max_machines == 25
    with pytest.raises(InputError, match="no target"):
        ActionRequest.from_options({"comment": "INC-1"}, default_max_machines=25, protects=False)

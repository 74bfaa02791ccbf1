"""The inventory's plain-Python part: options, $filter, host variables, names, duplicate entries, groups, the cache form."""

import os
import re
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._inventory.machines import (
    InventoryQuery, MachineInventory, build_inventory, group_name, host_variables, variable_name)
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def machine(name, machine_id, seen_days_ago=0, **fields):
    entity = {"id": machine_id, "computerDnsName": name, "onboardingStatus": "Onboarded", "healthStatus": "Active",
              "osPlatform": "Windows11", "riskScore": "Low", "machineTags": [], "osVersion": None,
              "lastSeen": (NOW - timedelta(days=seen_days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    entity.update(fields)
    return entity


def hosts_of(inventory):
    return {host.name: host for host in inventory.hosts}


def query(**options):
    return InventoryQuery.from_options(options, NOW)


@pytest.mark.parametrize("options, message", [
    ({"health_status": ["Sleeping"]}, "health_status[0] must be one of Active"),
    ({"risk_score": "High"}, "risk_score must be a list"),
    ({"last_seen_within": "a week"}, "last_seen_within must be a duration"),
    ({"hostnames": ["fqdn"]}, "hostnames[0] must be one of computer_dns_name, short_name, id"),
    ({"duplicates": "merge"}, "duplicates must be one of skip, by_id"),
    ({"default_groups": "yes"}, "default_groups must be true or false"),
    ({"tags": [""]}, "tags[0] is empty"),
    ({"device_group_ids": ["7"]}, "device_group_ids[0] must be a whole number (a device group id)"),
])
def test_bad_options_are_refused_with_the_option_named(options, message):
    with pytest.raises(InputError, match=re.escape(message)):
        query(**options)


def test_the_filters_the_api_supports_become_one_quoted_filter_in_the_apis_spelling():
    wanted = query(health_status=["active", "Inactive"], os_platform=["Windows11"], onboarding_status=["onboarded"],
                   risk_score=["HIGH"], exposure_level=["Medium"], tags=["finance", "o'brien"], last_seen_within="1d",
                   device_group_ids=[7, 12, 7], device_groups=["Laptops"])

    assert wanted.odata_filter == (
        "(healthStatus eq 'Active' or healthStatus eq 'Inactive') and (osPlatform eq 'Windows11')"
        " and (onboardingStatus eq 'Onboarded') and (riskScore eq 'High') and (exposureLevel eq 'Medium')"
        " and (machineTags/any(tag: tag eq 'finance') or machineTags/any(tag: tag eq 'o''brien'))"
        " and (rbacGroupId eq 7 or rbacGroupId eq 12) and lastSeen gt 2026-11-30T12:00:00Z")
    assert query().odata_filter is None


def test_device_groups_are_matched_here_ignoring_case():
    wanted = query(device_groups=["laptops"])
    inventory = build_inventory([[machine("a.contoso.local", "a" * 40, rbacGroupName="Laptops"),
                                  machine("b.contoso.local", "b" * 40, rbacGroupName="Servers"),
                                  machine("c.contoso.local", "c" * 40)]], wanted)

    assert list(hosts_of(inventory)) == ["a.contoso.local"]
    assert inventory.machines_listed == 3


def test_host_variables_carry_the_prefix_and_only_fields_with_a_value():
    variables = host_variables(machine("a.contoso.local", "a" * 40, rbacGroupId=7, ipAddresses=[{"ipAddress": "10.0.0.1"}]))

    assert variables["mde_id"] == "a" * 40
    assert variables["mde_computer_dns_name"] == "a.contoso.local"
    assert variables["mde_rbac_group_id"] == 7
    assert "mde_os_version" not in variables and "mde_ip_addresses" not in variables
    assert variable_name("isPotentialDuplication") == "mde_is_potential_duplication"


def test_default_groups_by_health_os_risk_device_group_and_each_tag():
    inventory = build_inventory([[machine("a.contoso.local", "a" * 40, rbacGroupName="Finance Laptops", machineTags=["VIP", "eu-west"])]],
                                query())

    assert sorted(inventory.hosts[0].groups) == ["mde_device_group_finance_laptops", "mde_health_active", "mde_os_windows11",
                                                 "mde_risk_low", "mde_tag_eu_west", "mde_tag_vip"]
    assert build_inventory([[machine("a.contoso.local", "a" * 40)]], query(default_groups=False)).hosts[0].groups == []
    assert group_name("os", "WindowsServer2019") == "mde_os_windowsserver2019"


def test_host_names_follow_the_preference_and_fall_back_to_the_id():
    machines = [machine("desktop-01.contoso.local", "a" * 40), machine(None, "b" * 40)]

    assert list(hosts_of(build_inventory([machines], query()))) == ["desktop-01.contoso.local", "b" * 40]
    assert list(hosts_of(build_inventory([machines], query(hostnames=["short_name", "id"])))) == ["desktop-01", "b" * 40]
    assert list(hosts_of(build_inventory([machines], query(hostnames=["id"])))) == ["a" * 40, "b" * 40]


@pytest.mark.parametrize("old_entry, reason", [
    ({"mergedIntoMachineId": "c" * 40}, "merged into " + "c" * 40),
    ({"isPotentialDuplication": True}, "a potential duplicate"),
    ({"onboardingStatus": "InsufficientInfo"}, "not onboarded (InsufficientInfo)"),
    ({"seen_days_ago": 30}, "more than 7d before the newest entry"),
])
def test_the_live_entry_gets_the_name_and_the_old_one_is_skipped_with_a_warning(old_entry, reason):
    seen = old_entry.pop("seen_days_ago", 1)
    old = machine("ws-01.contoso.local", "b" * 40, seen_days_ago=seen, **old_entry)
    live = machine("WS-01.contoso.local", "a" * 40)

    inventory = build_inventory([[old], [live]], query())

    assert {name: host.variables["mde_id"] for name, host in hosts_of(inventory).items()} == {"WS-01.contoso.local": "a" * 40}
    [warning] = inventory.warnings
    assert "2 Defender machines are named ws-01.contoso.local: WS-01.contoso.local is %s (onboarded" % ("a" * 40) in warning
    assert "skipped: %s (" % ("b" * 40) in warning and reason in warning
    assert "set duplicates: by_id" in warning


def test_old_entries_can_be_kept_by_id_pointing_at_the_live_one():
    inventory = build_inventory([[machine("ws-01.contoso.local", "a" * 40),
                                  machine("ws-01.contoso.local", "b" * 40, isPotentialDuplication=True)]], query(duplicates="by_id"))

    hosts = hosts_of(inventory)
    assert set(hosts) == {"ws-01.contoso.local", "b" * 40}
    assert hosts["b" * 40].variables["mde_duplicate_of"] == "a" * 40
    assert "named by machine id: %s (a potential duplicate)" % ("b" * 40) in inventory.warnings[0]


def test_two_live_machines_of_one_name_both_stay_by_id_and_old_entries_still_go():
    inventory = build_inventory([[machine("kiosk", "a" * 40), machine("kiosk", "b" * 40, seen_days_ago=2),
                                  machine("kiosk", "c" * 40, mergedIntoMachineId="a" * 40)]], query())

    assert set(hosts_of(inventory)) == {"a" * 40, "b" * 40}
    [warning] = inventory.warnings
    assert "no host is called kiosk, because each is live: %s, %s are in the inventory by machine id" % ("a" * 40, "b" * 40) in warning
    assert "skipped: %s (merged into" % ("c" * 40) in warning


def test_entries_none_of_which_is_current_all_stay_by_id():
    inventory = build_inventory([[machine("old", "a" * 40, onboardingStatus="Unsupported"),
                                  machine("old", "b" * 40, isPotentialDuplication=True)]], query())

    assert set(hosts_of(inventory)) == {"a" * 40, "b" * 40}
    assert "because Defender calls none of them current" in inventory.warnings[0]


def test_short_names_that_collide_across_domains_are_both_kept_by_id():
    inventory = build_inventory([[machine("ws-01.contoso.local", "a" * 40), machine("ws-01.fabrikam.local", "b" * 40)]],
                                query(hostnames=["short_name"]))

    assert set(hosts_of(inventory)) == {"a" * 40, "b" * 40}


def test_the_cache_form_round_trips():
    inventory = build_inventory([[machine("a.contoso.local", "a" * 40), machine("a.contoso.local", "b" * 40, isPotentialDuplication=True)]],
                                query())

    again = MachineInventory.from_cache(inventory.to_cache())

    assert [(host.name, host.variables, host.groups) for host in again.hosts] == [
        (host.name, host.variables, host.groups) for host in inventory.hosts]
    assert again.warnings == inventory.warnings and again.machines_listed == 2


def test_100000_machines_are_read_page_by_page_keeping_only_their_host_variables():
    def pages():
        for first in range(0, 100_000, 10_000):
            # Each entity carries 4 KB that no host variable keeps: all pages at once would hold 400 MB of it.
            yield [{"id": "%040x" % number, "computerDnsName": "ws-%06d.contoso.local" % number, "onboardingStatus": "Onboarded",
                    "ipAddresses": [{"macAddress": os.urandom(2048).hex()}]} for number in range(first, first + 10_000)]

    tracemalloc.start()
    try:
        inventory = build_inventory(pages(), query(default_groups=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(inventory.hosts) == inventory.machines_listed == 100_000
    # The hosts' variables (about 100 MB here) and one page in flight; every page kept would add 400 MB.
    assert peak < 250 * 1000 * 1000, "peak %d MB" % (peak // 1000 // 1000)

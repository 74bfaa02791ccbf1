"""The inventory plugin mde.response.machines against the simulator: ansible-inventory (and its cached rerun), a play
over one of its groups, and, in process, its filters, paging and naming under every variant of the API."""

import functools
import json
import os
import re
import subprocess
import sys
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.loader import init_plugin_loader, inventory_loader

from tests.support.docs import guide_code_block
from tests.support.quarantine import SHA1, WRITE

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(REPO, ".collection-tree")
SHORT_NAMES_PLAY = """
- name: Quarantine by short names from another inventory
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Quarantine by short name
      mde.response.stop_and_quarantine_file:
        sha1: %s
        comment: short names
        machine_names: [server-01, build-01]
      check_mode: true
      ignore_errors: true
"""


def readme_play():
    """The play over an inventory group that the inventory guide prints, and the file it quarantines."""
    play = guide_code_block("inventory", "- name: Quarantine the dropper on the finance machines\n")
    return play, re.search(r"sha1: ([0-9a-f]{40})", play).group(1)


def fleet(simulator):
    """Machine ids by role: plain machines, a re-imaged device, a merged one, two live devices of one name."""
    now = datetime.now(timezone.utc)
    add = simulator.add_machine
    machines = {
        "finance": add("desktop-01.contoso.local", tags=("finance",), risk_score="High", rbac_group_name="Finance Laptops",
                       rbac_group_id=7),
        "finance_old_os": add("desktop-02.contoso.local", os_platform="Windows10", health_status="Inactive", tags=("finance",)),
        "server": add("server-01.contoso.local", os_platform="WindowsServer2019", exposure_level="High", rbac_group_name="Servers"),
        "reimaged_old": add("ws-07.contoso.local", last_seen=now - timedelta(days=30)),
        "reimaged": add("ws-07.contoso.local"),
        "kiosk": add("kiosk-01.contoso.local"),
        "lab_a": add("lab-01.contoso.local"),
        "lab_b": add("lab-01.contoso.local", os_platform="Linux"),
        "printer": add("printer-01.contoso.local", onboarding_status="CanBeOnboarded"),
        "build_contoso": add("build-01.contoso.local", os_platform="Linux"),
        "build_fabrikam": add("build-01.fabrikam.local", os_platform="Linux"),
    }
    machines["kiosk_merged"] = add("kiosk-01.contoso.local", merged_into=machines["kiosk"]["id"], last_seen=now - timedelta(days=2))
    machines["kiosk_duplicate"] = add("kiosk-01.contoso.local", potential_duplicate=True)
    simulator.add_file(SHA1, observed_on=[machines["finance"]["id"], machines["finance_old_os"]["id"]])
    return {role: machine["id"] for role, machine in machines.items()}


def write_inventory(directory, **options):
    path = directory / "defender.mde.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": "mde.response.machines"}, **options)), encoding="utf-8")
    return path


def machine_listings(simulator):
    """The query of every /api/machines call, parsed."""
    return [{name: values[0] for name, values in urllib.parse.parse_qs(entry["query"], keep_blank_values=True).items()}
            for entry in simulator.log_for(route="machines.list")]


def ansible_inventory(ansible, path, env, *arguments):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(path), "--list", *arguments]
    completed = subprocess.run(command, env=ansible.environment(**env), cwd=ansible.workdir, capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    # Values from the API are untrusted (never templated): the listing marks each such string.
    listing = json.loads(completed.stdout, object_hook=lambda entity: entity.get("__ansible_unsafe", entity))
    return listing, completed.stdout + completed.stderr


def group_hosts(listing, group):
    return sorted(listing.get(group, {}).get("hosts", []))


def test_ansible_inventory_lists_hosts_groups_and_variables_and_a_cached_rerun_calls_nothing(simulator, ansible, tmp_path):
    machine = fleet(simulator)
    secret = simulator.connection["client_secret"]
    password_file = tmp_path / "vault-password"
    password_file.write_text("inventory-vault-password\n", encoding="utf-8")
    vaulted = VaultLib([("default", VaultSecret(b"inventory-vault-password"))]).encrypt(secret).decode()
    path = write_inventory(
        tmp_path, client_id="{{ lookup('ansible.builtin.env', 'INVENTORY_CLIENT_ID') }}", cache=True,
        cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "inventory-cache"),
        keyed_groups=[{"key": "mde_risk_score | lower", "prefix": "risk"}], compose={"ansible_host": "mde_last_ip_address"},
        groups={"finance_laptops": "'finance' in mde_machine_tags and mde_os_platform == 'Windows11'"})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\nclient_secret: !vault |\n%s\n" % "\n".join("  " + line for line in vaulted.splitlines()))
    # The client id comes from a lookup and the secret from the vault: the variables the options fall back to are unset.
    env = {"AZURE_CLIENT_SECRET": None, "AZURE_CLIENT_ID": None, "INVENTORY_CLIENT_ID": simulator.connection["client_id"]}
    vault = ("--vault-password-file", str(password_file))

    listing, output = ansible_inventory(ansible, path, env, *vault)

    hostvars = listing["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted([
        "desktop-01.contoso.local", "desktop-02.contoso.local", "server-01.contoso.local", "ws-07.contoso.local",
        "kiosk-01.contoso.local", machine["lab_a"], machine["lab_b"], "printer-01.contoso.local", "build-01.contoso.local",
        "build-01.fabrikam.local"])
    finance = hostvars["desktop-01.contoso.local"]
    assert (finance["mde_id"], finance["mde_os_platform"], finance["mde_risk_score"], finance["mde_machine_tags"],
            finance["mde_rbac_group_name"]) == (machine["finance"], "Windows11", "High", ["finance"], "Finance Laptops")
    assert finance["ansible_host"] == finance["mde_last_ip_address"]
    assert hostvars["ws-07.contoso.local"]["mde_id"] == machine["reimaged"]
    assert hostvars["kiosk-01.contoso.local"]["mde_id"] == machine["kiosk"]
    assert group_hosts(listing, "mde_tag_finance") == ["desktop-01.contoso.local", "desktop-02.contoso.local"]
    assert group_hosts(listing, "finance_laptops") == ["desktop-01.contoso.local"]
    assert group_hosts(listing, "risk_high") == ["desktop-01.contoso.local"]
    assert group_hosts(listing, "mde_device_group_finance_laptops") == ["desktop-01.contoso.local"]
    assert group_hosts(listing, "mde_health_inactive") == ["desktop-02.contoso.local"]
    assert set(group_hosts(listing, "mde_os_linux")) == {"build-01.contoso.local", "build-01.fabrikam.local", machine["lab_b"]}
    # Every entry that did not get its name is named in a warning, with the reason.
    flat = " ".join(output.split())
    assert "2 Defender machines are named ws-07.contoso.local: ws-07.contoso.local is %s" % machine["reimaged"] in flat
    assert "skipped: %s (last seen" % machine["reimaged_old"] in flat
    assert "%s (merged into %s)" % (machine["kiosk_merged"], machine["kiosk"]) in flat
    assert "%s (a potential duplicate)" % machine["kiosk_duplicate"] in flat
    assert "no host is called lab-01.contoso.local, because each is live" in flat
    assert secret not in output
    [listed] = machine_listings(simulator)
    assert listed == {"$top": "10000", "$skip": "0"}
    calls = len(simulator.request_log)

    again, output_again = ansible_inventory(ansible, path, env, *vault)

    assert again == listing
    assert len(simulator.request_log) == calls, "a cached rerun sends nothing, not even a token request"
    assert "skipped: %s" % machine["reimaged_old"] in " ".join(output_again.split())


def test_a_play_over_a_group_acts_by_machine_id_and_short_names_resolve_or_are_refused(simulator, ansible, tmp_path):
    machine = fleet(simulator)
    play, sha1 = readme_play()
    simulator.add_file(sha1, observed_on=[machine["finance"], machine["finance_old_os"]])
    path = write_inventory(tmp_path)
    playbook = tmp_path / "group.yml"
    playbook.write_text(play + SHORT_NAMES_PLAY % sha1, encoding="utf-8")

    run = ansible.playbook(str(playbook), inventory=str(path))

    assert run.rc == 0, run.output
    group = run.result("Quarantine it on every host of the play at once")
    assert group["changed"] is True
    assert {entry["machine_id"]: entry["outcome"] for entry in group["actions"]} == {
        machine["finance"]: "created", machine["finance_old_os"]: "created"}
    assert sorted(entry["path"].split("/")[3] for entry in simulator.log_for(route=WRITE)) == sorted(
        [machine["finance"], machine["finance_old_os"]])
    short = run.result("Quarantine by short name")
    by_name = {entry["machine_name"]: entry for entry in short["actions"]}
    assert (by_name["server-01"]["machine_id"], by_name["server-01"]["outcome"]) == (machine["server"], "would_create")
    assert by_name["build-01"]["error"]["code"] == "AmbiguousMachineName"
    assert "build-01.contoso.local (%s), build-01.fabrikam.local (%s)" % (machine["build_contoso"], machine["build_fabrikam"]) in \
        by_name["build-01"]["error"]["message"]
    assert "'server-01' is a short name: using server-01.contoso.local (%s)" % machine["server"] in " ".join(run.output.split())
    # The inventory listed the fleet once; the group's task read its machines by id, in one filtered call (their OS
    # support and health), and resolved no name; the short names cost one filtered call.
    listings = [listed.get("$filter") for listed in machine_listings(simulator)]
    assert listings[1] == "id eq '%s' or id eq '%s'" % (machine["finance"], machine["finance_old_os"]) or \
        listings[1] == "id eq '%s' or id eq '%s'" % (machine["finance_old_os"], machine["finance"]), listings
    assert [listings[0]] + listings[2:] == [
        None, "startswith(computerDnsName,'server-01') or startswith(computerDnsName,'build-01')"]


# ---------------------------------------------------------------------------------------------------------------
# In process: the plugin's parse with a real InventoryData, against the HTTPS simulator


@functools.cache
def plugin_loader():
    """Ansible's collection finder, which can be set up once per process."""
    init_plugin_loader([TREE])
    # Other tests of this process may have imported the collection through sys.path (conftest.py) before the finder
    # existed: the package then lacks the routing metadata the finder gives it, without which no plugin of the
    # collection is found. meta/runtime.yml routes nothing an inventory plugin's look-up needs.
    package = sys.modules.get("ansible_collections.mde.response")
    if package is not None and getattr(package, "_collection_meta", None) is None:
        package._collection_meta = {}


@pytest.fixture(name="parse")
def fixture_parse(simulator, tmp_path, monkeypatch):
    for name, value in simulator.connection_environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    plugin_loader()

    def parse(**options):
        inventory = InventoryData()
        inventory_loader.get("mde.response.machines").parse(inventory, DataLoader(), str(write_inventory(tmp_path, **options)), cache=False)
        return inventory

    return parse


def hosts(inventory):
    return {name: host.vars.get("mde_id") for name, host in inventory.hosts.items()}


def test_filters_are_sent_as_one_filter_and_device_groups_applied_here(simulator, parse):
    machine = fleet(simulator)

    inventory = parse(health_status=["active"], os_platform=["Windows11", "WindowsServer2019"], onboarding_status=["Onboarded"],
                      risk_score=["High", "Low"], exposure_level=["High", "Low"], tags=["finance"], device_group_ids=[7],
                      last_seen_within="7d")
    assert hosts(inventory) == {"desktop-01.contoso.local": machine["finance"]}
    [listed] = machine_listings(simulator)
    assert listed["$filter"].startswith(
        "(healthStatus eq 'Active') and (osPlatform eq 'Windows11' or osPlatform eq 'WindowsServer2019')"
        " and (onboardingStatus eq 'Onboarded') and (riskScore eq 'High' or riskScore eq 'Low')"
        " and (exposureLevel eq 'High' or exposureLevel eq 'Low') and (machineTags/any(tag: tag eq 'finance'))"
        " and (rbacGroupId eq 7) and lastSeen gt ")

    simulator.reset()
    assert set(hosts(parse(device_groups=["servers", "FINANCE LAPTOPS"]))) == {"desktop-01.contoso.local", "server-01.contoso.local"}
    assert [listed.get("$filter") for listed in machine_listings(simulator)] == [None]


def test_a_fleet_beyond_the_servers_page_size_is_read_page_by_page(simulator, parse):
    fleet(simulator)
    simulator.configure(max_page_size=4)

    inventory = parse(hostnames=["short_name", "id"])

    assert {"desktop-01", "desktop-02", "server-01", "ws-07", "kiosk-01", "printer-01"} <= set(inventory.hosts)
    assert [(listed["$top"], listed["$skip"]) for listed in machine_listings(simulator)] == [
        ("10000", "0"), ("10000", "4"), ("10000", "8"), ("10000", "12")]


@pytest.mark.parametrize("empty_404", [True, False])
def test_an_empty_tenant_is_an_empty_inventory(simulator, parse, empty_404):
    simulator.configure(machines_empty_404=empty_404)

    assert parse().hosts == {}
    [listed] = machine_listings(simulator)
    assert listed["$skip"] == "0"


def test_duplicate_names_without_the_duplicate_fields(simulator, parse):
    machine = fleet(simulator)
    simulator.configure(machine_duplicate_fields=False)

    names = hosts(parse(duplicates="by_id"))

    # lastSeen alone still tells the re-imaged device's old entry; the kiosk's entries are all live without the fields.
    assert names["ws-07.contoso.local"] == machine["reimaged"]
    assert names[machine["reimaged_old"]] == machine["reimaged_old"]
    assert {machine["kiosk"], machine["kiosk_merged"], machine["kiosk_duplicate"]} <= set(names)
    assert "kiosk-01.contoso.local" not in names


def test_bad_options_are_refused_before_any_request(simulator, parse):
    for options, message in [({"health_status": ["Sleeping"]}, "health_status[0] must be one of Active"),
                             ({"last_seen_within": "a week"}, "last_seen_within must be a duration"),
                             ({"api_url": "http://127.0.0.1:1"}, "api_url must be an https URL")]:
        with pytest.raises(AnsibleParserError, match=r"mde\.response\.machines: %s" % message.replace("[", r"\[").replace("]", r"\]")):
            parse(**options)
    assert simulator.request_log == []

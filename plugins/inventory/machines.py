# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: machines
short_description: Microsoft Defender for Endpoint machines as an inventory
version_added: 0.1.0
description:
  - Every machine that Microsoft Defender for Endpoint lists (C(GET /api/machines)) becomes a host, with its Defender
    fields as host variables under the prefix C(mde_), for example C(mde_id), C(mde_computer_dns_name),
    C(mde_os_platform), C(mde_os_version), C(mde_health_status), C(mde_onboarding_status), C(mde_risk_score),
    C(mde_exposure_level), C(mde_machine_tags), C(mde_rbac_group_name), C(mde_last_seen) and C(mde_last_ip_address).
  - The inventory file's name must end in C(.mde.yml) or C(.mde.yaml).
  - The filters O(health_status), O(os_platform), O(onboarding_status), O(risk_score), O(exposure_level), O(tags),
    O(device_group_ids) and O(last_seen_within) are sent to the API in C($filter); O(device_groups) is applied to what the API lists, because
    the API filters device groups by id only.
  - Machines are read 10,000 at a time (the API's page size) with C($top) and C($skip); only their host variables
    are kept.
  - The host name is the first of O(hostnames) that a machine has. Several Defender entries with one name (a
    re-imaged or merged device) never collapse into one host silently; see O(duplicates) and O(live_within).
  - Connection options, their environment variables, the authentication methods, the token cache, the proxy and TLS
    trust are those of the collection's modules. Every option can be a template, for example a
    C(lookup) or a vaulted value, and the secrets never reach the inventory.
  - Needs the application permission C(Machine.Read.All) (or C(Machine.ReadWrite.All)).
extends_documentation_fragment:
  - mde.response.connection
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin, so that Ansible knows the file is for it.
    type: str
    required: true
    choices: [mde.response.machines]
  hostnames:
    description:
      - Which name each host gets, in order of preference; the first one the machine has is used.
      - V(computer_dns_name) is the machine's C(computerDnsName) (usually its FQDN), V(short_name) its first label
        (C(desktop-01) for C(desktop-01.contoso.local)), V(id) the Defender machine id.
    type: list
    elements: str
    choices: [computer_dns_name, short_name, id]
    default: [computer_dns_name, id]
  duplicates:
    description:
      - What becomes of the entries of a name that are not the device's current one, when several Defender entries
        share a name.
      - An entry is not current when Defender merged it into another (C(mergedIntoMachineId)), flags it as a
        potential duplicate (C(isPotentialDuplication)), it is not onboarded, or it was last seen more than
        O(live_within) before the newest entry of the name. The one current entry gets the name.
      - V(skip) leaves them out; V(by_id) adds them named by their machine id, with C(mde_duplicate_of) set to the
        current entry's id. Either way a warning names each of them and why.
      - When several entries of a name are current (two live devices), or none is, each is a host named by its
        machine id, with a warning.
    type: str
    choices: [skip, by_id]
    default: skip
  live_within:
    description:
      - An onboarded entry last seen more than this before the newest entry of the same name is an old entry of a
        re-imaged device (see O(duplicates)).
      - A duration such as V(12h) or V(7d), or a number of seconds.
    type: str
    default: 7d
  default_groups:
    description:
      - Whether to add each host to the groups C(mde_health_<healthStatus>), C(mde_os_<osPlatform>),
        C(mde_risk_<riskScore>), C(mde_device_group_<rbacGroupName>) and C(mde_tag_<tag>) for each tag, the values
        lower-cased with every character other than letters, digits and C(_) replaced by C(_)
        (C(mde_os_windows11), C(mde_tag_finance)).
    type: bool
    default: true
  health_status:
    description:
      - Only machines with one of these health statuses (C($filter) on C(healthStatus)).
      - Each one of V(Active), V(Inactive), V(ImpairedCommunication), V(NoSensorData),
        V(NoSensorDataImpairedCommunication), V(Unknown), in any case.
    type: list
    elements: str
  os_platform:
    description: Only machines of one of these OS platforms, as Defender spells them (V(Windows11), V(Linux), V(macOS)).
    type: list
    elements: str
  onboarding_status:
    description:
      - Only machines with one of these onboarding statuses (C($filter) on C(onboardingStatus)).
      - Each one of V(Onboarded), V(CanBeOnboarded), V(Unsupported), V(InsufficientInfo), in any case.
    type: list
    elements: str
  risk_score:
    description:
      - Only machines with one of these risk scores (C($filter) on C(riskScore)).
      - Each one of V(None), V(Informational), V(Low), V(Medium), V(High), in any case.
    type: list
    elements: str
  exposure_level:
    description:
      - Only machines with one of these exposure levels (C($filter) on C(exposureLevel)).
      - Each one of V(None), V(Low), V(Medium), V(High), in any case.
    type: list
    elements: str
  tags:
    description: Only machines that carry at least one of these tags (C($filter) on C(machineTags)).
    type: list
    elements: str
  last_seen_within:
    description:
      - Only machines last seen within this duration before now (C($filter) on C(lastSeen)), such as V(24h) or V(7d).
    type: str
  device_group_ids:
    description:
      - Only machines of one of these device groups, by id (C($filter) on C(rbacGroupId)).
    type: list
    elements: int
  device_groups:
    description:
      - Only machines of one of these device groups, by name (C(rbacGroupName)), ignoring case.
      - Applied to the machines the API lists, because the API filters device groups by id only (O(device_group_ids)).
    type: list
    elements: str
notes:
  - Duplicate entries are warned about on every run, from the cache too.
  - To act on the hosts of a play, pass their machine ids to one module task, for example O(mde.response.stop_and_quarantine_file#module:machine_ids)
    set to C({{ ansible_play_hosts | map('extract', hostvars, 'mde_id') | list }}) in a task with C(run_once=true),
    so that no name is looked up again.
"""

EXAMPLES = r"""
# defender.mde.yml: every onboarded Windows 11 machine tagged finance, grouped by risk score.
plugin: mde.response.machines
tenant_id: 00000000-0000-0000-0000-000000000000
client_id: 11111111-1111-1111-1111-111111111111
client_secret: "{{ lookup('ansible.builtin.env', 'MDE_INVENTORY_SECRET') }}"
onboarding_status: [Onboarded]
os_platform: [Windows11]
tags: [finance]
keyed_groups:
  - key: mde_risk_score | lower
    prefix: risk
compose:
  ansible_host: mde_last_ip_address

---
# defender.mde.yml: the credentials from the AZURE_* environment variables, short host names, cached for an hour.
plugin: mde.response.machines
hostnames: [short_name, id]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/mde.response/inventory
cache_timeout: 3600
"""

import os
from datetime import datetime, timezone

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.mde.response.plugins.module_utils._client.clock import clock_from_environment
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS, with_environment
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client, missing_libraries
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._inventory.machines import InventoryQuery, MachineInventory, read_inventory
from ansible_collections.mde.response.plugins.module_utils.errors import MdeError

FILE_ENDINGS = (".mde.yml", ".mde.yaml")
QUERY_OPTIONS = ("hostnames", "duplicates", "live_within", "default_groups", "health_status", "os_platform", "onboarding_status",
                 "risk_score", "exposure_level", "tags", "last_seen_within", "device_group_ids", "device_groups")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "mde.response.machines"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(FILE_ENDINGS)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            query = InventoryQuery.from_options({name: self._templated(name) for name in QUERY_OPTIONS}, datetime.now(timezone.utc))
            result = self._cached_or_read(path, query, cache)
        except MdeError as error:
            raise AnsibleParserError("mde.response.machines: %s" % error) from None
        for warning in result.warnings:
            self.display.warning(warning)
        self._populate(result)

    def _templated(self, name):
        value = self.get_option(name)
        # Vaulted values decrypt as text; templates (lookups included) render now, and only here.
        return self.templar.template(value) if isinstance(value, str) else value

    def _cached_or_read(self, path, query, cache):
        use_cache = self.get_option("cache")
        key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                return MachineInventory.from_cache(self._cache[key])
            except KeyError:
                pass
        result = self._read(query)
        if use_cache:
            self._cache[key] = result.to_cache()
        return result

    def _read(self, query):
        missing = missing_libraries()
        if missing:
            raise AnsibleParserError("mde.response.machines needs the Python libraries %s on the controller: install them with "
                                     "pip in the Python that runs Ansible" % ", ".join(name for name, _error in missing))
        given = {option.name: self._connection_value(option) for option in CONNECTION_OPTIONS}
        settings = ConnectionSettings.from_options(with_environment(given, os.environ))
        clock, clock_warning = clock_from_environment(os.environ)
        client = build_client(settings, clock)
        for warning in settings.warnings + ([clock_warning] if clock_warning else []):
            self.display.warning(warning)
        return read_inventory(client, query)

    def _connection_value(self, option):
        # The fragment's defaults would hide the options' environment variables: only a value set in the file counts.
        if self.get_option_and_origin(option.name)[1] == "default":
            return None
        value = self._templated(option.name)
        return str(value) if option.type in ("str", "path") and value is not None else value

    def _populate(self, result):
        strict = self.get_option("strict")
        for host in result.hosts:
            self.inventory.add_host(host.name)
            for group in host.groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, host.name)
            for name, value in host.variables.items():
                self.inventory.set_variable(host.name, name, value)
            self._set_composite_vars(self.get_option("compose"), host.variables, host.name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host.variables, host.name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host.variables, host.name, strict=strict)

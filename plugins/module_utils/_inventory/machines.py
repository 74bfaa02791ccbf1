# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Defender's machines as inventory hosts: the filters, the host names, duplicate entries and the default groups.

The listing is read one page at a time and each machine is cut down to its host variables at once, so that a fleet
of 100,000 machines costs the variables it keeps, not the API's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    EPOCH, HEALTH_STATUSES, RISK_SCORES, is_onboarded, last_seen)
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, any_of, odata_datetime, odata_string
from ansible_collections.mde.response.plugins.module_utils._model.validation import choice, each, parse_duration, text
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

VARIABLE_PREFIX = "mde_"
# The Machine fields kept as host variables (machine.md, and what real answers add); each becomes mde_<snake_case>.
HOST_FIELDS = (
    "id", "computerDnsName", "osPlatform", "osVersion", "version", "osBuild", "osArchitecture", "healthStatus",
    "onboardingStatus", "riskScore", "exposureLevel", "deviceValue", "machineTags", "rbacGroupId", "rbacGroupName",
    "firstSeen", "lastSeen", "lastIpAddress", "lastExternalIpAddress", "agentVersion", "defenderAvStatus", "isAadJoined",
    "aadDeviceId", "managedBy", "isPotentialDuplication", "mergedIntoMachineId",
)
HOSTNAME_SOURCES = ("computer_dns_name", "short_name", "id")
DEFAULT_HOSTNAMES = ("computer_dns_name", "id")
DUPLICATE_HANDLING = ("skip", "by_id")
DEFAULT_LIVE_WITHIN = "7d"
EXPOSURE_LEVELS = ("None", "Low", "Medium", "High")
ONBOARDING_STATUSES = ("Onboarded", "CanBeOnboarded", "Unsupported", "InsufficientInfo")
# One default group per value of these host variables, named mde_<group>_<value>.
DEFAULT_GROUP_FIELDS = (("health", "healthStatus"), ("os", "osPlatform"), ("risk", "riskScore"),
                        ("device_group", "rbacGroupName"), ("tag", "machineTags"))
_UNSAFE = re.compile(r"[^a-z0-9_]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def variable_name(field_name: str) -> str:
    """The host variable of a Machine field: ``computerDnsName`` is ``mde_computer_dns_name``."""
    return VARIABLE_PREFIX + _CAMEL.sub("_", field_name).lower()


# Computed once: a fleet of 100,000 machines would otherwise convert every field name of every machine.
_VARIABLES = tuple((field_name, variable_name(field_name)) for field_name in HOST_FIELDS)
_GROUP_VARIABLES = tuple((kind, variable_name(field_name)) for kind, field_name in DEFAULT_GROUP_FIELDS)


def group_name(kind: str, value: str) -> str:
    """A default group's name, safe as an Ansible group name: ``mde_os_windows11``, ``mde_tag_finance_laptops``."""
    return "%s%s_%s" % (VARIABLE_PREFIX, kind, _UNSAFE.sub("_", value.lower()))


def _enumerated(options: Mapping[str, Any], option: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The option's values in the API's spelling, whatever their case."""
    spelling = {value.lower(): value for value in allowed}
    return each(options, option, lambda value, name: spelling.get(str(value).lower()) or choice(value, name, allowed))


def _whole_numbers(options: Mapping[str, Any], option: str) -> tuple[int, ...]:
    values = options.get(option) or ()
    if not isinstance(values, (list, tuple)):
        raise InputError("%s must be a list" % option)
    for position, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError("%s[%d] must be a whole number (a device group id), got %r" % (option, position, value))
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class InventoryQuery:
    """Which machines become hosts, and how they are named; validated before any request."""

    now: datetime
    health_statuses: tuple[str, ...] = ()
    os_platforms: tuple[str, ...] = ()
    onboarding_statuses: tuple[str, ...] = ()
    risk_scores: tuple[str, ...] = ()
    exposure_levels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    last_seen_within: Optional[int] = None
    device_group_ids: tuple[int, ...] = ()
    # rbacGroupName cannot be filtered on by the API (only rbacGroupId), so device groups are matched here.
    device_groups: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = DEFAULT_HOSTNAMES
    duplicates: str = "skip"
    live_within: int = 7 * 86400
    default_groups: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any], now: datetime) -> InventoryQuery:
        """The inventory file's filter and naming options (others are ignored); raises InputError."""
        hostnames = each(options, "hostnames", lambda value, name: choice(value, name, HOSTNAME_SOURCES)) or DEFAULT_HOSTNAMES
        within = options.get("last_seen_within")
        default_groups = options.get("default_groups")
        if default_groups is not None and not isinstance(default_groups, bool):
            raise InputError("default_groups must be true or false, got %r" % (default_groups,))
        return cls(
            now=now,
            health_statuses=_enumerated(options, "health_status", HEALTH_STATUSES),
            os_platforms=each(options, "os_platform", text),
            onboarding_statuses=_enumerated(options, "onboarding_status", ONBOARDING_STATUSES),
            risk_scores=_enumerated(options, "risk_score", RISK_SCORES),
            exposure_levels=_enumerated(options, "exposure_level", EXPOSURE_LEVELS),
            tags=each(options, "tags", text),
            last_seen_within=None if within is None else parse_duration(within, "last_seen_within"),
            device_group_ids=_whole_numbers(options, "device_group_ids"),
            device_groups=each(options, "device_groups", text),
            hostnames=hostnames,
            duplicates=choice(options.get("duplicates") or "skip", "duplicates", DUPLICATE_HANDLING),
            live_within=parse_duration(options.get("live_within") or DEFAULT_LIVE_WITHIN, "live_within"),
            default_groups=True if default_groups is None else default_groups,
        )

    @property
    def odata_filter(self) -> Optional[str]:
        """The $filter of every filter the API applies itself: each option's values or-ed, the options and-ed."""
        clauses = [any_of(field_name, values) for field_name, values in (
            ("healthStatus", self.health_statuses), ("osPlatform", self.os_platforms),
            ("onboardingStatus", self.onboarding_statuses), ("riskScore", self.risk_scores),
            ("exposureLevel", self.exposure_levels)) if values]
        if self.tags:
            clauses.append("(%s)" % " or ".join("machineTags/any(tag: tag eq %s)" % odata_string(tag) for tag in self.tags))
        if self.device_group_ids:
            clauses.append("(%s)" % " or ".join("rbacGroupId eq %d" % group for group in self.device_group_ids))
        if self.last_seen_within is not None:
            clauses.append("lastSeen gt %s" % odata_datetime(self.now - timedelta(seconds=self.last_seen_within)))
        return all_of(clauses)

    def keeps(self, machine: Mapping[str, Any]) -> bool:
        """Whether a listed machine passes the filters applied here."""
        if self.device_groups:
            group = machine.get("rbacGroupName")
            return isinstance(group, str) and group.lower() in {wanted.lower() for wanted in self.device_groups}
        return True

    def host_name(self, machine: Mapping[str, Any]) -> str:
        """The first name of ``hostnames`` the machine has (its id in the end: every listed machine has one)."""
        dns_name = machine.get("computerDnsName") or ""
        names = {"computer_dns_name": dns_name, "short_name": dns_name.split(".")[0], "id": machine["id"]}
        return next((names[source] for source in self.hostnames if names[source]), machine["id"])


@dataclass
class InventoryHost:
    name: str
    variables: dict[str, Any]
    groups: list[str] = field(default_factory=list)


@dataclass
class MachineInventory:
    """The hosts, what the inventory has to say about them, and how many machines the API listed."""

    hosts: list[InventoryHost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    machines_listed: int = 0

    def to_cache(self) -> dict[str, Any]:
        return {"hosts": [[host.name, host.variables, host.groups] for host in self.hosts], "warnings": self.warnings,
                "machines_listed": self.machines_listed}

    @classmethod
    def from_cache(cls, data: Mapping[str, Any]) -> MachineInventory:
        return cls([InventoryHost(name, variables, groups) for name, variables, groups in data["hosts"]], list(data["warnings"]),
                   data["machines_listed"])


def host_variables(machine: Mapping[str, Any]) -> dict[str, Any]:
    """The machine's host variables: the fields of HOST_FIELDS it has a value for."""
    return {variable: machine[name] for name, variable in _VARIABLES if machine.get(name) is not None}


def read_inventory(client: Any, query: InventoryQuery) -> MachineInventory:
    """The inventory of the machines ``query`` selects, read with DefenderClient.machine_pages."""
    return build_inventory(client.machine_pages(query.odata_filter), query)


def build_inventory(pages: Iterable[list[dict[str, Any]]], query: InventoryQuery) -> MachineInventory:
    """Hosts from pages of Machine entities: one per machine, unless entries of one name are duplicates."""
    inventory = MachineInventory()
    by_name: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for page in pages:
        inventory.machines_listed += len(page)
        for machine in page:
            if isinstance(machine, dict) and machine.get("id") and query.keeps(machine):
                name = query.host_name(machine)
                by_name.setdefault(name.lower(), []).append((name, host_variables(machine)))
    for entries in by_name.values():
        hosts, warning = _name_entries(entries, query)
        for host in hosts:
            host.groups = _default_groups(host.variables) if query.default_groups else []
        inventory.hosts.extend(hosts)
        if warning:
            inventory.warnings.append(warning)
    return inventory


def _superseded_reason(variables: Mapping[str, Any]) -> Optional[str]:
    """Why Defender itself says an entry is not the device's current one, or None."""
    if variables.get("mde_merged_into_machine_id"):
        return "merged into %s" % variables["mde_merged_into_machine_id"]
    if variables.get("mde_is_potential_duplication") is True:
        return "a potential duplicate"
    if not is_onboarded({"onboardingStatus": variables.get("mde_onboarding_status")}):
        return "not onboarded (%s)" % variables.get("mde_onboarding_status")
    return None


def _seen(variables: Mapping[str, Any]) -> datetime:
    return last_seen({"lastSeen": variables.get("mde_last_seen")}) or EPOCH


def _name_entries(entries: list[tuple[str, dict[str, Any]]], query: InventoryQuery) -> tuple[list[InventoryHost], Optional[str]]:
    """The hosts of the entries that share one name, and the warning that says what became of each."""
    if len(entries) == 1:
        name, variables = entries[0]
        return [InventoryHost(name, variables)], None
    names = {variables["mde_id"]: entry_name for entry_name, variables in entries}
    name = entries[0][0]
    reasons = {variables["mde_id"]: _superseded_reason(variables) for _name, variables in entries}
    candidates = [variables for _name, variables in entries if reasons[variables["mde_id"]] is None]
    if candidates:
        # A re-imaged device leaves its old entry onboarded, but it stops being seen: seen long before the newest
        # entry of the name, it is the old device.
        newest = max(_seen(variables) for variables in candidates)
        for variables in candidates:
            if newest - _seen(variables) > timedelta(seconds=query.live_within):
                reasons[variables["mde_id"]] = "last seen %s, more than %s before the newest entry" % (
                    variables.get("mde_last_seen"), _duration_text(query.live_within))
    live = [variables for _name, variables in entries if reasons[variables["mde_id"]] is None]
    others = [variables for _name, variables in entries if reasons[variables["mde_id"]] is not None]
    hosts = []
    if len(live) == 1:
        live_name = names[live[0]["mde_id"]]
        hosts.append(InventoryHost(live_name, live[0]))
        kept = "%s is %s (onboarded, last seen %s)" % (live_name, live[0]["mde_id"], live[0].get("mde_last_seen"))
    else:
        # Two devices that are both alive, or none Defender calls current: any choice of one would be a guess.
        unresolved = live or others
        hosts.extend(InventoryHost(variables["mde_id"], variables) for variables in unresolved)
        why = "each is live" if live else "Defender calls none of them current"
        ids = ", ".join(sorted(variables["mde_id"] for variables in unresolved))
        kept = ("no host is called %s, because %s: %s %s in the inventory by machine id (target them by id, or set hostnames "
                "to pick another name)" % (name, why, ids, "are" if len(unresolved) > 1 else "is"))
        if not live:
            others = []
    count = len(entries)
    if not others:
        return hosts, "%d Defender machines are named %s: %s" % (count, name, kept)
    listed = ", ".join("%s (%s)" % (variables["mde_id"], reasons[variables["mde_id"]]) for variables in others)
    if query.duplicates == "by_id":
        live_id = live[0]["mde_id"] if len(live) == 1 else None
        for variables in others:
            if live_id:
                variables["mde_duplicate_of"] = live_id
            hosts.append(InventoryHost(variables["mde_id"], variables))
        fate = "named by machine id: %s" % listed
    else:
        fate = "skipped: %s (set duplicates: by_id to list them by machine id)" % listed
    return hosts, "%d Defender machines are named %s: %s; the others are %s" % (count, name, kept, fate)


def _duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def _default_groups(variables: Mapping[str, Any]) -> list[str]:
    groups = []
    for kind, variable in _GROUP_VARIABLES:
        value = variables.get(variable)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                groups.append(group_name(kind, item))
    return groups

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The read-only look-ups of the info modules: typed options turned into OData $filter expressions, and run.

No option value ever reaches a $filter as the text the user wrote: strings are quoted with ``odata_string``,
numbers and datetimes are rendered from parsed values, and enumerations are checked against the documented
values. So an option can narrow a query, never change its logic. Everything is validated (``from_options``)
before the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import (
    ACTION_STATUSES,
    ACTION_TYPES,
    HEALTH_STATUSES,
    RISK_SCORES,
    group_by,
    lower_field,
    newest_first,
    related_file,
    same_id,
    unique_by_id,
)
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._model.odata import (
    all_of,
    any_of,
    equals,
    list_where_any,
    name_spellings,
    odata_datetime,
)
from ansible_collections.mde.response.plugins.module_utils._model.validation import (
    choice,
    each,
    given,
    machine_action_id,
    machine_id,
    moment,
    sha1,
    text,
)


class _TypedFilters:
    """The part of a query the API filters on: ``clauses``, the typed options' $filter clauses, all of which hold."""

    clauses = ()

    @property
    def odata_filter(self):
        return all_of(self.clauses)


# ---------------------------------------------------------------------------------------------------------------
# Machines


@dataclass(frozen=True)
class MachineQuery(_TypedFilters):
    """Which machines machine_info returns: the selected ones (or all) that match every typed filter."""

    machine_ids: tuple = ()
    machine_names: tuple = ()
    observed_sha1: Optional[str] = None
    # $filter clauses of the typed options, already rendered; all must hold.
    clauses: tuple = ()

    @classmethod
    def from_options(cls, options, now):
        """Validate machine_info's option values (others are ignored); raises InputError before any request."""
        clauses = []
        if given(options, "tag"):
            clauses.append("machineTags/any(tag: %s)" % equals("tag", text(options["tag"], "tag")))
        if given(options, "health_status"):
            clauses.append(equals("healthStatus", choice(options["health_status"], "health_status", HEALTH_STATUSES)))
        if given(options, "os_platform"):
            clauses.append(equals("osPlatform", text(options["os_platform"], "os_platform")))
        if given(options, "risk_score"):
            clauses.append(equals("riskScore", choice(options["risk_score"], "risk_score", RISK_SCORES)))
        if given(options, "rbac_group_id"):
            group = options["rbac_group_id"]
            if isinstance(group, bool) or not isinstance(group, int):
                raise InputError("rbac_group_id must be a whole number, got %r" % (group,))
            clauses.append("rbacGroupId eq %d" % group)
        if given(options, "last_seen_after"):
            clauses.append("lastSeen gt %s" % odata_datetime(moment(options["last_seen_after"], "last_seen_after", now)))
        return cls(
            machine_ids=each(options, "machine_ids", machine_id),
            machine_names=each(options, "machine_names", text),
            observed_sha1=sha1(options["observed_sha1"], "observed_sha1") if given(options, "observed_sha1") else None,
            clauses=tuple(clauses),
        )

    @property
    def selects(self):
        """Whether ids, names or a file pick the machines (otherwise every machine that matches the filter)."""
        return bool(self.machine_ids or self.machine_names or self.observed_sha1)


def find_machines(client, query):
    """The Machine entities ``query`` describes: by id, then by name, then those that observed the file; no repeats.

    A name can match several entries (re-imaged devices keep their old ones): all of them are returned.
    """
    if not query.selects:
        return client.list_machines(query.odata_filter)
    found = _machines_where(client, "id", query.machine_ids, query.odata_filter)
    found += _machines_where(client, "computerDnsName", query.machine_names, query.odata_filter, name_spellings(query.machine_names))
    if query.observed_sha1:
        observed = client.list_file_machines(query.observed_sha1)
        if query.clauses:
            # The file's machines cannot be filtered (undocumented), so the filter is applied by reading them again.
            observed = _machines_where(client, "id", [machine.get("id") for machine in observed if machine.get("id")], query.odata_filter)
        found += observed
    return unique_by_id(found)


def unmatched_selections(query, machines):
    """Warnings for the ids and names of ``query`` that no returned machine has, each saying what to check."""
    found = {field_name: {lower_field(machine, field_name) for machine in machines} for field_name in ("id", "computerDnsName")}
    narrowed = " or none of them matches the other options given (%s)" % query.odata_filter if query.clauses else ""
    warnings = []
    unknown_ids = [value for value in query.machine_ids if value.lower() not in found["id"]]
    if unknown_ids:
        warnings.append(
            "machine_ids: no Defender machine has the ID %s%s. Check the IDs (the id field of the machine in Defender, not its"
            " Entra device ID aadDeviceId), and that the machine was seen within the tenant's data retention period."
            % (", ".join(unknown_ids), narrowed))
    unknown_names = [value for value in query.machine_names if value.lower() not in found["computerDnsName"]]
    if unknown_names:
        warnings.append(
            "machine_names: no Defender machine is named %s%s. Names are compared, ignoring case, with the whole of Defender's"
            " computerDnsName, usually the fully qualified name (ws-0042.contoso.local, not ws-0042; there is no prefix"
            " search): check the spelling, and that the device is onboarded to Defender for Endpoint and was seen within"
            " the tenant's data retention period." % (", ".join("'%s'" % name for name in unknown_names), narrowed))
    return warnings


def _machines_where(client, field_name, values, odata_filter, literals=None):
    """Machines whose ``field_name`` is one of ``values`` (compared ignoring case), in the order of ``values``."""
    if not values:
        return []
    by_value = group_by(list_where_any(client.list_machines, field_name, literals or values, odata_filter), field_name)
    return [machine for value in values for machine in by_value.pop(value.lower(), [])]


# ---------------------------------------------------------------------------------------------------------------
# Machine actions


@dataclass(frozen=True)
class MachineActionQuery(_TypedFilters):
    """Which machine actions machine_action_info returns: those that match every option given."""

    action_ids: tuple = ()
    machine_ids: tuple = ()
    # Matched here: relatedFileInfo cannot be filtered on by the API.
    sha1: Optional[str] = None
    clauses: tuple = ()

    @classmethod
    def from_options(cls, options, now):
        """Validate machine_action_info's option values (others are ignored); raises InputError before any request."""
        clauses = []
        if given(options, "type"):
            clauses.append(equals("type", choice(options["type"], "type", ACTION_TYPES)))
        statuses = each(options, "status", lambda value, option: choice(value, option, ACTION_STATUSES))
        if statuses:
            clauses.append(any_of("status", statuses))
        if given(options, "requestor"):
            clauses.append(equals("requestor", text(options["requestor"], "requestor")))
        if given(options, "created_after"):
            clauses.append("creationDateTimeUtc gt %s" % odata_datetime(moment(options["created_after"], "created_after", now)))
        return cls(
            action_ids=each(options, "action_ids", machine_action_id),
            machine_ids=each(options, "machine_ids", machine_id),
            sha1=sha1(options["sha1"]) if given(options, "sha1") else None,
            clauses=tuple(clauses),
        )

    def matches(self, action):
        """Whether an action the API returned is one the query asked for (the parts the API did not filter)."""
        if self.action_ids and lower_field(action, "id") not in self.action_ids:
            return False
        if self.machine_ids and lower_field(action, "machineId") not in self.machine_ids:
            return False
        return self.sha1 is None or same_id(related_file(action), self.sha1)


def find_machine_actions(client, query):
    """The MachineAction entities ``query`` describes, newest first."""
    # Only one list of ids goes into the $filter, so that its batches stay small; the other is matched here.
    if query.action_ids:
        actions = list_where_any(client.list_machine_actions, "id", query.action_ids, query.odata_filter)
    elif query.machine_ids:
        actions = list_where_any(client.list_machine_actions, "machineId", query.machine_ids, query.odata_filter)
    else:
        actions = client.list_machine_actions(query.odata_filter)
    return newest_first(action for action in unique_by_id(actions) if query.matches(action))

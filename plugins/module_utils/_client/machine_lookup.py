# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding the machines a task names: by id or by computerDnsName, with as few machine listings as it takes."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient, Entity
from ansible_collections.mde.response.plugins.module_utils._model.entities import EPOCH, group_by, id_key, is_onboarded, last_seen
from ansible_collections.mde.response.plugins.module_utils._model.odata import list_where_any, name_or_prefix, name_spellings
from ansible_collections.mde.response.plugins.module_utils.errors import error_entry


def machines_by_name(client: DefenderClient, names: Iterable[str]) -> dict[str, list[Entity]]:
    """Defender's machine entries with an id for each lower-cased name asked for: those whose computerDnsName it is,
    else, for a name without a dot, those whose short name (first label) it is."""
    names = list(names)
    # The filter is a bare or-chain of names: nothing else narrows this look-up. A name without a dot is looked up
    # with startswith, so that the same calls find the short names inventories from elsewhere use.
    machines = list_where_any(client.list_machines, "computerDnsName", name_spellings(names), grouped=False, clause=name_or_prefix)
    by_name = group_by((machine for machine in machines if id_key(machine)), "computerDnsName")
    found: dict[str, list[Entity]] = {}
    for wanted in {name.lower() for name in names}:
        found[wanted] = by_name.get(wanted) or [
            machine for full_name, entries in by_name.items() if "." not in wanted and full_name.split(".")[0] == wanted
            for machine in entries]
    return found


def machines_by_id(client: DefenderClient, machine_ids: Iterable[str]) -> dict[str, Entity]:
    """The Machine entities of the (lower-case) ids asked for that Defender has, by lower-cased id."""
    machine_ids = list(machine_ids)
    wanted = set(machine_ids)

    def until_all_found(odata_filter: Optional[str] = None) -> list[Entity]:
        # Too many ids for a filter means a listing of the whole fleet: it stops at the page that brings the last of
        # them, since the pages after it hold only machines nobody asked for (for 10,000 ids, at least the empty page
        # that tells a full page was the last).
        listed: list[Entity] = []
        missing = set(wanted)
        for page in client.machine_pages(odata_filter):
            listed.extend(page)
            missing.difference_update(id_key(machine) for machine in page)
            if not missing:
                break
        return listed

    machines = list_where_any(until_all_found, "id", machine_ids, grouped=False) if machine_ids else []
    return {id_key(machine): machine for machine in machines if id_key(machine) in wanted}


def choose_machine(name: str, machines: list[Entity], warn: Callable[[str], None]) -> tuple[Optional[Entity], Optional[dict]]:
    """(machine entity to act on for ``name``, None), or (None, the error explaining why there is none)."""
    if not machines:
        return None, error_entry(
            "MachineNotFound", "no Defender machine is named %r (the name must be its computerDnsName, usually the FQDN, or "
                               "the short name of exactly one machine)" % name)
    full_names = sorted({machine["computerDnsName"].lower() for machine in machines})
    if full_names != [name.lower()]:
        return _by_short_name(name, machines, full_names, warn)
    if len(machines) == 1:
        return machines[0], None
    ids = ", ".join(sorted(machine["id"] for machine in machines))
    onboarded = [machine for machine in machines if is_onboarded(machine)]
    if not onboarded:
        return None, error_entry(
            "AmbiguousMachineName",
            "%d Defender machines are named %r (%s) and none of them is onboarded; give the machine id instead"
            % (len(machines), name, ids),
        )
    # A re-imaged device leaves its old entry behind; the one seen last is the device that exists now.
    chosen = max(onboarded, key=lambda machine: last_seen(machine) or EPOCH)
    ignored = ", ".join(sorted(machine["id"] for machine in machines if machine is not chosen))
    warn(
        "%d Defender machines are named %r: using %s (onboarded, last seen %s), ignoring %s"
        % (len(machines), name, chosen["id"], chosen.get("lastSeen"), ignored)
    )
    return chosen, None


def _by_short_name(name: str, machines: list[Entity], full_names: list[str],
                   warn: Callable[[str], None]) -> tuple[Optional[Entity], Optional[dict]]:
    """The machine a short name means: the one onboarded device with that first label, or an error naming them all."""
    live_names = sorted({machine["computerDnsName"].lower() for machine in machines if is_onboarded(machine)})
    if len(live_names) != 1:
        candidates = ", ".join("%s (%s)" % (machine["computerDnsName"], machine["id"])
                               for machine in sorted(machines, key=lambda machine: machine["computerDnsName"].lower()))
        return None, error_entry(
            "AmbiguousMachineName",
            "%r is the short name of %d Defender machines (%s) and %s; give the full name (computerDnsName) or the machine id"
            % (name, len(full_names), candidates, "%d of them are onboarded" % len(live_names) if live_names else "none of them is onboarded"),
        )
    chosen, error = choose_machine(live_names[0], [machine for machine in machines if machine["computerDnsName"].lower() == live_names[0]],
                                   warn)
    if chosen is not None:
        only = ", the only onboarded machine of %d with that short name" % len(full_names) if len(full_names) > 1 else ""
        warn("%r is a short name: using %s (%s)%s; give the full name to name it exactly" % (
            name, chosen["computerDnsName"], chosen["id"], only))
    return chosen, error

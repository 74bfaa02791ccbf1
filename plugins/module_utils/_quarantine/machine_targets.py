# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machines a QuarantineRequest targets: ids as given, names looked up, and the machines that saw the file."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._quarantine.action_results import MachineResult, Outcome, error_entry
from ansible_collections.mde.response.plugins.module_utils._model.entities import EPOCH, group_by, id_key, is_onboarded, last_seen, value_of
from ansible_collections.mde.response.plugins.module_utils._model.odata import list_where_any, name_spellings


def resolve_targets(client, request, warnings):
    """One result per distinct machine, in input order: ids, then names, then machines that saw the file.

    Each result keeps the Machine entity it was found with (machines given by id are read for it), so that whether
    the machine can run the action, and whether it is offline, is known before anything is sent. An id that no
    listed machine has keeps no entity: the write then says what the API knows of it.
    A name that matches no machine, or only machines that are not onboarded, gets a failed result here.
    """
    results = []
    by_id = {}

    def add(machine_id, name, machine=None):
        machine_id = machine_id.lower()
        if machine_id not in by_id:
            by_id[machine_id] = MachineResult(machine_id)
            results.append(by_id[machine_id])
        if by_id[machine_id].machine_name is None:
            by_id[machine_id].machine_name = name or value_of(machine, "computerDnsName")
        if by_id[machine_id].machine is None:
            by_id[machine_id].machine = machine

    given = {id_key(machine): machine for machine in _machines_by_id(client, request.machine_ids)}
    for machine_id in request.machine_ids:
        add(machine_id, None, given.get(machine_id.lower()))
    if request.machine_names:
        candidates = machines_by_name(client, request.machine_names)
        for name in request.machine_names:
            machine, error = choose_machine(name, candidates.get(name.lower(), []), warnings)
            if error is None:
                add(machine["id"], name, machine)
            else:
                results.append(MachineResult(None, name, Outcome.FAILED, error=error))
    if request.observed:
        observed = client.list_file_machines(request.sha1)
        for machine in observed:
            add(machine["id"], machine.get("computerDnsName"), machine)
        if not observed:
            warnings.add("Defender relates no machine to file %s (observed: true added no target)" % request.sha1)
    return results


def _machines_by_id(client, machine_ids):
    """The Machine entities of the given ids that Defender lists."""
    if not machine_ids:
        return []
    wanted = list(dict.fromkeys(machine_id.lower() for machine_id in machine_ids))
    return [machine for machine in list_where_any(client.list_machines, "id", wanted, grouped=False) if id_key(machine)]


def machines_by_name(client, names):
    """Defender's machine entries with an id, by lower-cased computerDnsName, for the names asked for only."""
    # The filter is a bare or-chain of names: nothing else narrows this look-up.
    machines = list_where_any(client.list_machines, "computerDnsName", name_spellings(names), grouped=False)
    wanted = {name.lower() for name in names}
    by_name = group_by((machine for machine in machines if id_key(machine)), "computerDnsName")
    return {name: entries for name, entries in by_name.items() if name in wanted}


def choose_machine(name, machines, warnings):
    """(machine entity to act on for ``name``, None), or (None, the error explaining why there is none)."""
    if not machines:
        return None, error_entry(
            "MachineNotFound", "no Defender machine is named %r (the name must be its computerDnsName, usually the FQDN)" % name)
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
    warnings.add(
        "%d Defender machines are named %r: using %s (onboarded, last seen %s), ignoring %s"
        % (len(machines), name, chosen["id"], chosen.get("lastSeen"), ignored)
    )
    return chosen, None

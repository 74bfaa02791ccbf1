# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machines a request targets: ids as given, names looked up, and the machines that saw a file."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._client.machine_lookup import choose_machine, machines_by_id, machines_by_name
from ansible_collections.mde.response.plugins.module_utils._actions.action_results import MachineResult, Outcome
from ansible_collections.mde.response.plugins.module_utils._model.entities import value_of


def resolve_targets(client, targets, warnings):
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

    given = machines_by_id(client, list(dict.fromkeys(machine_id.lower() for machine_id in targets.machine_ids)))
    for machine_id in targets.machine_ids:
        add(machine_id, None, given.get(machine_id.lower()))
    if targets.machine_names:
        candidates = machines_by_name(client, targets.machine_names)
        for name in targets.machine_names:
            machine, error = choose_machine(name, candidates.get(name.lower(), []), warnings.add)
            if machine is None:
                results.append(MachineResult(None, name, Outcome.FAILED, error=error))
            else:
                add(machine["id"], name, machine)
    if targets.observed_sha1 is not None:
        observed = client.list_file_machines(targets.observed_sha1)
        for machine in observed:
            add(machine["id"], machine.get("computerDnsName"), machine)
        if not observed:
            warnings.add("Defender relates no machine to file %s (observed: true added no target)" % targets.observed_sha1)
    return results

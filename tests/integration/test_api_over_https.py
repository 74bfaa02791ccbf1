# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DefenderClient and the engine against the simulator over real HTTPS: the queries they build are ones a
strict OData service accepts, and the answers they get are read as the reference notes describe them."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.api import MAX_LIST_CALLS, DefenderClient
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError
from ansible_collections.mde.response.plugins.module_utils._model.odata import odata_string
from ansible_collections.mde.response.plugins.module_utils._quarantine.engine import StopAndQuarantineEngine
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._client.auth import build_token_provider
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session
from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport
from tests.simulator import Simulator

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
# Simulated seconds per real second, for both sides, so that waiting for actions takes a fraction of a second.
SPEED = 100.0


@pytest.fixture(name="simulator")
def fixture_simulator(tmp_path):
    with Simulator(state_dir=tmp_path / "simulator") as running:
        running.configure(clock_speed=SPEED)
        yield running


@pytest.fixture(name="clock")
def fixture_clock():
    return SystemClock(scale=SPEED)


@pytest.fixture(name="client")
def fixture_client(simulator, clock):
    settings = ConnectionSettings.from_options(dict(simulator.connection, token_cache=False, timeout=10), environ={})
    session = build_session(settings)
    yield DefenderClient(HttpTransport(settings, build_token_provider(settings, session), session, clock=clock))
    session.close()


def quarantine(client, clock, check_mode=False, **options):
    options.setdefault("sha1", SHA1)
    options.setdefault("comment", "INC-4711")
    return StopAndQuarantineEngine(client, clock).run(QuarantineRequest.from_options(options), check_mode=check_mode)


def writes(simulator):
    return simulator.log_for(method="POST", route="machines.StopAndQuarantineFile")


def test_a_quoted_hostile_name_is_accepted_and_matches_only_itself(simulator, client):
    hostile = "x' or machineId ne 'y"
    simulator.seed_fleet(3)
    target = simulator.add_machine(hostile)
    found = client.list_machines("computerDnsName eq %s" % odata_string(hostile))
    assert [machine["id"] for machine in found] == [target["id"]]


def test_listing_pages_with_top_and_skip(simulator, client):
    fleet = simulator.seed_fleet(5)
    machines = client.list_machines(page_size=2)
    assert sorted(machine["id"] for machine in machines) == sorted(machine["id"] for machine in fleet)
    assert len(simulator.log_for(route="machines.list")) == 3


def test_no_machines_is_an_empty_list(client):
    assert client.list_machines() == []


def test_run_then_rerun_over_https(simulator, client, clock):
    fleet = simulator.seed_fleet(3, observed_sha1=SHA1)
    names = [machine["computerDnsName"] for machine in fleet]
    first = quarantine(client, clock, machine_names=names)
    assert first.summary["created"] == 3 and first.changed is True
    assert {entry["action"]["relatedFileInfo"]["fileIdentifier"] for entry in first.actions} == {SHA1}
    rerun = quarantine(client, clock, machine_names=names)
    assert rerun.summary["existing"] == 3 and rerun.changed is False
    assert len(writes(simulator)) == 3


def test_a_file_the_machine_never_saw_is_not_present(simulator, client, clock):
    machine = simulator.add_machine("ws-clean.contoso.local")
    result = quarantine(client, clock, machine_ids=[machine["id"]])
    assert result.actions[0]["outcome"] == "not_present"


@pytest.mark.parametrize("variant", ["active_request_exists", "already_in_progress", "return_existing"])
def test_duplicate_answers_are_existing(simulator, client, clock, variant):
    simulator.configure(duplicate_response=variant)
    machine = simulator.add_machine("ws-1.contoso.local", observed_files=(SHA1,))
    pending = simulator.add_machine_action(machine["id"], SHA1, status="Pending")
    result = quarantine(client, clock, machine_ids=[machine["id"]], force=True)
    assert (result.actions[0]["outcome"], result.actions[0]["action_id"]) == ("existing", pending["id"])
    assert len(simulator.actions()) == 1


def test_wait_follows_actions_to_their_final_status(simulator, client, clock):
    fleet = simulator.seed_fleet(2, observed_sha1=SHA1)
    result = quarantine(client, clock, machine_ids=[machine["id"] for machine in fleet], wait=True, wait_timeout=120)
    assert [(entry["outcome"], entry["status"]) for entry in result.actions] == [("created", "Succeeded")] * 2


def test_cancel_is_confirmed_by_reading_back(simulator, client, clock):
    machine = simulator.add_machine("ws-offline.contoso.local", observed_files=(SHA1,), quarantine_outcome="Pending")
    quarantine(client, clock, machine_ids=[machine["id"]])
    result = quarantine(client, clock, machine_ids=[machine["id"]], state="cancelled")
    assert (result.actions[0]["outcome"], result.actions[0]["status"]) == ("cancelled", "Cancelled")


def test_an_odata_error_names_status_and_message(client):
    # The real service answers an invalid query with an empty code (docs/api-fidelity.md); the message must still
    # say which call failed and why.
    with pytest.raises(ApiError) as raised:
        client.list_machine_actions("sha1 eq '%s'" % SHA1)
    assert (raised.value.code, raised.value.http_status) == ("", 400)
    assert str(raised.value) == ("GET machineactions.list: HTTP 400: The query specified in the URI is not valid. "
                                 "Could not find a property named 'sha1' on type 'MachineAction'.")


# After this many calls of a route the simulator refuses it: a client that would read a listing forever fails instead
# of hanging the test.
TRIPWIRE_CALLS = 30


def trip_after(simulator, route, calls=TRIPWIRE_CALLS):
    simulator.faults.add(route, "status", status=400, start=calls)


@pytest.mark.parametrize("next_link", ["always", "server_paging"])
def test_a_server_that_ignores_skip_is_read_until_a_page_brings_nothing_new(simulator, client, clock, next_link):
    """Pages of 3 that always start from the first entity, with a next link: the name look-up and the existing-action
    read each stop at their second page with a warning, and the run goes on with what they read."""
    simulator.configure(max_page_size=3, ignore_skip=True, next_link=next_link)
    fleet = simulator.seed_fleet(7, observed_sha1=SHA1)
    # Only the first page's three machines are found; their six actions take two pages.
    for machine in fleet[:3]:
        for status in ("Pending", "InProgress"):
            simulator.add_machine_action(machine["id"], SHA1, status=status)
    for route in ("machines.list", "machineactions.list"):
        trip_after(simulator, route)

    result = quarantine(client, clock, machine_names=[machine["computerDnsName"] for machine in fleet])

    assert len(simulator.log_for(route="machines.list")) == 2
    # Two pages of the existing-action read, then the look-up of the action that the POST to the third machine, which
    # that read missed, was refused for (two actions: one short page).
    action_lists = simulator.log_for(route="machineactions.list")
    assert ["$skip=3" in entry["query"] for entry in action_lists] == [False, True, False]
    assert len(writes(simulator)) == 1
    assert len(client.warnings) == 2, client.warnings
    assert client.warnings[0].startswith("GET /api/machines: page 2 ($skip=3) held only entities the earlier pages had")
    assert client.warnings[1].startswith("GET /api/machineactions: page 2 ($skip=3) held only entities the earlier pages had")
    assert result.summary["failed"] == 4 and result.summary["existing"] == 3


def test_without_a_next_link_a_full_page_repeated_ends_the_listing_too(simulator, client):
    simulator.configure(max_page_size=3, ignore_skip=True, next_link="never")
    simulator.seed_fleet(7)
    trip_after(simulator, "machines.list")

    machines = client.list_machines(page_size=3)

    assert len(machines) == 3 and len(simulator.log_for(route="machines.list")) == 2
    assert client.warnings == ["GET /api/machines: page 2 ($skip=3) held only entities the earlier pages had, as if the server ignored"
                               " $skip, so the listing stopped there with 3; there may be more: give the task fewer machines or a"
                               " narrower filter, so that the first page holds the whole answer"]


def test_every_listing_has_a_bound_on_its_calls(simulator, client):
    simulator.configure(rate_limits_enabled=False)
    simulator.seed_fleet(MAX_LIST_CALLS + 5)

    machines = client.list_machines(page_size=1)

    assert len(machines) == MAX_LIST_CALLS and len(simulator.log_for(route="machines.list")) == MAX_LIST_CALLS
    assert client.warnings == ["GET /api/machines: the listing stopped after %d pages (%d entities), the most one listing reads;"
                               " there may be more: give the task fewer machines or a narrower filter" % (MAX_LIST_CALLS, MAX_LIST_CALLS)]

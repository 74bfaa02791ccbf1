"""machine_tags in the tests: an app that may tag, its client built as the modules build theirs, and the simulator's
log of bulk tag calls."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._tags.converge import converge_tags
from ansible_collections.mde.response.plugins.module_utils._tags.request import TagRequest
from tests.simulator.config import AppRegistration

# The environment a playbook run needs to log in as the tagging app.
TAGGER = {"AZURE_CLIENT_ID": "0a1b2c3d-0000-4000-8000-0000000000a2", "AZURE_CLIENT_SECRET": "tagger-app-secret"}
TAG_ROLES = ("Machine.Read.All", "Machine.ReadWrite.All")
BULK = "machines.AddOrRemoveTagForMultipleMachines"


def register_tagger(simulator, roles=TAG_ROLES):
    simulator.register_app(AppRegistration(TAGGER["AZURE_CLIENT_ID"], secret=TAGGER["AZURE_CLIENT_SECRET"], roles=roles))


def tag_client(simulator, roles=TAG_ROLES):
    """A DefenderClient of the tagging app with ``roles``, over HTTPS to the simulator."""
    register_tagger(simulator, roles)
    options = dict(simulator.connection, client_id=TAGGER["AZURE_CLIENT_ID"], client_secret=TAGGER["AZURE_CLIENT_SECRET"],
                   token_cache=False, timeout=10)
    return build_client(ConnectionSettings.from_options(options, environ={}), SystemClock())


def converge(client, check_mode=False, **options):
    return converge_tags(client, TagRequest.from_options(options), check_mode=check_mode)


def tag_writes(simulator):
    """(action, tag, sorted machine ids, status) of every bulk tag call, in order."""
    return [(entry["body"]["Action"], entry["body"]["Value"], sorted(entry["body"]["MachineIds"]), entry["status"])
            for entry in simulator.log_for(route=BULK)]


def tags_of(simulator):
    return {machine["id"]: machine["machineTags"] for machine in simulator.machines()}

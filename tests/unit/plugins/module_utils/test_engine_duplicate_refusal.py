"""The engine on a 400 "already in progress" whose action the pre-check's lagging list hid: the action it finds then
decides, so an opposite action in flight fails the machine as a crossing instead of passing for the request's own."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.mde.response.plugins.module_utils._actions.engine import CROSSING_CODE, MachineActionEngine
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Targets
from ansible_collections.mde.response.plugins.module_utils._containment.containment import ISOLATION
from ansible_collections.mde.response.plugins.module_utils._containment.request import DesiredState
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

MACHINE = {"id": "b" * 40, "computerDnsName": "ws-2.contoso.local", "osPlatform": "Windows11", "onboardingStatus": "Onboarded"}
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)


class FixedClock:
    def now(self):
        return NOW

    def monotonic(self):
        return 0.0

    def sleep(self, seconds):
        raise AssertionError("nothing should wait, asked to sleep %s s" % seconds)


# Yesterday's isolation, which the pre-check's listing shows: the machine is isolated, so a release needs a write.
ISOLATED = {"id": "isolate-0", "type": "Isolate", "scope": "Full", "status": "Succeeded", "machineId": MACHINE["id"],
            "creationDateTimeUtc": "2026-12-07T10:00:00Z", "lastUpdateDateTimeUtc": "2026-12-07T10:05:00Z"}


class LaggingClient:
    """The machine's actions: only ISOLATED in the pre-check's listing, ``later`` too in every listing after it; each
    write is answered 400 "already in progress"."""

    def __init__(self, later):
        self.later = [ISOLATED] + list(later)
        self.action_lists = []
        self.posts = []

    def machine_pages(self, odata_filter=None):
        yield [MACHINE]

    def list_machine_actions(self, odata_filter=None):
        self.action_lists.append(odata_filter)
        return [ISOLATED] if len(self.action_lists) == 1 else list(self.later)

    def post_machine_action(self, spec, machine_id, body):
        self.posts.append((spec.type, machine_id, body))
        raise ApiError("Action is already in progress", code="ActiveRequestAlreadyExists", http_status=400)

    def granted_roles(self):
        return None


def release(client):
    kind = DesiredState.from_options(ISOLATION, {"state": "released"}).kind("INC-1", False, 600)
    return MachineActionEngine(client, FixedClock(), max_workers=1).run(kind, Targets(machine_ids=(MACHINE["id"],)))


def test_an_isolate_the_list_hid_fails_the_release_as_a_crossing_action():
    isolate = {"id": "isolate-1", "type": "Isolate", "scope": "Full", "status": "Pending", "machineId": MACHINE["id"],
               "creationDateTimeUtc": "2026-12-08T09:59:50Z"}
    client = LaggingClient([isolate])
    result = release(client)
    entry = result.actions[0]
    assert (entry["outcome"], entry["error"]["code"], entry["action_id"]) == ("failed", CROSSING_CODE, "isolate-1")
    assert "isolate-1" in entry["error"]["message"] and "nothing was sent" in entry["error"]["message"]
    assert (entry["state_before"], entry["state_after"]) == ("isolated", "isolated")
    # The refusal's look-up reads both types the state comes from, not only Unisolate.
    assert "Isolate" in client.action_lists[1] and "Unisolate" in client.action_lists[1]
    assert len(client.posts) == 1 and result.changed is False


def test_an_unisolate_the_list_hid_is_the_release_already_on_its_way():
    unisolate = {"id": "unisolate-1", "type": "Unisolate", "status": "InProgress", "machineId": MACHINE["id"],
                 "creationDateTimeUtc": "2026-12-08T09:59:50Z"}
    entry = release(LaggingClient([unisolate])).actions[0]
    assert (entry["outcome"], entry["action_id"], entry["error"]) == ("existing", "unisolate-1", None)

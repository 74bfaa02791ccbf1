"""RateLimiter shared through a file: the processes of one application pace together; ListLag's grace."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ansible_collections.mde.response.plugins.module_utils._actions.list_lag import DEFAULT_GRACE, MAX_GRACE, ListLag
from ansible_collections.mde.response.plugins.module_utils._client.pacing import PACKAGE_URI_ROUTE, RateLimiter, shared_pacing_path
from ansible_collections.mde.response.tests.unit.plugins.module_utils.test_transport import FakeClock

SETTINGS = SimpleNamespace(api_url="https://api.example", authority_host="https://login.example", client_id="app",
                           auth_method="client_secret")


def test_limiters_sharing_a_file_share_the_windows(tmp_path):
    clock = FakeClock()
    path = shared_pacing_path(SETTINGS, str(tmp_path))
    first = RateLimiter(per_minute=2, per_hour=100, clock=clock, shared_path=path)
    second = RateLimiter(per_minute=2, per_hour=100, clock=clock, shared_path=path)
    assert first.acquire("a") == (0.0, 1000.0)
    assert second.acquire("a") == (0.0, 1000.0)
    # Two places taken between them: a third call, from either, waits for the first to leave the minute.
    waited, _place = first.acquire("a")
    assert waited == 60.0
    assert set(json.loads(open(path, encoding="utf-8").read())) == {"a"}


def test_a_damaged_or_stale_pacing_file_counts_as_empty(tmp_path):
    clock = FakeClock()
    path = shared_pacing_path(SETTINGS, str(tmp_path))
    with open(path, "w", encoding="utf-8") as damaged:
        damaged.write('{"a": [99999999.0, "x"], "b": ')
    assert RateLimiter(per_minute=1, clock=clock, shared_path=path).acquire("a") == (0.0, 1000.0)


def test_no_pacing_file_without_a_usable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert shared_pacing_path(SETTINGS, None) is None
    assert shared_pacing_path(SETTINGS, str(blocker)) is None


def test_the_pacing_file_is_per_application(tmp_path):
    other = SimpleNamespace(**dict(vars(SETTINGS), client_id="other-app"))
    assert shared_pacing_path(SETTINGS, str(tmp_path)) != shared_pacing_path(other, str(tmp_path))


class ListingClient:
    def __init__(self):
        self.visible = set()
        self.filters = []

    def list_machine_actions(self, odata_filter=None):
        self.filters.append(odata_filter)
        return [{"id": action_id} for action_id in sorted(self.visible)]


def test_list_lag_grace_follows_the_runs_own_writes():
    clock, client = FakeClock(), ListingClient()
    lag = ListLag(clock)
    assert lag.grace() == DEFAULT_GRACE
    lag.acknowledged({"id": "A1"})
    clock.sleep(200)
    lag.observe(client)
    # Still not in the list after 200 s: the lag is at least that.
    assert lag.grace() == 400
    assert client.filters == ["(id eq 'a1')"]
    client.visible.add("a1")
    clock.sleep(100)
    lag.observe(client)
    assert lag.longest == 300 and lag.grace() == 600
    clock.sleep(5000)
    assert lag.grace() == 600


def test_list_lag_grace_is_bounded():
    clock = FakeClock()
    lag = ListLag(clock)
    lag.acknowledged({"id": "never-listed"})
    clock.sleep(10 * MAX_GRACE)
    assert lag.grace() == MAX_GRACE


def test_the_package_link_route_is_paced_on_its_own_smaller_limits():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    # get-package-sas-uri.md: 2 calls a minute and 120 an hour, whatever the other routes use.
    assert [limiter.acquire(PACKAGE_URI_ROUTE)[0] for _call in range(2)] == [0.0, 0.0]
    assert [limiter.acquire("machineactions.list")[0] for _call in range(50)] == [0.0] * 50
    assert limiter.acquire(PACKAGE_URI_ROUTE)[0] == 60.0
    hourly = RateLimiter(clock=clock, route_limits={PACKAGE_URI_ROUTE: (0, 3)})
    assert [hourly.acquire(PACKAGE_URI_ROUTE)[0] for _call in range(4)] == [0.0, 0.0, 0.0, 3600.0]

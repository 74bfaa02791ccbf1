"""RunLease: a background run writes only while its follower renews the lease; the transport asks it before each write."""

from __future__ import annotations

import os
import stat
import time

import pytest

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._client.pacing import RateLimiter
from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import LEASE_SECONDS, START_GRACE_SECONDS, RunLease, RunStopped
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import NotSent
from ansible_collections.mde.response.tests.unit.plugins.module_utils.test_transport import Harness, reply


def test_a_granted_lease_is_private_and_holds_while_it_is_renewed(tmp_path):
    path = str(tmp_path / "run.lease")
    lease = RunLease(path)
    lease.grant()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lease.check()
    assert not lease.stopped


def test_a_removed_lease_stops_the_writes_for_good_and_says_what_to_run(tmp_path):
    path = str(tmp_path / "run.lease")
    told = []
    lease = RunLease(path, on_stop=told.append)
    lease.grant()
    os.unlink(path)
    with pytest.raises(RunStopped) as stopped:
        lease.check()
    assert stopped.value.to_dict() == {"code": "RunStopped", "message": stopped.value.message, "http_status": None}
    assert "was removed: interrupted or cancelled" in stopped.value.message
    assert "run the same task or play again to finish" in stopped.value.message and "state cancelled to undo" in stopped.value.message
    # Renewed again too late: a stopped run stays stopped, and the reason is told once.
    lease.grant()
    with pytest.raises(RunStopped):
        lease.check()
    assert lease.stopped and len(told) == 1 and isinstance(stopped.value, NotSent)


def test_a_lease_not_renewed_for_its_seconds_has_lapsed(tmp_path):
    path = str(tmp_path / "run.lease")
    now = [time.time()]
    lease = RunLease(path, timer=lambda: now[0])
    lease.grant()
    os.utime(path, (now[0], now[0]))  # the follower's renewal
    now[0] += LEASE_SECONDS - 1
    lease.check()
    now[0] += 2
    with pytest.raises(RunStopped, match=r"last renewed \d+ s ago, more than 10 s: the controller is gone"):
        lease.check()


def test_the_first_lease_waits_for_the_follower_to_start(tmp_path):
    """The runs of a loop over files all start before their follower: the granted lease holds a grace period."""
    path = str(tmp_path / "run.lease")
    now = [time.time()]
    lease = RunLease(path, timer=lambda: now[0])
    lease.grant()
    now[0] += START_GRACE_SECONDS + LEASE_SECONDS - 1
    lease.check()
    now[0] += 2
    with pytest.raises(RunStopped):
        lease.check()


def test_without_a_path_nothing_is_written_and_nothing_stops(tmp_path):
    lease = RunLease(None)
    lease.grant()
    lease.check()
    lease.release()
    assert not lease.stopped and list(tmp_path.iterdir()) == []


def test_a_lease_in_a_missing_folder_is_refused_before_any_request(tmp_path):
    with pytest.raises(InputError, match="lease_path .* cannot be written"):
        RunLease(str(tmp_path / "missing" / "run.lease")).grant()


def test_a_write_that_waited_for_the_limits_is_asked_again_and_not_sent_when_stopped():
    """The pacing can hold a write for a minute; a lease that lapsed meanwhile keeps it unsent, and its place in the
    window is given back. Reads are never asked."""
    harness = Harness([reply(201, {"id": "a1"}), reply(200, {"value": []})])
    clock = harness.clock
    harness.transport = HttpTransport(harness.settings, harness.tokens, harness.session, clock=clock,
                                      pacer=RateLimiter(per_minute=1, per_hour=0, clock=clock), write_gate=lambda: gate(clock))
    asked = []

    def gate(clock):
        asked.append(len(clock.sleeps))
        if clock.sleeps:
            raise RunStopped("not sent: stopped")

    assert harness.request("POST", "/api/machines/m1/StopAndQuarantineFile", body={}, route="w") == {"id": "a1"}
    with pytest.raises(RunStopped):
        harness.request("POST", "/api/machines/m2/StopAndQuarantineFile", body={}, route="w")
    assert asked == [0, 0, 0, 1] and harness.attempts == 1
    assert harness.request("GET", "/api/machines", route="r") == {"value": []}
    assert len(asked) == 4

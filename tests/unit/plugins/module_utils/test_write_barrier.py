# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""WriteBarrier: the first write goes alone; a write refused for a missing permission stops the ones not yet sent."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.mde.response.plugins.module_utils.errors import ApiError
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import WriteBarrier, WritesStopped

MISSING = "The application does not have any of the required application permissions (Machine.StopAndQuarantine) to access the resource."


def refusal(message=MISSING, status=403):
    return ApiError(message, code="Forbidden", http_status=status, method="POST", route="machines.StopAndQuarantineFile")


def refuse(error):
    def write():
        raise error
    return write


def test_writes_pass_until_one_is_refused_for_a_missing_permission():
    barrier = WriteBarrier()
    sent = []
    assert barrier.send("machine m1", lambda: sent.append("m1") or "answer") == "answer"
    with pytest.raises(ApiError):
        barrier.send("machine m2", refuse(refusal()))
    with pytest.raises(WritesStopped) as stopped:
        barrier.send("machine m3", lambda: sent.append("m3"))
    assert sent == ["m1"]
    assert stopped.value.to_dict() == {
        "code": "Forbidden", "http_status": 403, "missing_permission": "Machine.StopAndQuarantine",
        "message": "not sent: the write to machine m2 was refused because the application lacks the permission "
                   "Machine.StopAndQuarantine, so this run sent no further write"}


@pytest.mark.parametrize("error", [
    pytest.param(refusal("Machine is offline"), id="other-403"),
    pytest.param(refusal(status=400), id="permission-wording-not-403"),
])
def test_other_refusals_keep_the_barrier_open(error):
    barrier = WriteBarrier()
    with pytest.raises(ApiError):
        barrier.send("machine m1", refuse(error))
    assert barrier.send("machine m2", lambda: "sent") == "sent"


def test_the_first_write_goes_alone_so_a_refusal_costs_exactly_one_call():
    barrier = WriteBarrier()
    first_started, release_first = threading.Event(), threading.Event()
    calls = []
    lock = threading.Lock()

    def first_write():
        with lock:
            calls.append("m0")
        first_started.set()
        release_first.wait()
        raise refusal()

    def other_write(name):
        with lock:
            calls.append(name)

    outcomes = []

    def send(name):
        try:
            barrier.send("machine %s" % name, first_write if name == "m0" else lambda: other_write(name))
            outcomes.append((name, "sent"))
        except WritesStopped:
            outcomes.append((name, "stopped"))
        except ApiError:
            outcomes.append((name, "refused"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(send, "m0")
        first_started.wait()
        others = [pool.submit(send, "m%d" % number) for number in range(1, 20)]
        # The others are waiting for the first answer: none has been sent while it is outstanding.
        assert calls == ["m0"]
        release_first.set()
        for future in [first] + others:
            future.result()
    assert calls == ["m0"]
    assert sorted(outcomes) == sorted([("m0", "refused")] + [("m%d" % number, "stopped") for number in range(1, 20)])


def test_after_a_first_answer_writes_go_out_together():
    barrier = WriteBarrier()
    barrier.send("machine m0", lambda: None)
    together = threading.Barrier(4, timeout=10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        # Each write waits for the other three: this completes only if they are in flight at once.
        results = list(pool.map(lambda name: barrier.send(name, lambda: together.wait() is not None), ["a", "b", "c", "d"]))
    assert results == [True] * 4


def test_a_first_write_that_fails_otherwise_releases_the_others():
    barrier = WriteBarrier()
    with pytest.raises(RuntimeError):
        barrier.send("machine m0", refuse(RuntimeError("connection reset")))
    assert barrier.send("machine m1", lambda: "sent") == "sent"

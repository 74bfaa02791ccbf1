"""SimClock: starts at real UTC now, runs `speed` times faster, jumps forward on demand."""

import time
from datetime import datetime, timezone

import pytest

from tests.simulator.clock import SimClock


def test_starts_at_real_utc_now():
    clock = SimClock()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0
    assert abs((now - datetime.now(timezone.utc)).total_seconds()) < 1
    assert abs(clock.time() - time.time()) < 1


def test_runs_speed_times_faster():
    clock = SimClock(speed=1000)
    start_simulated, start_real = clock.time(), time.monotonic()
    time.sleep(0.05)
    simulated, real = clock.time() - start_simulated, time.monotonic() - start_real
    assert simulated == pytest.approx(real * 1000, rel=0.2)
    assert simulated > 40


def test_advance_jumps_forward_and_never_back():
    clock = SimClock()
    before = clock.now()
    clock.advance(3600)
    assert 3600 <= (clock.now() - before).total_seconds() < 3601
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_sleep_takes_simulated_seconds_divided_by_speed():
    clock = SimClock(speed=100)
    start_simulated, start_real = clock.time(), time.monotonic()
    clock.sleep(10)
    assert 0.09 < time.monotonic() - start_real < 0.5
    assert clock.time() - start_simulated >= 10


def test_changing_speed_does_not_jump_and_takes_effect():
    clock = SimClock(speed=1)
    before = clock.time()
    clock.speed = 500
    assert clock.speed == 500
    assert clock.time() - before < 0.5
    time.sleep(0.02)
    assert clock.time() - before > 5
    with pytest.raises(ValueError):
        clock.speed = 0

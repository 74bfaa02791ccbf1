"""SimClock: starts at real UTC now, runs `speed` times faster, jumps forward on demand.

Real time is read on both sides of each simulated reading, so that the checks hold on a loaded machine too.
"""

import time
from datetime import datetime, timezone

import pytest

from tests.simulator.clock import SimClock

# Floating-point slack on comparisons of simulated seconds.
EPSILON = 1e-6


def bracketed(clock):
    """(real time just before, simulated time, real time just after)."""
    before = time.monotonic()
    simulated = clock.time()
    return before, simulated, time.monotonic()


def test_starts_at_real_utc_now():
    clock = SimClock()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0
    assert abs((now - datetime.now(timezone.utc)).total_seconds()) < 1
    assert abs(clock.time() - time.time()) < 1


def test_runs_speed_times_faster():
    clock = SimClock(speed=1000)
    start_before, start, start_after = bracketed(clock)
    time.sleep(0.05)
    end_before, end, end_after = bracketed(clock)
    assert (end_before - start_after) * 1000 - EPSILON <= end - start <= (end_after - start_before) * 1000 + EPSILON
    assert end - start >= 50


def test_advance_jumps_forward_and_never_back():
    clock = SimClock(speed=1e-6)        # practically stopped: only advance() moves it
    before = clock.time()
    clock.advance(3600)
    assert clock.time() - before == pytest.approx(3600, abs=0.001)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_sleep_takes_simulated_seconds_divided_by_speed():
    clock = SimClock(speed=100)
    start_simulated, start_real = clock.time(), time.monotonic()
    clock.sleep(10)
    assert time.monotonic() - start_real >= 0.099
    assert clock.time() - start_simulated >= 10


def test_changing_speed_neither_jumps_nor_lags():
    clock = SimClock(speed=1)
    before_real, before, _before_read = bracketed(clock)
    clock.speed = 500
    _after_read, after, after_real = bracketed(clock)
    assert clock.speed == 500
    # Continuity: at most the elapsed real time at the new, higher speed has passed.
    assert 0 <= after - before <= (after_real - before_real) * 500 + EPSILON
    start_before, start, start_after = bracketed(clock)
    time.sleep(0.02)
    end_before, end, end_after = bracketed(clock)
    assert (end_before - start_after) * 500 - EPSILON <= end - start <= (end_after - start_before) * 500 + EPSILON
    with pytest.raises(ValueError):
        clock.speed = 0

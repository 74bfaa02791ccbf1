"""RateLimiter: 100 a minute and 1,500 an hour per key in simulated time; refused calls consume nothing."""

import pytest

from tests.simulator.clock import SimClock
from tests.simulator.config import SimulatorConfig
from tests.simulator.ratelimit import RateLimiter

APP = "app-1"


@pytest.fixture
def config():
    return SimulatorConfig()


@pytest.fixture
def clock():
    # Practically stopped, so that only advance() moves it and every Retry-After is exact.
    return SimClock(speed=1e-6)


@pytest.fixture
def limiter(config, clock):
    return RateLimiter(config, clock)


def accept(limiter, key, count):
    results = [limiter.check(key) for _call in range(count)]
    assert results == [None] * count


def test_the_101st_call_in_a_minute_waits_for_the_oldest_to_leave(limiter, clock):
    key = limiter.key(APP, "machines.list")
    accept(limiter, key, 100)
    clock.advance(20)
    retry_after = limiter.check(key)
    assert isinstance(retry_after, int)
    assert retry_after == 40


def test_refused_calls_do_not_consume_quota(limiter, clock):
    key = limiter.key(APP, "machines.list")
    accept(limiter, key, 100)
    for _call in range(50):
        assert limiter.check(key) is not None
    clock.advance(60.5)
    accept(limiter, key, 100)
    assert limiter.check(key) is not None


def test_the_hourly_limit_applies_across_minutes(limiter, clock):
    key = limiter.key(APP, "machineactions.list")
    for _minute in range(15):
        accept(limiter, key, 100)
        clock.advance(61)
    retry_after = limiter.check(key)
    # The first call of the hour leaves the window an hour after it was made: 15 x 61 s ago.
    assert retry_after == 3600 - 15 * 61
    clock.advance(retry_after)
    assert limiter.check(key) is None


def test_retry_after_is_at_least_one_second(limiter, clock):
    key = limiter.key(APP, "files.get")
    accept(limiter, key, 100)
    clock.advance(59.99)
    assert limiter.check(key) == 1


def test_routes_have_their_own_buckets_unless_shared(limiter, config):
    accept(limiter, limiter.key(APP, "machines.list"), 100)
    assert limiter.check(limiter.key(APP, "machines.list")) is not None
    assert limiter.check(limiter.key(APP, "machineactions.list")) is None
    assert limiter.check(limiter.key("other-app", "machines.list")) is None

    config.rate_limit_scope = "shared"
    assert limiter.key(APP, "machines.list") == limiter.key(APP, "machineactions.list")


def test_limits_follow_the_live_config(limiter, config):
    key = limiter.key(APP, "machines.get")
    config.rate_limit_per_minute = 3
    accept(limiter, key, 3)
    assert limiter.check(key) is not None
    config.rate_limits_enabled = False
    accept(limiter, key, 200)


def test_reset_forgets_every_window(limiter):
    key = limiter.key(APP, "machines.get")
    accept(limiter, key, 100)
    limiter.reset()
    assert limiter.check(key) is None


@pytest.mark.parametrize("scope", ["per_route", "shared"])
def test_a_route_with_its_own_limit_fits_both_buckets(limiter, config, clock, scope):
    config.rate_limit_scope = scope
    key = limiter.key(APP, "indicators.import")
    for _call in range(30):
        assert limiter.check(key, "indicators.import") is None
    assert limiter.check(key, "indicators.import") == 60
    # The shared bucket counted the 30 imports and nothing refused: 70 other calls still fit in the minute.
    accept(limiter, limiter.key(APP, "indicators.list"), 70 if scope == "shared" else 100)
    clock.advance(60)
    assert limiter.check(key, "indicators.import") is None

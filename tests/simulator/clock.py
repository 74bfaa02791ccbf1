"""Simulated time for the simulator: rate-limit windows, token expiry and action lifecycles all read this clock.

A test can live through an hour of rate limits in seconds by running the clock faster (``speed``) or by jumping
ahead (``advance``), without touching the real clock the client libraries use.
"""

import threading
import time
from datetime import datetime, timezone


class SimClock:
    """A clock that starts at the real UTC time and then runs ``speed`` times faster than real time."""

    def __init__(self, speed=1.0):
        self._check_speed(speed)
        self._lock = threading.Lock()
        self._speed = float(speed)
        # Simulated time is an affine function of the monotonic clock, so a change of the system clock while the
        # simulator runs cannot make simulated time go backwards.
        self._real_anchor = time.monotonic()
        self._simulated_anchor = time.time()

    @staticmethod
    def _check_speed(speed):
        if speed <= 0:
            raise ValueError("clock speed must be positive, got %r" % (speed,))

    def time(self):
        """Simulated seconds since the epoch."""
        with self._lock:
            return self._simulated_at(time.monotonic())

    def _simulated_at(self, real_monotonic):
        return self._simulated_anchor + (real_monotonic - self._real_anchor) * self._speed

    def now(self):
        """Simulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), timezone.utc)

    @property
    def speed(self):
        return self._speed

    @speed.setter
    def speed(self, speed):
        self._check_speed(speed)
        with self._lock:
            # Re-anchor at the current instant so that changing the speed never makes simulated time jump.
            real_now = time.monotonic()
            self._simulated_anchor = self._simulated_at(real_now)
            self._real_anchor = real_now
            self._speed = float(speed)

    def advance(self, seconds):
        """Jump forward by ``seconds`` simulated seconds at once."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._simulated_anchor += seconds

    def sleep(self, simulated_seconds):
        """Block for ``simulated_seconds`` of simulated time (that many real seconds divided by the speed)."""
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self._speed)

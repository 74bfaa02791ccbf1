"""Per-application API rate limits in simulated time, as documented for every MDE API (docs/api-fidelity.md, "Throttling").

Each key has one sliding window per limit (a minute and an hour). A refused call does not consume quota: the real
service keeps answering 429 while a client ignores Retry-After, but only accepted calls count against the limit.
"""

import bisect
import math
import threading
from collections import defaultdict

MINUTE = 60
HOUR = 3600


class RateLimiter:
    """Sliding-window limits read from the live config, so that tests can switch them at runtime."""

    def __init__(self, config, clock):
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._accepted = defaultdict(list)    # key -> simulated times of accepted calls within the last hour, sorted

    def key(self, appid, route):
        """The bucket a call counts against: per API route, or one shared bucket per application."""
        if self._config.rate_limit_scope == "shared":
            return (appid, "*")
        return (appid, route)

    def check(self, key, route=None):
        """Count a call against ``key``: None if it is allowed, else the whole seconds to wait before retrying.

        A ``route`` with a documented limit of its own (``route_rate_limits_per_minute`` / ``_per_hour``) also
        counts against a bucket of its own, whatever the scope: the call must fit both.
        """
        if not self._config.rate_limits_enabled:
            return None
        own_limits = [(window, limits[route]) for window, limits in ((MINUTE, self._config.route_rate_limits_per_minute),
                                                                     (HOUR, self._config.route_rate_limits_per_hour))
                      if route in limits]
        with self._lock:
            now = self._clock.time()
            accepted = self._accepted[key]
            del accepted[:bisect.bisect_right(accepted, now - HOUR)]
            waits = [
                self._wait(accepted, now, MINUTE, self._config.rate_limit_per_minute),
                self._wait(accepted, now, HOUR, self._config.rate_limit_per_hour),
            ]
            buckets = [accepted]
            if own_limits:
                own = self._accepted[(key[0], route, "own")]
                del own[:bisect.bisect_right(own, now - HOUR)]
                waits.extend(self._wait(own, now, window, limit) for window, limit in own_limits)
                buckets.append(own)
            refused = [wait for wait in waits if wait is not None]
            if refused:
                return max(1, math.ceil(max(refused)))
            for bucket in buckets:
                bucket.append(now)
            return None

    @staticmethod
    def _wait(accepted, now, window, limit):
        """Seconds until the window holds fewer than ``limit`` calls, or None if it already does."""
        in_window = len(accepted) - bisect.bisect_right(accepted, now - window)
        if in_window < limit:
            return None
        # The call that has to leave the window before a new one fits; with limits lowered at runtime the window
        # can hold more than ``limit`` calls, hence counting from the newest.
        blocking = accepted[len(accepted) - limit] if limit > 0 else now
        return blocking + window - now

    def reset(self):
        with self._lock:
            self._accepted.clear()

"""Scheduled failures: the network and service misbehaviour a client must survive, on chosen calls of a route.

The injector only decides *which* call gets *which* fault and keeps count; server.py carries the fault out, since
most kinds are about what happens on the wire (a dropped connection, a late or truncated answer).
"""

import itertools
import threading
from dataclasses import asdict, dataclass

# Kinds, by when they act. "before": the handler does not run, so nothing is written. "after": the handler runs
# (a POST really creates its action) and only the answer is lost or damaged: the ambiguous writes a client must
# recover from without writing twice.
KINDS_BEFORE_HANDLER = frozenset({"latency", "status", "throttle", "html", "drop_before", "revoke_token", "rotate_secret"})
KINDS_AFTER_HANDLER = frozenset({"status_after", "drop_after", "timeout_after", "malformed", "unexpected_shape",
                                 "garbage_dates", "break_midway"})
# The value a "garbage_dates" fault puts in every date field of an answer: month 13, day 45.
GARBAGE_DATE = "2025-13-45T00:00:00Z"
# A fault's retry_after "past" sends an HTTP date this many seconds before the simulator's clock.
PAST_RETRY_AFTER_SECONDS = 3600
KINDS = KINDS_BEFORE_HANDLER | KINDS_AFTER_HANDLER

# A fault on "*" applies to every API route; the token service's routes are only hit when named, so that a
# blanket fault on the API does not also break authentication.
ANY_API_ROUTE = "*"


@dataclass
class Fault:
    """One scheduled fault: counting the route's calls from call number ``start``, fires on every ``every``-th.

    every=3 hits calls 3, 6, 9, ...; start=5 (every=1) hits call 5 and all later ones; times caps the total.
    """
    fault_id: int
    route: str
    kind: str
    every: int = 1
    start: int = 1
    times: int = None              # fire at most this many times; None = no limit
    status: int = 503              # for "status" and "status_after"
    delay: float = 0.0             # "latency": simulated seconds; "timeout_after": real seconds
    # The Retry-After of a "throttle", "status" or "status_after" answer: seconds as sent ("0"), or "past" for an
    # HTTP date an hour ago; None: no header.
    retry_after: str = None
    calls: int = 0                 # matching calls seen so far
    fired: int = 0                 # times this fault was applied

    def applies_to(self, route, api):
        if self.route == ANY_API_ROUTE:
            return api
        return self.route.lower() == route.lower()

    def count_call(self):
        """Count one matching call; True when the schedule says this call is due for the fault."""
        self.calls += 1
        scheduled = self.calls >= self.start and (self.calls - self.start + 1) % self.every == 0
        exhausted = self.times is not None and self.fired >= self.times
        return scheduled and not exhausted

    def as_dict(self):
        return asdict(self)


class FaultInjector:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)

    def add(self, route, kind, every=1, start=1, times=None, status=503, delay=0.0, retry_after=None):
        """Schedule ``kind`` on the calls of ``route`` (a route name, or "*" for every API route)."""
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r; known: %s" % (kind, ", ".join(sorted(KINDS))))
        if every < 1 or start < 1:
            raise ValueError("every and start count calls from 1")
        with self._lock:
            fault = Fault(next(self._ids), route, kind, every, start, times, status, delay,
                          None if retry_after is None else str(retry_after))
            self._faults.append(fault)
        return fault

    def pick(self, route, api=True):
        """The fault to apply to this call of ``route``, or None.

        Every matching fault counts the call, so that each fault's schedule counts calls on its route whether or
        not another fault got there first; when several would fire, the one added first wins.
        """
        with self._lock:
            due = [fault for fault in self._faults if fault.applies_to(route, api) and fault.count_call()]
            if not due:
                return None
            due[0].fired += 1
            return due[0]

    def faults(self):
        """Every scheduled fault with its counts (``calls`` seen, times ``fired``)."""
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    def clear(self):
        with self._lock:
            self._faults.clear()

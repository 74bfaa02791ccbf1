# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Client-side pacing: sliding windows per route, kept in the process or shared by every process of one identity."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections import defaultdict, deque
from typing import IO, TYPE_CHECKING, Callable, Iterator, Optional

from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock, SystemClock

if TYPE_CHECKING:
    from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings

# Told of every wait for one of the API's limits: (seconds, window_seconds, limit).
PacingListener = Callable[[float, float, int], None]

# The API's documented limits, per application and API.
PER_MINUTE = 100
PER_HOUR = 1500
# Routes with smaller limits of their own, (per minute, per hour): the package link's (get-package-sas-uri.md).
PACKAGE_URI_ROUTE = "machineactions.getPackageUri"
ROUTE_LIMITS = {PACKAGE_URI_ROUTE: (2, 120)}


class RateLimiter:
    """Sliding-window pacing per route, so that a large run stays under the API's per-API call limits.

    A call takes its place in the windows before it is sent and, once answered, counts from its answer: the
    server counted it on arrival, earlier, so the client's windows never run ahead of the server's however long a
    call takes to get there. A call refused for its token (401) gives its place back, because the server did not
    count it; a throttled one (429) keeps it, so that no answer, whatever its Retry-After, makes the client send
    more than the limits allow.

    With `shared_path`, the windows live in that file, under an exclusive lock, so that every process pacing with
    the same file (the forks of one play, one module run per host) stays under the limits together; the file's
    times are `clock.monotonic()`, which every process of one host shares. A file that cannot be used falls back
    to windows of this process alone.

    Thread-safe: the engine writes from a thread pool, and every thread must see the same windows.
    """

    def __init__(self, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR, clock: Optional[Clock] = None,
                 shared_path: Optional[str] = None, listener: Optional[PacingListener] = None,
                 route_limits: Optional[dict[str, tuple[int, int]]] = None) -> None:
        self._windows = _windows(per_minute, per_hour)
        self._route_windows = {route: _windows(*limits) for route, limits in
                               (ROUTE_LIMITS if route_limits is None else route_limits).items()}
        self._longest = max((length for windows in (self._windows, *self._route_windows.values())
                             for length, _limit in windows), default=0.0)
        self._clock = clock or SystemClock()
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.shared_path = shared_path
        # Told of each wait, as listener(seconds, window_seconds, limit), so that a long run can say why it is quiet.
        self._listener = listener

    def acquire(self, route: str) -> tuple[float, float]:
        """Wait until a call on `route` fits in every window and take a place; returns (seconds waited, place)."""
        waited = 0.0
        while True:
            with self._windows_of(route) as sent:
                now = self._clock.monotonic()
                delay, window = self._delay(self._route_windows.get(route, self._windows), sent, now)
                if delay <= 0 or window is None:
                    sent.append(now)
                    return waited, now
            if self._listener is not None:
                self._listener(delay, *window)
            # Sleep outside the locks so that other routes and processes go on; the windows are checked on waking.
            self._clock.sleep(delay)
            waited += delay

    def settle(self, route: str, place: float, counted: bool) -> None:
        """After the answer to the call that took `place`: count it from now, or give the place back."""
        with self._windows_of(route) as sent:
            try:
                sent.remove(place)
            except ValueError:
                pass  # a call answered after the longest window has already left it
            if counted:
                # Every time is read under the lock from a monotonic clock, so appending keeps the windows in order.
                sent.append(self._clock.monotonic())

    @contextlib.contextmanager
    def _windows_of(self, route: str) -> Iterator[deque[float]]:
        with self._lock:
            if self.shared_path is None:
                yield self._sent[route]
                return
            try:
                shared = open(self.shared_path, "a+", encoding="utf-8")
            except OSError:
                self.shared_path = None
                yield self._sent[route]
                return
            with shared:
                fcntl.flock(shared, fcntl.LOCK_EX)
                windows = _read_windows(shared, self._clock.monotonic(), self._longest)
                sent = windows.setdefault(route, deque())
                yield sent
                shared.seek(0)
                shared.truncate()
                json.dump({name: list(times) for name, times in windows.items() if times}, shared)

    def _delay(self, windows: tuple[tuple[float, int], ...], sent: deque[float],
               now: float) -> tuple[float, Optional[tuple[float, int]]]:
        while sent and sent[0] <= now - self._longest:
            sent.popleft()
        delay, window = 0.0, None  # type: tuple[float, Optional[tuple[float, int]]]
        for length, limit in windows:
            # The call `limit` places back must leave the window before one more fits in it.
            if len(sent) >= limit and sent[-limit] + length - now > delay:
                delay, window = sent[-limit] + length - now, (length, limit)
        return delay, window


def _windows(per_minute: int, per_hour: int) -> tuple[tuple[float, int], ...]:
    return tuple((length, limit) for length, limit in ((60.0, per_minute), (3600.0, per_hour)) if limit)


def minutes_to_write(count: int, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR) -> int:
    """Minutes from the first write to the end of the last one, for ``count`` writes paced at both limits.

    Each minute takes ``per_minute`` writes until ``per_hour`` have been sent, then the next ones wait for the hour to
    pass; the last minute that writes counts whole.
    """
    if count <= 0:
        return 0
    last = count - 1
    hours, within_hour = divmod(last, per_hour)
    return hours * 60 + within_hour // per_minute + 1


def _read_windows(shared: IO[str], now: float, longest: float) -> dict[str, deque[float]]:
    """The windows in the shared file; a damaged file, or times from before the host restarted, count as none."""
    shared.seek(0)
    try:
        state = json.loads(shared.read() or "{}")
    except ValueError:
        state = {}
    windows: dict[str, deque[float]] = {}
    for route, times in (state.items() if isinstance(state, dict) else ()):
        if isinstance(times, list):
            windows[route] = deque(sorted(value for value in times
                                          if isinstance(value, (int, float)) and now - longest < value <= now))
    return windows


def shared_pacing_path(settings: ConnectionSettings, directory: Optional[str]) -> Optional[str]:
    """The pacing file, in `directory`, that every process calling the API as the same application shares (the API
    counts calls per application); None without a folder or when the file cannot be made."""
    if directory is None:
        return None
    application = "%s %s %s" % (settings.api_url, settings.authority_host, settings.client_id or settings.auth_method)
    path = os.path.join(directory, hashlib.sha256(application.encode("utf-8")).hexdigest() + ".pacing.json")
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return None
    return path

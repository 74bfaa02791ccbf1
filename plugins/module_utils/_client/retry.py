# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one retry policy of the login and API paths: how long to wait before sending a call again, and until when.

A 429 or a 503 says the server did not take the call: it is sent again after the answer's Retry-After (seconds or
an HTTP date), or after jittered exponential backoff without one. Other failures that may be retried (a connection
that never reached the server, a 5xx to a read) wait the backoff. Every call has a budget of attempts and of total
wait, and a Retry-After beyond what is left of it ends the call at once.
"""

from __future__ import annotations

import email.utils
import random
from datetime import datetime, timezone

from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock

DEFAULT_MAX_RETRIES = 7
DEFAULT_MAX_WAIT = 600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# A Retry-After that says "now" (0, or a date already past by this clock) is waited out like one without a
# Retry-After, with jittered backoff of at least this long: taken at its word it turns into a hot loop.
MIN_THROTTLE_WAIT = 1.0
# However many Retry-After storms a call lives through, it is sent at most this many times.
MAX_THROTTLED_ATTEMPTS = 30
# The answers that say the server did not take the call and when to come back: sending it again cannot duplicate it.
NOT_TAKEN_STATUSES = frozenset((429, 503))


class RetryBudget:
    """The retry budget of one call: a number of attempts and a total time spent waiting between them."""

    def __init__(self, clock: Clock, max_retries: int = DEFAULT_MAX_RETRIES, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        self.number = 0
        self.not_taken = 0
        self.waited = 0.0
        self._clock = clock
        self._max_attempts = max_retries + 1
        self._max_wait = max_wait

    def start(self) -> None:
        """Count one attempt."""
        self.number += 1

    def after_failure(self) -> tuple[float, bool]:
        """(the wait before the next attempt after a failure that says nothing of when, False)."""
        return backoff(self.number), False

    def after_not_taken(self, retry_after: str | None) -> tuple[float, bool]:
        """(the wait before the next attempt after a 429 or 503 with this Retry-After, whether the server said when)."""
        self.not_taken += 1
        return throttle_wait(retry_after, self._clock.now(), self.not_taken)

    def wait(self, delay: float, told_when: bool = False) -> bool:
        """Wait ``delay`` and return True, or return False at once when the budget has no room for another attempt.

        A Retry-After says when the call will be taken, so a storm of them spends the wait budget, not the
        attempts: with many writers waking at the same moment, one call can be refused many times over.
        """
        within_attempts = self.number < self._max_attempts or (told_when and self.not_taken < MAX_THROTTLED_ATTEMPTS)
        if not (within_attempts and self.waited + delay <= self._max_wait):
            return False
        self._clock.sleep(delay)
        self.waited += delay
        return True


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def throttle_wait(retry_after: str | None, now: datetime, not_taken: int) -> tuple[float, bool]:
    """(seconds to wait after the `not_taken`-th 429 or 503 of one call, whether the server said when).

    A Retry-After that says "now" (0, or a date this clock has passed) or nothing readable gets jittered backoff
    of at least MIN_THROTTLE_WAIT instead: taken at its word it would make a hot loop.
    """
    delay = retry_after_seconds(retry_after, now)
    if delay is not None and delay >= MIN_THROTTLE_WAIT:
        return delay, True
    return MIN_THROTTLE_WAIT + backoff(not_taken), False


def backoff(attempt_number: int) -> float:
    """Exponential backoff with jitter, so that parallel workers do not retry in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt_number - 1))
    return ceiling * random.uniform(0.5, 1.0)

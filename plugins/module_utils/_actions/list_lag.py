# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ListLag: how long a run's own acknowledged writes take to show in the action list, and the grace that follows.

The action list lags behind the writes (how long is undocumented), and a lost answer is looked for in that list
before the one re-post. A fixed grace is either too short (a second action) or needlessly long; the run's own
writes that were answered tell how long the list takes right now.
"""

from __future__ import annotations

import threading

from ansible_collections.mde.response.plugins.module_utils._model.entities import id_key
from ansible_collections.mde.response.plugins.module_utils._model.odata import BATCH_SIZE, any_of

# The grace when the run has nothing to learn from, and never less.
DEFAULT_GRACE = 120.0
# The longest lag seen, times this: a lost write was sent a little before or after the ones that were observed.
LAG_FACTOR = 2.0
# However far behind the list is, a lost answer holds its machine at most this long before the re-post.
MAX_GRACE = 1800.0


class ListLag:
    """Acknowledged writes (action id -> when the answer came, by the run's monotonic clock) and their lag.

    Thread-safe: the engine's writers record and observe from a thread pool.
    """

    def __init__(self, clock):
        self._clock = clock
        self._unseen = {}
        self.longest = 0.0
        self._lock = threading.Lock()

    def acknowledged(self, action):
        """A write was answered with this new action: watch for it in the list."""
        with self._lock:
            self._unseen[id_key(action)] = self._clock.monotonic()

    def observe(self, client):
        """Look for the longest-unseen acknowledged actions with one list call; those found give a lag."""
        with self._lock:
            oldest = sorted(self._unseen, key=self._unseen.__getitem__)[:BATCH_SIZE]
        if not oldest:
            return
        listed = {id_key(action) for action in client.list_machine_actions(any_of("id", oldest))}
        now = self._clock.monotonic()
        with self._lock:
            for key in listed & set(oldest):
                answered = self._unseen.pop(key, None)
                if answered is not None:
                    self.longest = max(self.longest, now - answered)

    def grace(self):
        """How long a lost write is looked for: the longest lag seen, or the age of an acknowledged action the list
        still does not show (the lag is at least that), times LAG_FACTOR; between DEFAULT_GRACE and MAX_GRACE."""
        with self._lock:
            now = self._clock.monotonic()
            still_unseen = max((now - answered for answered in self._unseen.values()), default=0.0)
            return min(MAX_GRACE, max(DEFAULT_GRACE, LAG_FACTOR * max(self.longest, still_unseen)))

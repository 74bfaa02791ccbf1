# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RunProgress: how far a long module run has got, kept in a small JSON file while it runs.

A run started in the background (``async``, ``poll: 0``) says nothing until it ends, which on thousands of
machines is hours at Defender's limits. The engine tells a RunProgress each step (planning, each machine settled,
waiting for the actions) and the pacing tells it each wait for a limit; it rewrites the file at phase changes and
at most every few seconds in between, and mde.response.quarantine_progress reads it and prints a line.

The file (owner-only, replaced in one step) holds:

- ``phase``: ``planning``, ``writing``, ``waiting_for_actions`` or ``done``;
- ``done`` / ``total``: the machines with a final outcome so far / all target machines (0 while planning); while
  waiting for the actions, a machine whose action is still in flight is not done;
- ``outcomes``: outcome -> count, for the machines done;
- ``offline``: while waiting for the actions, the machines Defender reported offline when the run read them, whose
  actions stay Pending until they connect (names, or ids when the name is unknown);
- ``expected_end``: when the writes end at Defender's limits (``YYYY-MM-DDTHH:MM:SSZ``), or None;
- ``limit_wait``: ``{"window": "minute" | "hour", "limit": calls, "until": time}`` while the run waits for a limit;
- ``actions_deadline``: while waiting for the actions, when the wait gives up at the latest;
- ``action_statuses``: while waiting for the actions, status -> count of the machines' actions as last read;
- ``stopped``: why the run stopped writing (its lease lapsed: run_lease.py), or None;
- ``unsent``: the machines left unsent because it stopped;
- ``updated``: when the file was written.

A run that stopped writing removes the file at its end: the follower that would read it is gone.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import Outcome
from ansible_collections.mde.response.plugins.module_utils._model.entities import action_status, is_in_flight, is_offline
from ansible_collections.mde.response.plugins.module_utils._client.pacing import minutes_to_write
from ansible_collections.mde.response.plugins.module_utils._client.private_files import replace_json
from ansible_collections.mde.response.plugins.module_utils._actions.run_lease import STOPPED_CODE

# Real seconds between two writes of the file while machines settle; a follower reads it every few seconds.
WRITE_INTERVAL = 2.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
WINDOW_NAMES = {60.0: "minute", 3600.0: "hour"}

PLANNING = "planning"
WRITING = "writing"
WAITING_FOR_ACTIONS = "waiting_for_actions"
DONE = "done"


class RunProgress:
    """The progress of one run, written to ``path`` (nothing is written without one).

    Thread-safe: machines settle in the engine's worker threads and the pacing reports waits from them.
    """

    def __init__(self, path, clock, interval=WRITE_INTERVAL, timer=time.monotonic):
        self._path = path
        self._clock = clock
        self._interval = interval
        self._timer = timer
        self._lock = threading.Lock()
        self._phase = PLANNING
        self._results = []
        self._limit_wait = None
        self._actions_deadline = None
        self._stopped = None
        self._written_at = None
        self._save(force=True)

    def track(self, results):
        """The run's machine results (each with an ``outcome``, None until it is settled)."""
        with self._lock:
            self._results = list(results)

    def writing(self):
        self._change_phase(WRITING)

    def machine_done(self):
        """A machine has settled: the file is rewritten unless it was a moment ago."""
        self._save()

    def waiting_for_limit(self, seconds, window_seconds, limit):
        """The pacing waits ``seconds`` for a window of ``window_seconds`` that allows ``limit`` calls."""
        until = self._clock.now() + timedelta(seconds=seconds)
        with self._lock:
            known = self._limit_wait is not None and self._limit_wait["until"] >= until
            if not known:
                self._limit_wait = {"window": WINDOW_NAMES.get(window_seconds, "%g s" % window_seconds), "limit": limit, "until": until}
        # A new wait longer than the file's interval is news a follower should have at once.
        self._save(force=not known and seconds / getattr(self._clock, "scale", 1) > self._interval)

    def waiting_for_actions(self, seconds):
        with self._lock:
            self._actions_deadline = self._clock.now() + timedelta(seconds=seconds)
        self._change_phase(WAITING_FOR_ACTIONS)

    def actions_read(self):
        """The wait has read the actions again: their statuses are news, since a wait can last many minutes."""
        self._save(force=True)

    def finish(self):
        self._change_phase(DONE)

    def stopped(self, reason: str) -> None:
        """The run sends no further write (its lease lapsed), which a follower still reading should see at once."""
        with self._lock:
            self._stopped = reason
        self._save(force=True)

    def discard(self) -> None:
        """Remove the file: nobody follows the run any more."""
        path, self._path = self._path, None
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass

    def snapshot(self):
        """What the file holds, as of now."""
        with self._lock:
            now = self._clock.now()
            outcomes: dict[str, int] = {}
            unsent = 0
            waiting_for = [result for result in self._results if self._phase == WAITING_FOR_ACTIONS and _in_flight(result)]
            not_done = {id(result) for result in waiting_for}
            for result in self._results:
                if result.outcome is not None and id(result) not in not_done:
                    outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
                unsent += (getattr(result, "error", None) or {}).get("code") == STOPPED_CODE
            done = sum(outcomes.values())
            waiting = self._limit_wait if self._limit_wait is not None and self._limit_wait["until"] > now else None
            expected_end = None
            if self._phase == WRITING:
                # The machines not settled yet are the writes still to make; a wait for a limit comes first.
                start = waiting["until"] if waiting else now
                expected_end = start + timedelta(minutes=minutes_to_write(len(self._results) - done))
            statuses: dict[str, int] = {}
            if self._phase == WAITING_FOR_ACTIONS:
                for status in (action_status(result.action) or "unknown" for result in self._results if getattr(result, "action", None)):
                    statuses[status] = statuses.get(status, 0) + 1
            return {
                "phase": self._phase,
                "done": done,
                "total": len(self._results),
                "outcomes": outcomes,
                "expected_end": _format(expected_end),
                "limit_wait": dict(waiting, until=_format(waiting["until"])) if waiting else None,
                "actions_deadline": _format(self._actions_deadline) if self._phase == WAITING_FOR_ACTIONS else None,
                "action_statuses": statuses or None,
                "stopped": self._stopped,
                "unsent": unsent,
                "offline": [result.machine_name or result.machine_id for result in waiting_for
                            if is_offline(getattr(result, "machine", None))] or None,
                "updated": _format(now),
            }

    def _change_phase(self, phase):
        with self._lock:
            self._phase = phase
        self._save(force=True)

    def _save(self, force=False):
        if self._path is None:
            return
        moment = self._timer()
        with self._lock:
            if not force and self._written_at is not None and moment - self._written_at < self._interval:
                return
            self._written_at = moment
        try:
            replace_json(self._path, self.snapshot())
        except OSError:
            # Progress is for the eyes only: a folder that went away must not stop the run itself.
            self._path = None


def _in_flight(result) -> bool:
    """Whether the machine's outcome still waits for its action: one the run created or found, not final yet."""
    return result.outcome in (Outcome.CREATED, Outcome.EXISTING) and is_in_flight(getattr(result, "action", None))


def _format(moment):
    return moment.strftime(TIME_FORMAT) if moment is not None else None

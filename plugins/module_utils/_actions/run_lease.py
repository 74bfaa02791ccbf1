# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RunLease: a background run writes only while the play that started it is still following it.

A run started with ``async`` and ``poll: 0`` is a process of its own: Ctrl-C, a cancelled AWX job or a lost
controller ends the play but not the run, which would go on writing to every machine. With a lease, the follower
(mde.response.quarantine_progress) touches a small file every few seconds and removes it when it is interrupted;
before each write the run looks at the file, and once it is gone or has not been touched for LEASE_SECONDS the run
sends no further write (the machines not written yet fail as ``RunStopped``, unsent). A run without a lease path
(no follower, or ``async_status``) is never stopped this way.

The file's modification time is the lease: it is set and read by the clock of the host the run is on, so the
controller's clock does not matter, and ``MDE_TIME_SCALE`` (which speeds the module's clock up) does not shorten it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Callable, Optional

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._client.write_barrier import NotSent

if TYPE_CHECKING:  # run_progress.py reads this file's STOPPED_CODE
    from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import RunProgress

# A follower renews the lease every RENEW_SECONDS; one that has not done so for LEASE_SECONDS is gone.
LEASE_SECONDS = 10.0
RENEW_SECONDS = 2.0
# A run's follower starts after every run of the loop that starts them (one per file) has started: the first lease
# holds this much longer, so that the follower can take over.
START_GRACE_SECONDS = 120.0
STOPPED_CODE = "RunStopped"


class RunStopped(NotSent):
    """A write that was not sent because the play that started the run stopped following it."""

    def to_dict(self) -> dict:
        return {"code": STOPPED_CODE, "message": self.message, "http_status": None}


class RunLease:
    """The lease of one run at ``path`` (None: a run without a lease, never stopped). Thread-safe; once stopped, it
    stays stopped, so that no write slips through after another thread found the lease gone."""

    def __init__(self, path: Optional[str], seconds: float = LEASE_SECONDS, timer: Callable[[], float] = time.time,
                 on_stop: Optional[Callable[[str], None]] = None) -> None:
        self._path = path
        self._seconds = seconds
        self._timer = timer
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._reason: Optional[str] = None

    @property
    def path(self) -> Optional[str]:
        return self._path

    @property
    def stopped(self) -> bool:
        return self._reason is not None

    def grant(self) -> None:
        """Start the lease (an owner-only file), holding START_GRACE_SECONDS longer than a renewal, so that the run may
        write until its follower takes over."""
        if self._path is None:
            return
        try:
            os.close(os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o600))
            until = self._timer() + START_GRACE_SECONDS
            os.utime(self._path, (until, until))
        except OSError as error:
            raise InputError("lease_path %s cannot be written (%s): give a file in a folder this account can write, "
                             "the one of progress_path for example" % (self._path, error.strerror)) from None

    def check(self) -> None:
        """Raise RunStopped when the lease is gone or expired (and from then on)."""
        if self._path is None:
            return
        with self._lock:
            if self._reason is None:
                self._reason = self._lapse()
                if self._reason is not None and self._on_stop is not None:
                    self._on_stop(self._reason)
            reason = self._reason
        if reason is not None:
            raise RunStopped(
                "not sent: %s, so this run sent no further write; run the same task or play again to finish (machines "
                "already written show as existing, none is written twice), or with state cancelled to undo" % reason)

    def release(self) -> None:
        """Remove the lease file: nobody follows a finished or stopped run any more."""
        if self._path is not None:
            try:
                os.unlink(self._path)
            except OSError:
                pass

    def _lapse(self) -> Optional[str]:
        """Why the lease no longer holds, or None while it does."""
        if self._path is None:
            return None
        try:
            age = self._timer() - os.stat(self._path).st_mtime
        except FileNotFoundError:
            return "the play that started this run stopped following it (its lease %s was removed: interrupted or cancelled)" % self._path
        except OSError as error:
            return "the lease %s could not be read (%s)" % (self._path, error.strerror)
        if age > self._seconds:
            return ("the play that started this run stopped following it (its lease %s was last renewed %d s ago, "
                    "more than %d s: the controller is gone)" % (self._path, age, self._seconds))
        return None


def finish_leased_run(lease: RunLease, progress: RunProgress) -> None:
    """At the end of a run: the lease goes, and so does a stopped run's progress file, which nobody follows any more."""
    if lease.stopped:
        progress.discard()
    lease.release()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""WriteBarrier: the first write of a run refused for a missing permission, or without a token, stops every further
write of it.

Without it an app that lacks the write permission makes one refused call per machine (each also spends the API's
hourly budget); a token that can no longer be renewed (a secret rotated or revoked during a long run) would be asked
for again by every write, and each time refused. The run's first write goes out alone, and the others wait for its answer: so when the permission is
missing exactly one call is refused, and the rest of the run costs no call. Once that first answer is in, writes go
out in parallel again; one refused later still closes the barrier for the writes not yet sent.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional, TypeVar

from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, AuthenticationError, MdeError

Answer = TypeVar("Answer")


class NotSent(MdeError):
    """A write the run did not send because it had stopped writing; the machine's result says why."""


class WritesStopped(NotSent):
    """A write that was not sent, because an earlier write of the run was refused for a missing permission; or one
    that got no access token, as every write after it would not."""

    def __init__(self, refusal: MdeError, refused_target: Any) -> None:
        if isinstance(refusal, AuthenticationError):
            message = ("no action was created: no access token could be had for the write to %s (%s), so this run sent no"
                       " further write; fix the credentials, then rerun the task: it writes only to the machines still without"
                       " an action" % (refused_target, refusal))
        else:
            # The task's message says how to grant the permission, once for all machines.
            message = ("not sent: the write to %s was refused because the application lacks the permission %s, so this run"
                       " sent no further write" % (refused_target, getattr(refusal, "missing_permission", None)))
        super().__init__(message)
        self.refusal = refusal

    def to_dict(self) -> dict[str, Any]:
        """A result's ``error``: the refusal's code, HTTP status and missing permission (if any), with this message."""
        return dict(self.refusal.to_dict(), message=self.message)


class WriteBarrier:
    """Shared by the worker threads of one run; every write goes through ``send``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first_sent = False
        self._first_answered = threading.Event()
        self._refusal: Optional[MdeError] = None
        self._refused_target: Any = None

    def send(self, target: Any, write: Callable[[], Answer]) -> Answer:
        """``write()``'s answer, or WritesStopped without calling it once a write was refused for a missing permission.

        ``target`` names what is written to (a machine), for the message of the writes that are then not sent.
        """
        with self._lock:
            first, self._first_sent = not self._first_sent, True
        if not first:
            self._first_answered.wait()
        try:
            self._raise_if_stopped()
            return write()
        except ApiError as refusal:
            if refusal.missing_permission:
                self._stop(refusal, target)
            raise
        except AuthenticationError as failure:
            # Raised before the write was sent, or for its 401 when no new token could be had: either way the API made
            # no action, which this write's result says in the words of the writes stopped after it.
            self._stop(failure, target)
            raise WritesStopped(failure, target) from None
        finally:
            if first:
                self._first_answered.set()

    def _raise_if_stopped(self) -> None:
        with self._lock:
            if self._refusal is not None:
                raise WritesStopped(self._refusal, self._refused_target)

    def _stop(self, refusal: MdeError, target: Any) -> None:
        with self._lock:
            if self._refusal is None:
                self._refusal, self._refused_target = refusal, target

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The clock every client-side wait goes through, and the one testing hook that accelerates it."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Mapping, Protocol

from ansible_collections.mde.response.plugins.module_utils.errors import InputError

# Tests and benchmarks run the simulator's clock faster than real time and set this variable so that the module's
# clock follows. It is a testing hook only: in a real run it would shorten every wait the API's limits need.
TIME_SCALE_VARIABLE = "MDE_TIME_SCALE"


class Clock(Protocol):
    """What waits and timestamps go through: SystemClock, or a test's fake time."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...


class SystemClock:
    """Real time, or `scale` times faster than real time (for tests against the simulator's fast clock)."""

    def __init__(self, scale: float = 1) -> None:
        self.scale = float(scale)
        if self.scale <= 0:
            raise ValueError("the clock's scale must be a positive number")
        self._real_start = time.monotonic()
        self._wall_start = time.time()

    def monotonic(self) -> float:
        return time.monotonic() * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._real_start) * self.scale
        return datetime.fromtimestamp(self._wall_start + elapsed, timezone.utc)


def clock_from_environment(environ: Mapping[str, str]) -> tuple[SystemClock, str | None]:
    """The modules' clock and a warning (or None): real time unless the testing hook MDE_TIME_SCALE is set.

    Raises InputError for a value that is not a positive number, before any request.
    """
    value = (environ.get(TIME_SCALE_VARIABLE) or "").strip()
    if not value:
        return SystemClock(), None
    try:
        scale = float(value)
    except ValueError:
        scale = 0.0
    if not (scale > 0 and math.isfinite(scale)):
        raise InputError("%s must be a positive number, not '%s'; it is a testing hook: unset it for real runs"
                         % (TIME_SCALE_VARIABLE, value))
    warning = ("%s=%s is set: this module's clock runs %g times faster than real time, so it waits too little for "
               "rate limits, retries and wait_timeout. It is a testing hook for the simulator: unset %s for real runs"
               % (TIME_SCALE_VARIABLE, value, scale, TIME_SCALE_VARIABLE))
    return SystemClock(scale), warning

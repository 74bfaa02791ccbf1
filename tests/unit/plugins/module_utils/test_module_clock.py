# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The clock, and the MDE_TIME_SCALE testing hook that only the modules' own clock honours, with a warning."""

import time

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.clock import SystemClock, clock_from_environment
from ansible_collections.mde.response.plugins.module_utils.errors import InputError


def test_a_scaled_clock_sleeps_less_and_advances_more(monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    clock = SystemClock(scale=1000)
    clock.sleep(20)
    clock.sleep(0)
    assert slept == [0.02]
    monkeypatch.setattr(time, "monotonic", lambda: 5.0)
    assert clock.monotonic() == 5000.0
    assert clock.now().tzinfo is not None


def test_the_default_clock_is_real_time_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("MDE_TIME_SCALE", "1000")
    assert SystemClock().scale == 1.0


@pytest.mark.parametrize("scale", [0, -2])
def test_a_clock_scale_must_be_positive(scale):
    with pytest.raises(ValueError):
        SystemClock(scale)


@pytest.mark.parametrize("environ", [{}, {"MDE_TIME_SCALE": ""}, {"MDE_TIME_SCALE": "  "}])
def test_without_the_hook_the_modules_clock_is_real_time_and_silent(environ):
    clock, warning = clock_from_environment(environ)
    assert clock.scale == 1.0
    assert warning is None


def test_the_hook_accelerates_the_modules_clock_and_says_so():
    clock, warning = clock_from_environment({"MDE_TIME_SCALE": "120"})
    assert clock.scale == 120.0
    assert "MDE_TIME_SCALE=120 is set" in warning
    assert "120 times faster" in warning
    assert "unset MDE_TIME_SCALE for real runs" in warning


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf"])
def test_a_bad_hook_value_is_an_input_error_naming_it(value):
    with pytest.raises(InputError) as raised:
        clock_from_environment({"MDE_TIME_SCALE": value})
    assert str(raised.value) == (
        "MDE_TIME_SCALE must be a positive number, not '%s'; it is a testing hook: unset it for real runs" % value)

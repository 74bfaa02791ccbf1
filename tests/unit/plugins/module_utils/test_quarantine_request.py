# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QuarantineRequest.from_options: every input error is found before any request."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.plugins.module_utils._model.validation import parse_duration
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    SHA1,
    FakeClock,
    FakeDefenderApi,
    make_machine,
    run_engine,
)

MACHINE = "f46b9bb259ed4a7fb9981b73510e3cc7aa81ec1f"


def request(**options):
    options.setdefault("sha1", SHA1)
    options.setdefault("comment", "INC-4711")
    options.setdefault("machine_ids", [MACHINE])
    return QuarantineRequest.from_options(options)


def refused(match, **options):
    with pytest.raises(InputError, match=match):
        request(**options)


def test_defaults_and_normalisation():
    parsed = request(sha1="  " + SHA1.upper() + " ", comment="  INC-4711\n", tenant_id="ignored")
    assert parsed.sha1 == SHA1
    assert parsed.comment == "INC-4711"
    assert (parsed.state, parsed.force, parsed.succeeded_within, parsed.wait, parsed.wait_timeout) == ("present", False, 86400, False, 900)
    assert (parsed.observed, parsed.allow_partial, parsed.machine_names) == (False, False, ())


def test_ansible_passes_none_for_unset_options():
    parsed = request(machine_names=None, observed=None, state=None, force=None, succeeded_within=None, wait=None,
                     wait_timeout=None, allow_partial=None)
    assert (parsed.state, parsed.succeeded_within, parsed.wait_timeout, parsed.observed) == ("present", 86400, 900, False)


@pytest.mark.parametrize("value, kind", [("a" * 64, "SHA-256"), ("B" * 32, "MD5")])
def test_other_hashes_are_named(value, kind):
    refused("that is a %s, sha1 needs the SHA-1 \\(40 hex characters\\)" % kind, sha1=value)


@pytest.mark.parametrize("value", [None, "", "g" * 40, SHA1[:-1], SHA1 + "0", 12])
def test_malformed_sha1_is_refused(value):
    refused("sha1", sha1=value)


@pytest.mark.parametrize("value", [None, "", "   \n"])
def test_comment_is_required(value):
    refused("comment is required", comment=value)


def test_comment_length_limit():
    assert len(request(comment="x" * 1000).comment) == 1000
    refused("1001 characters long; at most 1000", comment="x" * 1001)


def test_comment_keeps_tabs_and_line_breaks_but_refuses_other_control_characters():
    assert request(comment="line 1\r\n\tline 2").comment == "line 1\r\n\tline 2"
    refused("U\\+0007", comment="bell\x07")
    refused("U\\+001B", comment="escape\x1b[31m")


def test_machine_ids_are_lowercased_and_deduplicated_in_order():
    other = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
    parsed = request(machine_ids=[MACHINE.upper(), other, MACHINE])
    assert parsed.machine_ids == (MACHINE, other)


@pytest.mark.parametrize("value, match", [
    ([MACHINE, "not-an-id"], "machine_ids\\[1\\] must be a Defender device id"),
    ([MACHINE + "00"], "machine_ids\\[0\\]"),
    ([7], "machine_ids\\[0\\] must be a string"),
    (MACHINE, "machine_ids must be a list"),
])
def test_malformed_machine_ids_are_refused(value, match):
    refused(match, machine_ids=value)


def test_machine_names_are_deduplicated_ignoring_case():
    assert request(machine_names=["WS-1.contoso.local", "ws-1.CONTOSO.local", "ws-2"]).machine_names == ("WS-1.contoso.local", "ws-2")


@pytest.mark.parametrize("names, match", [
    (["ok", "  "], "machine_names\\[1\\] is empty"),
    (["a" * 256], "longer than 255"),
    (["ws-1\x00"], "control character U\\+0000"),
    (["ws-1\nws-2"], "control character U\\+000A"),
])
def test_malformed_machine_names_are_refused(names, match):
    refused(match, machine_names=names)


def test_up_to_ten_thousand_names():
    assert len(request(machine_names=["ws-%d" % number for number in range(10000)]).machine_names) == 10000
    refused("10001 names; at most 10000", machine_names=["ws-%d" % number for number in range(10001)])


def test_a_target_is_required():
    refused("no target", machine_ids=[], machine_names=[], observed=False)
    assert request(machine_ids=None, observed=True).observed is True


@pytest.mark.parametrize("option, value", [("state", "absent"), ("force", "yes"), ("wait", 1), ("observed", "true")])
def test_bad_choices_and_flags_are_refused(option, value):
    refused(option, **{option: value})


@pytest.mark.parametrize("value, seconds", [
    ("30m", 1800), ("24h", 86400), ("7d", 604800), ("90s", 90), ("3600", 3600), (3600, 3600), (0, 0), ("0", 0),
    (" 2H ", 7200),
])
def test_succeeded_within_durations(value, seconds):
    assert request(succeeded_within=value).succeeded_within == seconds
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["-1", "1w", "1.5h", -5, True, "", "h", 1.5])
def test_bad_durations_are_refused(value):
    refused("succeeded_within", succeeded_within=value)


def test_wait_timeout_is_plain_seconds():
    assert request(wait_timeout="60").wait_timeout == 60
    assert request(wait_timeout=0).wait_timeout == 0
    refused("wait_timeout must be a whole number of seconds", wait_timeout="15m")
    refused("wait_timeout must not be negative", wait_timeout=-1)


def test_input_errors_are_raised_before_any_request():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1)])
    with pytest.raises(InputError):
        run_engine(api, sha1="a" * 64, machine_names=["ws-00001.contoso.local"])
    assert api.requests == []


def test_more_machines_than_max_machines_are_refused_before_any_request():
    refused(r"the task names 2 machines, more than max_machines \(1\): nothing was sent", machine_ids=[MACHINE, "a" * 40],
            max_machines=1)
    assert request(machine_ids=[MACHINE]).max_machines is None


def test_machines_observed_beyond_max_machines_stop_the_task_before_any_write():
    machines = [make_machine(number) for number in range(3)]
    api = FakeDefenderApi(FakeClock(), machines=machines, file_machines={SHA1: machines})
    with pytest.raises(InputError, match=r"the task targets 3 machines, more than max_machines \(2\)"):
        run_engine(api, machine_ids=None, observed=True, max_machines=2)
    assert not [request for request in api.requests if request["method"] == "POST"]
    assert [request["route"] for request in api.requests] == ["files.machines"]

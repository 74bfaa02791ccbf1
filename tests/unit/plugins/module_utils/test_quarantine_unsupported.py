# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Machines that cannot run StopAndQuarantineFile: decided from the Machine entity, unsent, in check mode too."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.machine_support import unsupported_code
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    FakeClock,
    FakeDefenderApi,
    api_error,
    machine_id,
    make_machine,
    run_engine,
)


@pytest.mark.parametrize("platform, version, build, expected", [
    ("Windows11", "23H2", 22631, None),
    ("Windows10", "22H2", 19045, None),
    ("Windows10", "1703", 15063, None),
    ("Windows10", "1607", 14393, "ClientVersionNotSupported"),
    ("Windows10", None, 14393, "ClientVersionNotSupported"),
    ("Windows10", None, None, None),
    ("WindowsServer2012R2", "6.3", 9600, None),
    ("WindowsServer2025", "24H2", 26100, None),
    ("WindowsServer2012", None, 9200, "OsPlatformNotSupported"),
    ("WindowsServer2008R2", None, 7601, "OsPlatformNotSupported"),
    ("macOS", "14.5", None, "OsPlatformNotSupported"),
    ("Linux", "6.5", None, "OsPlatformNotSupported"),
    ("iOS", None, None, "OsPlatformNotSupported"),
    # Not known here: the API decides.
    ("FutureOS", None, None, None),
    (None, None, None, None),
])
def test_support_follows_the_documented_platforms_and_versions(platform, version, build, expected):
    assert unsupported_code({"osPlatform": platform, "version": version, "osBuild": build}) == expected


def mixed_fleet():
    machines = [
        make_machine(0, osPlatform="Windows11", version="23H2", osBuild=22631),
        make_machine(1, name="mac-01.contoso.local", osPlatform="macOS", version="14.5", osBuild=None),
        make_machine(2, name="desktop-legacy.contoso.local", osPlatform="Windows10", version="1607", osBuild=14393),
    ]
    return FakeDefenderApi(FakeClock(), machines=machines)


@pytest.mark.parametrize("check_mode", [False, True])
def test_unsupported_machines_get_no_write_in_real_runs_and_check_mode_alike(check_mode):
    api = mixed_fleet()
    result = run_engine(api, check_mode=check_mode, machine_ids=[machine_id(number) for number in range(3)])

    assert [entry["outcome"] for entry in result.actions] == ["would_create" if check_mode else "created", "unsupported", "unsupported"]
    assert [request["path"] for request in api.writes()] == ([] if check_mode else ["/api/machines/%s/StopAndQuarantineFile" % machine_id(0)])
    mac, legacy = result.actions[1]["unsupported"], result.actions[2]["unsupported"]
    assert (mac["code"], mac["os_platform"], legacy["code"], legacy["version"]) == (
        "OsPlatformNotSupported", "macOS", "ClientVersionNotSupported", "1607")
    assert result.actions[1]["error"] is None and result.summary["unsupported"] == 2 and result.summary["failed"] == 0
    assert "the machine reports osPlatform macOS, version 14.5, build None, so nothing was sent" in mac["message"]
    assert result.warnings == [
        "2 machine(s) cannot run StopAndQuarantineFile and got no action: mac-01.contoso.local (OsPlatformNotSupported), "
        "desktop-legacy.contoso.local (ClientVersionNotSupported). StopAndQuarantineFile runs on Windows 10 version 1703 or later, "
        "Windows 11 and Windows Server 2012 R2 or later; a file indicator blocks the file there instead (mde.response.file_indicator "
        "with action BlockAndRemediate, which the mde.response.contain playbook sets) (see actions[].unsupported)"]


@pytest.mark.parametrize("code", ["OsPlatformNotSupported", "ClientVersionNotSupported"])
def test_the_apis_refusal_for_a_machine_its_entity_did_not_tell_is_unsupported_too(code):
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(0, osPlatform="FutureOS")])
    api.post_script[machine_id(0)] = [api_error(400, code, "not for this machine")]

    result = run_engine(api, machine_ids=[machine_id(0)])

    entry = result.actions[0]
    assert (entry["outcome"], entry["error"], entry["unsupported"]["code"]) == ("unsupported", None, code)
    assert "the API refused the action (%s: not for this machine)" % code in entry["unsupported"]["message"]
    assert result.changed is False


def test_a_release_reports_an_unsupported_machine_without_writing():
    api = mixed_fleet()
    result = run_engine(api, machine_ids=[machine_id(1)], state="cancelled")
    assert result.actions[0]["outcome"] == "unsupported" and api.writes() == []

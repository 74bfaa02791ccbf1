# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which machines can run a machine action, decided from the Machine entity before anything is sent.

StopAndQuarantineFile "takes effect on devices with Windows 10, version 1703 or later, and Windows 11 and Windows
Server 2012 R2 or later" (respond-file-alerts.md, section 8 of the API reference); no Microsoft page lists macOS or
Linux for it. The other actions' pages (isolate-machine.md, restrict-code-execution.md, run-av-scan.md,
collect-investigation-package.md) list Windows 10 from a version, Windows 11 and, for Full isolation, Linux; whether
the service also takes Windows Server or macOS is not documented, so only what is certainly unsupported (an older
Windows, a phone) is decided here. A platform a rule does not name is left to the API, whose refusal
(OsPlatformNotSupported or ClientVersionNotSupported) gives the same outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.mde.response.plugins.module_utils._model.entities import value_of

SUPPORTED_PLATFORMS = frozenset(("Windows11", "WindowsServer2012R2", "WindowsServer2016", "WindowsServer2019", "WindowsServer2022",
                                 "WindowsServer2025"))
# Platforms Defender reports (machine.md) on which the action cannot run.
UNSUPPORTED_PLATFORMS = frozenset(("macOS", "Linux", "iOS", "Android", "Windows7", "Windows8", "Windows8.1", "WindowsServer2008R2",
                                   "WindowsServer2012"))
WINDOWS10 = "Windows10"
MINIMUM_WINDOWS10_VERSION = 1703
# The build of Windows 10 version 1703, for a machine that reports a build and no version.
MINIMUM_WINDOWS10_BUILD = 15063
# The API's own codes for the two refusals, kept in results so that they read the same whoever decided.
PLATFORM_CODE = "OsPlatformNotSupported"
VERSION_CODE = "ClientVersionNotSupported"
UNSUPPORTED_CODES = (PLATFORM_CODE, VERSION_CODE)
SUPPORT_RULE = "StopAndQuarantineFile runs on Windows 10 version 1703 or later, Windows 11 and Windows Server 2012 R2 or later"
INDICATOR_ADVICE = ("a file indicator blocks the file there instead (mde.response.file_indicator with action BlockAndRemediate, "
                    "which the mde.response.contain playbook sets)")


# Platforms Defender reports on which no machine action runs: no sensor, or a Windows older than any action's pages.
NO_ACTION_PLATFORMS = frozenset(("iOS", "Android", "Windows7", "Windows8", "Windows8.1", "WindowsServer2008R2"))
# Windows 10 version 1709 and its build, for Selective isolation, app restriction and scans.
WINDOWS10_1709 = (1709, 16299)


@dataclass(frozen=True)
class SupportRule:
    """Where one action (and scope) runs: what is certainly unsupported, and the sentences a result explains it with."""

    unsupported_platforms: frozenset
    windows10_minimum: tuple          # (version, build)
    rule: str                         # where the action runs, in words
    advice: str                       # what to do on the machines it cannot run on


QUARANTINE_SUPPORT = SupportRule(UNSUPPORTED_PLATFORMS, (MINIMUM_WINDOWS10_VERSION, MINIMUM_WINDOWS10_BUILD), SUPPORT_RULE,
                                 INDICATOR_ADVICE)


def action_support(action: str, minimum: tuple, rule: str, advice: str) -> SupportRule:
    """The rule of an action other than StopAndQuarantineFile: Windows 10 from ``minimum``; what else, the API says."""
    return SupportRule(NO_ACTION_PLATFORMS, minimum, "%s %s" % (action, rule), advice)


def unsupported_code(machine: Optional[dict], rule: SupportRule = QUARANTINE_SUPPORT) -> Optional[str]:
    """The API's code for why ``machine`` cannot run the action, or None when it can or its entity does not tell."""
    platform = value_of(machine, "osPlatform")
    if platform in rule.unsupported_platforms:
        return PLATFORM_CODE
    if platform == WINDOWS10 and not _windows10_supported(value_of(machine, "version"), value_of(machine, "osBuild"),
                                                          rule.windows10_minimum):
        return VERSION_CODE
    return None


def unsupported_details(code: str, machine: Optional[dict], api_message: Optional[str] = None,
                        rule: SupportRule = QUARANTINE_SUPPORT) -> dict:
    """A result's ``unsupported``: the code, what the machine reports and, in words, why nothing was sent."""
    platform, version, build = (value_of(machine, name) for name in ("osPlatform", "version", "osBuild"))
    if api_message is not None:
        reason = "the API refused the action (%s: %s)" % (code, api_message)
    else:
        reason = "the machine reports osPlatform %s, version %s, build %s, so nothing was sent" % (platform, version, build)
    return {"code": code, "os_platform": platform, "version": version, "os_build": build,
            "message": "%s; %s; %s" % (rule.rule, reason, rule.advice)}


def _windows10_supported(version: object, build: object, minimum: tuple) -> bool:
    if isinstance(version, str) and version.isdigit():
        return int(version) >= minimum[0]
    if isinstance(version, str) and version:
        # Names such as "20H2" began in 2020, long after 1709.
        return True
    return not isinstance(build, int) or build >= minimum[1]

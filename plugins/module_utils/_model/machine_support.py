# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which machines can run StopAndQuarantineFile, decided from the Machine entity before anything is sent.

The action "takes effect on devices with Windows 10, version 1703 or later, and Windows 11 and Windows Server 2012 R2
or later" (respond-file-alerts.md, section 8 of the API reference); no Microsoft page lists macOS or Linux for it.
A platform this file does not know is left to the API, whose refusal (OsPlatformNotSupported or
ClientVersionNotSupported) gives the same outcome.
"""

from __future__ import annotations

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


def unsupported_code(machine: Optional[dict]) -> Optional[str]:
    """The API's code for why ``machine`` cannot run the action, or None when it can or its entity does not tell."""
    platform = value_of(machine, "osPlatform")
    if platform in UNSUPPORTED_PLATFORMS:
        return PLATFORM_CODE
    if platform == WINDOWS10 and not _windows10_supported(value_of(machine, "version"), value_of(machine, "osBuild")):
        return VERSION_CODE
    return None


def unsupported_details(code: str, machine: Optional[dict], api_message: Optional[str] = None) -> dict:
    """A result's ``unsupported``: the code, what the machine reports and, in words, why nothing was sent."""
    platform, version, build = (value_of(machine, name) for name in ("osPlatform", "version", "osBuild"))
    if api_message is not None:
        reason = "the API refused the action (%s: %s)" % (code, api_message)
    else:
        reason = "the machine reports osPlatform %s, version %s, build %s, so nothing was sent" % (platform, version, build)
    return {"code": code, "os_platform": platform, "version": version, "os_build": build,
            "message": "%s; %s; %s" % (SUPPORT_RULE, reason, INDICATOR_ADVICE)}


def _windows10_supported(version: object, build: object) -> bool:
    if isinstance(version, str) and version.isdigit():
        return int(version) >= MINIMUM_WINDOWS10_VERSION
    if isinstance(version, str) and version:
        # Names such as "20H2" began in 2020, long after 1703.
        return True
    return not isinstance(build, int) or build >= MINIMUM_WINDOWS10_BUILD

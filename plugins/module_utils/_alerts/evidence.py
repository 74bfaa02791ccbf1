# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which SHA-1s of an alert's evidence the mde.response.alerts event source offers for quarantine, and why.

An alert's evidence lists every entity involved, not only the culprit: a Process entry's ``sha1`` is the image of
a process that took part (often ``powershell.exe``, ``rundll32.exe`` or a parent process), and quarantining it
would break the machine. So a SHA-1 is selected only when all of these hold:

- the entry is ``File`` evidence, or ``Process`` evidence and the source's ``include_processes`` is on;
- Defender judged it: a ``verdict`` of ``malicious`` or ``suspicious`` where the entry carries one (the Graph
  alerts_v2 evidence does; the MDE API's documented entries do not), else a ``detectionStatus`` of ``Detected``,
  ``Blocked`` or ``Prevented``;
- it is not a Microsoft-signed binary (``signer``, ``issuer`` or ``filePublisher`` naming Microsoft, at the top
  of the entry or under ``fileDetails``) and does not lie in a Windows system folder. The MDE API's documented
  evidence carries no signer, so the folder is what protects the system binaries there.
"""

from __future__ import annotations

import re
from typing import Any

FILE = "File"
PROCESS = "Process"
DETECTED_STATUSES = ("Detected", "Blocked", "Prevented")
JUDGED_VERDICTS = ("malicious", "suspicious")
SIGNER_FIELDS = ("signer", "issuer", "filePublisher")
# The folders of Windows' own binaries (below the system drive's Windows folder) and of Defender itself.
SYSTEM_FOLDERS = (
    r"windows", r"windows\system32", r"windows\syswow64", r"windows\winsxs", r"windows\systemapps",
    r"windows\servicing", r"windows\microsoft.net", r"windows\immersivecontrolpanel", r"program files\windows defender",
    r"program files\windows defender advanced threat protection", r"programdata\microsoft\windows defender\platform",
)
_TOP_LEVEL_ONLY = (r"windows",)
_SHA1 = re.compile(r"[0-9a-f]{40}", re.IGNORECASE)
_MICROSOFT = re.compile(r"\bmicrosoft\b", re.IGNORECASE)
_DRIVE = re.compile(r"^[a-z]:\\", re.IGNORECASE)
_WINDOWS_VARIABLE = re.compile(r"^%(?:systemroot|windir)%\\", re.IGNORECASE)


def select_evidence(evidence: Any, include_processes: bool) -> list[dict[str, Any]]:
    """One entry per distinct SHA-1 of the evidence: where it came from, whether it is selected and why."""
    choices: dict[str, dict[str, Any]] = {}
    for entry in evidence if isinstance(evidence, list) else ():
        sha1 = entry.get("sha1") if isinstance(entry, dict) else None
        if not (isinstance(sha1, str) and _SHA1.fullmatch(sha1)):
            continue
        choice = _choice(entry, sha1.lower(), include_processes)
        known = choices.get(choice["sha1"])
        # The same binary may appear as a File and as a Process: one selected entry decides.
        if known is None or (choice["selected"] and not known["selected"]):
            choices[choice["sha1"]] = choice
    return list(choices.values())


def _choice(entry: dict[str, Any], sha1: str, include_processes: bool) -> dict[str, Any]:
    kind = entry.get("entityType")
    choice = {"sha1": sha1, "entityType": kind, "fileName": entry.get("fileName"), "filePath": entry.get("filePath"),
              "detectionStatus": entry.get("detectionStatus"), "verdict": entry.get("verdict")}
    reason = _refusal(entry, kind, include_processes)
    choice["selected"] = reason is None
    choice["reason"] = reason or "%s evidence that Defender judged %s" % (kind, _judgement(entry))
    return choice


def _refusal(entry: dict[str, Any], kind: Any, include_processes: bool) -> str | None:
    """Why the entry's SHA-1 is not to be quarantined, or None when it is."""
    if kind == PROCESS and not include_processes:
        return ("the image of a process involved in the alert, not necessarily the malicious file; set the source's "
                "include_processes: true to act on process images")
    if kind not in (FILE, PROCESS):
        return "%s evidence is not a file" % (kind or "untyped")
    if _judgement(entry) is None:
        return ("Defender did not judge it malicious or suspicious (detectionStatus %s%s)"
                % (entry.get("detectionStatus"), ", verdict %s" % entry["verdict"] if entry.get("verdict") else ""))
    signer = microsoft_signer(entry)
    if signer:
        return "signed by Microsoft (%s): a system binary is never quarantined on an alert" % signer
    if in_system_folder(entry.get("filePath")):
        return "in the Windows system folder %s: a system binary is never quarantined on an alert" % entry["filePath"]
    return None


def _judgement(entry: dict[str, Any]) -> str | None:
    """Defender's judgement of the entry, when it is one that warrants action."""
    verdict = entry.get("verdict")
    if isinstance(verdict, str) and verdict:
        # A verdict, where the entry has one, overrides the detection status (noThreatsFound after a detection).
        return "%s (verdict)" % verdict if verdict.lower() in JUDGED_VERDICTS else None
    status = entry.get("detectionStatus")
    return "%s (detectionStatus)" % status if status in DETECTED_STATUSES else None


def microsoft_signer(entry: dict[str, Any]) -> str | None:
    """The signer, issuer or publisher naming Microsoft, from the entry or its ``fileDetails``."""
    details = entry.get("fileDetails")
    for source in (entry, details if isinstance(details, dict) else {}):
        for field in SIGNER_FIELDS:
            value = source.get(field)
            if isinstance(value, str) and _MICROSOFT.search(value):
                return value
    return None


def in_system_folder(path: Any) -> bool:
    """Whether a folder (the evidence's ``filePath``), or a file in it, is one of Windows' own, on any drive."""
    if not isinstance(path, str):
        return False
    folder = _WINDOWS_VARIABLE.sub(r"c:\\windows\\", path.strip().replace("/", "\\"))
    if not _DRIVE.match(folder):
        return False
    folder = _DRIVE.sub("", folder).rstrip("\\").lower()
    return any(folder == system or (system not in _TOP_LEVEL_ONLY and folder.startswith(system + "\\"))
               for system in SYSTEM_FOLDERS)

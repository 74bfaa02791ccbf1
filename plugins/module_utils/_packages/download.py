# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After the collections: each machine's package downloaded to ``dest``, unless a file of that collection is there.

A machine whose collection Succeeded gets ``package`` (``path``, ``size``, ``sha256``) and ``download``: ``downloaded``
(this run wrote the file), ``present`` (a file of the same collection was already in ``dest``: nothing is asked of the
API), ``would_download`` (check mode) or ``failed`` (the machine's outcome becomes ``failed`` with the reason, and the
collection stays in ``action``, so that a rerun within ``succeeded_within`` downloads it without collecting again).
Downloads run one after the other: the link route allows 2 calls a minute, so parallel downloads would only wait.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Optional

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import EngineResult, Outcome, error_dict
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.package_download import PackageFile
from ansible_collections.mde.response.plugins.module_utils._model.entities import SUCCEEDED, is_in_flight
from ansible_collections.mde.response.plugins.module_utils._packages.collection import (
    DOWNLOAD_FAILED,
    DOWNLOADED,
    PRESENT,
    WOULD_DOWNLOAD,
)
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, AuthenticationError, MdeError, error_entry

SUFFIX = ".zip"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
RERUN_HINT = ("run the task again within succeeded_within: it downloads this collection's package without collecting"
              " again")


def package_name(entry: dict[str, Any]) -> str:
    """``<machine>_<action id>.zip``: the machine's DNS name as Defender lists it (else as given, else its id)."""
    action = entry.get("action") or {}
    machine = action.get("computerDnsName") or entry.get("machine_name") or entry.get("machine_id") or "machine"
    return "%s_%s%s" % (_UNSAFE.sub("_", str(machine).lower()).lstrip("."), _UNSAFE.sub("_", str(entry["action_id"])), SUFFIX)


def present_package(folder: str, action_id: str) -> Optional[str]:
    """The file of collection ``action_id`` already in ``folder``, whatever machine name it was saved under, or None.

    Only complete files have a final name (temporary ones start with a dot), so one found is a whole package."""
    ending = "_%s%s" % (_UNSAFE.sub("_", action_id), SUFFIX)
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(ending) and not name.startswith("."))
    except FileNotFoundError:
        return None
    return os.path.join(folder, names[0]) if names else None


def fetch_packages(client: Optional[DefenderClient], result: EngineResult, folder: str, check_mode: bool) -> EngineResult:
    """``result`` with each collected machine's package in ``folder`` (``client`` may be None in check mode); a file
    written, or in check mode one that would be, is a change."""
    fetcher = _Fetcher(client, folder, check_mode)
    for entry in result.actions:
        entry["package"], entry["download"] = None, None
        if entry["outcome"] == Outcome.WOULD_CREATE:
            entry["download"] = WOULD_DOWNLOAD
        elif entry["outcome"] in (Outcome.CREATED, Outcome.EXISTING) and entry.get("action_id"):
            fetcher.fetch(entry)
        elif entry["outcome"] == Outcome.EXISTING:
            # The API refused a collection as already running, and the action list does not show that one yet.
            _failed(entry, error_entry("CollectionNotListed", (
                "the API refused a new collection because one is already running on this machine, but the action list"
                " does not show it yet, so its package cannot be fetched: run the task again in a few minutes; it waits"
                " for that collection and downloads its package")), rerun_hint=False)
    summary = {outcome: sum(entry["outcome"] == outcome for entry in result.actions) for outcome in result.summary}
    return dataclasses.replace(result, changed=result.changed or fetcher.wrote, summary=summary)


class _Fetcher:
    """The downloads of one run, in turn. A refusal for a missing permission, or no access token, would meet every
    later link too (each costing half a minute of the link's limits), so it fails the machines left unasked."""

    def __init__(self, client: Optional[DefenderClient], folder: str, check_mode: bool) -> None:
        self._client = client
        self._folder = folder
        self._check_mode = check_mode
        self._stopped_by: Optional[dict[str, Any]] = None
        # Whether a file was written (in check mode, would be).
        self.wrote = False

    def fetch(self, entry: dict[str, Any]) -> None:
        present = present_package(self._folder, entry["action_id"])
        if present is not None:
            entry["package"], entry["download"] = PackageFile.of(present).as_dict(), PRESENT
            return
        path = os.path.join(self._folder, package_name(entry))
        if self._check_mode:
            # The collection in flight is waited for, and then downloaded, in a real run.
            if entry["status"] == SUCCEEDED or is_in_flight(entry.get("action")):
                entry["package"], entry["download"] = {"path": path, "size": None, "sha256": None}, WOULD_DOWNLOAD
                self.wrote = True
            return
        if entry["status"] != SUCCEEDED or self._client is None:
            return
        if self._stopped_by is not None:
            _failed(entry, dict(self._stopped_by, message="not asked for: an earlier package link was refused (%s)"
                                % self._stopped_by["message"]))
            return
        try:
            os.makedirs(self._folder, mode=0o700, exist_ok=True)
            package = self._client.download_package(entry["action_id"], path)
        except MdeError as error:
            details = error_dict(error)
            if isinstance(error, AuthenticationError) or (isinstance(error, ApiError) and error.http_status == 403):
                self._stopped_by = dict(details)
            _failed(entry, details)
            return
        except OSError as error:
            _failed(entry, error_entry("PackageNotWritten", "%s could not be written (%s): check that the folder is"
                                       " writable and has room" % (path, error.strerror or error)))
            return
        entry["package"], entry["download"] = package.as_dict(), DOWNLOADED
        self.wrote = True


def _failed(entry: dict[str, Any], error: dict[str, Any], rerun_hint: bool = True) -> None:
    if rerun_hint:
        error["message"] = "%s; the collection Succeeded, so %s" % (error["message"], RERUN_HINT)
    entry["outcome"], entry["error"], entry["download"] = Outcome.FAILED, error, DOWNLOAD_FAILED

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Downloading an investigation package from its short-lived link to a file that appears only once it is complete.

The link (``getPackageUri``) is a blob storage SAS URL valid for minutes, so it is asked for when a download starts
and again when blob storage refuses it as expired (403 ``AuthenticationFailed``). Its query is the signature, a
credential while it lives: no message, result or exception here holds more of a link than its scheme, host and path.

The GET carries no bearer token (the signature is the credential) and goes through the API's own session, so the
same TLS trust (``ca_path``, ``validate_certs``) and proxies apply. A transfer that breaks goes on from where it broke
with ``Range`` when the server honours it (a 206 from that offset) and starts over when it does not (a 200). The
bytes go to a temporary file in the destination's folder, readable by its owner only, renamed once complete, so a
file under the final name is always a whole package.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from typing import IO, Any, Callable, Optional
from urllib.parse import urlsplit

from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._client.retry import backoff
from ansible_collections.mde.response.plugins.module_utils._client.session import certificate_rejected, describe_connection_error
from ansible_collections.mde.response.plugins.module_utils.errors import MdeError

try:
    import requests
except ImportError:
    requests = None  # type: ignore[assignment]  # session.py reports it

# Transfers of one package at most: the first and the retries after it broke.
MAX_TRANSFERS = 5
# Links asked for one package at most: the first and those after blob storage refused one as expired. Each costs one
# of getPackageUri's 2 calls a minute.
MAX_LINKS = 3
# Small enough that a transfer broken early has kept something to resume from.
CHUNK_BYTES = 64 * 1024
EXPIRED_CODE = "AuthenticationFailed"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


class PackageDownloadError(MdeError):
    """A package could not be downloaded; the message says why and what to do, and never holds the link's query."""

    code = "PackageDownloadFailed"

    def __init__(self, message: str, http_status: Optional[int] = None) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass(frozen=True)
class PackageFile:
    """A complete package on disk."""

    path: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def of(cls, path: str) -> "PackageFile":
        """The package already at ``path`` (a file under a final name is always complete)."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                size += len(chunk)
        return cls(path, size, digest.hexdigest())


def safe_location(link: str) -> str:
    """The link without its query (the signature) or fragment, for messages."""
    parts = urlsplit(link)
    return "%s://%s%s" % (parts.scheme, parts.hostname or "", parts.path)


def download_package(session: requests.Session, fetch_link: Callable[[], str], path: str, clock: Clock,
                     timeout: float) -> PackageFile:
    """Download the package ``fetch_link()`` points to into ``path``; raise PackageDownloadError (or what
    ``fetch_link`` raises) when it cannot, leaving no file behind."""
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, partial = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path), suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            received = _Received(stream)
            _Download(session, fetch_link, clock, timeout).into(received)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return PackageFile(path, received.size, received.digest.hexdigest())


class _Received:
    """The bytes written so far and their hash, kept in step so that a resumed transfer hashes the whole file."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self._stream.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        self._stream.seek(0)
        self._stream.truncate()
        self.size = 0
        self.digest = hashlib.sha256()


class _Broken(Exception):
    """A transfer that ended early: the reason, for the message after the last try."""


class _Download:
    """The transfers and links of one package."""

    def __init__(self, session: requests.Session, fetch_link: Callable[[], str], clock: Clock, timeout: float) -> None:
        self._session = session
        self._fetch_link = fetch_link
        self._clock = clock
        self._timeout = timeout
        self._links = 0
        self._link = self._new_link()
        # Whether the server said it serves ranges (Accept-Ranges: bytes): only then is a broken transfer resumed.
        self._resumable = False

    def into(self, received: _Received) -> None:
        breaks = 0
        while True:
            try:
                if self._transfer(received):
                    return
            except _Broken as broken:
                breaks += 1
                if breaks >= MAX_TRANSFERS:
                    raise PackageDownloadError(
                        "GET %s: the download broke %d times (last: %s) with %d bytes received; check the network or the"
                        " proxy to the store, then run the task again: it asks for a new link" % (
                            safe_location(self._link), breaks, broken, received.size)) from None
                self._clock.sleep(backoff(breaks))

    def _transfer(self, received: _Received) -> bool:
        """One GET: True once the package is complete, False to send another (a new link), _Broken to retry."""
        resume = self._resumable and received.size > 0
        headers = {"Range": "bytes=%d-" % received.size} if resume else {}
        try:
            with self._session.get(self._link, headers=headers, stream=True, allow_redirects=False) as response:
                return self._read(response, received, resume)
        except requests.RequestException as exc:
            reason = describe_connection_error(exc, self._timeout)
            if certificate_rejected(exc):
                raise PackageDownloadError("GET %s: %s" % (safe_location(self._link), reason)) from None
            raise _Broken(reason) from None

    def _read(self, response: requests.Response, received: _Received, resume: bool) -> bool:
        status = response.status_code
        if status == 403 and _expired(response):
            self._link = self._new_link()
            return False
        total = None
        if status == 416 and resume:
            # Asked for the bytes after the last one: the package was already whole when the transfer broke.
            unsatisfied = _UNSATISFIED_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if unsatisfied and int(unsatisfied.group(1)) == received.size:
                return True
        if status == 206 and resume:
            found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not found or int(found.group(1)) != received.size:
                # Not the range asked for: the only safe way on is to start over without one.
                self._resumable = False
                received.restart()
                raise _Broken("the server answered another range than the one asked for")
            total = int(found.group(3)) if found.group(3) != "*" else None
        elif status == 200:
            received.restart()
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        else:
            raise PackageDownloadError(_refusal(response, self._link), http_status=status)
        self._resumable = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        for chunk in response.iter_content(CHUNK_BYTES):
            received.write(chunk)
        if total is not None and received.size != total:
            raise _Broken("%d of %d bytes arrived" % (received.size, total))
        return True

    def _new_link(self) -> str:
        if self._links >= MAX_LINKS:
            raise PackageDownloadError(
                "blob storage refused %d package links in a row as expired or invalid (403 %s), although each was asked"
                " for just before its download: check that the controller's clock is right, then run the task again"
                % (self._links, EXPIRED_CODE), http_status=403)
        self._links += 1
        link = self._fetch_link()
        if urlsplit(link).scheme != "https":
            raise PackageDownloadError("the API gave a package link that is not HTTPS (%s): it was not followed"
                                       % safe_location(link))
        return link


def _expired(response: requests.Response) -> bool:
    # Blob storage names its error in a header and in the XML body; an expired and an altered link answer alike.
    return (response.headers.get("x-ms-error-code") == EXPIRED_CODE
            or ("<Code>%s</Code>" % EXPIRED_CODE).encode() in response.content[:4096])


def _refusal(response: requests.Response, link: str) -> str:
    code = response.headers.get("x-ms-error-code")
    return "GET %s: HTTP %d%s from the package store; run the task again later, or download the package from the" \
        " portal's Action center" % (safe_location(link), response.status_code, " %s" % code if code else "")

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The persistent token cache: msal's caches kept between module runs in a private, locked file per identity."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ansible_collections.mde.response.plugins.module_utils._client.private_files import replace_json

if TYPE_CHECKING:
    from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings

try:
    import requests
except ImportError:
    # session.py reports the missing library; nothing here runs without it.
    requests = None  # type: ignore[assignment]

CACHE_FORMAT = 1


class PersistentTokenCache:
    """msal's token cache and HTTP (OIDC discovery) cache, kept between module runs in a per-identity file.

    Each module run is a new process, so without it every task and every fork would fetch a token of its own.
    The file is named by a hash of the identity (authority, client id and credential) so that a wrong secret
    never reuses a token obtained with the right one. It is read, used and written under an exclusive lock, so
    that concurrent forks take turns: the first fetches the token, the others find it. A damaged file is ignored
    and replaced. The folder is 0700 and the files 0600: they hold bearer tokens.
    """

    def __init__(self, directory: str, identity: str) -> None:
        self.directory = directory
        name = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        self.path = os.path.join(directory, name + ".json")
        self.lock_path = os.path.join(directory, name + ".lock")

    @contextlib.contextmanager
    def session(self, token_cache: Any, http_cache: dict[Any, Any]) -> Iterator[None]:
        """Lock, load into the caches, let the caller use them, save what changed, unlock."""
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            loaded_http_cache = self._load(token_cache, http_cache)
            yield
            self._save(token_cache, http_cache, loaded_http_cache)
        finally:
            os.close(lock)

    def _load(self, token_cache: Any, http_cache: dict[Any, Any]) -> dict[str, Any]:
        """Fill the caches from the file; returns the HTTP cache as stored, to tell later whether it changed."""
        state = self._read()
        token_cache.deserialize(json.dumps(state["token_cache"]) if state else None)
        http_cache.clear()
        if state:
            http_cache.update(state["responses"])
        return state["http_cache"] if state else {}

    def _read(self) -> Optional[dict[str, Any]]:
        try:
            if os.stat(self.path).st_mode & 0o077:
                os.chmod(self.path, 0o600)
            with open(self.path, encoding="utf-8") as cache_file:
                state = json.load(cache_file)
            if not _valid_state(state):
                return None
            state["responses"] = _responses_from_json(state["http_cache"])
        except (OSError, ValueError):
            return None
        return state

    def _save(self, token_cache: Any, http_cache: dict[Any, Any], loaded_http_cache: dict[str, Any]) -> None:
        http_state = _responses_to_json(http_cache)
        if not token_cache.has_state_changed and http_state == loaded_http_cache:
            return
        state = {"format": CACHE_FORMAT, "token_cache": json.loads(token_cache.serialize()), "http_cache": http_state}
        replace_json(self.path, state)


# What the user can change about an unusable cache folder: its location comes from XDG_CACHE_HOME (else HOME).
UNUSABLE_FOLDER_ADVICE = ("set XDG_CACHE_HOME to a folder of your own that can be written (the cache goes in its "
                          "mde.response folder), or set token_cache: false (MDE_TOKEN_CACHE=false) to run without the cache "
                          "and without this warning")


def prepare_cache_folder(settings: ConnectionSettings) -> Optional[str]:
    """Make the token cache folder private and usable; when it cannot be, turn the cache off with a warning.

    The cache only saves token requests, so a read-only or missing HOME (some CI runners and containers) must not
    stop an incident run. Returns the folder, or None when there is no cache.
    """
    if not (settings.token_cache and settings.token_cache_dir):
        return None
    problem = _private_folder(settings.token_cache_dir)
    if problem is None:
        return settings.token_cache_dir
    settings.token_cache = False
    settings.warnings.append("the token cache folder '%s' %s, so this run goes on without the token cache (a token "
                             "request per module run, pacing per process); %s" % (settings.token_cache_dir, problem, UNUSABLE_FOLDER_ADVICE))
    return None


def _private_folder(directory: str) -> Optional[str]:
    """None when `directory` is a private folder this process can write in (created 0700 if need be), else why not."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.stat(directory)
    except OSError as error:
        return "cannot be created (%s)" % error.strerror
    if info.st_uid != os.getuid():
        return "belongs to another user, who could read the tokens"
    try:
        if info.st_mode & 0o077:
            os.chmod(directory, 0o700)
        # Whether files can be made in it; permissions alone do not tell (a read-only mount, or root).
        probe, probe_path = tempfile.mkstemp(dir=directory, prefix=".probe-")
        os.close(probe)
        os.unlink(probe_path)
    except OSError as error:
        return "cannot be written (%s)" % error.strerror
    return None


def _valid_state(state: Any) -> bool:
    """True for a cache file this version wrote; anything else is ignored (and replaced on the next save)."""
    if not (isinstance(state, dict) and state.get("format") == CACHE_FORMAT):
        return False
    tokens, responses = state.get("token_cache"), state.get("http_cache")
    return (isinstance(tokens, dict) and all(isinstance(entries, dict) for entries in tokens.values())
            and isinstance(responses, dict))


def _stored_response(fields: Any) -> StoredResponse:
    if not (isinstance(fields, dict) and isinstance(fields.get("status_code"), int)
            and isinstance(fields.get("text"), str) and isinstance(fields.get("headers"), dict)):
        raise ValueError("not a stored response")
    return StoredResponse(fields["status_code"], fields["text"], fields["headers"])


class StoredResponse:
    """An HTTP answer from msal's HTTP cache, in the shape msal reads back (status_code, text, headers)."""

    def __init__(self, status_code: int, text: str, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.text = text
        self.headers = headers

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError("HTTP Error: %d" % self.status_code)


def _responses_to_json(http_cache: dict[Any, Any]) -> dict[str, Any]:
    """msal's HTTP cache holds responses (and its own bookkeeping in plain lists and dicts); JSON, not pickle,
    so that reading a cache file can never run code."""
    encoded = {}
    for key, value in http_cache.items():
        if hasattr(value, "status_code"):
            if not 200 <= value.status_code < 300:
                # msal keeps refusals (a 429's Retry-After, a 5xx, a 400) to replay them instead of asking; kept
                # across runs, one throttled login would fail the next runs without the service being asked.
                continue
            value = {"response": {"status_code": value.status_code, "text": value.text, "headers": dict(value.headers)}}
        encoded[key] = value
    try:
        # Through JSON and back, so that it compares equal to what was loaded when nothing changed.
        return json.loads(json.dumps(encoded))
    except TypeError:
        # Something this version does not know how to store: lose the HTTP cache (a discovery call), not the run.
        return {}


def _responses_from_json(encoded: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for key, value in encoded.items():
        if isinstance(value, dict) and "response" in value:
            value = _stored_response(value["response"])
        decoded[key] = value
    return decoded

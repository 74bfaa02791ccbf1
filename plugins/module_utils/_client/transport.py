# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API transport: one Defender for Endpoint API call with a bearer token, under the retry policy and the pacing.

The session and the retry policy are shared with the login path (session.py, retry.py); what is the API's alone is
here: token renewal on a 401, which answers may be sent again, and reading the API's error bodies.
"""

from __future__ import annotations

import email.utils
import http
import json
import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock, SystemClock
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, MdeError, TransportError
from ansible_collections.mde.response.plugins.module_utils._client.pacing import RateLimiter
from ansible_collections.mde.response.plugins.module_utils._client.retry import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    NOT_TAKEN_STATUSES,
    RetryBudget,
)
from ansible_collections.mde.response.plugins.module_utils._client.session import (
    certificate_rejected,
    describe_connection_error,
    never_sent,
)
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.token_claims import token_roles

try:
    import requests
except ImportError:
    requests = None  # type: ignore[assignment]  # session.py reports it

# Methods that change nothing on the server, so that an answer lost on the way back can simply be asked again.
RESENDABLE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))

# Answers to calls that the API refused before counting them against its rate limits. A 429 is not among them,
# although the API does not count it either: the pacing bounds what the client sends, whatever the API answers.
UNCOUNTED_REFUSALS = frozenset((401,))


class TokenProvider(Protocol):
    """What the transport needs of a token provider (auth.py has them)."""

    def get_token(self) -> str: ...

    def invalidate(self, rejected: str | None = None) -> None: ...


class TransportStats:
    """Counters for callers and benchmarks: attempts per route, retries, 429s received and time spent waiting."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.retries = 0
        self.throttled = 0
        self.token_refreshes = 0
        self.waited_seconds = 0.0
        self.paced_seconds = 0.0
        self._lock = threading.Lock()

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def count_call(self, route: str) -> None:
        with self._lock:
            self.calls[route] += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "retries": self.retries,
                "throttled": self.throttled,
                "token_refreshes": self.token_refreshes,
                "waited_seconds": round(self.waited_seconds, 3),
                "paced_seconds": round(self.paced_seconds, 3),
            }


class HttpTransport:
    """Sends API calls with a bearer token; retries what is safe to retry and raises the collection's errors."""

    def __init__(self, settings: ConnectionSettings, token_provider: TokenProvider, session: requests.Session,
                 clock: Clock | None = None, pacer: RateLimiter | None = None,
                 max_retries: int = DEFAULT_MAX_RETRIES, max_wait: float = DEFAULT_MAX_WAIT,
                 write_gate: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._token_provider = token_provider
        self._session = session
        self._clock = clock or SystemClock()
        self._pacer = pacer or RateLimiter(clock=self._clock)
        self._max_retries = max_retries
        self._max_wait = max_wait
        self.stats = TransportStats()
        # The Date of the answer each thread received last: the engine's threads each read their own write's.
        self._last_answer = threading.local()
        # Called before each write is sent, after any wait for the limits (which can be long); raises to keep it unsent.
        self._write_gate = write_gate

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                route: str | None = None, collection: bool = False) -> dict[str, Any] | None:
        """Send one API call and return its JSON object, or None when the answer has no body."""
        method = method.upper()
        route = route or "%s %s" % (method, path)
        budget = RetryBudget(self._clock, self._max_retries, self._max_wait)
        token_refreshed = False
        while True:
            budget.start()
            self._pass_write_gate(method)
            waited, place = self._pacer.acquire(route)
            try:
                self._pass_write_gate(method)
            except MdeError:
                self._pacer.settle(route, place, counted=False)
                raise
            self.stats.add(paced_seconds=waited)
            self.stats.count_call(route)
            token = self._token_provider.get_token()
            try:
                response = self._send(method, path, params, body, token)
            except requests.RequestException as exc:
                # Whether the server counted a call that got no answer is unknown, so it keeps its place.
                self._pacer.settle(route, place, counted=True)
                error = _connection_error(method, route, exc, self._settings.timeout, self._settings.api_url)
                if certificate_rejected(exc) or not (method in RESENDABLE_METHODS or never_sent(exc)):
                    raise error from None
                self._wait_or_raise(budget, budget.after_failure(), error)
                continue

            status = response.status_code
            self._last_answer.date = response.headers.get("Date")
            self._pacer.settle(route, place, counted=status not in UNCOUNTED_REFUSALS)
            if status == 401 and not token_refreshed:
                # A token revoked or expired early: one fresh token, one more try; a second 401 is a real refusal.
                self._token_provider.invalidate(token)
                token_refreshed = True
                self.stats.add(token_refreshes=1, retries=1)
                continue
            if status == 401:
                raise _error_from_response(method, route, response, hint=self._settings.audience_hint())
            if status in NOT_TAKEN_STATUSES:
                # Throttled (429) or unavailable (503): the call was not taken, so even a write is sent again, after
                # the Retry-After. A 504, whose gateway may have passed the write on, is a lost answer below.
                self.stats.add(throttled=1 if status == 429 else 0)
                self._wait_or_raise(budget, budget.after_not_taken(response.headers.get("Retry-After")),
                                    _error_from_response(method, route, response))
                continue
            if status >= 500:
                failure = _error_from_response(method, route, response)
                if method not in RESENDABLE_METHODS:
                    raise AmbiguousWriteError(
                        "%s; the write may or may not have taken effect" % failure, http_status=status)
                self._wait_or_raise(budget, budget.after_failure(), failure)
                continue
            return _result(method, route, response, collection)

    @property
    def session(self) -> requests.Session:
        """The session calls go through (TLS trust, proxies, timeout); it holds no token: the transport adds it per call."""
        return self._session

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def timeout(self) -> float:
        return self._settings.timeout

    def _pass_write_gate(self, method: str) -> None:
        if self._write_gate is not None and method not in RESENDABLE_METHODS:
            self._write_gate()

    def granted_roles(self) -> frozenset[str] | None:
        """The application permissions the access token's roles claim grants (a frozenset), or None when unknown."""
        return token_roles(self._token_provider.get_token())

    def answer_date(self) -> datetime | None:
        """The server's clock (the Date header) of the last answer this thread received, or None."""
        value = getattr(self._last_answer, "date", None)
        try:
            when = email.utils.parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            return None
        return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any, token: str) -> requests.Response:
        headers = {
            "Authorization": "Bearer %s" % token,
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        # Redirects are not followed: the API never sends one, and a POST turned into a GET would hide a write.
        return self._session.request(method, self._settings.api_url + path, params=params, data=data,
                                     headers=headers, timeout=self._settings.timeout, allow_redirects=False)

    def _wait_or_raise(self, budget: RetryBudget, wait: tuple[float, bool], error: MdeError) -> None:
        delay, told_when = wait
        if not budget.wait(delay, told_when):
            raise error from None
        self.stats.add(retries=1, waited_seconds=delay)


def _connection_error(method: str, route: str, exc: BaseException, timeout: float, api_url: str) -> TransportError:
    reason = describe_connection_error(exc, timeout)
    if method in RESENDABLE_METHODS or never_sent(exc):
        # The host is named: with region, cloud and api_url, it is not always the one the user thinks of.
        return TransportError("%s %s: no answer from the API at %s: %s" % (method, route, api_url, reason))
    return AmbiguousWriteError("%s %s: the answer was lost (%s); the write may or may not have taken effect"
                               % (method, route, reason))


def _result(method: str, route: str, response: requests.Response, collection: bool = False) -> dict[str, Any] | None:
    status = response.status_code
    if 300 <= status < 400:
        raise TransportError("%s %s: HTTP %d redirect, which the API never sends (a proxy or portal in the way?)"
                             % (method, route, status), http_status=status)
    if not 200 <= status < 300:
        raise _error_from_response(method, route, response)
    if not response.content and not collection:
        return None
    payload = _json_or_none(response)
    if not isinstance(payload, dict):
        raise TransportError("%s %s: HTTP %d with %s" % (method, route, status, _describe_body(response, payload)),
                             http_status=status)
    # Collections come as {"value": [...]}; checked here, where the status is known, so the message can name it.
    if collection and not isinstance(payload.get("value"), list):
        raise TransportError("%s %s: HTTP %d without the \"value\" list a collection has" % (method, route, status), http_status=status)
    return payload


def _error_from_response(method: str, route: str, response: requests.Response, hint: str | None = None) -> ApiError | TransportError:
    """ApiError from an MDE error body; TransportError when the body is not one (a proxy's HTML page, cut JSON).

    ``hint`` says what to do about the ApiError when the transport knows more than the answer says."""
    status = response.status_code
    if not response.content:
        # Gateways answer some statuses without a body; the standard phrase ("Unauthorized") is then the code.
        return ApiError("no error body", code=_status_phrase(status).replace(" ", ""), http_status=status,
                        method=method, route=route, hint=hint)
    payload = _json_or_none(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return ApiError(str(error.get("message") or ""), code=str(error.get("code") or ""), http_status=status,
                        correlation_id=error.get("target"), method=method, route=route, hint=hint)
    if isinstance(error, str):
        # The OAuth shape, which token validation in front of the API may answer with.
        return ApiError(str(payload.get("error_description") or ""), code=error, http_status=status,
                        method=method, route=route, hint=hint)
    return TransportError("%s %s: HTTP %d with %s" % (method, route, status, _describe_body(response, payload)),
                          http_status=status)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe_body(response: requests.Response, payload: Any) -> str:
    if payload is not None:
        return "a JSON %s where an object was expected" % type(payload).__name__
    content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
    excerpt = " ".join(response.text.split())[:120]
    return "a body that is not JSON (%s): %r" % (content_type, excerpt)


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""

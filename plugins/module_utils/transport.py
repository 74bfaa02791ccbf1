# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP transport for the Defender for Endpoint API: sessions, retries, Retry-After, client-side pacing."""

from __future__ import annotations

import email.utils
import http
import json
import platform
import random
import socket
import ssl
import threading
import traceback
from collections import Counter
from datetime import timezone

from ansible_collections.mde.response.plugins.module_utils.clock import SystemClock
from ansible_collections.mde.response.plugins.module_utils.errors import AmbiguousWriteError, ApiError, MdeError, TransportError
from ansible_collections.mde.response.plugins.module_utils.pacing import RateLimiter
from ansible_collections.mde.response.plugins.module_utils.proxies import proxies_for
from ansible_collections.mde.response.plugins.module_utils.trust import machine_trust_adapter
from ansible_collections.mde.response.plugins.module_utils.token_claims import token_roles

try:
    import requests
    import urllib3
    from urllib3.exceptions import ConnectTimeoutError, InsecureRequestWarning, NewConnectionError
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

# Methods that change nothing on the server, so that an answer lost on the way back can simply be asked again.
RESENDABLE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))

# Answers to calls that the API refused before counting them against its rate limits. A 429 is not among them,
# although the API does not count it either: the pacing bounds what the client sends, whatever the API answers.
UNCOUNTED_REFUSALS = frozenset((401,))

DEFAULT_MAX_RETRIES = 7
DEFAULT_MAX_WAIT = 600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# A 429 whose Retry-After says "now" (0, or a date already past by this clock) is waited out like one without a
# Retry-After, with jittered backoff of at least this long: taken at its word it turns into a hot loop.
MIN_THROTTLE_WAIT = 1.0
# However many Retry-After storms a call lives through, it is sent at most this many times.
MAX_THROTTLED_ATTEMPTS = 30


def user_agent():
    return "mde.response-ansible python/%s requests/%s" % (platform.python_version(), requests.__version__)


def build_session(settings, use_proxy=True):
    """A requests session that honours the settings' TLS, proxy and timeout, and nothing else from the environment.

    requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE replace `Session.verify` unless `trust_env` is off, which
    would break `ca_path`; settings read those variables and NO_PROXY themselves, to add to what the machine
    trusts and to choose the proxy per host.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.verify
    if settings.verify is True:
        session.mount("https://", machine_trust_adapter(settings.ca_bundles))
    session.headers["User-Agent"] = user_agent()
    proxy = settings.proxy_url if use_proxy else None
    send = session.request

    def request(method, url, **kwargs):
        # msal calls the session without a timeout; a default here keeps a silent login service from hanging a run.
        kwargs.setdefault("timeout", settings.timeout)
        kwargs.setdefault("proxies", proxies_for(url, proxy, settings.no_proxy))
        return send(method, url, **kwargs)

    session.request = request
    if settings.verify is False:
        # The user has been warned once through Ansible; urllib3 would repeat it on every request.
        urllib3.disable_warnings(InsecureRequestWarning)
    return session


class TransportStats:
    """Counters for callers and benchmarks: attempts per route, retries, 429s received and time spent waiting."""

    def __init__(self):
        self.calls = Counter()
        self.retries = 0
        self.throttled = 0
        self.token_refreshes = 0
        self.waited_seconds = 0.0
        self.paced_seconds = 0.0
        self._lock = threading.Lock()

    def add(self, **increments):
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def count_call(self, route):
        with self._lock:
            self.calls[route] += 1

    def as_dict(self):
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

    def __init__(self, settings, token_provider, session, clock=None, pacer=None,
                 max_retries=DEFAULT_MAX_RETRIES, max_wait=DEFAULT_MAX_WAIT, write_gate=None):
        self._settings = settings
        self._token_provider = token_provider
        self._session = session
        self._clock = clock or SystemClock()
        self._pacer = pacer or RateLimiter(clock=self._clock)
        self._max_attempts = max_retries + 1
        self._max_wait = max_wait
        self.stats = TransportStats()
        # The Date of the answer each thread received last: the engine's threads each read their own write's.
        self._last_answer = threading.local()
        # Called before each write is sent, after any wait for the limits (which can be long); raises to keep it unsent.
        self._write_gate = write_gate

    def request(self, method, path, params=None, body=None, route=None, collection=False):
        """Send one API call and return its JSON object, or None when the answer has no body."""
        method = method.upper()
        route = route or "%s %s" % (method, path)
        attempt = _Attempts(self._max_attempts, self._max_wait)
        token_refreshed = False
        while True:
            attempt.start()
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
                if _certificate_rejected(exc) or not (method in RESENDABLE_METHODS or _never_sent(exc)):
                    raise error from None
                self._retry_after_wait(attempt, _backoff(attempt.number), error)
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
                refusal = _error_from_response(method, route, response)
                if isinstance(refusal, ApiError):
                    refusal.hint = self._settings.audience_hint()
                raise refusal
            if status == 429:
                self.stats.add(throttled=1)
                attempt.throttled += 1
                delay, told_when = throttle_wait(response.headers.get("Retry-After"), self._clock.now(), attempt.throttled)
                # A Retry-After says when the call will be taken, so a storm of them spends the wait budget, not the
                # attempts: with many writers waking at the same moment, one call can be refused many times over.
                self._retry_after_wait(attempt, delay, _error_from_response(method, route, response), told_when=told_when)
                continue
            if status >= 500:
                error = _error_from_response(method, route, response)
                if method not in RESENDABLE_METHODS:
                    raise AmbiguousWriteError(
                        "%s; the write may or may not have taken effect" % error, http_status=status)
                self._retry_after_wait(attempt, _backoff(attempt.number), error)
                continue
            return _result(method, route, response, collection)

    def _pass_write_gate(self, method: str) -> None:
        if self._write_gate is not None and method not in RESENDABLE_METHODS:
            self._write_gate()

    def granted_roles(self):
        """The application permissions the access token's roles claim grants (a frozenset), or None when unknown."""
        return token_roles(self._token_provider.get_token())

    def answer_date(self):
        """The server's clock (the Date header) of the last answer this thread received, or None."""
        value = getattr(self._last_answer, "date", None)
        try:
            when = email.utils.parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            return None
        return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when

    def _send(self, method, path, params, body, token):
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

    def _retry_after_wait(self, attempt, delay, error, told_when=False):
        if not attempt.can_retry(delay, told_when):
            raise error from None
        self.stats.add(retries=1, waited_seconds=delay)
        self._clock.sleep(delay)
        attempt.waited += delay


class _Attempts:
    """The retry budget of one call: a number of attempts and a total time spent waiting between them."""

    def __init__(self, max_attempts, max_wait):
        self.number = 0
        self.throttled = 0
        self.waited = 0.0
        self._max_attempts = max_attempts
        self._max_wait = max_wait

    def start(self):
        self.number += 1

    def can_retry(self, delay, told_when=False):
        within_attempts = self.number < self._max_attempts or (told_when and self.throttled < MAX_THROTTLED_ATTEMPTS)
        return within_attempts and self.waited + delay <= self._max_wait


def retry_after_seconds(value, now):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def throttle_wait(retry_after, now, throttled):
    """(seconds to wait after the `throttled`-th 429 or 503 of one call, whether the server said when).

    A Retry-After that says "now" (0, or a date this clock has passed) or nothing readable gets jittered backoff
    of at least MIN_THROTTLE_WAIT instead: taken at its word it would make a hot loop.
    """
    delay = retry_after_seconds(retry_after, now)
    if delay is not None and delay >= MIN_THROTTLE_WAIT:
        return delay, True
    return MIN_THROTTLE_WAIT + _backoff(throttled), False


def _backoff(attempt_number):
    """Exponential backoff with jitter, so that parallel workers do not retry in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt_number - 1))
    return ceiling * random.uniform(0.5, 1.0)


def _connection_error(method, route, exc, timeout, api_url):
    reason = describe_connection_error(exc, timeout)
    if method in RESENDABLE_METHODS or _never_sent(exc):
        # The host is named: with region, cloud and api_url, it is not always the one the user thinks of.
        return TransportError("%s %s: no answer from the API at %s: %s" % (method, route, api_url, reason))
    return AmbiguousWriteError("%s %s: the answer was lost (%s); the write may or may not have taken effect"
                               % (method, route, reason))


def _chain(exc):
    """The exception and every exception it wraps (requests and urllib3 nest them in args, reason, causes)."""
    seen = []
    pending = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), getattr(current, "original_error", None),
                        current.__cause__, current.__context__))
    return seen


def _never_sent(exc):
    """True when the request certainly did not reach the server: no name, no TCP connection, or no TLS handshake."""
    return isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(wrapped, (ConnectTimeoutError, ssl.SSLCertVerificationError)) for wrapped in _chain(exc))


def _certificate_rejected(exc):
    return any(isinstance(wrapped, ssl.SSLCertVerificationError) for wrapped in _chain(exc))


def describe_connection_error(exc, timeout):
    """A short reason for a failed connection, for messages; no URL parameters, headers or bodies."""
    reason = _connection_failure_reason(exc, timeout)
    if isinstance(exc, requests.exceptions.ProxyError):
        # Otherwise "connection refused" would send the user looking at the API or login host.
        return "the proxy failed: %s" % (reason or "it refused or dropped the connection")
    return reason or "the connection was dropped (%s)" % type(exc).__name__


def _connection_failure_reason(exc, timeout):
    chain = _chain(exc)
    if _certificate_rejected(exc):
        return "its TLS certificate could not be verified (set ca_path to the CA bundle that signed it)"
    if any(isinstance(wrapped, socket.gaierror) for wrapped in chain):
        return "the host name could not be resolved"
    if any(isinstance(wrapped, NewConnectionError) for wrapped in chain):
        system_errors = [wrapped for wrapped in chain if type(wrapped) in OS_ERROR_NAMES]
        return "could not connect (%s)" % (OS_ERROR_NAMES[type(system_errors[0])] if system_errors else "refused")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "could not connect within %g seconds" % timeout
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within %g seconds" % timeout
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS connection failed"
    return None


OS_ERROR_NAMES = {
    ConnectionRefusedError: "connection refused",
    ConnectionResetError: "connection reset",
    TimeoutError: "timed out",
}


def _result(method, route, response, collection=False):
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


def _error_from_response(method, route, response):
    """ApiError from an MDE error body; TransportError when the body is not one (a proxy's HTML page, cut JSON)."""
    status = response.status_code
    if not response.content:
        # Gateways answer some statuses without a body; the standard phrase ("Unauthorized") is then the code.
        return ApiError("no error body", code=_status_phrase(status).replace(" ", ""), http_status=status,
                        method=method, route=route)
    payload = _json_or_none(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return ApiError(str(error.get("message") or ""), code=str(error.get("code") or ""), http_status=status,
                        correlation_id=error.get("target"), method=method, route=route)
    if isinstance(error, str):
        # The OAuth shape, which token validation in front of the API may answer with.
        return ApiError(str(payload.get("error_description") or ""), code=error, http_status=status,
                        method=method, route=route)
    return TransportError("%s %s: HTTP %d with %s" % (method, route, status, _describe_body(response, payload)),
                          http_status=status)


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _describe_body(response, payload):
    if payload is not None:
        return "a JSON %s where an object was expected" % type(payload).__name__
    content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
    excerpt = " ".join(response.text.split())[:120]
    return "a body that is not JSON (%s): %r" % (content_type, excerpt)


def _status_phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP plumbing the API and login paths share: the requests session (TLS, proxy, timeout), connection failures."""

from __future__ import annotations

import platform
import socket
import ssl
import traceback
from typing import Any

from ansible_collections.mde.response.plugins.module_utils._client.proxies import proxies_for
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.trust import machine_trust_adapter

REQUESTS_IMPORT_ERROR: str | None = None
try:
    import requests
    import urllib3
    from urllib3.exceptions import ConnectTimeoutError, InsecureRequestWarning, NewConnectionError
except ImportError:
    requests = None  # type: ignore[assignment]
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


def user_agent() -> str:
    return "mde.response-ansible python/%s requests/%s" % (platform.python_version(), requests.__version__)


def build_session(settings: ConnectionSettings, use_proxy: bool = True) -> requests.Session:
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

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        # msal calls the session without a timeout; a default here keeps a silent login service from hanging a run.
        kwargs.setdefault("timeout", settings.timeout)
        kwargs.setdefault("proxies", proxies_for(url, proxy, settings.no_proxy))
        return send(method, url, **kwargs)

    session.request = request  # type: ignore[assignment]
    if settings.verify is False:
        # The user has been warned once through Ansible; urllib3 would repeat it on every request.
        urllib3.disable_warnings(InsecureRequestWarning)
    return session


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and every exception it wraps (requests and urllib3 nest them in args, reason, causes)."""
    seen: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), getattr(current, "original_error", None),
                        current.__cause__, current.__context__))
    return seen


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly did not reach the server: no name, no TCP connection, or no TLS handshake."""
    return isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(wrapped, (ConnectTimeoutError, ssl.SSLCertVerificationError)) for wrapped in _chain(exc))


def certificate_rejected(exc: BaseException) -> bool:
    return any(isinstance(wrapped, ssl.SSLCertVerificationError) for wrapped in _chain(exc))


def describe_connection_error(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed connection, for messages; no URL parameters, headers or bodies."""
    reason = _connection_failure_reason(exc, timeout)
    if isinstance(exc, requests.exceptions.ProxyError):
        # Otherwise "connection refused" would send the user looking at the API or login host.
        return "the proxy failed: %s" % (reason or "it refused or dropped the connection")
    return reason or "the connection was dropped (%s)" % type(exc).__name__


def _connection_failure_reason(exc: BaseException, timeout: float) -> str | None:
    chain = _chain(exc)
    if certificate_rejected(exc):
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


OS_ERROR_NAMES: dict[type, str] = {
    ConnectionRefusedError: "connection refused",
    ConnectionResetError: "connection reset",
    TimeoutError: "timed out",
}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Access tokens for the API: the msal token providers (their persistent cache is in token_cache.py)."""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import re
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, ContextManager, Dict, Iterable, Optional, Union

from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError, InputError
from ansible_collections.mde.response.plugins.module_utils._client.token_cache import PersistentTokenCache, prepare_cache_folder
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock, SystemClock
from ansible_collections.mde.response.plugins.module_utils._client.retry import RetryBudget
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session, describe_connection_error

try:
    import msal
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
except ImportError:
    msal = None
    MSAL_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    MSAL_IMPORT_ERROR = None

try:
    import requests
except ImportError:
    requests = None  # type: ignore[assignment]  # session.py reports it

if TYPE_CHECKING:
    from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings

# A client secret, or msal's certificate credential ({"private_key", "public_certificate"}).
Credential = Union[str, Dict[str, str]]
# What msal returns for a token request: access_token and expires_in, or error and error_description.
MsalResult = Dict[str, Any]

# msal itself treats a token that expires within five minutes as expired; refreshing at the same point keeps the
# in-process copy and msal's cache in agreement.
REFRESH_MARGIN = 300
# An AADSTS reason up to the end of the JSON string that quotes it (escaped characters included), in msal's messages.
AADSTS_PATTERN = re.compile(r'AADSTS\d+:(?:[^"\\]|\\.)*')
# The lines Entra ends an error_description with, which support asks for.
_TRACE_LINE = re.compile(r"^(Trace ID|Correlation ID|Timestamp):", re.IGNORECASE)
DEFAULT_MANAGED_IDENTITY_ENDPOINT = "http://169.254.169.254"


def build_token_provider(settings: ConnectionSettings, session: requests.Session,
                         clock: Optional[Clock] = None) -> StaticTokenProvider | ManagedIdentityTokenProvider | ClientCredentialTokenProvider:
    """The token provider for settings.auth_method; raises InputError for an unusable credential.

    `clock` (default: real time) is what a throttled login waits with."""
    if settings.auth_method == "access_token":
        return StaticTokenProvider(settings.access_token or "")
    if settings.auth_method == "managed_identity":
        identity = (msal.UserAssignedManagedIdentity(client_id=settings.client_id) if settings.client_id
                    else msal.SystemAssignedManagedIdentity())
        # Managed identity endpoints are local to the host (IMDS, App Service); a proxy would only get in the way.
        local_session = build_session(settings, use_proxy=False) if settings.proxy_url else session
        fingerprint = "managed identity %s at %s" % (settings.client_id or "system-assigned", managed_identity_endpoint())
        return ManagedIdentityTokenProvider(settings, local_session, identity, _token_store(settings, fingerprint), clock)
    # ConnectionSettings.from_options has checked that the chosen method's credential is there.
    credential: Credential
    if settings.auth_method == "certificate":
        credential, fingerprint = load_certificate_credential(settings.client_certificate_path or "",
                                                              settings.client_certificate_password)
    else:
        secret = settings.client_secret or ""
        credential, fingerprint = secret, "secret " + hashlib.sha256(secret.encode("utf-8")).hexdigest()
    store = _token_store(settings, "%s %s %s" % (settings.authority, settings.client_id, fingerprint))
    return ClientCredentialTokenProvider(settings, session, credential, store, clock)


def _token_store(settings: ConnectionSettings, identity: str) -> Optional[PersistentTokenCache]:
    directory = prepare_cache_folder(settings)
    return PersistentTokenCache(directory, identity) if directory else None


def managed_identity_endpoint() -> str:
    """The endpoint msal will ask, for messages; it picks one from the same environment variables."""
    return (os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT")
            or os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST") or DEFAULT_MANAGED_IDENTITY_ENDPOINT).rstrip("/")


def load_certificate_credential(path: str, password: Optional[str]) -> tuple[dict[str, str], str]:
    """msal's certificate credential from a PEM file with the key and the certificate, and the certificate's
    SHA-256 fingerprint. Messages name the file, never its content or the password."""
    try:
        with open(path, "rb") as pem_file:
            pem = pem_file.read()
    except OSError as error:
        raise InputError("client_certificate_path '%s' cannot be read: %s" % (path, error.strerror)) from None
    key = _private_key(path, pem, password)
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise InputError("client_certificate_path '%s' holds no PEM certificate (BEGIN CERTIFICATE)" % path) from None
    credential = {
        # The key goes to msal decrypted, in memory only, so that a wrong password is reported here, clearly.
        "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode("ascii"),
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }
    return credential, "certificate " + certificate.fingerprint(hashes.SHA256()).hex()


def _private_key(path: str, pem: bytes, password: Optional[str]) -> Any:
    secret = password.encode("utf-8") if password else None
    try:
        return serialization.load_pem_private_key(pem, secret)
    except TypeError:
        # cryptography's TypeError means the key's encryption and the password do not go together.
        if secret is None:
            raise InputError("the private key in '%s' is encrypted: set client_certificate_password" % path) from None
        # A password for a key that is not encrypted is harmless.
        return _private_key(path, pem, None)
    except ValueError:
        if secret is not None and b"ENCRYPTED" in pem:
            raise InputError("client_certificate_password does not decrypt the private key in '%s'" % path) from None
        raise InputError("client_certificate_path '%s' holds no usable PEM private key (BEGIN PRIVATE KEY)" % path) from None


class StaticTokenProvider:
    """A token obtained elsewhere (access_token); there is nothing to renew it with."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self) -> str:
        return self._token

    def invalidate(self, rejected: Optional[str] = None) -> None:
        raise AuthenticationError("the API refused the given access_token (expired, revoked, or for another "
                                  "audience or tenant); get a new one, or let the collection request tokens")


class _MsalTokenProvider(abc.ABC):
    """What the msal-based providers share: an in-process copy, thread safety, the persistent cache, messages."""

    def __init__(self, settings: ConnectionSettings, session: requests.Session, store: Optional[PersistentTokenCache],
                 secrets: Iterable[Optional[str]] = (), clock: Optional[Clock] = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._session = session
        self._store = store
        self._secrets: list[str] = [value for value in secrets if value]
        self._token_cache = msal.SerializableTokenCache()
        self._http_cache: dict[Any, Any] = {}
        self._client: Any = None
        self._token: Optional[str] = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    def get_token(self) -> str:
        with self._lock:
            if self._token and time.time() < self._refresh_at:
                return self._token
            with self._persisted():
                result = self._call_service_waiting_out_throttles()
            if "access_token" not in result:
                raise self._refusal(result)
            self._token = result["access_token"]
            self._refresh_at = time.time() + int(result.get("expires_in", 0)) - REFRESH_MARGIN
            return self._token

    def invalidate(self, rejected: Optional[str] = None) -> None:
        """Forget the token the API refused, here and in the persistent cache, so that the next one is new.

        `rejected` is the token the refused request carried: when parallel requests are refused together, only
        the first of them replaces it, and the others keep the token that replaced it.
        """
        with self._lock:
            if not self._token or (rejected is not None and rejected != self._token):
                return
            rejected, self._token = self._token, None
            with self._persisted():
                for entry in list(self._token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    if entry.get("secret") == rejected:
                        self._token_cache.remove_at(entry)

    def _persisted(self) -> ContextManager[None]:
        if self._store is None:
            return contextlib.nullcontext()
        return self._store.session(self._token_cache, self._http_cache)

    def _call_service_waiting_out_throttles(self) -> MsalResult:
        """msal's result; a throttled or briefly unavailable service (429, 5xx) is asked again after its Retry-After
        (or backoff), under the retry policy of an API call (retry.py)."""
        budget = RetryBudget(self._clock)
        while True:
            budget.start()
            result = self._call_service()
            refusal = None if "access_token" in result else self._forget_throttle()
            if refusal is None or not budget.wait(*budget.after_not_taken(refusal.headers.get("retry-after"))):
                return result

    def _forget_throttle(self) -> Any:
        """The throttling answer msal keeps in its HTTP cache (and would replay instead of asking), taken out of it;
        None when the last refusal was not one."""
        throttles = [key for key, value in self._http_cache.items()
                     if getattr(value, "status_code", 0) == 429 or getattr(value, "status_code", 0) >= 500]
        return [self._http_cache.pop(key) for key in throttles][-1] if throttles else None

    def _call_service(self) -> MsalResult:
        """Ask msal for a token (the client is built on first use: building it already talks to the service)."""
        try:
            if self._client is None:
                self._client = self._build_client()
            return self._acquire()
        except requests.RequestException as error:
            url = getattr(error.request, "url", None) or self._service_url()
            raise AuthenticationError(self._redact("could not reach %s at %s: %s" % (
                self._service_name(), _origin(url), describe_connection_error(error, self._settings.timeout)))) from None
        except ValueError as error:
            raise AuthenticationError(self._redact(self._unusable_answer(error))) from None
        except msal.exceptions.MsalServiceError as error:
            # msal raises for a 5xx of the token endpoint where it returns other refusals; made one of them here,
            # so that it is waited out and reported like a 429.
            return {"error": "unavailable", "error_description": str(error)}

    def _refusal(self, result: MsalResult) -> AuthenticationError:
        description = readable_description(result.get("error_description") or "")
        detail = "%s: %s" % (result.get("error"), description) if description else str(result.get("error"))
        if result.get("error") == "invalid_resource":
            # AADSTS500011: this tenant knows no such resource; another documented audience may be known.
            detail += "; %s" % self._settings.audience_hint()
        return AuthenticationError(self._redact("%s at %s refused to issue a token for %s: %s" % (
            self._service_name(), self._service_url(), self._who(), detail)))

    def _redact(self, message: str) -> str:
        for value in self._secrets + ([self._token] if self._token else []):
            message = message.replace(value, "***")
        return message

    @abc.abstractmethod
    def _build_client(self) -> Any:
        """The msal client; it may talk to the service already (OIDC discovery)."""

    @abc.abstractmethod
    def _acquire(self) -> MsalResult:
        """msal's result: a dict with access_token and expires_in, or with error and error_description."""

    @abc.abstractmethod
    def _service_name(self) -> str:
        """What the token service is called in messages."""

    @abc.abstractmethod
    def _service_url(self) -> str:
        """Where the token service is, for messages."""

    @abc.abstractmethod
    def _who(self) -> str:
        """The identity, for messages."""

    @abc.abstractmethod
    def _unusable_answer(self, error: ValueError) -> str:
        """The message for a ValueError from msal: an answer it could not use."""


class ClientCredentialTokenProvider(_MsalTokenProvider):
    """An app registration's token, with a client secret or a certificate (msal ConfidentialClientApplication)."""

    def __init__(self, settings: ConnectionSettings, session: requests.Session, credential: Credential,
                 store: Optional[PersistentTokenCache] = None, clock: Optional[Clock] = None) -> None:
        secrets = [settings.client_secret, settings.client_certificate_password]
        if isinstance(credential, dict):
            secrets.append(credential["private_key"])
        super().__init__(settings, session, store, secrets, clock)
        self._credential = credential

    def _build_client(self) -> Any:
        return msal.ConfidentialClientApplication(
            self._settings.client_id,
            client_credential=self._credential,
            authority=self._settings.authority,
            http_client=self._session,
            token_cache=self._token_cache,
            http_cache=self._http_cache,
            # Custom authority hosts are plain OIDC services that Microsoft's instance discovery does not know;
            # for Microsoft hosts it would only add an alias look-up.
            instance_discovery=False,
            # Never probe the Azure instance metadata service for a region, nor follow MSAL_FORCE_REGION.
            azure_region=False,
        )

    def _acquire(self) -> MsalResult:
        return self._client.acquire_token_for_client(scopes=[self._settings.scope])

    def _service_name(self) -> str:
        return "the login service"

    def _service_url(self) -> str:
        return self._settings.authority_host

    def _who(self) -> str:
        return "client_id %s in tenant %s" % (self._settings.client_id, self._settings.tenant_id)

    def _unusable_answer(self, error: ValueError) -> str:
        # msal raises ValueError when the tenant's OpenID configuration cannot be had; Entra's reason (AADSTS90002
        # for an unknown tenant) is in the error it wraps.
        reasons = AADSTS_PATTERN.findall(" ".join(str(wrapped) for wrapped in (error, error.__context__) if wrapped))
        reason = readable_description(reasons[0]) if reasons else "the answer was not a usable OpenID configuration"
        return "the login service at %s has no usable configuration for tenant %s: %s" % (
            self._settings.authority_host, self._settings.tenant_id, reason)


class ManagedIdentityTokenProvider(_MsalTokenProvider):
    """The token of the host's managed identity (msal ManagedIdentityClient): system- or user-assigned."""

    def __init__(self, settings: ConnectionSettings, session: requests.Session, identity: Any,
                 store: Optional[PersistentTokenCache] = None, clock: Optional[Clock] = None) -> None:
        super().__init__(settings, session, store, clock=clock)
        self._identity = identity

    def _build_client(self) -> Any:
        return msal.ManagedIdentityClient(self._identity, http_client=self._session, token_cache=self._token_cache,
                                          http_cache=self._http_cache)

    def _acquire(self) -> MsalResult:
        return self._client.acquire_token_for_client(resource=self._settings.resource)

    def _service_name(self) -> str:
        return "the managed identity endpoint"

    def _service_url(self) -> str:
        return managed_identity_endpoint()

    def _who(self) -> str:
        return "the %s managed identity" % ("user-assigned %s" % self._settings.client_id if self._settings.client_id
                                            else "system-assigned")

    def _unusable_answer(self, error: ValueError) -> str:
        return "the managed identity endpoint at %s did not answer with a token (%s); is this host an Azure " \
            "resource with a managed identity?" % (self._service_url(), type(error).__name__)


def readable_description(description: str) -> str:
    """Entra's error_description on one line: the reason (AADSTS code first), then its Trace ID, Correlation ID and
    Timestamp in brackets, for a support request.

    Entra separates them with CR LF, which a message quoting the JSON answer (msal's OIDC discovery error) carries as
    the four characters ``\\r\\n``: both become line breaks before the lines are joined.
    """
    text = description.replace("\\r\\n", "\n").replace("\\n", "\n")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    reason = " ".join(line for line in lines if not _TRACE_LINE.match(line))
    trace = "; ".join(line for line in lines if _TRACE_LINE.match(line))
    return "%s (%s)" % (reason, trace) if reason and trace else reason or trace


def _origin(url: Optional[str]) -> Optional[str]:
    match = re.match(r"^[a-z]+://[^/?#]+", url or "", re.IGNORECASE)
    return match.group(0) if match else url

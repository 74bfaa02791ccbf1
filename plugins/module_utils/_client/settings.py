# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection settings: the shared connection options resolved into URLs, token scope, credentials and TLS."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS, OPTIONS_BY_NAME
from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._client.proxies import (
    no_proxy_from_environment, proxy_from_environment, proxy_url)
from ansible_collections.mde.response.plugins.module_utils._client.trust import environment_bundles


@dataclass(frozen=True)
class Cloud:
    api_url: str
    authority_host: str
    scope: str
    # Other audiences clients use in this cloud, suggested when a token for `scope` is refused.
    other_scopes: tuple = ()


DEFAULT_SCOPE_SUFFIX = "/.default"
# docs/api-fidelity.md has the evidence for each default. Commercial: the legacy resource, which the documentation
# uses for every host (a token for api.security.microsoft.com's own name is reported refused), and the App ID URI
# of its curl example, which worked where the former failed (microsoft-365-docs#13126). US Government: the
# documentation names no audience; the API URL is what one vendor's connector uses, and the .us App ID URI what
# another uses for GCC High and DoD (the commercial one for GCC).
WINDOWS_ATP_SERVICE_SCOPE = "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"
CLOUDS = {
    "commercial": Cloud("https://api.security.microsoft.com", "https://login.microsoftonline.com",
                        "https://api.securitycenter.microsoft.com/.default",
                        (WINDOWS_ATP_SERVICE_SCOPE, "https://api.security.microsoft.com/.default")),
    "gcc": Cloud("https://api-gcc.securitycenter.microsoft.us", "https://login.microsoftonline.com",
                 "https://api-gcc.securitycenter.microsoft.us/.default", (WINDOWS_ATP_SERVICE_SCOPE,)),
    "gcc_high": Cloud("https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
                      "https://api-gov.securitycenter.microsoft.us/.default",
                      ("https://securitycenter.onmicrosoft.us/windowsatpservice/.default",)),
    "dod": Cloud("https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
                 "https://api-gov.securitycenter.microsoft.us/.default",
                 ("https://securitycenter.onmicrosoft.us/windowsatpservice/.default",)),
}
# includes/improve-request-performance.md (2024) lists these geographic hosts of the commercial API.
REGIONAL_API_URL = "https://%s.api.security.microsoft.com"

AUTH_METHODS = OPTIONS_BY_NAME["auth_method"].choices

# The environment variables Ansible falls back to for each option; error messages name them because users often
# set credentials through them (AWX credentials do).
ENVIRONMENT_VARIABLES = {option.name: option.env for option in CONNECTION_OPTIONS if option.env}

REQUIRED_OPTIONS = {
    "client_secret": ("tenant_id", "client_id", "client_secret"),
    "certificate": ("tenant_id", "client_id", "client_certificate_path"),
    "managed_identity": (),
    "access_token": ("access_token",),
}

DEFAULT_TIMEOUT = OPTIONS_BY_NAME["timeout"].default
DEFAULT_CLOUD = "commercial"

# Azure SDK cloud names (cloud_environment, AZURE_CLOUD_ENVIRONMENT) and the cloud each means here, or why it cannot
# be told: Defender for Endpoint's clouds do not follow Azure's one for one.
AZURE_CLOUD_ENVIRONMENTS = {
    "AzureCloud": "commercial",
    "AzureUSGovernment": "it is the Azure side of two Defender for Endpoint clouds, GCC High (cloud=gcc_high) and "
                         "DoD (cloud=dod), which have different API hosts; GCC tenants use the commercial login "
                         "(cloud=gcc)",
    "AzureChinaCloud": "Defender for Endpoint has no API host there that the collection knows",
    "AzureGermanCloud": "Microsoft Cloud Deutschland has been closed",
}
DEFAULT_AUTH_METHOD = OPTIONS_BY_NAME["auth_method"].default

# The tenant goes into the authority URL's path, so only a GUID or a domain name may get there.
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


@dataclass
class ConnectionSettings:
    """Everything needed to reach the API and its login service. Secrets are kept out of repr()."""

    auth_method: str
    cloud: str
    api_url: str
    authority_host: str
    scope: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    # A CA bundle path (ca_path), or whether to verify against what the machine trusts, as requests' `verify`.
    verify: bool | str = True
    # With verify True: the bundles REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE add to the machine's store.
    ca_bundles: tuple[str, ...] = ()
    # May carry proxy credentials, hence not in repr() and never in a message.
    proxy_url: str | None = field(default=None, repr=False)
    # NO_PROXY as the environment has it: the hosts reached without the proxy.
    no_proxy: str = ""
    timeout: float = DEFAULT_TIMEOUT
    token_cache: bool = True
    token_cache_dir: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def authority(self) -> str:
        return "%s/%s" % (self.authority_host, self.tenant_id)

    @property
    def resource(self) -> str:
        """The scope as a v1 resource, which managed identity endpoints take."""
        return self.scope[:-len(DEFAULT_SCOPE_SUFFIX)] if self.scope.endswith(DEFAULT_SCOPE_SUFFIX) else self.scope

    def audience_hint(self) -> str:
        """What to try when the token's audience may be why it is refused."""
        others = [scope for scope in (CLOUDS[self.cloud].scope,) + CLOUDS[self.cloud].other_scopes if scope != self.scope]
        return ("if the token's audience is the reason (it was requested for %s), set the scope option to another one the "
                "API may accept: %s" % (self.scope, " or ".join(others)))

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> ConnectionSettings:
        """Resolve the module's connection option values (None when unset) into settings, or raise InputError."""
        environ = os.environ if environ is None else environ
        values = {name: _text(value) for name, value in options.items()}

        cloud_name = values.get("cloud") or _cloud_of_environment(values.get("cloud_environment")) or DEFAULT_CLOUD
        if cloud_name not in CLOUDS:
            raise InputError("cloud must be one of %s, not '%s'" % (", ".join(CLOUDS), cloud_name))
        cloud = CLOUDS[cloud_name]

        tenant_id = values.get("tenant_id")
        if tenant_id and not TENANT_PATTERN.match(tenant_id):
            raise InputError("tenant_id must be a tenant GUID or domain name, not '%s'" % tenant_id)

        verify = _verify(values.get("ca_path"), options.get("validate_certs"))
        auth_method = _choose_auth_method(values)
        _require(auth_method, values, chosen_automatically=(values.get("auth_method") or DEFAULT_AUTH_METHOD) == "auto")

        regional_api_url = _regional_api_url(values.get("region"), cloud_name, values)
        settings = cls(
            auth_method=auth_method,
            cloud=cloud_name,
            api_url=_https_url("api_url", values.get("api_url") or regional_api_url or cloud.api_url),
            authority_host=_https_url("authority_host", values.get("authority_host") or cloud.authority_host),
            scope=_scope(values.get("scope")) or cloud.scope,
            tenant_id=tenant_id,
            client_id=values.get("client_id"),
            client_secret=options.get("client_secret") or None,
            client_certificate_path=values.get("client_certificate_path"),
            client_certificate_password=options.get("client_certificate_password") or None,
            access_token=values.get("access_token"),
            verify=verify,
            ca_bundles=environment_bundles(environ) if verify is True else (),
            proxy_url=proxy_url(proxy_from_environment(values.get("proxy_url"), environ)),
            no_proxy=no_proxy_from_environment(environ),
            timeout=_timeout(options.get("timeout")),
            token_cache=options.get("token_cache") is not False,
            token_cache_dir=values.get("token_cache_dir") or default_token_cache_dir(environ),
        )
        if settings.verify is False:
            settings.warnings.append(
                "validate_certs is false: the TLS certificates of %s and %s are not verified, so a machine in the "
                "middle could read the credentials and the token" % (settings.api_url, settings.authority_host))
        return settings


def default_token_cache_dir(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mde.response")


def _cloud_of_environment(name: Optional[str]) -> Optional[str]:
    """Our cloud for an Azure cloud name; InputError saying why and what to set when it cannot be told."""
    if not name:
        return None
    meaning = {known.lower(): value for known, value in AZURE_CLOUD_ENVIRONMENTS.items()}.get(name.lower())
    if meaning in CLOUDS:
        return meaning
    reason = meaning or "it is not one of the Azure cloud names %s" % ", ".join(AZURE_CLOUD_ENVIRONMENTS)
    raise InputError("cloud_environment (environment variable AZURE_CLOUD_ENVIRONMENT) '%s' does not say which "
                     "Defender for Endpoint cloud to use: %s. Set cloud (one of %s; environment variable MDE_CLOUD), "
                     "which takes precedence" % (name, reason, ", ".join(CLOUDS)))


def _text(value: Any) -> Any:
    """Option values as stripped strings; blank counts as unset, as it does for Ansible's env fallbacks."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _choose_auth_method(values: Mapping[str, Any]) -> str:
    method = values.get("auth_method") or DEFAULT_AUTH_METHOD
    if method not in AUTH_METHODS:
        raise InputError("auth_method must be one of %s, not '%s'" % (", ".join(AUTH_METHODS), method))
    if method != "auto":
        return method
    if values.get("access_token"):
        return "access_token"
    if values.get("client_certificate_path"):
        return "certificate"
    if values.get("client_secret"):
        return "client_secret"
    return "managed_identity"


def _require(auth_method: str, values: Mapping[str, Any], chosen_automatically: bool) -> None:
    missing = [name for name in REQUIRED_OPTIONS[auth_method] if not values.get(name)]
    if not missing:
        return
    described = ["%s (environment variable %s)" % (name, " or ".join(ENVIRONMENT_VARIABLES[name])) for name in missing]
    how = "auth_method=auto chose %s, which" % auth_method if chosen_automatically else "auth_method=%s" % auth_method
    raise InputError("%s needs %s" % (how, ", ".join(described)))


def _regional_api_url(region: Optional[str], cloud_name: str, values: Mapping[str, Any]) -> Optional[str]:
    """The regional host's URL, or None without a region."""
    if not region:
        return None
    choices = OPTIONS_BY_NAME["region"].choices
    if region not in choices:
        raise InputError("region must be one of %s, not '%s'" % (", ".join(choices), region))
    if cloud_name != DEFAULT_CLOUD:
        raise InputError("region selects a host of the commercial API; with cloud=%s leave region unset (or give api_url)" % cloud_name)
    if values.get("api_url"):
        raise InputError("region and api_url both say where the API is: give one of them")
    return REGIONAL_API_URL % region


def _scope(value: Optional[str]) -> Optional[str]:
    """The scope option as msal takes it (ending with /.default), or None when unset."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("https", "api") or not parts.netloc or any(char.isspace() for char in value):
        raise InputError("scope must be one audience URI such as %s, not '%s'" % (WINDOWS_ATP_SERVICE_SCOPE, value))
    return value if value.endswith(DEFAULT_SCOPE_SUFFIX) else value.rstrip("/") + DEFAULT_SCOPE_SUFFIX


def _https_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InputError("%s must be an https URL such as https://host.example, not '%s'" % (option, value))
    return value.rstrip("/")


def _verify(ca_path: Optional[str], validate_certs: Any) -> bool | str:
    if ca_path:
        if not os.path.exists(ca_path):
            raise InputError("ca_path '%s' does not exist" % ca_path)
        return ca_path
    return validate_certs is not False


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0:
        raise InputError("timeout must be a positive number of seconds, not '%s'" % value)
    return seconds

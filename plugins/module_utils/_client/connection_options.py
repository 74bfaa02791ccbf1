# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options every module shares, each defined once.

The module argument spec and the settings' choices, defaults and environment variables are derived from
CONNECTION_OPTIONS. The files that cannot import Python are generated from it by `make sync`
(tests/tools/sync.py): the doc fragment (plugins/doc_fragments/connection.py) and each role's connection variable
in its argument spec (roles/*/meta/argument_specs.yml); `make test` fails when they are stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class ConnectionOption:
    name: str
    type: str
    # One sentence; the role's argument spec shows it as it is, the doc fragment as its first line.
    description: str
    default: Any = None
    choices: tuple[str, ...] = ()
    # Ansible falls back to the first of these that is set, in this order.
    env: tuple[str, ...] = ()
    no_log: bool = False
    aliases: tuple[str, ...] = ()
    # The doc fragment's further description lines; a line on the environment variables is added after them.
    details: tuple[str, ...] = ()
    # Said after the environment variables in that line: who sets them, or what else is read ("; ..." or "(...)").
    fallback_note: str = ""


CONNECTION_OPTIONS = (
    ConnectionOption("tenant_id", "str", "The Microsoft Entra tenant (directory) ID.",
                     env=("AZURE_TENANT_ID", "AZURE_TENANT"), aliases=("tenant",),
                     details=(
                         'Required except with O(auth_method=managed_identity) or O(auth_method=access_token).',
                         'The alias O(tenant) is the name C(azure.azcollection) uses.',
                     ),
                     fallback_note=('(set by the AWX/Automation Controller "Microsoft Azure Resource Manager" '
                                    'credential)')),
    ConnectionOption("client_id", "str",
                     'The application (client) ID of the Entra app registration, or of a user-assigned managed '
                     'identity.',
                     env=("AZURE_CLIENT_ID",),
                     details=(
                         'With O(auth_method=managed_identity), omit it for the system-assigned identity.',
                     )),
    ConnectionOption("client_secret", "str", "A client secret of the app registration.",
                     env=("AZURE_CLIENT_SECRET", "AZURE_SECRET"), no_log=True, aliases=("secret",),
                     details=(
                         'The alias O(secret) is the name C(azure.azcollection) uses.',
                     )),
    ConnectionOption("client_certificate_path", "path",
                     "Path to a PEM file holding the private key and the certificate registered with the app.",
                     env=("AZURE_CLIENT_CERTIFICATE_PATH",), aliases=("x509_certificate_path",),
                     details=(
                         'The alias O(x509_certificate_path) is the name C(azure.azcollection) uses for the same '
                         'kind of file.',
                     )),
    ConnectionOption("client_certificate_password", "str",
                     "Password of the private key in the client certificate file, if it is encrypted.",
                     env=("AZURE_CLIENT_CERTIFICATE_PASSWORD",), no_log=True,
                     details=(
                         'The file is O(client_certificate_path).',
                     )),
    ConnectionOption("auth_method", "str", "How to get an access token.", default="auto",
                     choices=("auto", "client_secret", "certificate", "managed_identity", "access_token"),
                     env=("MDE_AUTH_METHOD",),
                     details=(
                         'V(auto) uses O(access_token) if given, else a certificate if '
                         'O(client_certificate_path) is given, else a client secret if O(client_secret) is '
                         'given, else a managed identity.',
                     )),
    ConnectionOption("access_token", "str",
                     "An access token for the Defender for Endpoint API obtained elsewhere.",
                     env=("MDE_ACCESS_TOKEN",), no_log=True,
                     details=(
                         'No token is requested.',
                     )),
    # No default in the argument spec: an unset cloud may come from cloud_environment; settings.py defaults it.
    ConnectionOption("cloud", "str", "The Microsoft cloud, which selects the API and login hosts and the token scope.",
                     choices=("commercial", "gcc", "gcc_high", "dod"), env=("MDE_CLOUD",),
                     details=(
                         'When neither this option nor E(MDE_CLOUD) is set, the cloud is what '
                         'O(cloud_environment) names, else V(commercial).',
                     )),
    ConnectionOption("cloud_environment", "str",
                     "The Azure cloud by its Azure SDK name, as azure.azcollection and AWX's Azure credential set it.",
                     env=("AZURE_CLOUD_ENVIRONMENT",),
                     details=(
                         'Used only when O(cloud) is not set. V(AzureCloud) means V(commercial) (GCC tenants, '
                         'which also sign in there, set O(cloud=gcc)).',
                         'V(AzureUSGovernment) is refused with the reason, because it covers two Defender for '
                         'Endpoint clouds with different API hosts (O(cloud=gcc_high) and O(cloud=dod)); so are '
                         'V(AzureChinaCloud), V(AzureGermanCloud) and any other value. Set O(cloud) then.',
                     ),
                     fallback_note=('(set by the AWX/Automation Controller "Microsoft Azure Resource Manager" '
                                    "credential's cloud environment field)")),
    ConnectionOption("region", "str", "A regional host of the commercial API, which serves the tenant's data from its region.",
                     choices=("us", "eu", "uk", "au", "swa", "ina"), env=("MDE_REGION",),
                     details=(
                         'The API URL becomes C(https://{region}.api.security.microsoft.com), the geographic '
                         'hosts Microsoft documents for better performance (V(us), V(eu), V(uk), V(au), V(swa), '
                         'V(ina)).',
                         'Only with O(cloud=commercial), and not together with O(api_url).',
                     )),
    ConnectionOption("api_url", "str", "Base URL of the Defender for Endpoint API, overriding the cloud's default.",
                     env=("MDE_API_URL",),
                     details=(
                         'Must be an https URL.',
                     )),
    ConnectionOption("scope", "str", "The token scope (audience) to request, overriding the cloud's default.",
                     env=("MDE_SCOPE",),
                     details=(
                         'The default is V(https://api.securitycenter.microsoft.com/.default) for the commercial '
                         'cloud (the resource the documentation uses for every API host), and the API URL '
                         'followed by C(/.default) for the US Government clouds.',
                         "Where a tenant refuses the default, the documentation's other form "
                         'V(https://securitycenter.onmicrosoft.com/windowsatpservice/.default) may work; for GCC '
                         'High and DoD, some clients use '
                         'V(https://securitycenter.onmicrosoft.us/windowsatpservice/.default).',
                         'C(/.default) is added when the value does not end with it. A managed identity asks for '
                         'the scope without it.',
                         'Ignored with O(auth_method=access_token).',
                     )),
    ConnectionOption("authority_host", "str", "Login host, overriding the cloud's default.",
                     env=("AZURE_AUTHORITY_HOST",),
                     details=(
                         'The authority is C({authority_host}/{tenant_id}).',
                         'Any OIDC-compliant token service there works; no Microsoft instance discovery is done '
                         'for custom hosts.',
                         'Must be an https URL.',
                     )),
    ConnectionOption("ca_path", "path", "A CA bundle (PEM) to verify both the API and the login service with.",
                     env=("MDE_CA_PATH",),
                     details=(
                         'When set, only this bundle is trusted.',
                         'When not set, certificates are verified against what the machine trusts, namely the '
                         "operating system's store (as C(update-ca-certificates) or C(update-ca-trust) maintain "
                         'it, or E(SSL_CERT_FILE) and E(SSL_CERT_DIR) when set), the bundles that '
                         'E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) name, and the bundle that C(requests) '
                         'ships.',
                     )),
    ConnectionOption("validate_certs", "bool", "Whether to verify TLS certificates.", default=True,
                     env=("MDE_VALIDATE_CERTS",),
                     details=(
                         'Turning it off is insecure and produces a warning.',
                     )),
    ConnectionOption("proxy_url", "str",
                     "An HTTP(S) proxy for both the API and the login service; a password in it is never shown.",
                     env=("MDE_PROXY_URL",),
                     details=(
                         'For example V(http://proxy.example:3128) or '
                         'V(http://user:password@proxy.example:3128). The password is masked in results, '
                         'warnings and errors; the user, host and port stay visible.',
                         'Hosts that E(NO_PROXY) (or E(no_proxy)) names are reached directly, as C(curl) and '
                         'C(requests) read it.',
                         'SOCKS proxies (V(socks5://), V(socks5h://)) are not supported and refused before any '
                         'request.',
                     ),
                     fallback_note='; E(HTTPS_PROXY) (then E(https_proxy)) is honoured when neither is set'),
    ConnectionOption("timeout", "int", "Seconds to wait for each HTTP request.", default=30),
    ConnectionOption("token_cache", "bool", "Whether to keep access tokens between module runs in a per-user cache file.",
                     default=True, env=("MDE_TOKEN_CACHE",),
                     details=(
                         'A loop, many hosts or forks then fetch one token rather than one per task.',
                         'The cache lives in C($XDG_CACHE_HOME/mde.response) (by default '
                         'C(~/.cache/mde.response)), in a folder only the user can open (0700), in files only '
                         'the user can read (0600), one file per identity, locked against concurrent forks. The '
                         "module processes of one play also share the API's rate limits through a pacing file "
                         'there.',
                         'A folder that cannot be created or written (a read-only or missing HOME) gives a '
                         'warning, and the run goes on without the cache.',
                     )),
)

OPTIONS_BY_NAME = {option.name: option for option in CONNECTION_OPTIONS}


def generate_argspec(env_fallback: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """The AnsibleModule argument spec of the connection options.

    `env_fallback` is ansible.module_utils.basic.env_fallback, passed in so that this file imports nothing from
    Ansible.
    """
    spec = {}
    for option in CONNECTION_OPTIONS:
        entry: dict[str, Any] = {"type": option.type}
        if option.default is not None:
            entry["default"] = option.default
        if option.choices:
            entry["choices"] = list(option.choices)
        if option.env:
            entry["fallback"] = (env_fallback, list(option.env))
        if option.no_log:
            entry["no_log"] = True
        if option.aliases:
            entry["aliases"] = list(option.aliases)
        spec[option.name] = entry
    return spec


# The words Ansible reads as false in a boolean option's environment variable.
FALSE_WORDS = ("0", "false", "no", "off", "n", "f")


def with_environment(given: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Every option's value: the one given, else the first of its environment variables that is set, else None.

    For callers outside an AnsibleModule (the event source, the inventory plugin), the fallback the module argument
    spec gives the modules; booleans read from a variable become bool as Ansible reads them.
    """
    values = {}
    for option in CONNECTION_OPTIONS:
        value = given.get(option.name)
        if value is None or value == "":
            value = next((environ[variable] for variable in option.env if environ.get(variable)), None)
            if option.type == "bool" and isinstance(value, str):
                value = value.strip().lower() not in FALSE_WORDS
        values[option.name] = value
    return values

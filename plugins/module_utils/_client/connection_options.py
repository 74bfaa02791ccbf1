# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options every module shares, each defined once.

The module argument spec and the settings' choices, defaults and environment variables are derived from
CONNECTION_OPTIONS. Two copies cannot import Python and are checked against it by unit tests instead: the doc
fragment (plugins/doc_fragments/connection.py, whose first description line of each option is its `description`
here) and the role's argument spec (roles/quarantine_file/meta/argument_specs.yml, quarantine_file_connection),
together with the role's pass-through list in roles/quarantine_file/tasks/main.yml.
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


CONNECTION_OPTIONS = (
    ConnectionOption("tenant_id", "str", "The Microsoft Entra tenant (directory) ID.",
                     env=("AZURE_TENANT_ID", "AZURE_TENANT"), aliases=("tenant",)),
    ConnectionOption("client_id", "str",
                     "The application (client) ID of the Entra app registration, or of a user-assigned managed identity.",
                     env=("AZURE_CLIENT_ID",)),
    ConnectionOption("client_secret", "str", "A client secret of the app registration.",
                     env=("AZURE_CLIENT_SECRET", "AZURE_SECRET"), no_log=True, aliases=("secret",)),
    ConnectionOption("client_certificate_path", "path",
                     "Path to a PEM file holding the private key and the certificate registered with the app.",
                     env=("AZURE_CLIENT_CERTIFICATE_PATH",), aliases=("x509_certificate_path",)),
    ConnectionOption("client_certificate_password", "str",
                     "Password of the private key in the client certificate file, if it is encrypted.",
                     env=("AZURE_CLIENT_CERTIFICATE_PASSWORD",), no_log=True),
    ConnectionOption("auth_method", "str", "How to get an access token.", default="auto",
                     choices=("auto", "client_secret", "certificate", "managed_identity", "access_token"),
                     env=("MDE_AUTH_METHOD",)),
    ConnectionOption("access_token", "str",
                     "An access token for the Defender for Endpoint API obtained elsewhere.",
                     env=("MDE_ACCESS_TOKEN",), no_log=True),
    # No default in the argument spec: an unset cloud may come from cloud_environment; settings.py defaults it.
    ConnectionOption("cloud", "str", "The Microsoft cloud, which selects the API and login hosts and the token scope.",
                     choices=("commercial", "gcc", "gcc_high", "dod"), env=("MDE_CLOUD",)),
    ConnectionOption("cloud_environment", "str",
                     "The Azure cloud by its Azure SDK name, as azure.azcollection and AWX's Azure credential set it.",
                     env=("AZURE_CLOUD_ENVIRONMENT",)),
    ConnectionOption("region", "str", "A regional host of the commercial API, which serves the tenant's data from its region.",
                     choices=("us", "eu", "uk", "au", "swa", "ina"), env=("MDE_REGION",)),
    ConnectionOption("api_url", "str", "Base URL of the Defender for Endpoint API, overriding the cloud's default.",
                     env=("MDE_API_URL",)),
    ConnectionOption("scope", "str", "The token scope (audience) to request, overriding the cloud's default.",
                     env=("MDE_SCOPE",)),
    ConnectionOption("authority_host", "str", "Login host, overriding the cloud's default.",
                     env=("AZURE_AUTHORITY_HOST",)),
    ConnectionOption("ca_path", "path", "A CA bundle (PEM) to verify both the API and the login service with.",
                     env=("MDE_CA_PATH",)),
    ConnectionOption("validate_certs", "bool", "Whether to verify TLS certificates.", default=True,
                     env=("MDE_VALIDATE_CERTS",)),
    ConnectionOption("proxy_url", "str",
                     "An HTTP(S) proxy for both the API and the login service; a password in it is never shown.",
                     env=("MDE_PROXY_URL",)),
    ConnectionOption("timeout", "int", "Seconds to wait for each HTTP request.", default=30),
    ConnectionOption("token_cache", "bool", "Whether to keep access tokens between module runs in a per-user cache file.",
                     default=True, env=("MDE_TOKEN_CACHE",)),
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
_FALSE_WORDS = ("0", "false", "no", "off", "n", "f")


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
                value = value.strip().lower() not in _FALSE_WORDS
        values[option.name] = value
    return values

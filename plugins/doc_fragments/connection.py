# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The options every module of the collection shares. The options section is generated from their table,
# plugins/module_utils/_client/connection_options.py, by `make sync`: edit the table, not this text.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - The Microsoft Entra tenant (directory) ID.
      - Required except with O(auth_method=managed_identity) or O(auth_method=access_token).
      - The alias O(tenant) is the name C(azure.azcollection) uses.
      - Falls back to the E(AZURE_TENANT_ID) environment variable, then E(AZURE_TENANT) (set by the AWX/Automation
        Controller "Microsoft Azure Resource Manager" credential).
    type: str
    aliases: [tenant]
  client_id:
    description:
      - The application (client) ID of the Entra app registration, or of a user-assigned managed identity.
      - With O(auth_method=managed_identity), omit it for the system-assigned identity.
      - Falls back to the E(AZURE_CLIENT_ID) environment variable.
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - The alias O(secret) is the name C(azure.azcollection) uses.
      - Falls back to the E(AZURE_CLIENT_SECRET) environment variable, then E(AZURE_SECRET).
    type: str
    aliases: [secret]
  client_certificate_path:
    description:
      - Path to a PEM file holding the private key and the certificate registered with the app.
      - The alias O(x509_certificate_path) is the name C(azure.azcollection) uses for the same kind of file.
      - Falls back to the E(AZURE_CLIENT_CERTIFICATE_PATH) environment variable.
    type: path
    aliases: [x509_certificate_path]
  client_certificate_password:
    description:
      - Password of the private key in the client certificate file, if it is encrypted.
      - The file is O(client_certificate_path).
      - Falls back to the E(AZURE_CLIENT_CERTIFICATE_PASSWORD) environment variable.
    type: str
  auth_method:
    description:
      - How to get an access token.
      - V(auto) uses O(access_token) if given, else a certificate if O(client_certificate_path) is given, else a client
        secret if O(client_secret) is given, else a managed identity.
      - Falls back to the E(MDE_AUTH_METHOD) environment variable.
    type: str
    choices: [auto, client_secret, certificate, managed_identity, access_token]
    default: auto
  access_token:
    description:
      - An access token for the Defender for Endpoint API obtained elsewhere.
      - No token is requested.
      - Falls back to the E(MDE_ACCESS_TOKEN) environment variable.
    type: str
  cloud:
    description:
      - The Microsoft cloud, which selects the API and login hosts and the token scope.
      - When neither this option nor E(MDE_CLOUD) is set, the cloud is what O(cloud_environment) names, else
        V(commercial).
      - Falls back to the E(MDE_CLOUD) environment variable.
    type: str
    choices: [commercial, gcc, gcc_high, dod]
  cloud_environment:
    description:
      - The Azure cloud by its Azure SDK name, as azure.azcollection and AWX's Azure credential set it.
      - Used only when O(cloud) is not set. V(AzureCloud) means V(commercial) (GCC tenants, which also sign in there,
        set O(cloud=gcc)).
      - V(AzureUSGovernment) is refused with the reason, because it covers two Defender for Endpoint clouds with
        different API hosts (O(cloud=gcc_high) and O(cloud=dod)); so are V(AzureChinaCloud), V(AzureGermanCloud) and any
        other value. Set O(cloud) then.
      - Falls back to the E(AZURE_CLOUD_ENVIRONMENT) environment variable (set by the AWX/Automation Controller
        "Microsoft Azure Resource Manager" credential's cloud environment field).
    type: str
  region:
    description:
      - A regional host of the commercial API, which serves the tenant's data from its region.
      - The API URL becomes C(https://{region}.api.security.microsoft.com), the geographic hosts Microsoft documents for
        better performance (V(us), V(eu), V(uk), V(au), V(swa), V(ina)).
      - Only with O(cloud=commercial), and not together with O(api_url).
      - Falls back to the E(MDE_REGION) environment variable.
    type: str
    choices: [us, eu, uk, au, swa, ina]
  api_url:
    description:
      - Base URL of the Defender for Endpoint API, overriding the cloud's default.
      - Must be an https URL.
      - Falls back to the E(MDE_API_URL) environment variable.
    type: str
  scope:
    description:
      - The token scope (audience) to request, overriding the cloud's default.
      - The default is V(https://api.securitycenter.microsoft.com/.default) for the commercial cloud (the resource the
        documentation uses for every API host), and the API URL followed by C(/.default) for the US Government clouds.
      - Where a tenant refuses the default, the documentation's other form
        V(https://securitycenter.onmicrosoft.com/windowsatpservice/.default) may work; for GCC High and DoD, some
        clients use V(https://securitycenter.onmicrosoft.us/windowsatpservice/.default).
      - C(/.default) is added when the value does not end with it. A managed identity asks for the scope without it.
      - Ignored with O(auth_method=access_token).
      - Falls back to the E(MDE_SCOPE) environment variable.
    type: str
  authority_host:
    description:
      - Login host, overriding the cloud's default.
      - The authority is C({authority_host}/{tenant_id}).
      - Any OIDC-compliant token service there works; no Microsoft instance discovery is done for custom hosts.
      - Must be an https URL.
      - Falls back to the E(AZURE_AUTHORITY_HOST) environment variable.
    type: str
  ca_path:
    description:
      - A CA bundle (PEM) to verify both the API and the login service with.
      - When set, only this bundle is trusted.
      - When not set, certificates are verified against what the machine trusts, namely the operating system's store (as
        C(update-ca-certificates) or C(update-ca-trust) maintain it, or E(SSL_CERT_FILE) and E(SSL_CERT_DIR) when set),
        the bundles that E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) name, and the bundle that C(requests) ships.
      - Falls back to the E(MDE_CA_PATH) environment variable.
    type: path
  validate_certs:
    description:
      - Whether to verify TLS certificates.
      - Turning it off is insecure and produces a warning.
      - Falls back to the E(MDE_VALIDATE_CERTS) environment variable.
    type: bool
    default: true
  proxy_url:
    description:
      - An HTTP(S) proxy for both the API and the login service; a password in it is never shown.
      - For example V(http://proxy.example:3128) or V(http://user:password@proxy.example:3128). The password is masked
        in results, warnings and errors; the user, host and port stay visible.
      - Hosts that E(NO_PROXY) (or E(no_proxy)) names are reached directly, as C(curl) and C(requests) read it.
      - SOCKS proxies (V(socks5://), V(socks5h://)) are not supported and refused before any request.
      - Falls back to the E(MDE_PROXY_URL) environment variable; E(HTTPS_PROXY) (then E(https_proxy)) is honoured when
        neither is set.
    type: str
  timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: int
    default: 30
  token_cache:
    description:
      - Whether to keep access tokens between module runs in a per-user cache file.
      - A loop, many hosts or forks then fetch one token rather than one per task.
      - The cache lives in C($XDG_CACHE_HOME/mde.response) (by default C(~/.cache/mde.response)), in a folder only the
        user can open (0700), in files only the user can read (0600), one file per identity, locked against concurrent
        forks. The module processes of one play also share the API's rate limits through a pacing file there.
      - A folder that cannot be created or written (a read-only or missing HOME) gives a warning, and the run goes on
        without the cache.
      - Falls back to the E(MDE_TOKEN_CACHE) environment variable.
    type: bool
    default: true
notes:
  - The app registration needs the Defender for Endpoint (C(WindowsDefenderATP)) application permissions that each
    module lists, with admin consent.
requirements:
  - requests >= 2.28.0
  - msal >= 1.35.0 (certificate credentials with a public certificate)
  - cryptography >= 3.1 (reads client certificates; msal requires it too)
"""

    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/mde.response.defender) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - mde.response.defender
"""
